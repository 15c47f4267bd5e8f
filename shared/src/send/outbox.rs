//! The outbox: business systems' commands (`crate::outbox::Command`) run by the same send core
//! as the replies — each message claimed as `send#outbox#{appid}#{key}#{n}`, reserved against
//! the user's quota (no command opens a window: only the user's own messages do), delivered
//! with the app's access_token, and settled. A batch of commands runs as a batch of jobs does:
//! one user's commands in order, the users concurrently, only the failures retried.
//!
//! Every message of a command ends in exactly one outcome, which its key keeps: sent, or
//! settled with a reason (`not_after` passed, too old, held by an agent, the window closed, the
//! allowance spent, refused, a duplicate). An outcome decided before the send (held, expired)
//! is settled in the ledger too, so a later command with the same key does not send what was
//! held back: one key, one outcome.

use std::sync::Arc;

use super::batch::{self, in_user_order};
use super::budget::{LEDGER_TTL, MESSAGE_ROOM, SEND_LEASE};
use super::outcome::Retry;
use super::sequence::{Skip, Step};
use super::{Sender, quota};
use crate::apps::Apps;
use crate::clock::{EpochMillis, millis};
use crate::events::{self, About, Event, Origin, SendRef, User};
use crate::metrics;
use crate::outbox::{
    Command, CommandError, CommandOutcome, DuringHandoff, MAX_COMMAND_AGE_MS, MessageOutcome,
    Settled,
};
use crate::ports::{Claim, ClaimOutcome};
use crate::rules::ReplyMessage;

/// One outbox record of an SQS batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRecord {
    /// SQS's message id (what a partial batch response names).
    pub id: String,
    pub body: String,
    /// When SQS took the command (its `SentTimestamp`, ms), if known.
    pub queued_at: Option<i64>,
}

/// How the deployment runs outbox commands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxSettings {
    /// Whether an agent's hold holds a command back, unless the command says
    /// (`KEFU_OUTBOX_DURING_HANDOFF`).
    pub during_handoff: DuringHandoff,
}

/// Why a message goes unsent before any send is tried.
fn unsendable(
    command: &Command,
    queued_at: Option<i64>,
    now: i64,
    held: bool,
    settings: OutboxSettings,
) -> Option<Settled> {
    if queued_at.is_some_and(|at| now.saturating_sub(at) > MAX_COMMAND_AGE_MS) {
        return Some(Settled::TooOld);
    }
    if command.expired(now) {
        return Some(Settled::NotAfterPassed);
    }
    if held && command.during_handoff(settings.during_handoff) == DuringHandoff::Hold {
        return Some(Settled::HeldByAgent);
    }
    None
}

impl Sender {
    /// Runs one outbox command (an SQS message body) of this sender's app; `queued_at` is when
    /// SQS took it. No send starts that could not finish before `deadline` (ms since the
    /// epoch). A body that is not a command, or one for another app, is dropped. With events
    /// on, each message's outcome is published (`reply.sent`, `reply.settled` with the reason,
    /// origin `outbox`) once the command has run, a retried one's too for what it settled.
    pub async fn run_command(
        &self,
        body: &str,
        queued_at: Option<i64>,
        deadline: i64,
        settings: OutboxSettings,
    ) -> Result<CommandOutcome, Retry> {
        match Command::from_json(body) {
            Ok(command) => {
                self.run_parsed_command(&command, queued_at, deadline, settings)
                    .await
            }
            Err(err) => Ok(dropped(err.to_string())),
        }
    }

    /// Runs one command already read (`run_outbox_batch` reads each body once, to group the
    /// commands by user). A command for another app is dropped.
    pub async fn run_parsed_command(
        &self,
        command: &Command,
        queued_at: Option<i64>,
        deadline: i64,
        settings: OutboxSettings,
    ) -> Result<CommandOutcome, Retry> {
        if command.appid != self.appid {
            return Ok(dropped(format!(
                "command for appid {}, not {}",
                command.appid, self.appid
            )));
        }
        let mut told = Vec::new();
        let result = self
            .run_command_telling(command, queued_at, deadline, settings, &mut told)
            .await;
        self.tell(told, deadline).await;
        result
    }

