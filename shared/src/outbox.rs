//! The outbox's command: what a business system puts on `OutboxQueue` for kefu to send to a
//! user — through the same send core as the automatic replies (the app's access_token, the
//! user's quota, hand-off holds, at most once). Pure: the JSON, its checks, the claim keys and
//! what can become of a command. docs/outbox.md is the schema for producers.
//!
//! ```json
//! {"appid": "wx0123456789abcdef", "openid": "oUser…", "idempotency_key": "refund-8812",
//!  "messages": [{"type": "text", "content": "您的退款已到账"}],
//!  "not_after": 1714200000, "during_handoff": "send"}
//! ```
//!
//! The same `idempotency_key` (of one app) sends once: each message `n` of a command is claimed
//! as `send#outbox#{appid}#{key}#{n}` in the ledger before it goes out, whatever delivered the
//! command (a second command with the key, an SQS redelivery, a DLQ redrive).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::protocol::{AppId, NotAnOpenId, OpenId};
use crate::rules::model::MAX_MESSAGES_PER_REPLY;
use crate::rules::{MediaSource, ReplyMessage};

/// The longest idempotency key, in characters.
pub const MAX_KEY_CHARS: usize = 128;
/// The longest openid accepted (WeChat's are 28 characters): [`OpenId`]'s rule.
pub use crate::protocol::openid::MAX_OPENID_CHARS;
/// The most messages a command may carry: as many as a rule's reply.
pub const MAX_MESSAGES: usize = MAX_MESSAGES_PER_REPLY;
/// The longest text message, in bytes (custom/send refuses longer text).
pub const MAX_TEXT_BYTES: usize = 2048;
/// The largest command body, in bytes (SQS takes 256 KiB).
pub const MAX_COMMAND_BYTES: usize = 64 * 1024;
/// A command older than this on the queue (its SQS `SentTimestamp`) is settled, not sent: the
/// ledger forgets claims after `LEDGER_TTL` (3 days), and a DLQ redrive days later must never
/// send a second time. WeChat refuses sends 48 h after the user's last message anyway.
pub const MAX_COMMAND_AGE_MS: i64 = 48 * 3600 * 1000;

/// Whether a human agent's hold on the user holds the command back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DuringHandoff {
    /// Held back (settled `held_by_agent`, not sent): the agent speaks for kefu meanwhile.
    #[default]
    Hold,
    /// Sent anyway (a business notice the agent should not stand in the way of).
    Send,
}

impl DuringHandoff {
    /// `hold` or `send` (the deployment's `KEFU_OUTBOX_DURING_HANDOFF`).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim() {
            "hold" => Some(Self::Hold),
            "send" => Some(Self::Send),
            _ => None,
        }
    }
}

/// One outbox command, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Unchecked")]
pub struct Command {
    pub appid: String,
    pub openid: OpenId,
    pub messages: Vec<ReplyMessage>,
    pub idempotency_key: String,
    /// Unix time in seconds after which the command is settled, not sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<i64>,
    /// Overrides the deployment's choice for this command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub during_handoff: Option<DuringHandoff>,
}

/// A command as a producer wrote it, before its checks: the openid is text until they run, so
/// that a bad one is refused with its reason (`openid: …`), not as JSON that does not read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Unchecked {
    appid: String,
    openid: String,
    messages: Vec<ReplyMessage>,
    idempotency_key: String,
    #[serde(default)]
    not_after: Option<i64>,
    #[serde(default)]
    during_handoff: Option<DuringHandoff>,
}

impl TryFrom<Unchecked> for Command {
    type Error = CommandError;

    fn try_from(unchecked: Unchecked) -> Result<Self, CommandError> {
        AppId::parse(&unchecked.appid).map_err(|_| CommandError::AppId)?;
        let command = Self {
            openid: OpenId::parse(&unchecked.openid)?,
            appid: unchecked.appid,
            messages: unchecked.messages,
            idempotency_key: unchecked.idempotency_key,
            not_after: unchecked.not_after,
            during_handoff: unchecked.during_handoff,
        };
        command.check()?;
        Ok(command)
    }
}

