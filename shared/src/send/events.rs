//! The events the send core publishes (`events.rs` has the model), gathered while a job runs
//! and published once at its end: after WeChat's ack (the job runs behind the queue), and never
//! in the way of a reply. A publish that fails is tried again once, then counted
//! (`events_unpublished`) and logged; the job is not retried for it, so no reply is ever sent
//! again for an event.
//!
//! Once per fact: each send's event follows its claim (only the run that settles a send tells
//! its outcome); the job's own events (`message.received`, the hand-off it moved, the question
//! nothing answered) are published by the first run to finish the job, which holds
//! `events#{push key}` in the ledger (one conditional write). A run that fails (SQS retries it)
//! publishes its sends' events only, and leaves the job's to the run that finishes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::Sender;
use super::budget::LEDGER_TTL;
use super::sequence::{Skip, Step};
use crate::clock::millis;
use crate::events::{About, Event, HandoffBy, Origin, SendRef, Settled, User, UserForm};
use crate::job::{HandoffChange, Job};
use crate::learn::{self, Outcome};
use crate::metrics;
use crate::ports::EventPublisher;
use crate::protocol::{MessageKind, OpenId};
use crate::rules::ReplyMessage;

/// How long to wait before the second try of a failed publish.
const REPUBLISH_AFTER: Duration = Duration::from_millis(200);
/// The longest a publish may take (each try), within the invocation's deadline less
/// [`DEADLINE_MARGIN`]: the SDK's own retries stop there.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(5);
const DEADLINE_MARGIN: Duration = Duration::from_secs(1);

/// Where a sender's events go, and how the user appears in them.
#[derive(Debug, Clone)]
pub(super) struct Emitter {
    publisher: Arc<dyn EventPublisher>,
    form: UserForm,
    /// Events that could not be published (also the `events_unpublished` metric).
    unpublished: Arc<AtomicU64>,
}

/// The events of one run of a job.
#[derive(Debug, Default)]
pub(super) struct Gathered {
    /// The job's own events: published by the first run that finishes it.
    job: Vec<Event>,
    /// The push key of the job they belong to.
    push_key: Option<String>,
    /// Its sends' events: each told by the run that settled the send.
    sends: Vec<Event>,
    /// The id of the job's `message.received` (what its replies answer).
    received_id: Option<String>,
}

impl Sender {
    /// Publishes this sender's events to `publisher` (none is built while it is off), the user
    /// shown as `form` says (hashed with the sender's asker key).
    pub fn with_events(mut self, publisher: Arc<dyn EventPublisher>, form: UserForm) -> Self {
        self.events = publisher.is_on().then(|| Emitter {
            publisher,
            form,
            unpublished: Arc::new(AtomicU64::new(0)),
        });
        self
    }

    /// Whether this sender publishes events.
    pub fn events_on(&self) -> bool {
        self.events.is_some()
    }

    /// How many events this sender could not publish (each counted in `events_unpublished`).
    pub fn events_unpublished(&self) -> u64 {
        self.events
            .as_ref()
            .map_or(0, |e| e.unpublished.load(Ordering::Relaxed))
    }

    /// The user `openid` as events show them.
    pub(super) fn event_user(&self, openid: &OpenId) -> User {
        let form = self.events.as_ref().map_or(UserForm::Hashed, |e| e.form);
        User::of(openid, form, &self.asker_key)
    }

