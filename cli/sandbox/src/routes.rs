//! The sandbox's HTTP face: axum handlers for the WeChat paths and the `/sandbox/…` control
//! routes. Handlers apply injected faults, read the request, and hand it to the rules in
//! `state`; they hold the lock only while the rules run, never across an await.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{
    ConnectInfo, DefaultBodyLimit, FromRequest, FromRequestParts, Multipart, Path, Query, Request,
    State,
};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::Sandbox;
use super::errcode;
use super::faults::{Endpoint, Fault};
use super::state::{MEDIA_MAX_BYTES, Outcome, State as Rules};
use super::tokens::random_chars;

type Params = Result<Query<HashMap<String, String>>, QueryRejection>;

pub(super) fn router(sandbox: Sandbox) -> Router {
    Router::new()
        .route("/cgi-bin/token", get(token))
        .route("/cgi-bin/stable_token", post(stable_token))
        .route("/cgi-bin/message/custom/send", post(send))
        .route("/cgi-bin/message/custom/typing", post(typing))
        .route(
            "/cgi-bin/media/upload",
            // Room for a 10 MiB image plus the multipart framing; larger ones answer 40006.
            post(upload).layer(DefaultBodyLimit::max(MEDIA_MAX_BYTES + 64 * 1024)),
        )
        .route("/sandbox/messages", get(messages))
        .route("/sandbox/media/{media_id}", get(media))
        .route("/sandbox/users/{openid}/message", post(user_message))
        .route("/sandbox/users/{openid}/enter", post(user_entered))
        .route("/sandbox/revoke", post(revoke))
        .route("/sandbox/faults", post(inject))
        .with_state(sandbox)
}

fn param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params
        .as_ref()
        .ok()
        .and_then(|Query(map)| map.get(name))
        .map(String::as_str)
}

/// The caller's address, when the server was started with connection info
/// (`into_make_service_with_connect_info`, as [`Sandbox::serve`] and `kefu dev` do); loopback
/// otherwise.
pub(super) struct Caller(IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |info| info.0.ip()),
        ))
    }
}

/// What an injected fault leaves of a call.
enum Fired {
    /// The fault is the whole answer.
    Answered(Response),
    /// Handle the call normally (after a delay, if that was the fault).
    Proceed,
    /// Handle the call normally, then lose its answer this way.
    ThenLose(Lose),
}

enum Lose {
    Hang(Duration),
    Drop,
}

impl Sandbox {
    /// Fires the next fault aimed at `endpoint`, if any.
    async fn fault(&self, endpoint: Endpoint, caller: &Caller) -> Fired {
        let Some(fault) = self.lock().faults.take(endpoint) else {
            return Fired::Proceed;
        };
        tracing::debug!(?endpoint, ?fault, "wechat sandbox: injected fault");
        match fault {
            Fault::Errcode(code) => Fired::Answered(self.answer(endpoint, Err(code))),
            Fault::Http(status) => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                Fired::Answered(
                    (
                        status,
                        format!("wechat sandbox: injected HTTP {}", status.as_u16()),
                    )
                        .into_response(),
                )
            }
            Fault::Delay(delay) => {
                tokio::time::sleep(delay).await;
                Fired::Proceed
            }
            Fault::AcceptThenHang(hang) => Fired::ThenLose(Lose::Hang(hang)),
            Fault::AcceptThenDrop => Fired::ThenLose(Lose::Drop),
            Fault::IpNotWhitelisted => Fired::Answered(self.refuse(
                endpoint,
                errcode::IP_NOT_WHITELISTED,
                errcode::ip_not_whitelisted(caller.0),
            )),
        }
    }

    /// Handles a call the way the fired fault says: a fault's own answer, or the rule's answer
    /// — held back or broken off if the fault loses it.
    async fn respond(
        &self,
        endpoint: Endpoint,
        caller: &Caller,
        rule: impl FnOnce(&mut Rules, i64) -> Outcome,
    ) -> Response {
        match self.fault(endpoint, caller).await {
            Fired::Answered(response) => response,
            Fired::Proceed => self.handle(endpoint, rule),
            Fired::ThenLose(lose) => {
                let response = self.handle(endpoint, rule);
                match lose {
                    Lose::Hang(hang) => {
                        tokio::time::sleep(hang).await;
                        response
                    }
                    Lose::Drop => broken_body(),
                }
            }
        }
    }

    /// Runs one rule under the lock and answers as WeChat would.
    fn handle(
        &self,
        endpoint: Endpoint,
        rule: impl FnOnce(&mut Rules, i64) -> Outcome,
    ) -> Response {
        let now = self.now();
        let outcome = rule(&mut self.lock(), now);
        self.answer(endpoint, outcome)
    }

    /// HTTP 200 with the success body or `{"errcode","errmsg"}`; counts the errcode.
    fn answer(&self, endpoint: Endpoint, outcome: Outcome) -> Response {
        let code = match &outcome {
            Ok(body) => body.get("errcode").and_then(serde_json::Value::as_i64),
            Err(code) => Some(*code),
        };
        if let Some(code) = code {
            self.lock().count(code);
            tracing::debug!(?endpoint, errcode = code, "wechat sandbox: answered");
        }
        let body = outcome.unwrap_or_else(|code| errcode_body(code, errcode::message(code)));
        (StatusCode::OK, Json(body)).into_response()
    }

    /// HTTP 200 with `{"errcode","errmsg"}` for a message of its own; counts the errcode.
    fn refuse(&self, endpoint: Endpoint, code: i64, message: String) -> Response {
        self.lock().count(code);
        tracing::debug!(?endpoint, errcode = code, "wechat sandbox: answered");
        (StatusCode::OK, Json(errcode_body(code, &message))).into_response()
    }
}

