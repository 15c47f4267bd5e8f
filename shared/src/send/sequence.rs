//! One job's sends, in order: for each message of the rule's reply, claim the send
//! (`send#{job}#{n}`, so an SQS redelivery never sends twice), reserve the user's quota, mark
//! it going out, deliver, and settle — or give the claim and quota back for SQS to retry. A send whose
//! outcome is unknown is settled as "maybe sent", never sent again (custom/send has no
//! idempotency key: at most once).

use std::borrow::Cow;
use std::time::Duration;

use super::budget::{self, LEDGER_TTL, MAX_JOB_AGE, MESSAGE_ROOM, SEND_LEASE};
use super::errcode::{ErrorClass, classify, classify_send};
use super::events::Gathered;
use super::outcome::{DropReason, JobOutcome, Retry, SendFailure, Silence};
use super::render::{self, Placeholders};
use super::{SUGGESTION_TTL, Sender, quota};
use crate::clock::{EpochMillis, millis};
use crate::job::{HandoffChange, Job};
use crate::learn::{self, Held, Outcome};
use crate::metrics;
use crate::ports::{AskedQuestion, Claim, ClaimOutcome, MediaError, PortError};
use crate::protocol::{Event, MessageKind, OpenId};
use crate::rules::{Action, FaqDecision, FaqEntry, ReplyMessage, RuleSet, TimeZone};

/// What became of one message (the outbox tells its commands' outcomes from it).
pub(super) enum Step {
    Sent,
    Skipped(Skip),
    /// Skipped: over the user's quota: ours (`None`), or WeChat's refusal for it (what WeChat
    /// said).
    OverQuota(Option<String>),
    MaybeSent,
}

/// Why a message was skipped.
pub(super) enum Skip {
    /// Sent or settled by an earlier delivery, or being sent by another right now.
    Handled,
    /// Refused for good (the send, or its image).
    Refused,
    /// A transient failure outlasted its window: given up, not sent.
    GivenUp,
}

/// Why WeChat refused a send for good.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    /// 45015 / 45047: WeChat counted the send against the quota it refuses.
    Quota,
    /// custom/send refused the message (bad openid, bad data, no permission).
    Send,
    /// The image could not be had: media/upload refused it, or the rule names one that is not
    /// there.
    Image,
}

impl Refusal {
    /// Counts the refusal; says whether the reservation goes back to the user's quota.
    fn count(self) -> bool {
        match self {
            Self::Quota => {
                metrics::count("quota_refused");
                false
            }
            Self::Send => {
                metrics::count("send_refused");
                true
            }
            Self::Image => {
                metrics::count("image_refused");
                true
            }
        }
    }
}

/// What to do after a failed delivery.
enum Verdict {
    /// Refused for good: settle (and give the quota back if WeChat did not count it).
    Refused(Refusal),
    /// It may have reached the user: settle, never send again.
    MaybeSent,
    /// A later attempt may succeed.
    Retry,
}

impl Sender {
    /// Runs one job (an SQS message body), starting no send that could not finish before
    /// `deadline` (ms since the epoch). A body that is not a job is dropped, counted.
    pub async fn run(&self, body: &str, deadline: i64) -> Result<JobOutcome, Retry> {
        match Job::from_json(body) {
            Ok(job) => self.run_job(job, deadline).await,
            Err(err) => Ok(self.dropped(err.into())),
        }
    }

    /// Runs one job already read (`run_batch` reads each body once, to group the jobs by user).
    pub async fn run_job(&self, job: Job, deadline: i64) -> Result<JobOutcome, Retry> {
        let mut gathered = Gathered::default();
        let result = self.run_gathering(job, deadline, &mut gathered).await;
        // Published after the sends, whatever became of them: never in the way of a reply.
        self.emit(gathered, result.is_ok(), deadline).await;
        result
    }