    /// Gathers the job's own events: `message.received`, and the hand-off its push moved.
    pub(super) fn gather_job(&self, gathered: &mut Gathered, job: &Job) {
        if self.events.is_none() {
            return;
        }
        let user = self.event_user(&job.openid);
        let about = About {
            appid: &self.appid,
            user: &user,
        };
        let received = about.message_received(&job.key, job.received_at, &job.message);
        gathered.received_id = Some(received.id.clone());
        gathered.push_key = Some(job.key.clone());
        gathered.job.push(received);
        let at = job.message.create_time.saturating_mul(1000);
        match job.notice.as_ref().and_then(|n| n.handoff.as_ref()) {
            Some(HandoffChange::Started {
                by,
                kf_account,
                until_ms,
            }) => {
                let by = match kf_account {
                    Some(kf_account) => HandoffBy::Agent {
                        event: by.clone(),
                        kf_account: kf_account.clone(),
                    },
                    None => HandoffBy::Rule(by.clone()),
                };
                gathered
                    .job
                    .push(about.handoff_started(&job.key, at, &by, *until_ms));
            }
            Some(HandoffChange::Ended { kf_account }) => {
                gathered
                    .job
                    .push(about.handoff_ended(&job.key, at, kf_account));
            }
            None => {}
        }
    }

    /// Gathers `question.unanswered` if nothing answers the job's question (`outcome` as the
    /// rules decided it), told as the report keeps questions (not small talk, not a number).
    pub(super) fn gather_question(&self, gathered: &mut Gathered, job: &Job, outcome: &Outcome) {
        if self.events.is_none() || !matches!(outcome, Outcome::Unanswered | Outcome::Silent) {
            return;
        }
        let MessageKind::Text { content } = &job.message.kind else {
            return;
        };
        if !learn::worth_keeping(content) {
            return;
        }
        let user = self.event_user(&job.openid);
        let about = About {
            appid: &self.appid,
            user: &user,
        };
        gathered.job.push(about.question_unanswered(
            &job.key,
            job.received_at,
            content,
            outcome.name(),
        ));
    }

    /// Gathers what became of message `n` of `job` (sent as `send_key`): `reply.sent`, or
    /// `reply.settled` with the reason; nothing for a send an earlier run settled.
    pub(super) fn gather_step(
        &self,
        gathered: &mut Gathered,
        job: &Job,
        n: usize,
        send_key: &str,
        message: &ReplyMessage,
        step: &Step,
    ) {
        if self.events.is_none() {
            return;
        }
        let user = self.event_user(&job.openid);
        let send = SendRef {
            key: send_key,
            n,
            origin: Origin::Reply,
            about: gathered.received_id.clone(),
        };
        if let Some(event) = self.send_event(&user, &send, message, step) {
            gathered.sends.push(event);
        }
    }

    /// The event of one settled send (a reply's, or an outbox command's), if it tells one.
    pub(super) fn send_event(
        &self,
        user: &User,
        send: &SendRef<'_>,
        message: &ReplyMessage,
        step: &Step,
    ) -> Option<Event> {
        let about = About {
            appid: &self.appid,
            user,
        };
        let now = self.deps.clock.now_millis();
        let settled = match step {
            Step::Sent => return Some(about.reply_sent(send, now, msgtype(message))),
            Step::Skipped(Skip::Handled) => return None,
            Step::Skipped(Skip::Refused) => Settled::Refused { errcode: None },
            Step::Skipped(Skip::GivenUp) => Settled::GivenUp,
            Step::OverQuota(None) => Settled::OverQuota,
            Step::OverQuota(Some(said)) => Settled::RefusedQuota {
                errcode: errcode_in(said),
            },
            Step::MaybeSent => Settled::MaybeSent,
        };
        Some(about.reply_settled(send, now, &settled))
    }

    /// Gathers `reply.settled` for a job dropped before any send (too old to send).
    pub(super) fn gather_dropped(&self, gathered: &mut Gathered, job: &Job, why: &str) {
        if self.events.is_none() {
            return;
        }
        let user = self.event_user(&job.openid);
        let about = About {
            appid: &self.appid,
            user: &user,
        };
        let now = self.deps.clock.now_millis();
        gathered.sends.push(about.job_dropped(&job.key, now, why));
    }

    /// Publishes what one run gathered: its sends' events, and the job's own if the run
    /// `finished` the job and is the first to (the ledger's `events#{push key}`).
    pub(super) async fn emit(&self, gathered: Gathered, finished: bool, deadline: i64) {
        if self.events.is_none() {
            return;
        }
        let mut events = gathered.sends;
        if finished
            && !gathered.job.is_empty()
            && let Some(key) = &gathered.push_key
            && self.first_to_tell(key).await
        {
            let mut job = gathered.job;
            job.append(&mut events);
            events = job;
        }
        self.tell(events, deadline).await;
    }