/// `{"errcode","errmsg"}`. Real messages carry a request id; clients must not match on errmsg.
fn errcode_body(code: i64, message: &str) -> serde_json::Value {
    let rid = random_chars(24);
    json!({ "errcode": code, "errmsg": format!("{message} rid: {rid}") })
}

async fn token(State(sandbox): State<Sandbox>, caller: Caller, params: Params) -> Response {
    sandbox.lock().token_calls += 1;
    sandbox
        .respond(Endpoint::Token, &caller, |state, now| {
            state.token(
                param(&params, "grant_type"),
                param(&params, "appid"),
                param(&params, "secret"),
                now,
            )
        })
        .await
}

async fn stable_token(State(sandbox): State<Sandbox>, caller: Caller, body: Bytes) -> Response {
    sandbox.lock().token_calls += 1;
    sandbox
        .respond(Endpoint::StableToken, &caller, |state, now| {
            state.stable_token(&body, now)
        })
        .await
}

async fn send(
    State(sandbox): State<Sandbox>,
    caller: Caller,
    params: Params,
    body: Bytes,
) -> Response {
    sandbox
        .respond(Endpoint::Send, &caller, |state, now| {
            state.send(param(&params, "access_token"), &body, now)
        })
        .await
}

async fn typing(
    State(sandbox): State<Sandbox>,
    caller: Caller,
    params: Params,
    body: Bytes,
) -> Response {
    sandbox
        .respond(Endpoint::Typing, &caller, |state, now| {
            state.typing(param(&params, "access_token"), &body, now)
        })
        .await
}

async fn upload(
    State(sandbox): State<Sandbox>,
    caller: Caller,
    params: Params,
    request: Request,
) -> Response {
    let media = match Multipart::from_request(request, &()).await {
        Ok(multipart) => media_field(multipart).await,
        // Not multipart at all: there is no media field.
        Err(_) => Ok(None),
    };
    sandbox
        .respond(Endpoint::Upload, &caller, |state, now| {
            let media = media?;
            state.upload(
                param(&params, "access_token"),
                param(&params, "type"),
                media,
                now,
            )
        })
        .await
}

/// The `media` field, if the form has one. A body too large to read is 40006.
async fn media_field(mut multipart: Multipart) -> Result<Option<Bytes>, i64> {
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("media") => {
                return match field.bytes().await {
                    Ok(bytes) => Ok(Some(bytes)),
                    Err(error) if error.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                        Err(errcode::INVALID_MEDIA_SIZE)
                    }
                    Err(_) => Ok(None),
                };
            }
            Ok(Some(_)) => {}
            Ok(None) => return Ok(None),
            Err(error) if error.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(errcode::INVALID_MEDIA_SIZE);
            }
            Err(_) => return Ok(None),
        }
    }
}

