//! The outbox of `kefu dev`: `POST /outbox` takes one command (docs/outbox.md), as the outbox
//! queue would, and runs it at once through the same send core and stores as the replies
//! (`Sender::run_command`), answering what became of each message; `GET
//! /dev/api/users/{openid}` tells where a user stands (window, sends left, hand-off) for
//! `kefu user --dev`. `kefu send --dev URL` writes here.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kefu::apps::Apps;
use kefu::clock::{SystemClock, millis};
use kefu::outbox::{Command, CommandOutcome, MessageOutcome};
use kefu::ports::{Clock as _, HandoffRegistry, QuotaStore};
use kefu::protocol::OpenId;
use kefu::send::budget::FUNCTION_TIMEOUT;
use kefu::send::{OutboxSettings, Sender};
use serde::Deserialize;
use serde_json::json;

use super::console;
use super::timeline::{Level, Timeline, What};
use crate::user::UserView;

/// What the outbox routes need. Clones share it.
#[derive(Debug, Clone)]
pub(super) struct DevOutbox {
    pub senders: Arc<Apps<Sender>>,
    pub quota: Arc<dyn QuotaStore>,
    pub handoffs: Arc<dyn HandoffRegistry>,
    /// The app a user is looked up in when none is named.
    pub first_appid: String,
    /// Where the user's last outcomes are read from (kefu's events, as published).
    pub timeline: Timeline,
}

/// How many of a user's last events `GET /dev/api/users/{openid}` lists.
const LAST_EVENTS: usize = 10;

pub(super) fn routes(outbox: DevOutbox) -> axum::Router {
    axum::Router::new()
        .route("/outbox", post(command))
        .route("/dev/api/users/{openid}", get(user))
        .with_state(outbox)
}

fn refused(status: StatusCode, reason: String) -> Response {
    console::say(
        Level::Warn,
        &format!("outbox: refused ({status}): {reason}"),
    );
    (status, Json(json!({ "error": reason }))).into_response()
}

async fn command(State(outbox): State<DevOutbox>, body: String) -> Response {
    let command = match Command::from_json(&body) {
        Ok(command) => command,
        Err(err) => return refused(StatusCode::BAD_REQUEST, err.to_string()),
    };
    let sender = match outbox.senders.get(Some(&command.appid)).await {
        Ok(Some(sender)) => sender,
        Ok(None) => {
            return refused(
                StatusCode::NOT_FOUND,
                format!("no app {} here", command.appid),
            );
        }
        Err(err) => return refused(StatusCode::SERVICE_UNAVAILABLE, err.to_string()),
    };
    let now = SystemClock.now_millis();
    let deadline = now.saturating_add(millis(FUNCTION_TIMEOUT));
    match sender
        .run_parsed_command(&command, Some(now), deadline, OutboxSettings::default())
        .await
    {
        Ok(CommandOutcome::Ran(outcomes)) => {
            let messages: Vec<_> = outcomes
                .iter()
                .enumerate()
                .map(|(n, outcome)| match outcome {
                    MessageOutcome::Sent => json!({"n": n, "outcome": "sent"}),
                    MessageOutcome::Settled(reason) => {
                        console::say(
                            Level::Warn,
                            &format!(
                                "outbox {} message {n} to {}: {reason}",
                                command.idempotency_key, command.openid
                            ),
                        );
                        json!({"n": n, "outcome": "settled", "reason": reason.name(),
                               "errcode": reason.errcode(), "detail": reason.to_string()})
                    }
                })
                .collect();
            Json(json!({"idempotency_key": command.idempotency_key, "messages": messages}))
                .into_response()
        }
        Ok(CommandOutcome::Dropped(reason)) => refused(StatusCode::BAD_REQUEST, reason),
        // The queue would retry it; here the caller may.
        Err(err) => refused(StatusCode::SERVICE_UNAVAILABLE, err.to_string()),
    }
}

#[derive(Debug, Deserialize)]
struct AppQuery {
    appid: Option<String>,
}

async fn user(
    State(outbox): State<DevOutbox>,
    Path(openid): Path<String>,
    Query(query): Query<AppQuery>,
) -> Response {
    let openid = match OpenId::parse(&openid) {
        Ok(openid) => openid,
        Err(err) => {
            let error = format!("openid: {err}");
            return (StatusCode::BAD_REQUEST, Json(json!({ "error": error }))).into_response();
        }
    };
    let appid = query.appid.unwrap_or(outbox.first_appid.clone());
    let now = SystemClock.now_millis();
    match UserView::read(
        outbox.quota.as_ref(),
        outbox.handoffs.as_ref(),
        &appid,
        &openid,
        now,
    )
    .await
    {
        Ok(mut view) => {
            let mut last: Vec<String> = outbox
                .timeline
                .after(0)
                .into_iter()
                .filter(|entry| entry.openid.as_deref() == Some(openid.as_str()))
                .filter_map(|entry| match entry.what {
                    What::Event { text, .. } => Some(text),
                    _ => None,
                })
                .collect();
            last.drain(..last.len().saturating_sub(LAST_EVENTS));
            view.last = Some(last);
            Json(view).into_response()
        }
        Err(err) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "error": err.to_string() })),
        )
            .into_response(),
    }
}
