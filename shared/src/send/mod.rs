//! The send core (the `reply` function's behaviour): job → rules → access_token → custom/send,
//! with quota and idempotency. Free of Lambda types: the function and `kefu dev` both hand it
//! SQS records.
//!
//! | file | concern |
//! | --- | --- |
//! | `batch.rs` | one SQS batch: jobs grouped by user, run concurrently, which records SQS retries |
//! | `sequence.rs` | one job's sends: claim → quota → deliver → settle |
//! | `outbox.rs` | business systems' commands (the outbox queue) through the same sends |
//! | `events.rs` | the events a job's run tells (message.received, reply.sent/settled, …), published at its end |
//! | `hook.rs` | a hook action: called once per job, its answer (or the fallback) kept, typing while it thinks |
//! | `delivery.rs` | one message out: image upload, access_token, the call, one stale-token retry |
//! | `token.rs` | the shared access_token under a refresh lease |
//! | `outcome.rs` | what became of a job, and why one is retried |
//!
//! The pure policy it applies (send windows, error codes, rendering, the time budget) lives
//! below it in [`crate::policy`], where the stores may read it too; it is re-exported here.

mod batch;
pub use batch::{run_batch, run_jobs};
mod delivery;
mod events;
mod hook;
mod outbox;
mod outcome;
mod sequence;
pub mod token;

pub use crate::policy::{budget, errcode, quota, render};

use std::sync::Arc;
use std::time::Duration;

pub use errcode::ErrorClass;
pub use hook::Hooks;
pub use outbox::{OutboxRecord, OutboxSettings, run_outbox_batch};
pub use outcome::{DropReason, JobOutcome, Retry, Silence};

use crate::learn::AskerKey;
use crate::ports::{
    Clock, HandoffRegistry, MediaCache, MediaReader, PushLedger, QuestionLog, QuotaStore,
    SuggestionStore, WeChatApi,
};
use crate::rule_cache::RuleCache;
use token::TokenProvider;

/// WeChat keeps temporary media 3 days; reuse a media_id for 2.5 at most.
pub const MEDIA_REUSE: Duration = Duration::from_secs(60 * 3600);

/// The adapters the send core talks to.
#[derive(Debug, Clone)]
pub struct SendDeps {
    pub ledger: Arc<dyn PushLedger>,
    pub handoffs: Arc<dyn HandoffRegistry>,
    pub quota: Arc<dyn QuotaStore>,
    pub media: Arc<dyn MediaCache>,
    pub suggestions: Arc<dyn SuggestionStore>,
    /// Where unanswered and suggested questions are kept for the report.
    pub questions: Arc<dyn QuestionLog>,
    pub reader: Arc<dyn MediaReader>,
    pub api: Arc<dyn WeChatApi>,
    pub tokens: Arc<TokenProvider>,
    pub rules: Arc<RuleCache>,
    pub clock: Arc<dyn Clock>,
}

/// How long a user's numbered reply to FAQ suggestions is understood as a pick.
pub const SUGGESTION_TTL: Duration = Duration::from_secs(10 * 60);

/// How long after a welcome (a reply to `user_enter_tempsession`) the same user is not
/// welcomed again: the event fires each time they open the conversation.
pub const WELCOME_INTERVAL: Duration = Duration::from_secs(10 * 60);

/// Sends one app's auto-replies.
#[derive(Debug)]
pub struct Sender {
    appid: String,
    deps: SendDeps,
    welcome_interval: Duration,
    /// How long unanswered and suggested questions are kept (zero: none are).
    questions_kept: Duration,
    /// The key of the hash that stands for a user in a kept question (`learn::asker`).
    asker_key: AskerKey,
    /// What hook actions are called with; none: they send their fallback.
    hooks: Option<hook::Hooks>,
    /// Where its events go; none while events are off (`Sender::with_events`).
    events: Option<events::Emitter>,
}

/// How long unanswered and suggested questions are kept by default (`KEFU_UNANSWERED_DAYS`).
pub const QUESTIONS_KEPT: Duration = Duration::from_secs(30 * 86_400);

impl Sender {
    pub fn new(appid: &str, deps: SendDeps) -> Self {
        Self {
            appid: appid.to_owned(),
            deps,
            welcome_interval: WELCOME_INTERVAL,
            questions_kept: QUESTIONS_KEPT,
            asker_key: AskerKey::random(),
            hooks: None,
            events: None,
        }
    }

    /// Keeps unanswered and suggested questions for `kept` (zero: keeps none).
    pub fn with_questions_kept(mut self, kept: Duration) -> Self {
        self.questions_kept = kept;
        self
    }

    /// Hashes the users of kept questions with `key` (`learn::asker_key` of the AppSecret where
    /// deployed: the same on every instance, so a redelivered job replaces its question).
    pub fn with_asker_key(mut self, key: AskerKey) -> Self {
        self.asker_key = key;
        self
    }

    /// Welcomes a user at most once per `interval` (zero: every time they enter).
    pub fn with_welcome_interval(mut self, interval: Duration) -> Self {
        self.welcome_interval = interval;
        self
    }
}
