//! The `receive` function's HTTP mapping: an API Gateway request in, the push path
//! (`kefu::receive`) of the app it names in the middle, an API Gateway response out. No
//! decision is made here.

use kefu::apps::Apps;
use kefu::protocol::PushQuery;
use kefu::receive::{PushRequest, PushResponse, Receiver};
use lambda_http::{Body, Request, RequestExt, Response};

/// Answers one API Gateway request: `/wechat` for the single app, `/wechat/{appid}` (the route's
/// `appid` path parameter) for one of several.
pub async fn respond(apps: &Apps<Receiver>, request: Request) -> Response<Body> {
    let appid = request
        .path_parameters_ref()
        .and_then(|params| params.first("appid"))
        .map(str::to_owned);
    let answer = match apps.get(appid.as_deref()).await {
        Ok(Some(receiver)) => handle(&receiver, &request).await,
        Ok(None) => {
            // Cut: the path is the sender's to choose, the log line is ours to pay for.
            let appid: String = appid
                .as_deref()
                .unwrap_or("(none: /wechat)")
                .chars()
                .take(40)
                .collect();
            tracing::warn!(
                status = 404,
                %appid,
                "push for an app this deployment does not serve"
            );
            PushResponse::not_served()
        }
        Err(err) => {
            // No answer WeChat takes for `success`: it retries.
            tracing::error!(status = 503, reason = %err, "the app could not be looked up");
            PushResponse::unavailable()
        }
    };
    into_response(answer)
}

async fn handle(receiver: &Receiver, request: &Request) -> PushResponse {
    let query = PushQuery::from_pairs(
        request
            .query_string_parameters_ref()
            .into_iter()
            .flat_map(|params| params.iter()),
    );
    let body: &[u8] = match request.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        // `Body` is non-exhaustive; anything new is treated as no body.
        _ => &[],
    };
    receiver
        .handle(PushRequest {
            method: request.method().as_str(),
            query: &query,
            body,
        })
        .await
}

fn into_response(answer: PushResponse) -> Response<Body> {
    let mut response = Response::new(Body::Text(answer.body));
    *response.status_mut() = lambda_http::http::StatusCode::from_u16(answer.status)
        .unwrap_or(lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        lambda_http::http::header::CONTENT_TYPE,
        lambda_http::http::HeaderValue::from_static(answer.content_type),
    );
    response
}
