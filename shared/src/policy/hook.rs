//! A hook's wire format, pure: the request kefu sends (the message, the user, what matched, a
//! request id stable across retries), the answer it accepts (`{"reply": [...]}`, 0 to 5
//! messages kefu can send, optionally marked machine-generated), the signature of an HTTPS
//! call, and what is kept in the ledger so that a redelivered job does not call the hook again.
//! The call itself is an adapter's (`hooks/`); when to call, and what to send, the send core's
//! (`send::hook`).

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::protocol::{Message, MessageKind, MsgId, OpenId};
use crate::rules::model::MAX_MESSAGES_PER_REPLY;
use crate::rules::{MediaSource, ReplyMessage};

/// The most an answer may weigh: what is read past it is not read (the call fails).
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// A wait on a hook longer than this shows the user "typing…".
pub const TYPING_AFTER: Duration = Duration::from_secs(1);
/// A hook is called only with at least this much of its wait left before the deadline room.
pub const MIN_WAIT: Duration = Duration::from_millis(100);
/// The request format's version (`"v"`).
pub const REQUEST_VERSION: u32 = 1;

/// The headers of a signed HTTPS call (the Standard Webhooks names).
pub const ID_HEADER: &str = "webhook-id";
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// The request id of the hook call of the job whose ledger key is `job_key`: the same for
/// every delivery of the job (the hook may deduplicate on it), and no openid in it.
pub fn request_id(job_key: &str) -> String {
    let digest = Sha256::digest(job_key.as_bytes());
    format!("kefu_{}", hex::encode(digest.get(..16).unwrap_or_default()))
}

/// The ledger key of the answer kept for the job `job_key`.
pub fn kept_key(job_key: &str) -> String {
    format!("hook#{job_key}")
}

/// How the user is named to hooks.
#[derive(Debug, Clone, Default)]
pub enum UserForm {
    /// The openid, as WeChat gives it.
    #[default]
    Openid,
    /// `HMAC-SHA256(key, openid)`, hex: the same user gets the same name, the hook never sees
    /// the openid.
    Hashed(Vec<u8>),
}

/// What matched the message: a rule, a FAQ entry, or the default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Matched {
    Rule(String),
    Faq(String),
    Default,
}

/// The JSON body of a hook call.
#[derive(Debug, Clone, Serialize)]
pub struct HookRequest<'m> {
    pub v: u32,
    /// Stable across deliveries of the job ([`request_id`]).
    pub id: String,
    /// The AppID.
    pub app: &'m str,
    /// The openid, when the operator does not hash it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub openid: Option<&'m str>,
    /// `HMAC-SHA256(key, openid)` in hex, when the operator hashes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_hash: Option<String>,
    /// The message as kefu parsed it (`{"type": "text", "content": …}`, an image, an event…).
    pub message: &'m MessageKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg_id: Option<&'m MsgId>,
    /// What matched.
    pub matched: &'m Matched,
    /// When the push arrived and when this call was made, ms since the epoch.
    pub received_at: i64,
    pub sent_at: i64,
}

