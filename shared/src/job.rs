//! The reply job: what `receive` puts on the queue and `reply` takes off it.
//!
//! Versioned JSON, so that a worker meeting a job from a newer `receive` can drop it with a
//! clear log line instead of misreading it.

use serde::{Deserialize, Serialize};

use crate::protocol::{Message, OpenId};

/// SQS takes messages of at most 256 KiB (body and attributes); a job stays well inside.
pub const MAX_JOB_BYTES: usize = 200 * 1024;

/// The version this build writes and understands.
pub const JOB_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub v: u32,
    pub appid: String,
    /// The push's ledger key, `push#{appid}#{dedup key}`: also the idempotency key of its sends.
    pub key: String,
    pub openid: OpenId,
    /// When `receive` accepted the push, ms since the epoch.
    pub received_at: i64,
    pub message: Message,
    /// What `receive` established about the push besides its message, for the events the
    /// reply side publishes (written only when events are on; absent otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notice: Option<Notice>,
}

/// What `receive` knows of a push that the reply side cannot work out again: whether receive
/// answered it itself, and how it moved the hand-off hold. With events on, every push claimed
/// reaches the reply side as a job, so that its events are published there, after the ack.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// `receive` answered the push itself (a transfer, or nothing to say): the reply side
    /// publishes its events and sends nothing.
    #[serde(default)]
    pub answered: bool,
    /// The hold this push moved, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff: Option<HandoffChange>,
}

/// How a push moved the hand-off hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum HandoffChange {
    /// Held until `until_ms`: by a transfer rule (`by` its name, no `kf_account`), or by an
    /// agent's session event (`by` the event's name).
    Started {
        by: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kf_account: Option<String>,
        until_ms: i64,
    },
    /// The agent closed the session.
    Ended { kf_account: String },
}

/// Why a queue body is not a job this worker can run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    #[error("job is not valid JSON: {0}")]
    Malformed(String),
    #[error("job version {0} is not supported (this build understands {JOB_VERSION})")]
    UnknownVersion(u32),
}

impl Job {
    pub fn new(appid: &str, message: Message, received_at: i64) -> Self {
        Self {
            v: JOB_VERSION,
            appid: appid.to_owned(),
            key: ledger_key(appid, &message),
            openid: message.from_user_name.clone(),
            received_at,
            message,
            notice: None,
        }
    }

    /// The same job carrying `notice`.
    pub fn with_notice(mut self, notice: Option<Notice>) -> Self {
        self.notice = notice;
        self
    }

    /// Whether the job, as JSON, fits the queue ([`MAX_JOB_BYTES`]).
    pub fn fits_the_queue(&self) -> bool {
        self.to_json().len() <= MAX_JOB_BYTES
    }

    pub fn to_json(&self) -> String {
        // A struct of strings, integers and enums always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads a queue body, checking the version before the rest.
    pub fn from_json(body: &str) -> Result<Self, JobError> {
        #[derive(Deserialize)]
        struct Version {
            v: u32,
        }
        let Version { v } =
            serde_json::from_str(body).map_err(|e| JobError::Malformed(e.to_string()))?;
        if v != JOB_VERSION {
            return Err(JobError::UnknownVersion(v));
        }
        serde_json::from_str(body).map_err(|e| JobError::Malformed(e.to_string()))
    }
}

/// The ledger key of a push: `push#{appid}#{MsgId}`, or for events
/// `push#{appid}#{FromUserName}#{CreateTime}#{Event}`.
pub fn ledger_key(appid: &str, message: &Message) -> String {
    format!("push#{appid}#{}", message.dedup_key())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A job as `receive` has always written it: read and written back byte for byte (the
    /// openids are `OpenId`s, serialized as their text), and one whose openid is not one is
    /// not read.
    #[test]
    fn a_job_reads_and_writes_back_as_it_was() {
        let json = r#"{"v":1,"appid":"wx5823bf96d3bd56c7","key":"push#wx5823bf96d3bd56c7#42","openid":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","received_at":1714112445000,"message":{"to_user_name":"gh_1","from_user_name":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","create_time":1714112445,"msg_id":"42","kind":{"type":"text","content":"你好"}}}"#;
        let job = Job::from_json(json).unwrap();
        assert_eq!(job.openid, "o9AgO5Kd5ggOC-bXrbNODIiE3bGY");
        assert_eq!(job.to_json(), json);
        for bad in [r#""openid":"""#, r#""openid":"o#1""#] {
            let body = json.replace(r#""openid":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY""#, bad);
            assert!(
                matches!(Job::from_json(&body), Err(JobError::Malformed(reason)) if reason.contains("openid")),
                "{bad}"
            );
        }
    }
}