/// Why a queue body is not a command kefu can run: dropped with a log line and counted
/// (`outbox_dropped`), never retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("command is {0} bytes, over the limit of {MAX_COMMAND_BYTES}")]
    TooLarge(usize),
    #[error("command is not valid JSON: {0}")]
    Malformed(String),
    #[error("appid: not an AppID (wx and 16 letters or digits)")]
    AppId,
    #[error("openid: {0}")]
    OpenId(#[from] NotAnOpenId),
    #[error("idempotency_key: {0}")]
    Key(String),
    #[error("messages: {0}")]
    Messages(String),
    #[error("not_after: {0}")]
    NotAfter(&'static str),
}

impl Command {
    /// A command (checked) with `messages` for `openid` of `appid`, keyed `key`.
    pub fn new(
        appid: &str,
        openid: &OpenId,
        messages: Vec<ReplyMessage>,
        key: &str,
    ) -> Result<Self, CommandError> {
        let command = Self {
            appid: appid.to_owned(),
            openid: openid.clone(),
            messages,
            idempotency_key: key.to_owned(),
            not_after: None,
            during_handoff: None,
        };
        command.check()?;
        Ok(command)
    }

    /// Reads and checks a queue body.
    pub fn from_json(body: &str) -> Result<Self, CommandError> {
        if body.len() > MAX_COMMAND_BYTES {
            return Err(CommandError::TooLarge(body.len()));
        }
        let unchecked: Unchecked = serde_json::from_str(body).map_err(|e| {
            // serde's message names the field and position; it never repeats a long value.
            CommandError::Malformed(e.to_string())
        })?;
        Self::try_from(unchecked)
    }

    pub fn to_json(&self) -> String {
        // Strings, integers and enums always serialise.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The checks a producer's command must pass (what `from_json` applies; its openid is an
    /// [`OpenId`], checked when it was read).
    pub fn check(&self) -> Result<(), CommandError> {
        AppId::parse(&self.appid).map_err(|_| CommandError::AppId)?;
        check_key(&self.idempotency_key)?;
        check_messages(&self.messages)?;
        if self.not_after.is_some_and(|t| t <= 0) {
            return Err(CommandError::NotAfter(
                "Unix time in seconds, greater than 0",
            ));
        }
        Ok(())
    }

    /// The ledger key of message `n`'s send: the same for every delivery of the key.
    pub fn send_key(&self, n: usize) -> String {
        send_key(&self.appid, &self.idempotency_key, n)
    }

    /// Whether the command's time ran out at `now` (ms since the epoch).
    pub fn expired(&self, now: i64) -> bool {
        self.not_after
            .is_some_and(|secs| now > secs.saturating_mul(1000))
    }

    /// Whether to send while an agent holds the user, the deployment's choice being `default`.
    pub fn during_handoff(&self, default: DuringHandoff) -> DuringHandoff {
        self.during_handoff.unwrap_or(default)
    }
}

/// `send#outbox#{appid}#{key}#{n}`.
pub fn send_key(appid: &str, key: &str, n: usize) -> String {
    format!("send#outbox#{appid}#{key}#{n}")
}

/// The characters a key may hold besides letters and digits.
const KEY_PUNCTUATION: &str = "-_.:/+=@";

fn check_key(key: &str) -> Result<(), CommandError> {
    if key.is_empty() {
        return Err(CommandError::Key("missing (empty)".into()));
    }
    let chars = key.chars().count();
    if chars > MAX_KEY_CHARS {
        return Err(CommandError::Key(format!(
            "{chars} characters, over the limit of {MAX_KEY_CHARS}"
        )));
    }
    if let Some(bad) = key
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || KEY_PUNCTUATION.contains(*c)))
    {
        return Err(CommandError::Key(format!(
            "has {bad:?}: use letters, digits and {KEY_PUNCTUATION}"
        )));
    }
    Ok(())
}

fn check_messages(messages: &[ReplyMessage]) -> Result<(), CommandError> {
    if messages.is_empty() || messages.len() > MAX_MESSAGES {
        return Err(CommandError::Messages(format!(
            "{} messages; a command has 1 to {MAX_MESSAGES}",
            messages.len()
        )));
    }
    for (n, message) in messages.iter().enumerate() {
        let bad = |what: String| Err(CommandError::Messages(format!("[{n}]: {what}")));
        match message {
            ReplyMessage::Text { content } if content.trim().is_empty() => {
                return bad("text is empty".into());
            }
            ReplyMessage::Text { content } if content.len() > MAX_TEXT_BYTES => {
                return bad(format!(
                    "text is {} bytes, over the limit of {MAX_TEXT_BYTES}",
                    content.len()
                ));
            }
            ReplyMessage::Link { url, .. }
                if !url.starts_with("https://") && !url.starts_with("http://") =>
            {
                return bad("link url must start with http:// or https://".into());
            }
            ReplyMessage::Image { source }
            | ReplyMessage::MiniProgramPage { thumb: source, .. } => match source {
                MediaSource::Url(url) if !url.starts_with("https://") => {
                    return bad("image url must start with https://".into());
                }
                MediaSource::File(name) if name.trim().is_empty() => {
                    return bad("image file name is empty".into());
                }
                _ => {}
            },
            _ => {}
        }
    }
    Ok(())
}

