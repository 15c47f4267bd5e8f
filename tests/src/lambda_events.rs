//! The events the functions' handlers are fed where a suite runs them: API Gateway's HTTP API
//! event for a push POSTed to the push path (`receive::respond` takes it), and the SQS event of
//! the jobs on the queue as the event source mapping hands them to `reply`.

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

/// The jobs on the queue at `queue_url`, deleted, as the event source mapping hands them to
/// reply.
///
/// # Panics
/// When SQS cannot be read or the records do not make an SQS event.
pub async fn take_jobs(client: &aws_sdk_sqs::Client, queue_url: &str) -> SqsEvent {
    let records: Vec<_> = crate::aws::take_jobs(client, queue_url)
        .await
        .into_iter()
        .map(|(id, body)| json!({"messageId": id, "body": body, "eventSource": "aws:sqs"}))
        .collect();
    serde_json::from_value(json!({ "Records": records }))
        .unwrap_or_else(|e| panic!("an SQS event: {e}"))
}
