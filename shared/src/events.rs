//! The events kefu publishes for other systems (a CRM, a ticketing system, an order system):
//! what happened, each with an id that is the same however often WeChat retries the push or SQS
//! redelivers the job (consumers deduplicate by it), the time of the fact and the app. Pure: the
//! model, the ids and the payloads. Publishing is a port (`ports::EventPublisher`: EventBridge,
//! or memory for `kefu dev` and the tests); what the send core emits, and when, is
//! `send::events`.
//!
//! On EventBridge an event's `source` is `kefu.{appid}`, its `detail-type` the kind
//! (`message.received`, …) and its `detail` the JSON of [`Event::detail`]:
//! `{"id", "kind", "app", "time", "openid" | "user_hash", …the kind's fields}`. No secret is
//! ever in an event; the user's openid is there in clear or as a keyed hash ([`UserForm`]).

use std::fmt;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::learn::{self, AskerKey};
use crate::protocol::{Message, MessageKind, OpenId};

/// What an event tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A user message or event, once per push (after WeChat's retries are told apart).
    MessageReceived,
    /// One message of a reply (or an outbox send) went out.
    ReplySent,
    /// One message did not go out, or may have: refused by the quota or the window, maybe
    /// sent, dropped, with the reason.
    ReplySettled,
    /// The user was handed to a human agent (a transfer rule, or an agent's session event).
    HandoffStarted,
    /// The agent closed the session: automatic replies resume.
    HandoffEnded,
    /// A user's question nothing answered (the default reply went out, or nothing did).
    QuestionUnanswered,
}

impl Kind {
    /// Every kind, in the order above.
    pub const ALL: [Kind; 6] = [
        Kind::MessageReceived,
        Kind::ReplySent,
        Kind::ReplySettled,
        Kind::HandoffStarted,
        Kind::HandoffEnded,
        Kind::QuestionUnanswered,
    ];

    /// The kind's name: EventBridge's `detail-type`, and `kind` in the detail.
    pub fn name(self) -> &'static str {
        match self {
            Self::MessageReceived => "message.received",
            Self::ReplySent => "reply.sent",
            Self::ReplySettled => "reply.settled",
            Self::HandoffStarted => "handoff.started",
            Self::HandoffEnded => "handoff.ended",
            Self::QuestionUnanswered => "question.unanswered",
        }
    }

    /// The kind named `name`, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the user's openid appears in events (`KEFU_EVENT_OPENID`, the template's `EventOpenId`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserForm {
    /// As a keyed hash (`learn::asker`, keyed from the app's AppSecret): consumers tell users
    /// apart, and cannot message them. The default.
    #[default]
    Hashed,
    /// The openid itself: what a CRM needs to answer through the outbox.
    Clear,
}

impl UserForm {
    /// `hashed` or `clear`.
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim().to_ascii_lowercase().as_str() {
            "hashed" | "hash" => Some(Self::Hashed),
            "clear" | "openid" => Some(Self::Clear),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Hashed => "hashed",
            Self::Clear => "clear",
        }
    }
}

/// The user an event is about, as the operator chose to show them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum User {
    OpenId(OpenId),
    /// `learn::asker` of the openid.
    Hash(String),
}

impl User {
    /// `openid` in `form` (hashed with `key`).
    pub fn of(openid: &OpenId, form: UserForm, key: &AskerKey) -> Self {
        match form {
            UserForm::Clear => Self::OpenId(openid.clone()),
            UserForm::Hashed => Self::Hash(learn::asker(key, openid)),
        }
    }

    /// What stands for the user in the payload.
    pub fn shown(&self) -> &str {
        match self {
            Self::OpenId(openid) => openid.as_str(),
            Self::Hash(hash) => hash,
        }
    }

    /// The detail's field: `openid`, or `user_hash`.
    fn field(&self) -> &'static str {
        match self {
            Self::OpenId(_) => "openid",
            Self::Hash(_) => "user_hash",
        }
    }
}

/// One event, ready to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Stable across WeChat's retries and SQS's redeliveries: consumers deduplicate by it.
    pub id: String,
    pub kind: Kind,
    pub appid: String,
    /// When the fact happened, ms since the epoch (EventBridge's `time`).
    pub at_ms: i64,
    pub user: User,
    /// The kind's own fields (an object).
    pub fields: Map<String, Value>,
}