impl<'m> HookRequest<'m> {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        job_key: &str,
        app: &'m str,
        openid: &'m OpenId,
        users: &UserForm,
        message: &'m Message,
        matched: &'m Matched,
        received_at: i64,
        sent_at: i64,
    ) -> Self {
        let (openid, user_hash) = match users {
            UserForm::Openid => (Some(openid.as_str()), None),
            UserForm::Hashed(key) => (None, Some(hmac_hex(key, openid.as_str().as_bytes()))),
        };
        Self {
            v: REQUEST_VERSION,
            id: request_id(job_key),
            app,
            openid,
            user_hash,
            message: &message.kind,
            msg_id: message.msg_id.as_ref(),
            matched,
            received_at,
            sent_at,
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The key a user's hash in hook requests is made with, derived from the app's AppSecret: the
/// same on every instance, and unknown to the hook.
pub fn user_key(app_secret: &str) -> Vec<u8> {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(app_secret.as_bytes()) else {
        return Vec::new();
    };
    mac.update(b"kefu hook user");
    mac.finalize().into_bytes().to_vec()
}

fn hmac_hex(key: &[u8], data: &[u8]) -> String {
    // HMAC takes a key of any length.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(data);
    hex::encode(mac.finalize().into_bytes())
}

/// The signature header of an HTTPS call: `v1,` and the base64 of
/// `HMAC-SHA256(secret, "{id}.{timestamp}.{body}")` (the Standard Webhooks scheme; `timestamp` in
/// seconds since the epoch).
pub fn signature(secret: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    use base64::Engine as _;
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

/// A hook's answer, as kefu accepts it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookAnswer {
    /// 0 to 5 messages; none: send nothing.
    pub reply: Vec<ReplyMessage>,
    /// The answer was machine-generated (an LLM): kefu adds the operator's label.
    #[serde(default)]
    pub generated: bool,
}

/// Why an answer is not one kefu sends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("answer is not JSON of the form {{\"reply\": [...]}}: {0}")]
    Shape(String),
    #[error("answer has {0} messages; at most {MAX_MESSAGES_PER_REPLY} can be sent")]
    TooMany(usize),
    #[error("answer reply[{0}]: {1}")]
    Unsendable(usize, &'static str),
}

/// Reads an answer: `{"reply": [...]}` whose messages kefu can send as written (no
/// placeholders are filled in an answer).
pub fn parse_answer(body: &[u8]) -> Result<HookAnswer, AnswerError> {
    let answer: HookAnswer = serde_json::from_slice(body).map_err(|e| {
        // serde's message, without the answer's text.
        AnswerError::Shape(e.to_string().chars().take(160).collect())
    })?;
    if answer.reply.len() > MAX_MESSAGES_PER_REPLY {
        return Err(AnswerError::TooMany(answer.reply.len()));
    }
    for (n, message) in answer.reply.iter().enumerate() {
        let bad = |what| Err(AnswerError::Unsendable(n, what));
        match message {
            ReplyMessage::Text { content } if content.trim().is_empty() => {
                return bad("text is empty");
            }
            // WeChat's custom/send takes text up to 2048 bytes.
            ReplyMessage::Text { content } if content.len() > 2048 => {
                return bad("text is over 2048 bytes");
            }
            ReplyMessage::Link { url, .. }
                if !url.starts_with("https://") && !url.starts_with("http://") =>
            {
                return bad("link url must start with http:// or https://");
            }
            ReplyMessage::Image { source }
            | ReplyMessage::MiniProgramPage { thumb: source, .. } => match source {
                MediaSource::Url(url) if !url.starts_with("https://") => {
                    return bad("image url must start with https://");
                }
                MediaSource::File(_) => {
                    return bad(
                        "an answer's image is a URL or a media_id (files are the rules' own)",
                    );
                }
                MediaSource::MediaId(id) if id.trim().is_empty() => {
                    return bad("media_id is empty");
                }
                _ => {}
            },
            _ => {}
        }
    }
    Ok(answer)
}

/// `replies` with `label` added: to the last text message on a line of its own, or as a text
/// message of its own when there is none and there is room.
pub fn labelled(mut replies: Vec<ReplyMessage>, label: &str) -> Vec<ReplyMessage> {
    if label.is_empty() || replies.is_empty() {
        return replies;
    }
    let last_text = replies
        .iter()
        .rposition(|m| matches!(m, ReplyMessage::Text { .. }));
    if let Some(ReplyMessage::Text { content }) = last_text.and_then(|n| replies.get_mut(n)) {
        content.push('\n');
        content.push_str(label);
    } else if replies.len() < MAX_MESSAGES_PER_REPLY {
        replies.push(ReplyMessage::Text {
            content: label.to_owned(),
        });
    }
    replies
}

/// Where the messages sent for a hook came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The hook's answer.
    Answer,
    /// The hook's fallback, after a failure.
    Fallback,
    /// The set's default (the hook has no fallback), after a failure.
    Default,
}

/// What was decided for a job's hook, kept in the ledger (`hook#{job key}`) before anything is
/// sent: a redelivery sends from it instead of calling the hook again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    pub source: Source,
    /// The messages to send (already labelled; rendered when from the rules).
    pub messages: Vec<ReplyMessage>,
    /// Why the hook failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// How long the call took, ms.
    #[serde(default)]
    pub took_ms: u64,
}

impl Kept {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(json: &str) -> Option<Self> {
        serde_json::from_str(json).ok()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn text(s: &str) -> ReplyMessage {
        ReplyMessage::Text {
            content: s.to_owned(),
        }
    }