    /// `run_parsed_command`, gathering the events of its messages' outcomes into `told`.
    async fn run_command_telling(
        &self,
        command: &Command,
        queued_at: Option<i64>,
        deadline: i64,
        settings: OutboxSettings,
        told: &mut Vec<Event>,
    ) -> Result<CommandOutcome, Retry> {
        let now = self.deps.clock.now_millis();
        let held = command.during_handoff(settings.during_handoff) == DuringHandoff::Hold
            && self
                .deps
                .handoffs
                .held_until(&self.appid, &command.openid)
                .await?
                .is_some_and(|until| until > now);
        let before = unsendable(command, queued_at, now, held, settings);
        let user = self.events_on().then(|| self.event_user(&command.openid));

        let mut outcomes = Vec::with_capacity(command.messages.len());
        for (n, message) in command.messages.iter().enumerate() {
            let send_key = command.send_key(n);
            let outcome = match &before {
                Some(reason) => self.settle_unsent(&send_key, reason.clone()).await?,
                None => {
                    if self
                        .deps
                        .clock
                        .now_millis()
                        .saturating_add(millis(MESSAGE_ROOM))
                        > deadline
                    {
                        // What went out is settled; the redelivery sends the rest.
                        return Err(Retry::Deadline {
                            left: command.messages.len() - n,
                        });
                    }
                    let step = self
                        .send_one(&command.openid, send_key.clone(), message, deadline)
                        .await?;
                    self.outcome_of(command, step).await
                }
            };
            match &outcome {
                MessageOutcome::Sent => {
                    tracing::info!(send = %send_key, "outbox message sent");
                    metrics::count("outbox_sent");
                }
                MessageOutcome::Settled(reason) => {
                    tracing::info!(send = %send_key, reason = reason.name(), errcode = ?reason.errcode(),
                        "outbox message settled: {reason}");
                    metrics::count("outbox_settled");
                }
            }
            if let Some(user) = &user {
                let send = SendRef {
                    key: &send_key,
                    n,
                    origin: Origin::Outbox,
                    about: Some(command.idempotency_key.clone()),
                };
                told.extend(self.outbox_event(user, &send, message, &outcome));
            }
            outcomes.push(outcome);
        }
        Ok(CommandOutcome::Ran(outcomes))
    }

    /// The event of one message's outcome: `reply.sent`, or `reply.settled` with the reason's
    /// name and WeChat's code for it (45015 for a closed window); none for a duplicate (the
    /// delivery that settled the key told it).
    fn outbox_event(
        &self,
        user: &User,
        send: &SendRef<'_>,
        message: &ReplyMessage,
        outcome: &MessageOutcome,
    ) -> Option<Event> {
        let reason = match outcome {
            MessageOutcome::Sent => return self.send_event(user, send, message, &Step::Sent),
            MessageOutcome::Settled(Settled::Duplicate) => return None,
            MessageOutcome::Settled(reason) => reason,
        };
        let about = About {
            appid: &self.appid,
            user,
        };
        let now = self.deps.clock.now_millis();
        let mut event = about.reply_settled(send, now, &events::Settled::Refused { errcode: None });
        // The outbox's own reasons (not_after, too_old, window_closed, …) in the same fields.
        event.fields.insert("reason".into(), reason.name().into());
        event.fields.remove("errcode");
        if let Some(errcode) = reason.errcode() {
            event.fields.insert("errcode".into(), errcode.into());
        }
        Some(event)
    }

