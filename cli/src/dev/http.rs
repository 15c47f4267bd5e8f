//! The receive function's code path behind axum instead of API Gateway — the same
//! `Receiver::handle`, the same answers — with each push recorded for the chat window's
//! inspector (the signed request, the decrypted message, the rule that matched and why, the
//! passive answer) and told on the terminal in one line.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use kefu::job::ledger_key;
use kefu::ports::HandoffRegistry;
use kefu::protocol::{Format, Message, Mode, PushQuery, push};
use kefu::receive::{PushRequest, PushResponse, Receiver};
use kefu::rule_cache::RuleCache;

use kefu::protocol::{Event, MessageKind, OpenId};

use super::console;
use super::log;
use super::timeline::{Level, PushRecord, Timeline, What, now_millis};

/// Everything the push path and its inspector need. Clones share it.
#[derive(Debug, Clone)]
pub(super) struct PushPath {
    pub receiver: Arc<Receiver>,
    pub rules: Arc<RuleCache>,
    pub handoffs: Arc<dyn HandoffRegistry>,
    pub timeline: Timeline,
}

/// The push path as an axum route (any method: `receive` answers GET, POST and refusals).
pub(super) fn push_route(path: PushPath) -> MethodRouter {
    axum::routing::any(handle_push).with_state(path)
}

/// Several apps' push paths, as `{path}/{appid}`: the app's own, or 404 as deployed.
pub(super) fn apps_route(apps: HashMap<String, PushPath>) -> MethodRouter {
    axum::routing::any(handle_app_push).with_state(Arc::new(apps))
}

/// `{path}` itself when several apps are served: 404, saying where pushes go.
pub(super) fn several_apps_route(path: String) -> MethodRouter {
    axum::routing::any(move || {
        let reason = format!(
            "no app at {path}: this kefu dev serves several apps, each at {path}/{{appid}}"
        );
        async move {
            console::say(Level::Warn, &format!("refused (404): {reason}"));
            (StatusCode::NOT_FOUND, reason)
        }
    })
}

async fn handle_app_push(
    State(apps): State<Arc<HashMap<String, PushPath>>>,
    Path(appid): Path<String>,
    method: Method,
    raw: RawQuery,
    query: Query<Vec<(String, String)>>,
    body: Bytes,
) -> Response {
    match apps.get(&appid) {
        Some(path) => handle_push(State(path.clone()), method, raw, query, body).await,
        None => {
            let mut served: Vec<&str> = apps.keys().map(String::as_str).collect();
            served.sort_unstable();
            let reason = format!("no app {appid} here (served: {})", served.join(", "));
            console::say(Level::Warn, &format!("refused (404): {reason}"));
            (StatusCode::NOT_FOUND, reason).into_response()
        }
    }
}

