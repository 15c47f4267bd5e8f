//! What became of a job: settled (sent, skipped, nothing to send, dropped) or to be retried by
//! SQS, each with a typed reason that keeps its source.

use std::fmt;

use super::token::TokenError;
use crate::job::JobError;
use crate::ports::{MediaError, PortError};
use crate::wechat_types::ApiError;

/// What became of a job that needs no retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// `sent` messages went out now; `skipped` were over quota, already sent or refused for
    /// good; `maybe_sent` went out without a readable answer (counted, never sent again).
    Done {
        sent: usize,
        skipped: usize,
        maybe_sent: usize,
    },
    /// Nothing to send.
    Nothing(Silence),
    /// Not a job this sender can run.
    Dropped(DropReason),
}

/// Why a job sends nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Silence {
    /// A human agent holds the session (after a transfer).
    AgentHoldsSession,
    /// No rule (and no default) answers the message.
    NoReplyRule,
    /// The user entered the session again soon after being welcomed (`Sender::welcome_interval`).
    WelcomedRecently,
}

impl fmt::Display for Silence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::AgentHoldsSession => "a human agent holds the session",
            Self::NoReplyRule => "no reply rule",
            Self::WelcomedRecently => "welcomed recently",
        })
    }
}

/// Why a queue body was dropped (settled without sending, counted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DropReason {
    /// Not valid JSON, or a version this build does not understand.
    #[error(transparent)]
    Unreadable(#[from] JobError),
    /// A job for an app this sender does not serve.
    #[error("job for appid {job}, not {served}")]
    OtherApp { job: String, served: String },
    /// Older than WeChat's 48 h window (e.g. redriven from the DLQ): every send would be
    /// refused, and the ledger may have forgotten what was sent.
    #[error("job is {age:?} old, beyond the 48 h send window")]
    Expired { age: std::time::Duration },
}

/// A failure SQS should retry (the record becomes a batch item failure).
#[derive(Debug, thiserror::Error)]
pub enum Retry {
    /// A store (ledger, quota, hand-offs, rules) failed.
    #[error("transient: {0}")]
    Store(#[from] PortError),
    /// No access_token could be had.
    #[error("transient: {0}")]
    Token(#[from] TokenError),
    /// A send failed in a way a later attempt may not.
    #[error("transient: {send}: {source}")]
    Send {
        send: String,
        #[source]
        source: SendFailure,
    },
    /// The invocation's deadline is too near to start another send; what went out is settled.
    #[error("deadline: {left} messages left for the redelivery")]
    Deadline { left: usize },
}

/// Why one message did not go out.
#[derive(Debug, thiserror::Error)]
pub enum SendFailure {
    /// custom/send failed: WeChat refused, or did not answer.
    #[error(transparent)]
    Api(ApiError),
    /// The image upload failed (nothing was sent).
    #[error("image upload: {0}")]
    Upload(ApiError),
    /// Too little time left before the deadline for a send call: not sent.
    #[error("too close to the deadline to send")]
    Deadline,
    /// The media cache failed.
    #[error(transparent)]
    Media(PortError),
    /// The image the rule names could not be read.
    #[error(transparent)]
    Image(#[from] MediaError),
    /// No access_token. Never WeChat refusing the send: whatever the errcode (a wrong
    /// AppSecret, an IP whitelist), it is retried and, if it persists, ends in the DLQ and its
    /// alarm instead of silently dropping replies.
    #[error(transparent)]
    Token(#[from] TokenError),
}