/// Why a message of a command was settled without being sent (or sent, for all we know).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// `not_after` had passed when the command ran.
    NotAfterPassed,
    /// The command sat on the queue longer than [`MAX_COMMAND_AGE_MS`].
    TooOld,
    /// No window open: the user has not written in 48 hours (WeChat would answer 45015).
    WindowClosed,
    /// The window is open, its allowance spent (WeChat would answer 45047).
    AllowanceSpent,
    /// WeChat refused it for the quota (45015, 45047, …: its own count).
    RefusedForQuota(String),
    /// A human agent holds the user, and the command holds back during a hand-off.
    HeldByAgent,
    /// Already sent (or settled) under this key: a duplicate command or a redelivery.
    Duplicate,
    /// WeChat refused it for good, or its image could not be had.
    Refused,
    /// A transient failure outlasted the user's window: given up, not sent.
    GivenUp,
    /// It went out without a readable answer: counted, never sent again.
    MaybeSent,
}

impl Settled {
    /// The reason's name in logs and events (`not_after`, `window_closed`, …): the names a
    /// reply's `reply.settled` uses (`events::Settled`), and two of the outbox's own.
    pub fn name(&self) -> &'static str {
        match self {
            Self::NotAfterPassed => "not_after",
            Self::TooOld => "too_old",
            Self::WindowClosed => "window_closed",
            Self::AllowanceSpent => "over_quota",
            Self::RefusedForQuota(_) => "refused_quota",
            Self::HeldByAgent => "held",
            Self::Duplicate => "duplicate",
            Self::Refused => "refused",
            Self::GivenUp => "given_up",
            Self::MaybeSent => "maybe_sent",
        }
    }

    /// WeChat's error code for it, where WeChat has one (the code it answered, or would have).
    pub fn errcode(&self) -> Option<i64> {
        match self {
            Self::WindowClosed => Some(45015),
            Self::AllowanceSpent => Some(45047),
            Self::RefusedForQuota(told) => told
                .split(|c: char| !c.is_ascii_digit())
                .find_map(|digits| digits.parse::<i64>().ok().filter(|c| *c >= 40_000)),
            _ => None,
        }
    }
}

impl fmt::Display for Settled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAfterPassed => f.write_str("not_after passed: not sent"),
            Self::TooOld => f.write_str("command too old (over 48 h on the queue): not sent"),
            Self::WindowClosed => f.write_str(
                "the user's window is closed (no message from them in 48 h; 45015): not sent",
            ),
            Self::AllowanceSpent => {
                f.write_str("the user's allowance in this window is spent (45047): not sent")
            }
            Self::RefusedForQuota(told) => write!(f, "WeChat refused it for the quota: {told}"),
            Self::HeldByAgent => f.write_str("a human agent holds the user: held back, not sent"),
            Self::Duplicate => f.write_str("already sent or settled under this key"),
            Self::Refused => f.write_str("refused for good: not sent"),
            Self::GivenUp => f.write_str("failed until the user's window closed: not sent"),
            Self::MaybeSent => f.write_str("outcome unknown: maybe sent, never sent again"),
        }
    }
}

/// What became of one message of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageOutcome {
    Sent,
    Settled(Settled),
}

/// What became of a command that needs no retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandOutcome {
    /// Run: what became of each message, in order.
    Ran(Vec<MessageOutcome>),
    /// Not run: the body is not a command (or not one for an app served).
    Dropped(String),
}