    /// What a step of the send core means for an outbox message.
    async fn outcome_of(&self, command: &Command, step: Step) -> MessageOutcome {
        MessageOutcome::Settled(match step {
            Step::Sent => return MessageOutcome::Sent,
            Step::MaybeSent => Settled::MaybeSent,
            Step::Skipped(Skip::Handled) => Settled::Duplicate,
            Step::Skipped(Skip::Refused) => Settled::Refused,
            Step::Skipped(Skip::GivenUp) => Settled::GivenUp,
            Step::OverQuota(Some(told)) => Settled::RefusedForQuota(told),
            Step::OverQuota(None) => {
                // Ours: one read tells a closed window from a spent allowance.
                match self.deps.quota.windows(&self.appid, &command.openid).await {
                    Ok(windows) => {
                        let now = self.deps.clock.now_millis();
                        if quota::standing(&windows, now).open.is_some() {
                            Settled::AllowanceSpent
                        } else {
                            Settled::WindowClosed
                        }
                    }
                    Err(err) => {
                        tracing::warn!(reason = %err, "reading the quota to tell why failed");
                        Settled::AllowanceSpent
                    }
                }
            }
        })
    }

    /// Settles a message that is not to be sent (held back, expired), claiming its key first
    /// so that the key keeps this outcome: a later command with it sends nothing.
    async fn settle_unsent(
        &self,
        send_key: &str,
        reason: Settled,
    ) -> Result<MessageOutcome, Retry> {
        let now = self.deps.clock.now_millis();
        let claim = Claim {
            key: send_key.to_owned(),
            attempt: super::sequence::attempt(send_key, now),
            now: EpochMillis(now),
            lease_until: EpochMillis(now) + SEND_LEASE,
            expires_at: EpochMillis(now).secs() + LEDGER_TTL,
        };
        Ok(MessageOutcome::Settled(
            match self.deps.ledger.claim(&claim).await? {
                ClaimOutcome::Claimed => {
                    self.settle(send_key, now).await;
                    reason
                }
                ClaimOutcome::Abandoned => {
                    self.settle(send_key, now).await;
                    Settled::MaybeSent
                }
                ClaimOutcome::Handled(_) | ClaimOutcome::InProgress => Settled::Duplicate,
            },
        ))
    }
}

fn dropped(reason: String) -> CommandOutcome {
    tracing::warn!(reason = %reason, "outbox command dropped");
    metrics::count("outbox_dropped");
    CommandOutcome::Dropped(reason)
}

/// Runs the outbox records of one SQS batch, each by the sender of its command's app, and
/// returns the ids of those to retry. One user's commands run in order (and stop behind a
/// failure, as jobs do); users run concurrently. A command for an app the deployment does not
/// serve is dropped and counted (`outbox_dropped_unknown_app`), as is a body that is not a
/// command (`outbox_dropped`); if the app could not be looked up, it is retried.
pub async fn run_outbox_batch(
    apps: &Arc<Apps<Sender>>,
    records: Vec<OutboxRecord>,
    deadline: i64,
    settings: OutboxSettings,
) -> Vec<String> {
    let records = records.into_iter().map(ReadRecord::read).collect();
    let apps = Arc::clone(apps);
    in_user_order(by_user(records), |r| r.id.clone(), move |_, record| {
        let apps = Arc::clone(&apps);
        async move {
            let command = match &record.command {
                Ok(command) => command,
                Err(err) => {
                    // Not a command: dropped, with the reason it was not.
                    tracing::warn!(message_id = %record.id, reason = %err, "outbox command dropped");
                    metrics::count("outbox_dropped");
                    return Ok(());
                }
            };
            let sender = match apps.get(Some(&command.appid)).await {
                Ok(Some(sender)) => sender,
                Ok(None) => {
                    tracing::warn!(message_id = %record.id, appid = %command.appid,
                        "outbox command for an app this deployment does not serve: dropped");
                    metrics::count("outbox_dropped_unknown_app");
                    return Ok(());
                }
                Err(err) => {
                    tracing::warn!(message_id = %record.id, reason = %err,
                        "app lookup failed; outbox command will be retried");
                    metrics::count("outbox_retried");
                    return Err(());
                }
            };
            if let Err(err) = sender
                .run_parsed_command(command, record.queued_at, deadline, settings)
                .await
            {
                tracing::warn!(message_id = %record.id, reason = %err, "outbox command will be retried");
                metrics::count("outbox_retried");
                return Err(());
            }
            Ok(())
        }
    })
    .await
}

