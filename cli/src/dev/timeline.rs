//! What happened in this `kefu dev`, in order, for the chat window: each push (the signed
//! request, the decrypted message, the rule that matched and why, the passive answer), each
//! auto-reply the sandbox accepted, and each notice (refusals, quota, hand-offs, rules
//! reloads). The page polls it with `GET /dev/api/events?after=N`.
//!
//! Nothing secret goes in: requests carry signatures, never the Token or EncodingAESKey, and
//! sandbox records are stored without their access_token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;

/// The page needs recent history, not all of it.
const KEEP: usize = 2000;

/// One thing that happened.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// 1, 2, 3, … in the order things happened.
    pub seq: u64,
    /// When, in ms since the epoch.
    pub at: i64,
    /// The user it concerns, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub openid: Option<String>,
    #[serde(flatten)]
    pub what: What,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum What {
    /// A push reached the push path.
    Push(Box<PushRecord>),
    /// The sandbox accepted a custom/send: `body` is WeChat's send body.
    Reply {
        msgtype: String,
        body: serde_json::Value,
    },
    /// A line of explanation (also printed on the terminal).
    Notice { level: Level, text: String },
    /// The user's hand-off ended (the agent closed the session, or the hold ran out):
    /// automatic replies resume (also printed on the terminal).
    HandoffEnded { text: String },
    /// One of kefu's events was published (the page's events panel; also printed).
    Event {
        /// Its kind (`reply.sent`, …).
        event: String,
        id: String,
        /// The terminal's line.
        text: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Info,
    Good,
    Warn,
    Error,
}

/// A push as the inspector shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PushRecord {
    pub method: String,
    /// The query string as received (signatures, timestamp, nonce; never a secret).
    pub query: String,
    pub body: String,
    /// `plaintext`, `compatible` or `safe`, once opened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// The message as the push carried it, decrypted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decrypted: Option<String>,
    /// The parsed message (`kefu::protocol::Message` as JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<serde_json::Value>,
    /// Which rule answers and why (`kefu::rules::Explanation`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<serde_json::Value>,
    pub status: u16,
    /// The passive answer as sent.
    pub answer: String,
    /// The passive answer decrypted, when it was a sealed `transfer_customer_service`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer_decrypted: Option<String>,
    /// Set when the answer handed the user to a human agent: until when (ms since the epoch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handoff_until: Option<i64>,
    /// Why the push was refused, for 4xx answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// The shared record. Clones share it.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    inner: Arc<Mutex<Inner>>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: Vec<Entry>,
    next_seq: u64,
    /// Job keys (`push#appid#…`) to the user they answer, so that the send core's log lines,
    /// which name jobs, can be told per user.
    users_by_job: HashMap<String, String>,
}

impl Timeline {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&self, openid: Option<String>, what: What) {
        let at = now_millis();
        let mut inner = self.lock();
        inner.next_seq += 1;
        let seq = inner.next_seq;
        inner.entries.push(Entry {
            seq,
            at,
            openid,
            what,
        });
        if inner.entries.len() > KEEP {
            let excess = inner.entries.len() - KEEP;
            inner.entries.drain(..excess);
        }
    }

    pub fn notice(&self, openid: Option<String>, level: Level, text: impl Into<String>) {
        self.push(
            openid,
            What::Notice {
                level,
                text: text.into(),
            },
        );
    }

    /// Entries after `seq`, oldest first.
    pub fn after(&self, seq: u64) -> Vec<Entry> {
        self.lock()
            .entries
            .iter()
            .filter(|e| e.seq > seq)
            .cloned()
            .collect()
    }

    /// Remembers that the job `key` answers `openid`.
    pub fn job_for(&self, key: String, openid: &str) {
        let mut inner = self.lock();
        if inner.users_by_job.len() > KEEP * 4 {
            inner.users_by_job.clear();
        }
        inner.users_by_job.insert(key, openid.to_owned());
    }

    /// The user of a job key or of a send key (`send#{job key}#{n}`), if known.
    pub fn user_of(&self, key: &str) -> Option<String> {
        let job = key
            .strip_prefix("send#")
            .and_then(|rest| rest.rsplit_once('#'))
            .map_or(key, |(job, _)| job);
        self.lock().users_by_job.get(job).cloned()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_keys_are_traced_back_to_their_user() {
        let timeline = Timeline::new();
        timeline.job_for("push#wx1#123".into(), "o-a");
        assert_eq!(
            timeline.user_of("send#push#wx1#123#0").as_deref(),
            Some("o-a")
        );
        assert_eq!(timeline.user_of("push#wx1#123").as_deref(), Some("o-a"));
        assert_eq!(timeline.user_of("send#push#wx1#999#0"), None);
    }

    #[test]
    fn entries_come_back_after_a_sequence_number() {
        let timeline = Timeline::new();
        timeline.notice(None, Level::Info, "one");
        timeline.notice(Some("o".into()), Level::Warn, "two");
        let all = timeline.after(0);
        assert_eq!(all.len(), 2);
        let later = timeline.after(all.first().map_or(0, |e| e.seq));
        assert_eq!(later.len(), 1);
        let json = serde_json::to_value(later.first()).unwrap_or_default();
        assert_eq!(json["kind"], "notice");
        assert_eq!(json["text"], "two");
    }
}