impl CommandOutcome {
    /// How many of its messages went out now.
    pub fn sent(&self) -> usize {
        match self {
            Self::Ran(messages) => messages
                .iter()
                .filter(|m| matches!(m, MessageOutcome::Sent))
                .count(),
            Self::Dropped(_) => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const APPID: &str = "wx0123456789abcdef";

    fn body(extra: serde_json::Value) -> String {
        let mut command = serde_json::json!({
            "appid": APPID, "openid": "oUser_1-x", "idempotency_key": "refund-8812",
            "messages": [{"type": "text", "content": "您的退款已到账"}]
        });
        if let (Some(command), Some(extra)) = (command.as_object_mut(), extra.as_object()) {
            for (k, v) in extra {
                command.insert(k.clone(), v.clone());
            }
        }
        command.to_string()
    }

    fn problem(extra: serde_json::Value) -> String {
        Command::from_json(&body(extra)).unwrap_err().to_string()
    }

    #[test]
    fn a_command_reads_back_as_written() {
        let command = Command::from_json(&body(serde_json::json!({
            "not_after": 1_714_200_000, "during_handoff": "send"
        })))
        .unwrap();
        assert_eq!(command.not_after, Some(1_714_200_000));
        assert_eq!(
            command.during_handoff(DuringHandoff::Hold),
            DuringHandoff::Send
        );
        assert_eq!(Command::from_json(&command.to_json()).unwrap(), command);
        assert_eq!(
            command.send_key(1),
            "send#outbox#wx0123456789abcdef#refund-8812#1"
        );
        let plain = Command::from_json(&body(serde_json::json!({}))).unwrap();
        assert_eq!(
            plain.during_handoff(DuringHandoff::Hold),
            DuringHandoff::Hold
        );
        assert!(!plain.expired(i64::MAX));
    }

    #[test]
    fn every_bad_command_is_refused_with_its_reason() {
        for (extra, says) in [
            (serde_json::json!({"appid": "wx1"}), "appid: not an AppID"),
            (serde_json::json!({"openid": ""}), "openid: missing"),
            (serde_json::json!({"openid": "o 1"}), "openid: letters"),
            (
                serde_json::json!({"openid": "o".repeat(65)}),
                "longer than 64",
            ),
            (
                serde_json::json!({"idempotency_key": ""}),
                "idempotency_key: missing",
            ),
            (
                serde_json::json!({"idempotency_key": "k".repeat(129)}),
                "129 characters, over the limit of 128",
            ),
            (serde_json::json!({"idempotency_key": "a#b"}), "has '#'"),
            (serde_json::json!({"messages": []}), "0 messages"),
            (
                serde_json::json!({"messages": vec![serde_json::json!({"type": "text", "content": "x"}); 6]}),
                "6 messages; a command has 1 to 5",
            ),
            (
                serde_json::json!({"messages": [{"type": "text", "content": " "}]}),
                "[0]: text is empty",
            ),
            (
                serde_json::json!({"messages": [{"type": "text", "content": "x".repeat(2049)}]}),
                "2049 bytes",
            ),
            (
                serde_json::json!({"messages": [{"type": "image", "source": {"url": "http://x/a.png"}}]}),
                "https://",
            ),
            (
                serde_json::json!({"messages": [{"type": "voice"}]}),
                "not valid JSON",
            ),
            (serde_json::json!({"not_after": 0}), "not_after"),
            (serde_json::json!({"not_after": "soon"}), "not valid JSON"),
            (serde_json::json!({"colour": "red"}), "unknown field"),
            (
                serde_json::json!({"during_handoff": "maybe"}),
                "not valid JSON",
            ),
        ] {
            let said = problem(extra.clone());
            assert!(said.contains(says), "{extra}: {said}");
        }
        let missing = Command::from_json(r#"{"appid": "wx0123456789abcdef"}"#)
            .unwrap_err()
            .to_string();
        assert!(missing.contains("missing field"), "{missing}");
        assert!(matches!(
            Command::from_json("{not json"),
            Err(CommandError::Malformed(_))
        ));
        let huge = " ".repeat(MAX_COMMAND_BYTES + 1);
        assert!(matches!(
            Command::from_json(&huge),
            Err(CommandError::TooLarge(_))
        ));
    }

    #[test]
    fn not_after_is_inclusive_of_its_second() {
        let command = Command::from_json(&body(serde_json::json!({"not_after": 100}))).unwrap();
        assert!(!command.expired(100_000));
        assert!(command.expired(100_001));
    }

    #[test]
    fn quota_reasons_carry_wechats_codes() {
        assert_eq!(Settled::WindowClosed.errcode(), Some(45015));
        assert_eq!(Settled::AllowanceSpent.errcode(), Some(45047));
        assert_eq!(
            Settled::RefusedForQuota("errcode 45015: response out of time limit".into()).errcode(),
            Some(45015)
        );
        assert_eq!(Settled::HeldByAgent.errcode(), None);
    }
}