impl Event {
    /// EventBridge's `source`: `kefu.{appid}`.
    pub fn source(&self) -> String {
        format!("kefu.{}", self.appid)
    }

    /// EventBridge's `detail-type`: the kind's name.
    pub fn detail_type(&self) -> &'static str {
        self.kind.name()
    }

    /// The event as JSON (EventBridge's `detail`): id, kind, app, time (RFC 3339, UTC, ms),
    /// the user, then the kind's fields.
    pub fn detail(&self) -> Value {
        let mut detail = Map::new();
        detail.insert("id".into(), self.id.clone().into());
        detail.insert("kind".into(), self.kind.name().into());
        detail.insert("app".into(), self.appid.clone().into());
        detail.insert("time".into(), rfc3339(self.at_ms).into());
        detail.insert(self.user.field().into(), self.user.shown().into());
        for (name, value) in &self.fields {
            detail.insert(name.clone(), value.clone());
        }
        Value::Object(detail)
    }
}

/// The stable id of a fact: 32 hex digits of SHA-256 over its scope and key (a ledger or send
/// key, which holds the openid: the id must not).
pub fn id(scope: &str, key: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(b"kefu event v1\0");
    hash.update(scope.as_bytes());
    hash.update(b"\0");
    hash.update(key.as_bytes());
    hex::encode(hash.finalize().get(..16).unwrap_or(&[]))
}

/// Who publishes: the pieces every event of one app and user shares.
#[derive(Debug, Clone)]
pub struct About<'a> {
    pub appid: &'a str,
    pub user: &'a User,
}

impl About<'_> {
    fn event(&self, kind: Kind, id: String, at_ms: i64, fields: Value) -> Event {
        Event {
            id,
            kind,
            appid: self.appid.to_owned(),
            at_ms,
            user: self.user.clone(),
            fields: match fields {
                Value::Object(map) => map,
                _ => Map::new(),
            },
        }
    }

    /// `message.received`: the push's typed message (its `from_user_name` as the user is
    /// shown), at the time `receive` accepted it. `push_key` is its ledger key.
    pub fn message_received(&self, push_key: &str, at_ms: i64, message: &Message) -> Event {
        let mut message = serde_json::to_value(message).unwrap_or(Value::Null);
        if let Some(object) = message.as_object_mut() {
            object.insert("from_user_name".into(), self.user.shown().into());
        }
        self.event(
            Kind::MessageReceived,
            id("message", push_key),
            at_ms,
            json!({ "message": message }),
        )
    }

    /// `reply.sent`: message `send.n` went out at `at_ms`.
    pub fn reply_sent(&self, send: &SendRef<'_>, at_ms: i64, msgtype: &str) -> Event {
        let mut fields = send.fields();
        fields.insert("msgtype".into(), msgtype.into());
        self.event(
            Kind::ReplySent,
            id("send", send.key),
            at_ms,
            Value::Object(fields),
        )
    }

    /// `reply.settled`: message `send.n` did not go out (or may have), for `reason`. The same
    /// id as its `reply.sent` would have had: one outcome per send.
    pub fn reply_settled(&self, send: &SendRef<'_>, at_ms: i64, reason: &Settled) -> Event {
        let mut fields = send.fields();
        fields.insert("reason".into(), reason.name().into());
        if let Some(errcode) = reason.errcode() {
            fields.insert("errcode".into(), errcode.into());
        }
        self.event(
            Kind::ReplySettled,
            id("send", send.key),
            at_ms,
            Value::Object(fields),
        )
    }

    /// `reply.settled` for a whole job dropped before any send (too old to send, e.g. redriven
    /// from the dead-letter queue): `push_key` is its ledger key.
    pub fn job_dropped(&self, push_key: &str, at_ms: i64, why: &str) -> Event {
        self.event(
            Kind::ReplySettled,
            id("dropped", push_key),
            at_ms,
            json!({ "origin": Origin::Reply.name(), "reason": "dropped", "detail": why }),
        )
    }

    /// `handoff.started`: decided by the push `push_key` (at its CreateTime), holding
    /// automatic replies until `until_ms`.
    pub fn handoff_started(
        &self,
        push_key: &str,
        at_ms: i64,
        by: &HandoffBy,
        until_ms: i64,
    ) -> Event {
        let mut fields = by.fields();
        fields.insert("until".into(), rfc3339(until_ms).into());
        self.event(
            Kind::HandoffStarted,
            id("handoff", push_key),
            at_ms,
            Value::Object(fields),
        )
    }

    /// `handoff.ended`: the agent `kf_account` closed the session (the push `push_key`).
    pub fn handoff_ended(&self, push_key: &str, at_ms: i64, kf_account: &str) -> Event {
        self.event(
            Kind::HandoffEnded,
            id("handoff", push_key),
            at_ms,
            json!({ "kf_account": kf_account }),
        )
    }

    /// `question.unanswered`: the user's text, as kept for the report (`learn::kept_text`),
    /// and what became of it (`unanswered`: the default went out; `silent`: nothing did).
    pub fn question_unanswered(
        &self,
        push_key: &str,
        at_ms: i64,
        text: &str,
        outcome: &str,
    ) -> Event {
        self.event(
            Kind::QuestionUnanswered,
            id("question", push_key),
            at_ms,
            json!({ "text": learn::kept_text(text), "outcome": outcome }),
        )
    }
}