/// An outbox record with its body read, once: the command, or why it is not one.
#[derive(Debug)]
struct ReadRecord {
    id: String,
    command: Result<Command, CommandError>,
    queued_at: Option<i64>,
}

impl ReadRecord {
    fn read(record: OutboxRecord) -> Self {
        Self {
            command: Command::from_json(&record.body),
            id: record.id,
            queued_at: record.queued_at,
        }
    }
}

/// The records grouped by user (of an app), in arrival order within a user; a body that is
/// not a command is a group of its own, without an app.
fn by_user(records: Vec<ReadRecord>) -> Vec<(Option<String>, Vec<ReadRecord>)> {
    batch::by_user(records, |record| match &record.command {
        Ok(command) => (Some(command.appid.clone()), command.openid.to_string()),
        Err(_) => (None, format!("?{}", record.id)),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::protocol::OpenId;

    const APPID: &str = "wx0123456789abcdef";

    fn command(not_after: Option<i64>, during: Option<DuringHandoff>) -> Command {
        let mut command = Command::new(
            APPID,
            &OpenId::parse("o1").unwrap(),
            vec![crate::rules::ReplyMessage::Text {
                content: "hi".into(),
            }],
            "k",
        )
        .unwrap();
        command.not_after = not_after;
        command.during_handoff = during;
        command
    }

    #[test]
    fn what_keeps_a_command_from_being_sent_comes_in_this_order() {
        let hold = OutboxSettings::default();
        let send = OutboxSettings {
            during_handoff: DuringHandoff::Send,
        };
        let now = 10_000_000;
        assert_eq!(
            unsendable(&command(None, None), None, now, false, hold),
            None
        );
        assert_eq!(
            unsendable(&command(None, None), None, now, true, hold),
            Some(Settled::HeldByAgent)
        );
        assert_eq!(
            unsendable(&command(None, None), None, now, true, send),
            None,
            "the deployment sends during a hand-off"
        );
        assert_eq!(
            unsendable(
                &command(None, Some(DuringHandoff::Hold)),
                None,
                now,
                true,
                send
            ),
            Some(Settled::HeldByAgent),
            "the command's own choice wins"
        );
        assert_eq!(
            unsendable(&command(Some(9_999), None), None, now, true, hold),
            Some(Settled::NotAfterPassed)
        );
        assert_eq!(
            unsendable(
                &command(Some(9_999), None),
                Some(now - MAX_COMMAND_AGE_MS - 1),
                now,
                true,
                hold
            ),
            Some(Settled::TooOld)
        );
    }

    #[test]
    fn one_users_commands_stay_together_in_order() {
        let record = |id: &str, openid: &str| {
            ReadRecord::read(OutboxRecord {
                id: id.into(),
                body: Command::new(
                    APPID,
                    &OpenId::parse(openid).unwrap(),
                    vec![crate::rules::ReplyMessage::Text {
                        content: "x".into(),
                    }],
                    id,
                )
                .unwrap()
                .to_json(),
                queued_at: None,
            })
        };
        let bad = ReadRecord::read(OutboxRecord {
            id: "bad".into(),
            body: "{".into(),
            queued_at: None,
        });
        let groups = by_user(vec![
            record("a", "o1"),
            record("b", "o2"),
            bad,
            record("c", "o1"),
        ]);
        let ids: Vec<Vec<&str>> = groups
            .iter()
            .map(|(_, records)| records.iter().map(|r| r.id.as_str()).collect())
            .collect();
        assert_eq!(ids, vec![vec!["a", "c"], vec!["b"], vec!["bad"]]);
        assert_eq!(groups[2].0, None);
    }
}