async fn handle_push(
    State(path): State<PushPath>,
    method: Method,
    RawQuery(raw): RawQuery,
    Query(query): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Response {
    let query = PushQuery::from_pairs(query);
    let answer = path
        .deliver(
            method.as_str(),
            raw.unwrap_or_default(),
            &query,
            &body,
            None,
        )
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

impl PushPath {
    /// Hands one request to the push path and records what happened. `openid`: the user the
    /// chat window pushed as, so that a refusal is shown in that user's conversation.
    pub(super) async fn deliver(
        &self,
        method: &str,
        raw_query: String,
        query: &PushQuery,
        body: &[u8],
        openid: Option<&OpenId>,
    ) -> PushResponse {
        let held_before = self.hold_before(method, query, body).await;
        let (answer, refusal) = log::REFUSAL
            .scope(std::cell::RefCell::new(None), async {
                let answer = self
                    .receiver
                    .handle(PushRequest {
                        method,
                        query,
                        body,
                    })
                    .await;
                let refusal = log::REFUSAL.with(|line| line.borrow_mut().take());
                (answer, refusal)
            })
            .await;
        let push = Push {
            method,
            raw_query,
            query,
            body,
            openid,
            refusal,
            held_before,
        };
        self.record(push, &answer).await;
        answer
    }

    /// For an event, the hold on its user before it is handled.
    async fn hold_before(&self, method: &str, query: &PushQuery, body: &[u8]) -> Option<i64> {
        if method != "POST" {
            return None;
        }
        let credentials = &self.receiver.settings().credentials;
        let opened = push::open(credentials, query, &String::from_utf8_lossy(body)).ok()?;
        if !matches!(opened.message.kind, MessageKind::Event(_)) {
            return None;
        }
        self.handoffs
            .held_until(&credentials.appid, opened.message.openid())
            .await
            .ok()
            .flatten()
            .filter(|until| *until > now_millis())
    }

    async fn record(&self, push: Push<'_>, answer: &PushResponse) {
        let Push {
            method,
            raw_query,
            query,
            body,
            openid: asked_as,
            refusal,
            held_before,
        } = push;
        let credentials = &self.receiver.settings().credentials;
        let body = String::from_utf8_lossy(body).into_owned();
        let mut record = PushRecord {
            method: method.to_owned(),
            query: raw_query,
            body: body.clone(),
            mode: None,
            decrypted: None,
            message: None,
            rule: None,
            status: answer.status,
            answer: answer.body.clone(),
            answer_decrypted: None,
            handoff_until: None,
            // The push path's own line (the reason and what to check), else the answer.
            refused: (answer.status >= 400).then(|| refusal.unwrap_or_else(|| answer.body.clone())),
        };
        if method != "POST" {
            if answer.status == 200 {
                console::say(Level::Good, "URL verified (GET): echostr answered");
            }
            self.timeline.push(None, What::Push(Box::new(record)));
            return;
        }
        let Ok(opened) = push::open(credentials, query, &body) else {
            // Refused: shown once, in the conversation of the user it came from, if known.
            let openid = asked_as
                .map(OpenId::to_string)
                .or_else(|| sender_of(credentials, &body));
            self.timeline.push(openid, What::Push(Box::new(record)));
            return;
        };
        let message = opened.message;
        let openid = message.openid().clone();
        record.mode = Some(mode_name(opened.mode).to_owned());
        record.decrypted = match opened.mode {
            Mode::Plaintext => Some(body.clone()),
            _ => push::encrypt_field(&body)
                .ok()
                .flatten()
                .and_then(|encrypt| {
                    credentials
                        .aes_key
                        .as_ref()?
                        .decrypt(&credentials.appid, &encrypt)
                        .ok()
                }),
        };
        record.message = serde_json::to_value(&message).ok();
        self.timeline
            .job_for(ledger_key(&credentials.appid, &message), openid.as_str());

        let now = now_millis();
        let explanation = match self.rules.get().await {
            Ok(rules) => Some(rules.explain(&message, now)),
            Err(_) => None,
        };
        record.rule = explanation
            .as_ref()
            .and_then(|e| serde_json::to_value(e).ok());

        let held_until = self
            .handoffs
            .held_until(&credentials.appid, &openid)
            .await
            .ok()
            .flatten()
            .filter(|until| *until > now);
        let answer_plain = (answer.status == 200 && !matches!(answer.body.trim(), "" | "success"))
            .then(|| decrypt_answer(credentials, &answer.body))
            .flatten();
        let transferred = answer_plain
            .as_deref()
            .is_some_and(|plain| plain.contains("transfer_customer_service"));
        let session = match &message.kind {
            MessageKind::Event(
                event @ (Event::KfCreateSession { .. }
                | Event::KfSwitchSession { .. }
                | Event::KfCloseSession { .. }),
            ) if answer.status == 200 => Some(event),
            _ => None,
        };
        if transferred {
            record.answer_decrypted = answer_plain;
            record.handoff_until = held_until;
        }
        // An agent took the session: the hold starts (or moves) as with a transfer.
        let taken = session
            .filter(|e| !matches!(e, Event::KfCloseSession { .. }))
            .and(held_until)
            .filter(|until| Some(*until) != held_before);
        if taken.is_some() {
            record.handoff_until = taken;
        }
        // The agent closed the session: the hold ends now.
        let closed = session
            .filter(|e| matches!(e, Event::KfCloseSession { .. }))
            .filter(|_| held_before.is_some() && held_until.is_none());

        let what = describe_message(&message);
        let status = match (answer.status, &explanation) {
            (200, _) if transferred => {
                let minutes = held_until.map_or(0, |until| minutes_left(until, now));
                format!(
                    "hand-off: transfer_customer_service answered; auto-replies to {openid} stop for {minutes} min"
                )
            }
            (200, _) if taken.is_some() => {
                let minutes = taken.map_or(0, |until| minutes_left(until, now));
                format!(
                    "hand-off: the agent{} holds the session; auto-replies to {openid} stop for {minutes} min",
                    agent(session)
                )
            }
            (200, Some(e)) => format!(
                "{}{}",
                e.rule
                    .as_deref()
                    .map(|r| format!("rule {r} ({}): ", e.why))
                    .unwrap_or_else(|| format!("{}: ", e.why)),
                match e.outcome {
                    "reply" => "reply queued",
                    "transfer" => "transfer",
                    _ => "nothing to send",
                }
            ),
            (200, None) => "accepted".to_owned(),
            (status, _) => format!("HTTP {status}"),
        };
        console::say(Level::Info, &format!("← {openid} {what} — {status}"));
        self.timeline
            .push(Some(openid.to_string()), What::Push(Box::new(record)));

        if let Some(event) = closed {
            let text = format!(
                "hand-off ended: the agent{} closed the session (kf_close_session); {openid} gets automatic replies again",
                agent(Some(event))
            );
            console::say(Level::Info, &text);
            self.timeline
                .push(Some(openid.to_string()), What::HandoffEnded { text });
        }
        if transferred || taken.is_some() {
            if let Some(until) = held_until {
                spawn_handoff_end(self.clone(), openid, until);
            }
        } else if let (Some(until), Some("reply")) =
            (held_until, explanation.as_ref().map(|e| e.outcome))
        {
            let text = format!(
                "no auto-reply: a human agent holds {openid} for another {} min (after a transfer)",
                minutes_left(until, now)
            );
            console::say(Level::Warn, &text);
            self.timeline
                .notice(Some(openid.into_string()), Level::Warn, text);
        }
    }
}

/// Says on the terminal and in the page when a hand-off's hold runs out.
fn spawn_handoff_end(path: PushPath, openid: OpenId, until: i64) {
    tokio::spawn(async move {
        let wait = u64::try_from(until - now_millis()).unwrap_or(0);
        tokio::time::sleep(std::time::Duration::from_millis(wait)).await;
        let appid = &path.receiver.settings().credentials.appid;
        let still = path
            .handoffs
            .held_until(appid, &openid)
            .await
            .ok()
            .flatten();
        // A later transfer moved it (that one will report), or the agent closed the session
        // (reported then).
        if still.is_some_and(|s| s != until) {
            return;
        }
        let text =
            format!("hand-off ended: the hold ran out; {openid} gets automatic replies again");
        console::say(Level::Info, &text);
        path.timeline
            .push(Some(openid.into_string()), What::HandoffEnded { text });
    });
}

/// What `deliver` was handed, and what it learnt on the way.
struct Push<'a> {
    method: &'a str,
    raw_query: String,
    query: &'a PushQuery,
    body: &'a [u8],
    /// The user the chat window pushed as.
    openid: Option<&'a OpenId>,
    /// The push path's line on a refusal or failure.
    refusal: Option<String>,
    /// For an event: the hold on its user before it was handled.
    held_before: Option<i64>,
}

/// ` KfAccount` of a session event, for a line.
fn agent(event: Option<&Event>) -> String {
    match event {
        Some(Event::KfCreateSession { kf_account } | Event::KfCloseSession { kf_account, .. }) => {
            format!(" {kf_account}")
        }
        Some(Event::KfSwitchSession { to_kf_account, .. }) => format!(" {to_kf_account}"),
        _ => String::new(),
    }
}

/// The `FromUserName` of a push that could not be opened: from its clear body, or from its
/// sealed one if kefu dev's key opens it (a refusal for the signature or the time window).
fn sender_of(credentials: &kefu::protocol::Credentials, body: &str) -> Option<String> {
    let plain = match push::encrypt_field(body).ok()? {
        Some(encrypt) => credentials
            .aes_key
            .as_ref()?
            .decrypt(&credentials.appid, &encrypt)
            .ok()?,
        None => body.to_owned(),
    };
    from_user_name(&plain)
}

/// `FromUserName` of a JSON or XML body, read plainly.
fn from_user_name(body: &str) -> Option<String> {
    let found = if body.trim_start().starts_with('{') {
        serde_json::from_str::<serde_json::Value>(body)
            .ok()?
            .get("FromUserName")?
            .as_str()?
            .to_owned()
    } else {
        let (_, rest) = body.split_once("<FromUserName>")?;
        let (value, _) = rest.split_once("</FromUserName>")?;
        let value = value.trim();
        value
            .strip_prefix("<![CDATA[")
            .and_then(|v| v.strip_suffix("]]>"))
            .unwrap_or(value)
            .to_owned()
    };
    (!found.is_empty() && found.len() <= 128).then_some(found)
}

/// The passive answer opened: a sealed reply decrypted, or the clear one as is.
fn decrypt_answer(credentials: &kefu::protocol::Credentials, body: &str) -> Option<String> {
    match push::encrypt_field(body).ok().flatten() {
        Some(encrypt) => credentials
            .aes_key
            .as_ref()?
            .decrypt(&credentials.appid, &encrypt)
            .ok(),
        None => Some(body.to_owned()),
    }
}

/// `[text] 你好`, `[image]`, `[event user_enter_tempsession]`.
fn describe_message(message: &Message) -> String {
    match &message.kind {
        MessageKind::Text { content } => format!("[text] {content}"),
        MessageKind::Event(event) => format!("[event {}]", event.name()),
        MessageKind::MiniProgramPage { title, .. } | MessageKind::Link { title, .. } => {
            format!("[{}] {title}", message.kind.type_name())
        }
        kind => format!("[{}]", kind.type_name()),
    }
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Plaintext => "plaintext",
        Mode::Compatible => "compatible",
        Mode::Safe => "safe",
    }
}

pub(super) fn format_name(format: Format) -> &'static str {
    match format {
        Format::Xml => "xml",
        Format::Json => "json",
    }
}

/// Whole minutes from `now` to `until`, rounded up.
fn minutes_left(until: i64, now: i64) -> i64 {
    (until.saturating_sub(now) + 59_999) / 60_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_push_is_told_by_its_sender() {
        assert_eq!(
            from_user_name(r#"{"ToUserName":"gh_x","FromUserName":"o-a","MsgType":"text"}"#)
                .as_deref(),
            Some("o-a")
        );
        assert_eq!(
            from_user_name(
                "<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[o-b]]></FromUserName></xml>"
            )
            .as_deref(),
            Some("o-b")
        );
        assert_eq!(
            from_user_name("<xml><FromUserName>o-c</FromUserName></xml>").as_deref(),
            Some("o-c")
        );
        assert_eq!(from_user_name(r#"{"ToUserName":"gh_x"}"#), None);
        assert_eq!(from_user_name("not a body"), None);
    }
}