/// The question a message asks, if it is text.
pub fn question_text(message: &Message) -> Option<&str> {
    match &message.kind {
        MessageKind::Text { content } => Some(content),
        _ => None,
    }
}

/// Where a send came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// An automatic reply to a push.
    Reply,
    /// A business system's command on the outbox queue.
    Outbox,
}

impl Origin {
    pub fn name(self) -> &'static str {
        match self {
            Self::Reply => "reply",
            Self::Outbox => "outbox",
        }
    }
}

/// One send, as its events name it.
#[derive(Debug, Clone)]
pub struct SendRef<'a> {
    /// The send's idempotency key (`send#{push key}#{n}` for a reply): the event's id is
    /// derived from it.
    pub key: &'a str,
    /// Its place in the reply (0 for the first message).
    pub n: usize,
    pub origin: Origin,
    /// The id of the `message.received` it answers (a reply), or the command's idempotency
    /// key (an outbox send).
    pub about: Option<String>,
}

impl SendRef<'_> {
    fn fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        fields.insert("origin".into(), self.origin.name().into());
        fields.insert("n".into(), self.n.into());
        if let Some(about) = &self.about {
            let name = match self.origin {
                Origin::Reply => "in_reply_to",
                Origin::Outbox => "idempotency_key",
            };
            fields.insert(name.into(), about.clone().into());
        }
        fields
    }
}

/// Why a send settled without going out (or without a readable answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// kefu's own count of the user's allowance: no open window has room.
    OverQuota,
    /// The user's window is closed (no message from them within 48 h): an outbox send.
    WindowClosed,
    /// WeChat refused it for the quota or the window (45015, 45047).
    RefusedQuota { errcode: Option<i64> },
    /// WeChat refused it for good (bad openid, bad data, no permission).
    Refused { errcode: Option<i64> },
    /// The image could not be had (refused by media/upload, or not there).
    ImageRefused,
    /// It may have reached the user (no readable answer): never sent again.
    MaybeSent,
    /// A transient failure persisted until its window closed: given up, not sent.
    GivenUp,
    /// Not sent because a human agent holds the user (an outbox send while held).
    Held,
}

impl Settled {
    pub fn name(&self) -> &'static str {
        match self {
            Self::OverQuota => "over_quota",
            Self::WindowClosed => "window_closed",
            Self::RefusedQuota { .. } => "refused_quota",
            Self::Refused { .. } => "refused",
            Self::ImageRefused => "image_refused",
            Self::MaybeSent => "maybe_sent",
            Self::GivenUp => "given_up",
            Self::Held => "held",
        }
    }

    pub fn errcode(&self) -> Option<i64> {
        match self {
            Self::RefusedQuota { errcode } | Self::Refused { errcode } => *errcode,
            _ => None,
        }
    }
}

/// Who started a hand-off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandoffBy {
    /// A transfer rule (its name; `default` for the default's transfer).
    Rule(String),
    /// An agent's session event: `kf_create_session`, or `kf_switch_session` (to `kf_account`).
    Agent { event: String, kf_account: String },
}