/// `GET /sandbox/media/{media_id}`: the image uploaded as `media_id` (404 when unknown or
/// expired), with its type read from its first bytes.
async fn media(State(sandbox): State<Sandbox>, Path(media_id): Path<String>) -> Response {
    let now = sandbox.now();
    let Some(bytes) = sandbox.lock().media_bytes(&media_id, now) else {
        return (
            StatusCode::NOT_FOUND,
            format!("no media {media_id} (unknown or expired)"),
        )
            .into_response();
    };
    let content_type = image_type(&bytes);
    (
        [
            (axum::http::header::CONTENT_TYPE, content_type),
            (axum::http::header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    )
        .into_response()
}

/// The MIME type of an image by its magic bytes (WeChat takes PNG and JPEG, GIF too).
fn image_type(bytes: &[u8]) -> &'static str {
    if bytes.starts_with(b"\x89PNG") {
        "image/png"
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        "image/jpeg"
    } else if bytes.starts_with(b"GIF8") {
        "image/gif"
    } else {
        "application/octet-stream"
    }
}

/// HTTP 200 whose body breaks off after a few bytes: the connection fails mid-answer.
fn broken_body() -> Response {
    let chunks: [Result<Bytes, std::io::Error>; 2] = [
        Ok(Bytes::from_static(b"{\"errcode\":")),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "wechat sandbox: injected drop",
        )),
    ];
    (
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        axum::body::Body::from_stream(futures_util::stream::iter(chunks)),
    )
        .into_response()
}

async fn messages(State(sandbox): State<Sandbox>) -> Response {
    Json(sandbox.messages()).into_response()
}

/// `?appid=` names the app (default: the first).
async fn user_message(
    State(sandbox): State<Sandbox>,
    Path(openid): Path<String>,
    params: Params,
) -> StatusCode {
    match param(&params, "appid") {
        Some(appid) => sandbox.user_message_in(appid, &openid),
        None => sandbox.user_message(&openid),
    }
    StatusCode::NO_CONTENT
}

async fn user_entered(
    State(sandbox): State<Sandbox>,
    Path(openid): Path<String>,
    params: Params,
) -> StatusCode {
    match param(&params, "appid") {
        Some(appid) => sandbox.user_entered_in(appid, &openid),
        None => sandbox.user_entered(&openid),
    }
    StatusCode::NO_CONTENT
}

async fn revoke(State(sandbox): State<Sandbox>) -> StatusCode {
    sandbox.revoke_tokens();
    StatusCode::NO_CONTENT
}

/// `POST /sandbox/faults`: exactly one of `errcode`, `http`, `delay_ms`, `accept_then_hang_ms`,
/// `accept_then_drop: true`, `ip_not_whitelisted: true`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultRequest {
    endpoint: Endpoint,
    errcode: Option<i64>,
    http: Option<u16>,
    delay_ms: Option<u64>,
    accept_then_hang_ms: Option<u64>,
    #[serde(default)]
    accept_then_drop: bool,
    #[serde(default)]
    ip_not_whitelisted: bool,
    #[serde(default = "one")]
    times: usize,
}

fn one() -> usize {
    1
}

async fn inject(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    let request: FaultRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(error) => {
            return (StatusCode::BAD_REQUEST, format!("bad fault: {error}")).into_response();
        }
    };
    let fault = match (
        request.errcode,
        request.http,
        request.delay_ms,
        request.accept_then_hang_ms,
        request.accept_then_drop,
        request.ip_not_whitelisted,
    ) {
        (Some(code), None, None, None, false, false) => Fault::Errcode(code),
        (None, Some(status), None, None, false, false) => Fault::Http(status),
        (None, None, Some(ms), None, false, false) => Fault::Delay(Duration::from_millis(ms)),
        (None, None, None, Some(ms), false, false) => {
            Fault::AcceptThenHang(Duration::from_millis(ms))
        }
        (None, None, None, None, true, false) => Fault::AcceptThenDrop,
        (None, None, None, None, false, true) => Fault::IpNotWhitelisted,
        _ => {
            return (
                StatusCode::BAD_REQUEST,
                "bad fault: give exactly one of errcode, http, delay_ms, accept_then_hang_ms, accept_then_drop, ip_not_whitelisted",
            )
                .into_response();
        }
    };
    sandbox.inject(request.endpoint, fault, request.times);
    StatusCode::NO_CONTENT.into_response()
}