    /// `run`, gathering the events of what it does.
    async fn run_gathering(
        &self,
        job: Job,
        deadline: i64,
        gathered: &mut Gathered,
    ) -> Result<JobOutcome, Retry> {
        if job.appid != self.appid {
            return Ok(self.dropped(DropReason::OtherApp {
                job: job.appid,
                served: self.appid.clone(),
            }));
        }
        let now = self.deps.clock.now_millis();
        let age = now.saturating_sub(job.received_at);
        if age > millis(MAX_JOB_AGE) {
            let reason = DropReason::Expired {
                age: Duration::from_millis(u64::try_from(age).unwrap_or(u64::MAX)),
            };
            self.gather_dropped(gathered, &job, &reason.to_string());
            return Ok(self.dropped(reason));
        }
        self.gather_job(gathered, &job);

        if let Some((window, at)) = quota::opened_by(&job.message, now) {
            self.deps
                .quota
                .open(&self.appid, &job.openid, window, at, &job.key, now)
                .await?;
        }

        // With events on, receive sends on the pushes it answered itself, for their events
        // only (it counted their outcome).
        if let Some(notice) = job.notice.as_ref().filter(|notice| notice.answered) {
            let transferred = matches!(
                notice.handoff,
                Some(HandoffChange::Started {
                    kf_account: None,
                    ..
                })
            );
            if transferred {
                return Ok(JobOutcome::Nothing(Silence::AgentHoldsSession));
            }
            self.gather_question(gathered, &job, &Outcome::Silent);
            return Ok(JobOutcome::Nothing(Silence::NoReplyRule));
        }

        // An agent's hold silences the automatic answers to the user's own messages; an event
        // a rule answers explicitly (e.g. "客服已接入" on kf_create_session) still goes out.
        let user_message = !matches!(job.message.kind, MessageKind::Event(_));
        if user_message
            && self
                .deps
                .handoffs
                .held_until(&self.appid, &job.openid)
                .await?
                .is_some_and(|until| until > now)
        {
            self.count_outcome(&Outcome::Held(Held::Handoff));
            return Ok(JobOutcome::Nothing(Silence::AgentHoldsSession));
        }

        let rules = self.deps.rules.get().await?;
        // Decided, and placeholders filled, at the instant the push arrived: the same answer
        // `receive` chose, however late (or often) the job runs.
        let decision = rules.decide(&job.message, job.received_at);
        let mut action = decision.action.clone();
        let mut outcome = Outcome::of(
            decision.rule.map(|(_, rule)| rule.name.as_str()),
            decision.faq.as_ref(),
            matches!(action.as_deref(), Some(Action::Send(m)) if !m.is_empty())
                || matches!(action.as_deref(), Some(Action::Hook(_))),
        );
        match &decision.faq {
            // 「2」 after 「您是不是想问：1. … 2. …」: the entry picked, if one was offered.
            Some(FaqDecision::Choice(n)) => {
                if let Some((entry, picked)) = self
                    .picked(&rules, &job.openid, *n, job.received_at)
                    .await?
                {
                    action = Some(Cow::Owned(picked));
                    outcome = Outcome::Faq { entry, score: 1.0 };
                }
            }
            Some(FaqDecision::Suggest(candidates)) => {
                let ids: Vec<String> = candidates.iter().map(|(e, _)| e.id.clone()).collect();
                let until = job.received_at.saturating_add(millis(SUGGESTION_TTL));
                self.deps
                    .suggestions
                    .offer(&self.appid, &job.openid, &ids, until)
                    .await?;
            }
            _ => {}
        }
        if user_message {
            self.keep_question(&job, &outcome).await;
            self.gather_question(gathered, &job, &outcome);
        }
        let messages = match action.as_deref() {
            Some(Action::Send(messages)) if !messages.is_empty() => {
                let zone = rules.zone().unwrap_or_else(|_| TimeZone::shanghai());
                let placeholders = Placeholders::new(&job.message, &zone, job.received_at);
                messages
                    .iter()
                    .map(|message| render::fill(message, &placeholders))
                    .collect::<Vec<_>>()
            }
            Some(Action::Hook(hook)) => {
                let zone = rules.zone().unwrap_or_else(|_| TimeZone::shanghai());
                let placeholders = Placeholders::new(&job.message, &zone, job.received_at);
                let matched = super::hook::matched(&outcome);
                let messages = self
                    .hook_messages(&job, hook, &matched, &rules, &placeholders, deadline)
                    .await?;
                if messages.is_empty() {
                    // The hook answered {"reply": []}, or failed with nothing to fall back on.
                    if user_message {
                        self.count_outcome(&outcome);
                    }
                    return Ok(JobOutcome::Nothing(Silence::NoReplyRule));
                }
                messages
            }
            _ => {
                if user_message {
                    self.count_outcome(&outcome);
                }
                return Ok(JobOutcome::Nothing(Silence::NoReplyRule));
            }
        };

        if matches!(
            job.message.kind,
            MessageKind::Event(Event::UserEnterTempsession { .. })
        ) && !self.welcome_interval.is_zero()
        {
            // One welcome per interval, counted from when the user entered; this push keeps its
            // own slot, so its redelivery still sends (its sends' claims keep that to once) and
            // does not move the slot's end.
            let key = format!("welcome#{}#{}", self.appid, job.openid);
            let until = EpochMillis(job.received_at).secs() + self.welcome_interval;
            if !self
                .deps
                .ledger
                .hold_once(&key, &job.key, EpochMillis(now), until)
                .await?
            {
                return Ok(JobOutcome::Nothing(Silence::WelcomedRecently));
            }
        }

        let (mut sent, mut skipped, mut maybe_sent, mut over_quota) = (0, 0, 0, 0);
        for (n, message) in messages.iter().enumerate() {
            if self
                .deps
                .clock
                .now_millis()
                .saturating_add(millis(MESSAGE_ROOM))
                > deadline
            {
                // What went out is settled; the redelivery sends the rest.
                return Err(Retry::Deadline {
                    left: messages.len() - n,
                });
            }
            let send_key = format!("send#{}#{n}", job.key);
            let step = self
                .send_one(&job.openid, send_key.clone(), message, deadline)
                .await?;
            self.gather_step(gathered, &job, n, &send_key, message, &step);
            match step {
                Step::Sent => sent += 1,
                Step::Skipped(_) => skipped += 1,
                Step::OverQuota(_) => {
                    skipped += 1;
                    over_quota += 1;
                }
                Step::MaybeSent => maybe_sent += 1,
            }
        }
        if user_message {
            if sent == 0 && maybe_sent == 0 && over_quota > 0 {
                outcome = Outcome::Held(Held::Quota);
            }
            self.count_outcome(&outcome);
        }
        // The push's own ledger entry is receive's (its answer for WeChat's retries); each
        // send is settled on its own key above, which is what a redelivery reads.
        Ok(JobOutcome::Done {
            sent,
            skipped,
            maybe_sent,
        })
    }

