//! The reply path's time arithmetic, in one place: how long a WeChat call may take, when the
//! sender stops starting sends before the function's deadline, how long a send claim lasts, and
//! how old a job may be. `tests/tests/template.rs` holds these against template.yaml (function
//! timeout, visibility timeout, redrive count, DLQ retention), so neither can drift alone.
//!
//! The invariants:
//! - a send call starts only if it can finish before the deadline ([`SEND_CALL_ROOM`]), so
//!   the function is never killed while custom/send is in flight;
//! - [`SEND_LEASE`] outlives the function ([`FUNCTION_TIMEOUT`]): a live invocation's claims are
//!   never taken over; and ends before SQS redelivers ([`VISIBILITY_TIMEOUT`]): the redelivery
//!   after a crash can take over a claim whose send never started;
//! - a job older than [`MAX_JOB_AGE`] (WeChat's 48 h window: every send would be refused) is
//!   dropped, and the ledger remembers sends longer ([`LEDGER_TTL`]): a dead-letter redrive,
//!   days later, sends nothing a second time;
//! - every retry SQS makes ([`MAX_RECEIVES`] × [`VISIBILITY_TIMEOUT`]) happens while the job is
//!   still young enough to send.

use std::time::Duration;

use crate::ports::QuotaWindow;

use super::quota;

/// One WeChat API call or image download, connection included (the clients' timeout).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// A custom/send call starts only with this much time left before the deadline.
pub const SEND_CALL_ROOM: Duration = Duration::from_secs(6);
/// A message's sequence (typing, upload, send) starts only with this much time left.
pub const MESSAGE_ROOM: Duration = Duration::from_secs(16);
/// The reply function's timeout (template.yaml: `ReplyFunction.Timeout`).
pub const FUNCTION_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a send claim protects a send in flight before a redelivery may take it over.
pub const SEND_LEASE: Duration = Duration::from_secs(60);
/// The job queue's visibility timeout (template.yaml: `JobQueue.VisibilityTimeout`).
pub const VISIBILITY_TIMEOUT: Duration = Duration::from_secs(180);
/// How often SQS delivers a job before moving it to the DLQ (`maxReceiveCount`).
pub const MAX_RECEIVES: u32 = 5;
/// Jobs older than this are dropped: WeChat refuses every send 48 h after the user acted.
pub const MAX_JOB_AGE: Duration = Duration::from_secs(48 * 3600);
/// How long the ledger remembers a push or a send.
pub const LEDGER_TTL: Duration = Duration::from_secs(3 * 24 * 3600);
/// Retries of a send inside the invocation, when its window would close before SQS could
/// redeliver it (the enter-session window lasts one minute).
pub const PROMPT_RETRIES: u32 = 2;
/// The pause before each of those retries (then doubled).
pub const PROMPT_BACKOFF: Duration = Duration::from_millis(200);

/// Whether a send reserved in `window` may wait for SQS's redelivery: only if the window
/// outlasts the visibility timeout. Otherwise it is retried promptly, or settled.
pub fn can_wait_for_redelivery(window: QuotaWindow) -> bool {
    Duration::from_millis(u64::try_from(quota::length(window)).unwrap_or(0)) > VISIBILITY_TIMEOUT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_invariants_hold_among_themselves() {
        assert!(SEND_CALL_ROOM > CALL_TIMEOUT);
        assert!(MESSAGE_ROOM >= CALL_TIMEOUT * 3);
        assert!(MESSAGE_ROOM < FUNCTION_TIMEOUT);
        assert!(SEND_LEASE > FUNCTION_TIMEOUT);
        assert!(SEND_LEASE < VISIBILITY_TIMEOUT);
        assert!(VISIBILITY_TIMEOUT >= FUNCTION_TIMEOUT * 6);
        assert!(VISIBILITY_TIMEOUT * MAX_RECEIVES < MAX_JOB_AGE);
        assert!(MAX_JOB_AGE < LEDGER_TTL);
        assert!(!can_wait_for_redelivery(QuotaWindow::Enter));
        assert!(can_wait_for_redelivery(QuotaWindow::Message));
    }
}
