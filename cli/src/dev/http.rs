//! The receive function's code path behind axum instead of API Gateway: the same
//! `Receiver::handle`, the same answers.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use kefu::protocol::PushQuery;
use kefu::receive::{PushRequest, Receiver};

/// The push path as an axum route (any method: `receive` answers GET, POST and refusals).
pub(super) fn push_route(receiver: Arc<Receiver>) -> MethodRouter {
    axum::routing::any(handle_push).with_state(receiver)
}

async fn handle_push(
    State(receiver): State<Arc<Receiver>>,
    method: Method,
    Query(query): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Response {
    let query = PushQuery::from_pairs(query);
    let answer = receiver
        .handle(PushRequest {
            method: method.as_str(),
            query: &query,
            body: &body,
        })
        .await;
    let mut response = (
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        answer.body,
    )
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(answer.content_type),
    );
    response
}