    /// Publishes `events` (an outbox command's too): tried twice, then counted and logged.
    async fn publish_events(&self, emitter: &Emitter, events: Vec<Event>, deadline: i64) {
        if events.is_empty() {
            return;
        }
        let failure = match self.try_publish(emitter, &events, deadline).await {
            Ok(()) => return,
            Err(_) => {
                tokio::time::sleep(REPUBLISH_AFTER).await;
                match self.try_publish(emitter, &events, deadline).await {
                    Ok(()) => return,
                    Err(failure) => failure,
                }
            }
        };
        let lost = events.len() as u64;
        emitter.unpublished.fetch_add(lost, Ordering::Relaxed);
        for _ in 0..lost {
            metrics::count("events_unpublished");
        }
        let kinds: Vec<&str> = events.iter().map(|e| e.kind.name()).collect();
        tracing::warn!(reason = %failure, events = %kinds.join(","),
            "events not published; the replies are not affected");
    }

    /// One try, within [`PUBLISH_TIMEOUT`] and the invocation's deadline.
    async fn try_publish(
        &self,
        emitter: &Emitter,
        events: &[Event],
        deadline: i64,
    ) -> Result<(), String> {
        let left = deadline
            .saturating_sub(self.deps.clock.now_millis())
            .saturating_sub(millis(DEADLINE_MARGIN));
        let room = Duration::from_millis(u64::try_from(left).unwrap_or(0)).min(PUBLISH_TIMEOUT);
        if room.is_zero() {
            return Err("no time left before the invocation's deadline".into());
        }
        match tokio::time::timeout(room, emitter.publisher.publish(events)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(err.to_string()),
            Err(_) => Err(format!("no answer within {room:?}")),
        }
    }

    /// Whether this run is the first to tell the job's own events: holds `events#{push key}`
    /// (one conditional write). If the ledger cannot say, the events are told (at least once).
    async fn first_to_tell(&self, push_key: &str) -> bool {
        let now = self.deps.clock.now();
        let key = format!("events#{push_key}");
        // One per run: a redelivery is another holder, the SDK repeating this write is not.
        let mut random = [0u8; 8];
        if getrandom::fill(&mut random).is_err() {
            random = now.0.to_le_bytes();
        }
        let holder = format!("{key}@{}#{}", now.0, hex::encode(random));
        match self
            .deps
            .ledger
            .hold_once(&key, &holder, now, now.secs() + LEDGER_TTL)
            .await
        {
            Ok(first) => first,
            Err(err) => {
                tracing::warn!(reason = %err, "the ledger cannot say whether the job's events were told; telling them");
                true
            }
        }
    }

    /// Publishes `events` told outside a job's run (an outbox command's sends) as a run's
    /// are: tried twice, then counted and logged. Nothing while events are off.
    pub(super) async fn tell(&self, events: Vec<Event>, deadline: i64) {
        if let Some(emitter) = &self.events {
            self.publish_events(emitter, events, deadline).await;
        }
    }
}

/// The message's type as custom/send names it.
fn msgtype(message: &ReplyMessage) -> &'static str {
    match message {
        ReplyMessage::Text { .. } => "text",
        ReplyMessage::Image { .. } => "image",
        ReplyMessage::Link { .. } => "link",
        ReplyMessage::MiniProgramPage { .. } => "miniprogrampage",
    }
}

/// The errcode in what WeChat said (`errcode 45015: …`), if any.
fn errcode_in(said: &str) -> Option<i64> {
    said.strip_prefix("errcode ")?
        .split(':')
        .next()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_errcode_is_read_from_what_wechat_said() {
        assert_eq!(
            errcode_in("errcode 45015: response out of time limit"),
            Some(45015)
        );
        assert_eq!(errcode_in("HTTP 502"), None);
    }
}
