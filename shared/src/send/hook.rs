//! A hook's place in a job: the messages a `{"hook": …}` action sends. The hook is called once
//! per job: its answer, or the decision to send the fallback, is kept in the ledger
//! (`hook#{push key}`, `HookAnswers`) before anything is sent, so a redelivery sends from what
//! is kept instead of calling again; the sends that follow are claimed one by one like any
//! reply's (at most once). The wait is cut to what the deadline leaves after the room the sends
//! need; past [`TYPING_AFTER`] the user sees "typing…". Every failure (an HTTP error, a
//! timeout, garbage, an answer kefu cannot send) sends the fallback, or the set's default, and
//! is counted (`hook_failed`) and logged with its reason.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Sender;
use super::budget::{LEDGER_TTL, MESSAGE_ROOM};
use super::outcome::Retry;
use super::render::{self, Placeholders};
use crate::clock::{EpochMillis, millis};
use crate::job::Job;
use crate::metrics;
use crate::policy::hook::{
    HookRequest, Kept, MIN_WAIT, Matched, Source, TYPING_AFTER, UserForm, kept_key, labelled,
    parse_answer,
};
use crate::ports::{HookAnswers, HookCaller, HookFailure};
use crate::protocol::OpenId;
use crate::rules::{Action, Hook, ReplyMessage, RuleSet};

/// What a sender calls hooks with.
#[derive(Debug, Clone)]
pub struct Hooks {
    pub caller: Arc<dyn HookCaller>,
    /// Where each job's decision is kept (the table, beside the send claims).
    pub answers: Arc<dyn HookAnswers>,
    /// How the user is named in the request (the openid, or its keyed hash).
    pub users: UserForm,
    /// Added to an answer marked machine-generated (empty: nothing is added).
    pub generated_label: String,
}

impl Sender {
    /// Calls hooks with `hooks`. Without them a hook action sends its fallback.
    pub fn with_hooks(mut self, hooks: Hooks) -> Self {
        self.hooks = Some(hooks);
        self
    }

    /// The messages `hook` sends for `job`: what it answered (kept, or asked now), or the
    /// fallback. Empty: send nothing.
    pub(super) async fn hook_messages(
        &self,
        job: &Job,
        hook: &Hook,
        matched: &Matched,
        rules: &RuleSet,
        placeholders: &Placeholders<'_>,
        deadline: i64,
    ) -> Result<Vec<ReplyMessage>, Retry> {
        let fallback = |reason: String, took_ms: u64| {
            tracing::warn!(app = %self.appid, job = %job.key, took_ms, reason = %reason,
                "hook failed: sending the fallback");
            metrics::count("hook_failed");
            let (source, messages) = match (&hook.fallback, rules.default_action(job.received_at)) {
                (Some(fallback), _) => (Source::Fallback, fallback.as_slice()),
                (None, Some(Action::Send(default))) => (Source::Default, default.as_slice()),
                (None, _) => (Source::Default, &[][..]),
            };
            Kept {
                source,
                messages: messages
                    .iter()
                    .map(|m| render::fill(m, placeholders))
                    .collect(),
                reason: Some(reason),
                took_ms,
            }
        };
        let Some(hooks) = &self.hooks else {
            return Ok(fallback("no hook caller is configured".into(), 0).messages);
        };
        let key = kept_key(&job.key);
        let now = self.deps.clock.now();
        if let Some(kept) = hooks.answers.kept(&key, now).await?
            && let Some(kept) = Kept::from_json(&kept)
        {
            tracing::info!(job = %job.key, source = ?kept.source,
                "hook decided by an earlier delivery: not called again");
            metrics::count("hook_kept");
            return Ok(kept.messages);
        }
        let Some(target) = hook.target() else {
            // Never in a validated set.
            return Ok(fallback("hook has no target".into(), 0).messages);
        };

        // The wait: the hook's own, cut to what the deadline leaves after the sends' room.
        let left = deadline
            .saturating_sub(now.0)
            .saturating_sub(millis(MESSAGE_ROOM));
        let wait = hook
            .timeout()
            .min(Duration::from_millis(u64::try_from(left).unwrap_or(0)));
        if wait < MIN_WAIT {
            // Nothing asked, nothing kept: the redelivery calls it with time to wait.
            return Err(Retry::Deadline { left: 1 });
        }

        let request = HookRequest::new(
            &job.key,
            &self.appid,
            &job.openid,
            &hooks.users,
            &job.message,
            matched,
            job.received_at,
            now.0,
        );
        let body = request.to_json();
        let started = Instant::now();
        let answered = self
            .wait_for(hooks, target, &request.id, &body, wait, &job.openid)
            .await;
        let took_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        metrics::count("hook_called");
        let decision = match answered
            .map_err(|e| e.to_string())
            .and_then(|bytes| parse_answer(&bytes).map_err(|e| e.to_string()))
        {
            Ok(answer) => {
                tracing::info!(app = %self.appid, job = %job.key, id = %request.id, took_ms,
                    messages = answer.reply.len(), generated = answer.generated, "hook answered");
                let messages = if answer.generated {
                    labelled(answer.reply, &hooks.generated_label)
                } else {
                    answer.reply
                };
                Kept {
                    source: Source::Answer,
                    messages,
                    reason: None,
                    took_ms,
                }
            }
            Err(reason) => fallback(reason, took_ms),
        };
        // Kept before anything is sent; if another delivery kept one first, that one is sent.
        let expires_at = EpochMillis(job.received_at).secs() + LEDGER_TTL;
        let kept = hooks
            .answers
            .keep(&key, &decision.to_json(), self.deps.clock.now(), expires_at)
            .await?;
        Ok(Kept::from_json(&kept).unwrap_or(decision).messages)
    }

    /// Calls the hook, at most `wait`; shows "typing…" if the answer takes over
    /// [`TYPING_AFTER`].
    async fn wait_for(
        &self,
        hooks: &Hooks,
        target: crate::rules::HookTarget<'_>,
        id: &str,
        body: &[u8],
        wait: Duration,
        openid: &OpenId,
    ) -> Result<Vec<u8>, HookFailure> {
        let call = tokio::time::timeout(wait, hooks.caller.call(target, id, body, wait));
        tokio::pin!(call);
        let answered = if wait > TYPING_AFTER {
            tokio::select! {
                answered = &mut call => answered,
                () = tokio::time::sleep(TYPING_AFTER) => {
                    let (answered, ()) = tokio::join!(&mut call, self.typing(openid));
                    answered
                }
            }
        } else {
            call.await
        };
        answered.unwrap_or_else(|_| {
            Err(HookFailure::Timeout(
                u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            ))
        })
    }

    /// "typing…" while the hook thinks: cosmetic, a failure is logged only.
    async fn typing(&self, openid: &OpenId) {
        let shown = match self.deps.tokens.get().await {
            Ok(token) => self
                .deps
                .api
                .typing(&token, openid)
                .await
                .map_err(|e| e.to_string()),
            Err(err) => Err(err.to_string()),
        };
        match shown {
            Ok(()) => metrics::count("hook_typing"),
            Err(reason) => tracing::info!(reason = %reason, "typing indicator not shown"),
        }
    }
}

/// What matched, as a hook's request names it.
pub(super) fn matched(outcome: &crate::learn::Outcome) -> Matched {
    use crate::learn::Outcome;
    match outcome {
        Outcome::Rule(name) => Matched::Rule(name.clone()),
        Outcome::Faq { entry, .. } => Matched::Faq(entry.clone()),
        _ => Matched::Default,
    }
}
