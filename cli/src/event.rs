//! `kefu event`: a signed API Gateway (HTTP API, payload 2.0) event for `sam local invoke -e`
//! and `cargo lambda invoke --data-file`, for any credentials and message. `events/` is
//! generated with it (`events/regenerate.sh`), so the files can be remade for real credentials.

use clap::Args;
use kefu::job::Job;
use kefu::protocol::simulate::SimulatedPush;
use kefu::protocol::{Message, PushQuery, Signature};
use serde_json::{Value, json};

use crate::push_args::{FormatArg, MessageArg, PushArgs};

#[derive(Debug, Args)]
pub struct EventArgs {
    #[command(flatten)]
    pub push: PushArgs,
    /// The push path of the API: `/wechat`, or `/wechat/{appid}` for an app of several (the
    /// event then carries the route's `appid` path parameter, the value of --appid).
    #[arg(long, default_value = "/wechat", value_parser = parse_api_path)]
    pub path: String,
    /// Write an SQS event carrying the reply job `receive` would enqueue for the message (for
    /// the `reply` function) instead of an API Gateway event.
    #[arg(long)]
    pub sqs: bool,
    #[command(subcommand)]
    pub message: EventMessage,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum EventMessage {
    /// The GET URL verification WeChat sends when the URL is configured.
    Verify {
        #[arg(long, default_value = "4375120948345356249")]
        echostr: String,
    },
    #[command(flatten)]
    Message(MessageArg),
}

/// An API Gateway route path: `/` and then letters, digits and `-_.~/{}`.
fn parse_api_path(text: &str) -> Result<String, String> {
    if !text.starts_with('/') {
        return Err(format!("{text:?} must start with '/' (e.g. /{text})"));
    }
    if let Some(bad) = text.chars().find(|c| {
        !(c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.' | '~' | '{' | '}'))
    }) {
        return Err(format!("{text:?} has {bad:?}"));
    }
    Ok(text.to_owned())
}

pub fn event(args: &EventArgs) -> anyhow::Result<String> {
    if args.sqs {
        return sqs_event(args);
    }
    let (method, query, body) = match &args.message {
        EventMessage::Verify { echostr } => {
            let timestamp = args.push.timestamp().to_string();
            let nonce = args.push.nonce()?;
            let query = PushQuery {
                signature: Some(
                    Signature::of_url(&args.push.credentials.token(), &timestamp, &nonce).to_hex(),
                ),
                timestamp: Some(timestamp),
                nonce: Some(nonce),
                echostr: Some(echostr.clone()),
                ..PushQuery::default()
            };
            ("GET", query, None)
        }
        EventMessage::Message(message) => {
            let SimulatedPush { query, body } = args.push.build(message)?;
            ("POST", query, Some(body))
        }
    };
    let content_type = args.push.format.content_type();
    let epoch_ms = args.push.timestamp().saturating_mul(1000);
    let parameters: serde_json::Map<String, Value> = query
        .pairs()
        .into_iter()
        .map(|(name, value)| (name.to_owned(), Value::String(value)))
        .collect();
    let mut headers = serde_json::Map::new();
    for (name, value) in [
        ("host", "kefu.execute-api.us-east-1.amazonaws.com"),
        ("user-agent", "Mozilla/4.0"),
        ("x-forwarded-for", "203.0.113.10"),
        ("x-forwarded-port", "443"),
        ("x-forwarded-proto", "https"),
    ] {
        headers.insert(name.into(), json!(value));
    }
    if body.is_some() {
        headers.insert("content-type".into(), json!(content_type));
    }
    let route_key = format!("{method} {}", args.path);
    // API Gateway fills a route's {appid} from the path it matched.
    let appid = &args.push.credentials.appid;
    let raw_path = args.path.replace("{appid}", appid);
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": query.to_query_string(),
        "headers": headers,
        "queryStringParameters": parameters,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "kefu",
            "domainName": "kefu.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "kefu",
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": "Mozilla/4.0"
            },
            "requestId": format!("kefu-{epoch_ms}"),
            "routeKey": route_key,
            "stage": "$default",
            "time": "",
            "timeEpoch": epoch_ms
        },
        "body": body,
        "isBase64Encoded": false
    });
    if args.path.contains("{appid}")
        && let Some(fields) = event.as_object_mut()
    {
        fields.insert("pathParameters".into(), json!({ "appid": appid }));
    }
    Ok(serde_json::to_string_pretty(&event)?)
}

/// An SQS event with one record: the job for the message.
fn sqs_event(args: &EventArgs) -> anyhow::Result<String> {
    let EventMessage::Message(message) = &args.message else {
        anyhow::bail!("a URL verification has no reply job; give a message");
    };
    let push = args.push.plaintext(message)?;
    let message = match args.push.format {
        FormatArg::Xml => Message::from_xml(&push),
        FormatArg::Json => Message::from_json(&push),
    }?;
    let received_at = args.push.timestamp().saturating_mul(1000);
    let job = Job::new(&args.push.credentials.appid, message, received_at);
    let event = json!({
        "Records": [{
            "messageId": format!("kefu-{received_at}"),
            "receiptHandle": "kefu-sample-receipt-handle",
            "body": job.to_json(),
            "attributes": {
                "ApproximateReceiveCount": "1",
                "SentTimestamp": received_at.to_string(),
                "SenderId": "123456789012",
                "ApproximateFirstReceiveTimestamp": received_at.to_string()
            },
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:kefu-jobs",
            "awsRegion": "us-east-1"
        }]
    });
    Ok(serde_json::to_string_pretty(&event)?)
}
