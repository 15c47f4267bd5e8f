//! The `receive` function's HTTP mapping: an API Gateway request in, the push path
//! (`kefu::receive`) in the middle, an API Gateway response out. No decision is made here.

use kefu::protocol::PushQuery;
use kefu::receive::{PushRequest, Receiver};
use lambda_http::{Body, Request, RequestExt, Response};

/// Answers one API Gateway request.
pub async fn respond(receiver: &Receiver, request: Request) -> Response<Body> {
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
    let answer = receiver
        .handle(PushRequest {
            method: request.method().as_str(),
            query: &query,
            body,
        })
        .await;
    let mut response = Response::new(Body::Text(answer.body));
    *response.status_mut() = lambda_http::http::StatusCode::from_u16(answer.status)
        .unwrap_or(lambda_http::http::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        lambda_http::http::header::CONTENT_TYPE,
        lambda_http::http::HeaderValue::from_static(answer.content_type),
    );
    response
}
