//! The events the functions' handlers are fed where a suite runs them: API Gateway's HTTP API
//! event for a push POSTed to the push path (`receive::respond` takes it), and the SQS event of
//! messages of the job and outbox queues as the event source mapping hands them to `reply`.

use aws_lambda_events::event::sqs::SqsEvent;
use kefu::protocol::simulate::SimulatedPush;
use serde_json::json;

/// API Gateway's event for a POST of `push` to `path`: `/wechat`, or `/wechat/{appid}` with
/// the route's `appid` parameter.
///
/// # Panics
/// When lambda_http does not take the event.
pub fn push_post(path: &str, push: &SimulatedPush) -> lambda_http::Request {
    let appid = path.strip_prefix("/wechat/");
    let query: serde_json::Map<String, serde_json::Value> = push
        .query
        .pairs()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), json!(v)))
        .collect();
    let route = if appid.is_some() {
        "POST /wechat/{appid}"
    } else {
        "POST /wechat"
    };
    let mut event = json!({
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "rawQueryString": push.query.to_query_string(),
        "headers": {"content-type": "application/json"},
        "queryStringParameters": query,
        "requestContext": {
            "accountId": "123456789012", "apiId": "kefu", "domainName": "kefu.example",
            "domainPrefix": "kefu", "requestId": "r", "routeKey": route, "stage": "$default",
            "time": "", "timeEpoch": 0,
            "http": {"method": "POST", "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.10", "userAgent": "Mozilla/4.0"}
        },
        "body": push.body,
        "isBase64Encoded": false
    });
    if let (Some(appid), Some(fields)) = (appid, event.as_object_mut()) {
        fields.insert("pathParameters".into(), json!({ "appid": appid }));
    }
    lambda_http::request::from_str(&event.to_string())
        .unwrap_or_else(|e| panic!("an API Gateway event: {e}"))
}

/// An answer's status and text body (any other body as its Debug form).
pub fn status_and_text(response: &lambda_http::Response<lambda_http::Body>) -> (u16, String) {
    let body = match response.body() {
        lambda_http::Body::Text(text) => text.clone(),
        other => format!("{other:?}"),
    };
    (response.status().as_u16(), body)
}

/// One message as the event source mapping hands it to reply: its id and body, the queue it
/// came from (its ARN, by which reply tells the outbox's commands from the jobs; none: a job)
/// and, where it matters, when SQS took it (`SentTimestamp`, ms since the epoch).
#[derive(Debug, Clone, Copy, Default)]
pub struct Record<'a> {
    pub id: &'a str,
    pub body: &'a str,
    pub source_arn: Option<&'a str>,
    pub sent_at: Option<i64>,
}

impl<'a> Record<'a> {
    /// A job: `body` as message `id`.
    pub fn new(id: &'a str, body: &'a str) -> Self {
        Self {
            id,
            body,
            ..Self::default()
        }
    }
}

/// The SQS event of `records`, in their order.
///
/// # Panics
/// When the records do not make an SQS event.
pub fn sqs_event(records: &[Record<'_>]) -> SqsEvent {
    let records: Vec<_> = records
        .iter()
        .map(|record| {
            let mut message = serde_json::Map::new();
            message.insert("messageId".into(), json!(record.id));
            message.insert("body".into(), json!(record.body));
            message.insert("eventSource".into(), json!("aws:sqs"));
            if let Some(arn) = record.source_arn {
                message.insert("eventSourceARN".into(), json!(arn));
            }
            if let Some(sent_at) = record.sent_at {
                message.insert(
                    "attributes".into(),
                    json!({"SentTimestamp": sent_at.to_string()}),
                );
            }
            serde_json::Value::Object(message)
        })
        .collect();
    serde_json::from_value(json!({ "Records": records }))
        .unwrap_or_else(|e| panic!("an SQS event: {e}"))
}

/// The jobs on the queue at `queue_url`, deleted, as the event source mapping hands them to
/// reply.
///
/// # Panics
/// When SQS cannot be read.
pub async fn take_jobs(client: &aws_sdk_sqs::Client, queue_url: &str) -> SqsEvent {
    let jobs = crate::aws::take_jobs(client, queue_url).await;
    let records: Vec<Record<'_>> = jobs
        .iter()
        .map(|(id, body)| Record::new(id, body))
        .collect();
    sqs_event(&records)
}