    /// Claims (as `send_key`: `send#{push key}#{n}` for message `n` of a job), reserves,
    /// delivers and settles one message to `openid`.
    pub(super) async fn send_one(
        &self,
        openid: &OpenId,
        send_key: String,
        message: &ReplyMessage,
        deadline: i64,
    ) -> Result<Step, Retry> {
        let now = self.deps.clock.now_millis();
        let claim = Claim {
            key: send_key.clone(),
            // One per send and delivery: a redelivery is another attempt, the SDK repeating
            // this write is not. It also names the send's quota reservation.
            attempt: attempt(&send_key, now),
            now: EpochMillis(now),
            lease_until: EpochMillis(now) + SEND_LEASE,
            expires_at: EpochMillis(now).secs() + LEDGER_TTL,
        };
        match self.deps.ledger.claim(&claim).await? {
            ClaimOutcome::Claimed => {}
            ClaimOutcome::Abandoned => {
                // An earlier delivery marked it going out and never settled it (its "done"
                // write failed, or it crashed around the call): it may have reached the user.
                tracing::warn!(send = %send_key,
                    "send begun by an earlier delivery and never settled: counted as maybe sent, not sent again");
                metrics::count("send_outcome_unknown");
                self.settle(&send_key, now).await;
                return Ok(Step::MaybeSent);
            }
            // Sent (or settled) by an earlier delivery, or being sent by another right now.
            ClaimOutcome::Handled(_) | ClaimOutcome::InProgress => {
                return Ok(Step::Skipped(Skip::Handled));
            }
        }
        let reservation = &claim.attempt;
        let window = match self
            .deps
            .quota
            .reserve(&self.appid, openid, now, reservation)
            .await
        {
            Ok(Some(window)) => window,
            Ok(None) => {
                tracing::info!(send = %send_key, "send skipped: over the user's quota");
                metrics::count("quota_skipped");
                self.settle(&send_key, now).await;
                return Ok(Step::OverQuota(None));
            }
            Err(err) => {
                // Nothing was sent: free the claim so the redelivery can send.
                self.release(&claim).await;
                return Err(err.into());
            }
        };

        // Recorded before the call that may deliver it: whatever happens after (the "done"
        // write failing, a crash), no redelivery sends it again.
        match self.deps.ledger.begin_send(&send_key, reservation).await {
            Ok(true) => {}
            Ok(false) => {
                // Our lease ran out and another delivery took the send over: it is theirs.
                self.refund(openid, reservation).await;
                return Ok(Step::Skipped(Skip::Handled));
            }
            Err(err) => {
                self.give_back(&claim, openid).await;
                return Err(err.into());
            }
        }

        let mut retries = 0;
        loop {
            let failure = match self.deliver(openid, message, deadline).await {
                Ok(()) => {
                    self.settle(&send_key, now).await;
                    return Ok(Step::Sent);
                }
                Err(failure) => failure,
            };
            match verdict(&failure) {
                Verdict::Refused(refusal) => {
                    tracing::warn!(send = %send_key, reason = %failure, "send refused for good");
                    if refusal.count() {
                        self.refund(openid, reservation).await;
                    }
                    self.settle(&send_key, now).await;
                    return Ok(match refusal {
                        Refusal::Quota => Step::OverQuota(Some(failure.to_string())),
                        _ => Step::Skipped(Skip::Refused),
                    });
                }
                Verdict::MaybeSent => {
                    tracing::warn!(send = %send_key, reason = %failure,
                        "send outcome unknown: counted as maybe sent, not sent again");
                    metrics::count("send_outcome_unknown");
                    self.settle(&send_key, now).await;
                    return Ok(Step::MaybeSent);
                }
                Verdict::Retry if budget::can_wait_for_redelivery(window) => {
                    self.give_back(&claim, openid).await;
                    return Err(Retry::Send {
                        send: send_key,
                        source: failure,
                    });
                }
                Verdict::Retry => {
                    // The window closes before SQS could redeliver: retry now, or give up.
                    let pause = budget::PROMPT_BACKOFF * 2u32.saturating_pow(retries);
                    let room = millis(pause).saturating_add(millis(budget::SEND_CALL_ROOM));
                    if retries < budget::PROMPT_RETRIES
                        && self.deps.clock.now_millis().saturating_add(room) <= deadline
                    {
                        retries += 1;
                        tracing::info!(send = %send_key, reason = %failure, retry = retries,
                            "send failed; retrying now, its window closes before a redelivery");
                        tokio::time::sleep(pause).await;
                        continue;
                    }
                    tracing::warn!(send = %send_key, reason = %failure,
                        "send given up: its window closes before a redelivery could send it");
                    metrics::count("send_abandoned");
                    self.refund(openid, reservation).await;
                    self.settle(&send_key, now).await;
                    return Ok(Step::Skipped(Skip::GivenUp));
                }
            }
        }
    }