impl HandoffBy {
    fn fields(&self) -> Map<String, Value> {
        let mut fields = Map::new();
        match self {
            Self::Rule(rule) => {
                fields.insert("by".into(), "rule".into());
                fields.insert("rule".into(), rule.clone().into());
            }
            Self::Agent { event, kf_account } => {
                fields.insert("by".into(), event.clone().into());
                fields.insert("kf_account".into(), kf_account.clone().into());
            }
        }
        fields
    }
}

/// `ms` since the epoch as RFC 3339 in UTC with milliseconds (`2026-12-07T10:59:37.123Z`).
pub fn rfc3339(ms: i64) -> String {
    let day = learn::day_of(ms);
    let in_day = ms.rem_euclid(86_400_000);
    let (h, rest) = (in_day / 3_600_000, in_day % 3_600_000);
    let (m, rest) = (rest / 60_000, rest % 60_000);
    let (s, milli) = (rest / 1000, rest % 1000);
    format!("{day}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use crate::protocol::MsgId;

    fn text(openid: &str) -> Message {
        Message {
            to_user_name: "gh_1".into(),
            from_user_name: OpenId::parse(openid).unwrap(),
            create_time: 1_700_000_000,
            msg_id: Some(MsgId("42".into())),
            kind: MessageKind::Text {
                content: "退款多久到账".into(),
            },
        }
    }

    #[test]
    fn ids_are_stable_per_fact_and_free_of_the_key() {
        let key = "push#wx1#42";
        assert_eq!(id("message", key), id("message", key));
        assert_ne!(id("message", key), id("question", key));
        assert_ne!(
            id("send", "send#push#wx1#42#0"),
            id("send", "send#push#wx1#42#1")
        );
        assert_eq!(id("message", key).len(), 32);
        assert!(!id("message", key).contains("wx1"));
    }

    #[test]
    fn a_hashed_user_appears_nowhere_in_clear() {
        let key = AskerKey::random();
        let user = User::of(
            &OpenId::parse("o-secret-user").unwrap(),
            UserForm::Hashed,
            &key,
        );
        let about = About {
            appid: "wx1",
            user: &user,
        };
        let event =
            about.message_received("push#wx1#42", 1_700_000_000_123, &text("o-secret-user"));
        let detail = event.detail().to_string();
        assert!(!detail.contains("o-secret-user"), "{detail}");
        assert_eq!(event.detail()["user_hash"], user.shown());
        assert_eq!(event.detail()["message"]["from_user_name"], user.shown());
        assert_eq!(event.detail()["message"]["kind"]["content"], "退款多久到账");
        assert_eq!(event.source(), "kefu.wx1");
        assert_eq!(event.detail_type(), "message.received");
        assert_eq!(event.detail()["time"], "2023-11-14T22:13:20.123Z");

        let clear = User::of(&OpenId::parse("o-user").unwrap(), UserForm::Clear, &key);
        let about = About {
            appid: "wx1",
            user: &clear,
        };
        assert_eq!(
            about.message_received("k", 0, &text("o-user")).detail()["openid"],
            "o-user"
        );
    }

    #[test]
    fn a_send_has_one_id_whatever_its_outcome() {
        let user = User::OpenId(OpenId::parse("o").unwrap());
        let about = About {
            appid: "wx1",
            user: &user,
        };
        let send = SendRef {
            key: "send#push#wx1#42#0",
            n: 0,
            origin: Origin::Reply,
            about: Some("m".into()),
        };
        let sent = about.reply_sent(&send, 1, "text");
        let settled = about.reply_settled(
            &send,
            2,
            &Settled::RefusedQuota {
                errcode: Some(45015),
            },
        );
        assert_eq!(sent.id, settled.id);
        assert_eq!(settled.detail()["reason"], "refused_quota");
        assert_eq!(settled.detail()["errcode"], 45015);
        assert_eq!(sent.detail()["in_reply_to"], "m");
    }

    #[test]
    fn kinds_and_forms_read_back_from_their_names() {
        for kind in Kind::ALL {
            assert_eq!(Kind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(UserForm::parse(" Clear "), Some(UserForm::Clear));
        assert_eq!(UserForm::parse("hashed"), Some(UserForm::Hashed));
        assert_eq!(UserForm::parse("plain"), None);
    }

    #[test]
    fn times_are_rfc3339_in_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_765_105_177_001), "2025-12-07T10:59:37.001Z");
    }
}