    #[test]
    fn the_request_id_is_the_jobs_and_hides_its_key() {
        let a = request_id("push#wx1#o1#123");
        assert_eq!(a, request_id("push#wx1#o1#123"));
        assert_ne!(a, request_id("push#wx1#o1#124"));
        assert!(a.starts_with("kefu_") && a.len() == 37, "{a}");
        assert!(!a.contains("o1"));
    }

    #[test]
    fn the_signature_is_standard_webhooks_v1() {
        // HMAC-SHA256("secret", "id.1700000000.{}"), base64: computed independently with
        // python3 -c 'import hmac,hashlib,base64; print(base64.b64encode(hmac.new(b"secret",
        // b"id.1700000000.{}", hashlib.sha256).digest()))'.
        assert_eq!(
            signature(b"secret", "id", 1_700_000_000, b"{}"),
            "v1,GBemBzTgbKoVEGKycqyY3615LbdJbhFLE1oQk+zZ+lo="
        );
        assert_ne!(
            signature(b"secret", "id", 1_700_000_001, b"{}"),
            signature(b"secret", "id", 1_700_000_000, b"{}")
        );
    }

    #[test]
    fn answers_kefu_can_send_are_read_and_others_refused_with_the_reason() {
        let answer =
            parse_answer(br#"{"reply":[{"type":"text","content":"ok"}],"generated":true}"#)
                .unwrap();
        assert_eq!(answer.reply, vec![text("ok")]);
        assert!(answer.generated);
        assert!(parse_answer(br#"{"reply":[]}"#).unwrap().reply.is_empty());
        for (body, said) in [
            (&b"<html>"[..], "not JSON"),
            (br#"{"replies":[]}"#, "not JSON"),
            (br#"{"reply":[{"type":"video"}]}"#, "not JSON"),
            (
                br#"{"reply":[{"type":"text","content":" "}]}"#,
                "text is empty",
            ),
            (
                br#"{"reply":[{"type":"image","source":{"file":"a.png"}}]}"#,
                "files are the rules' own",
            ),
            (
                br#"{"reply":[{"type":"image","source":{"url":"http://a/b.png"}}]}"#,
                "https://",
            ),
        ] {
            let err = parse_answer(body).unwrap_err().to_string();
            assert!(err.contains(said), "{err}");
        }
        let six = format!(
            r#"{{"reply":[{}]}}"#,
            [r#"{"type":"text","content":"a"}"#; 6].join(",")
        );
        assert_eq!(
            parse_answer(six.as_bytes()).unwrap_err(),
            AnswerError::TooMany(6)
        );
    }

    #[test]
    fn the_label_goes_under_the_last_text_or_on_its_own() {
        let label = "以上内容由 AI 生成";
        assert_eq!(
            labelled(vec![text("a"), text("b")], label),
            vec![text("a"), text("b\n以上内容由 AI 生成")]
        );
        let link = ReplyMessage::Link {
            title: "t".into(),
            description: "d".into(),
            url: "https://a".into(),
            thumb_url: "https://a/t.png".into(),
        };
        assert_eq!(
            labelled(vec![link.clone()], label),
            vec![link.clone(), text(label)]
        );
        assert!(labelled(Vec::new(), label).is_empty());
        assert_eq!(labelled(vec![text("a")], ""), vec![text("a")]);
    }

    #[test]
    fn a_hashed_user_is_never_the_openid() {
        let openid = OpenId::parse("o-user").unwrap();
        let message = Message {
            to_user_name: "gh_1".into(),
            from_user_name: openid.clone(),
            create_time: 1,
            msg_id: Some(MsgId("42".into())),
            kind: MessageKind::Text {
                content: "我的订单到哪了".into(),
            },
        };
        let matched = Matched::Rule("order".into());
        let hashed = UserForm::Hashed(b"k".to_vec());
        let body =
            HookRequest::new("push#k", "wx1", &openid, &hashed, &message, &matched, 5, 6).to_json();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(json.get("openid").is_none());
        assert_eq!(json["user_hash"].as_str().unwrap().len(), 64);
        assert_eq!(json["message"]["content"], "我的订单到哪了");
        assert_eq!(json["matched"], serde_json::json!({"rule": "order"}));
        assert_eq!(json["msg_id"], "42");
        assert!(!String::from_utf8(body).unwrap().contains("o-user"));
        let plain = HookRequest::new(
            "push#k",
            "wx1",
            &openid,
            &UserForm::Openid,
            &message,
            &matched,
            5,
            6,
        );
        assert_eq!(plain.openid, Some("o-user"));
    }
}