    /// The action of the FAQ entry numbered `n` among the suggestions last offered to `openid`
    /// (a transfer cannot be sent: the user gets the entry's replies only).
    async fn picked(
        &self,
        rules: &RuleSet,
        openid: &OpenId,
        n: usize,
        now: i64,
    ) -> Result<Option<(String, Action)>, Retry> {
        let Some(offered) = self
            .deps
            .suggestions
            .offered(&self.appid, openid, now)
            .await?
        else {
            return Ok(None);
        };
        let picked = n
            .checked_sub(1)
            .and_then(|i| offered.get(i))
            .and_then(|id| rules.faq.as_ref()?.entry(id));
        Ok(match picked {
            Some(
                entry @ FaqEntry {
                    action: action @ (Action::Send(_) | Action::Hook(_)),
                    ..
                },
            ) => {
                tracing::info!(entry = %entry.id, "suggestion picked");
                Some((entry.id.clone(), action.clone()))
            }
            _ => None,
        })
    }

    /// Counts what became of a user message (the `messages` metric), and logs it.
    fn count_outcome(&self, outcome: &Outcome) {
        match outcome {
            Outcome::Faq { entry, score } => {
                tracing::info!(outcome = outcome.name(), entry = %entry, score = score, "message outcome");
            }
            Outcome::Suggested(entries) => {
                tracing::info!(outcome = outcome.name(), entries = %entries.join(","), "message outcome");
            }
            _ => {
                tracing::info!(
                    outcome = outcome.name(),
                    id = outcome.id().unwrap_or(""),
                    "message outcome"
                );
            }
        }
        metrics::outcome(&self.appid, outcome.name(), outcome.id());
    }

    /// Keeps the text of an unanswered or suggested question for the report (one small
    /// write; none for an answered one, small talk or a number). A failure is logged, never
    /// in the way of the reply.
    async fn keep_question(&self, job: &Job, outcome: &Outcome) {
        let MessageKind::Text { content } = &job.message.kind else {
            return;
        };
        if self.questions_kept.is_zero() || !outcome.keeps_text() || !learn::worth_keeping(content)
        {
            return;
        }
        let question = AskedQuestion {
            appid: self.appid.clone(),
            at_ms: job.received_at,
            asker: learn::asker(&self.asker_key, &job.openid),
            outcome: outcome.name().to_owned(),
            text: learn::kept_text(content),
        };
        let expires_at = EpochMillis(job.received_at).secs() + self.questions_kept;
        if let Err(err) = self.deps.questions.keep(&question, expires_at).await {
            tracing::warn!(reason = %err, "keeping the question for the report failed");
        }
    }

    fn dropped(&self, reason: DropReason) -> JobOutcome {
        tracing::warn!(reason = %reason, "job dropped");
        metrics::count("job_dropped");
        JobOutcome::Dropped(reason)
    }

    /// Marks a send settled (sent, or refused for good). If even that fails, the send is not
    /// undone and the job not retried: its claim stays `sending`, which a redelivery skips
    /// within the lease and settles as maybe sent after it, never sending twice.
    pub(super) async fn settle(&self, send_key: &str, now: i64) {
        if let Err(err) = self.finish(send_key, now).await {
            tracing::warn!(send = %send_key, reason = %err, "marking the send done failed");
        }
    }

    async fn release(&self, claim: &Claim) {
        if let Err(err) = self.deps.ledger.release(&claim.key, &claim.attempt).await {
            tracing::warn!(reason = %err, "send claim release failed; it expires with its lease");
        }
    }

    async fn refund(&self, openid: &OpenId, reservation: &str) {
        if let Err(err) = self
            .deps
            .quota
            .refund(&self.appid, openid, reservation)
            .await
        {
            tracing::warn!(reason = %err, "quota refund failed");
        }
    }

    async fn finish(&self, key: &str, now: i64) -> Result<(), PortError> {
        self.deps
            .ledger
            .mark_done(key, EpochMillis(now).secs() + LEDGER_TTL)
            .await
    }

    /// Undoes a send's claim and quota after a failure that SQS will retry.
    async fn give_back(&self, claim: &Claim, openid: &OpenId) {
        self.refund(openid, &claim.attempt).await;
        self.release(claim).await;
    }
}

/// A name for one attempt at a send: its key, the instant and 8 random bytes. Two deliveries
/// in the same millisecond (two outbox commands with one key, in two batches) are two
/// attempts: a name made of the key and the instant alone let both claim the send as their
/// own, and both send.
pub(super) fn attempt(send_key: &str, now: i64) -> String {
    let mut random = [0u8; 8];
    if getrandom::fill(&mut random).is_err() {
        // Without OS randomness, a counter still tells this process's attempts apart.
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        random = n.to_le_bytes();
    }
    format!("{send_key}@{now}#{}", hex::encode(random))
}

/// What a failed delivery means. Pure.
fn verdict(failure: &SendFailure) -> Verdict {
    match failure {
        SendFailure::Api(err) => match classify_send(err) {
            ErrorClass::QuotaExhausted => Verdict::Refused(Refusal::Quota),
            ErrorClass::Permanent => Verdict::Refused(Refusal::Send),
            ErrorClass::MaybeSent => Verdict::MaybeSent,
            ErrorClass::StaleToken | ErrorClass::StaleMedia | ErrorClass::Transient => {
                Verdict::Retry
            }
        },
        SendFailure::Upload(err) => match classify(err) {
            ErrorClass::Permanent | ErrorClass::QuotaExhausted => Verdict::Refused(Refusal::Image),
            _ => Verdict::Retry,
        },
        // The rule names an image the deployment does not have: refused for good, counted,
        // never a trip through the DLQ.
        SendFailure::Image(MediaError::Unusable(_)) => Verdict::Refused(Refusal::Image),
        SendFailure::Image(MediaError::Unavailable(_))
        | SendFailure::Media(_)
        | SendFailure::Token(_)
        | SendFailure::Deadline => Verdict::Retry,
    }
}
