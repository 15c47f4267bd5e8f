//! One job's sends, in order: for each message of the rule's reply, claim the send
//! (`send#{job}#{n}`, so an SQS redelivery never sends twice), reserve the user's quota,
//! deliver, and settle — or give the claim and quota back for SQS to retry.

use super::errcode::{ErrorClass, classify};
use super::outcome::{DropReason, JobOutcome, Retry, SendFailure, Silence};
use super::{LEDGER_TTL, SEND_LEASE, Sender, quota};
use crate::clock::{millis, secs};
use crate::job::Job;
use crate::metrics;
use crate::ports::{Claim, ClaimOutcome, PortError, QuotaWindow};
use crate::rules::Action;

impl Sender {
    /// Runs one job (an SQS message body).
    pub async fn run(&self, body: &str) -> Result<JobOutcome, Retry> {
        let job = match Job::from_json(body) {
            Ok(job) if job.appid == self.appid => job,
            Ok(job) => {
                return Ok(self.dropped(DropReason::OtherApp {
                    job: job.appid,
                    served: self.appid.clone(),
                }));
            }
            Err(err) => return Ok(self.dropped(err.into())),
        };
        let now = self.deps.clock.now_millis();

        if let Some((window, at)) = quota::opened_by(&job.message) {
            self.deps
                .quota
                .open(&self.appid, &job.openid, window, at)
                .await?;
        }

        if self
            .deps
            .handoffs
            .held_until(&self.appid, &job.openid)
            .await?
            .is_some_and(|until| until > now)
        {
            self.finish(&job.key, now).await?;
            return Ok(JobOutcome::Nothing(Silence::AgentHoldsSession));
        }

        let rules = self.deps.rules.get().await?;
        let messages = match rules.action_for(&job.message) {
            Some((_, Action::Send(messages))) => messages.clone(),
            _ => {
                self.finish(&job.key, now).await?;
                return Ok(JobOutcome::Nothing(Silence::NoReplyRule));
            }
        };

        let (mut sent, mut skipped) = (0, 0);
        for (n, message) in messages.iter().enumerate() {
            let send_key = format!("send#{}#{n}", job.key);
            let claim = Claim {
                key: send_key.clone(),
                attempt: format!("{}#{now}", job.key),
                now,
                lease_until: now.saturating_add(millis(SEND_LEASE)),
                expires_at: (now / 1000).saturating_add(secs(LEDGER_TTL)),
            };
            if self.deps.ledger.claim(&claim).await? == ClaimOutcome::Duplicate {
                skipped += 1;
                continue;
            }
            let window = match self.deps.quota.reserve(&self.appid, &job.openid, now).await {
                Ok(Some(window)) => window,
                Ok(None) => {
                    tracing::info!(send = %send_key, "send skipped: over the user's quota");
                    metrics::count("quota_skipped");
                    self.settle(&send_key, now).await;
                    skipped += 1;
                    continue;
                }
                Err(err) => {
                    // Nothing was sent: free the claim so the redelivery can send.
                    self.release(&claim).await;
                    return Err(err.into());
                }
            };
            match self.deliver(&job.openid, message).await {
                Ok(()) => {
                    self.settle(&send_key, now).await;
                    sent += 1;
                }
                Err(SendFailure::Api(err)) => match classify(&err) {
                    ErrorClass::QuotaExhausted => {
                        tracing::info!(send = %send_key, reason = %err, "send refused: quota exhausted");
                        metrics::count("quota_refused");
                        self.settle(&send_key, now).await;
                        skipped += 1;
                    }
                    ErrorClass::Permanent => {
                        tracing::warn!(send = %send_key, reason = %err, "send refused for good");
                        metrics::count("send_refused");
                        if let Err(err) = self
                            .deps
                            .quota
                            .refund(&self.appid, &job.openid, window)
                            .await
                        {
                            tracing::warn!(reason = %err, "quota refund failed");
                        }
                        self.settle(&send_key, now).await;
                        skipped += 1;
                    }
                    ErrorClass::StaleToken | ErrorClass::StaleMedia | ErrorClass::Transient => {
                        self.give_back(&claim, &job.openid, window).await;
                        return Err(Retry::Send {
                            send: send_key,
                            source: SendFailure::Api(err),
                        });
                    }
                },
                Err(failure) => {
                    self.give_back(&claim, &job.openid, window).await;
                    return Err(Retry::Send {
                        send: send_key,
                        source: failure,
                    });
                }
            }
        }
        self.finish(&job.key, now).await?;
        Ok(JobOutcome::Done { sent, skipped })
    }

    fn dropped(&self, reason: DropReason) -> JobOutcome {
        tracing::warn!(reason = %reason, "job dropped");
        metrics::count("job_dropped");
        JobOutcome::Dropped(reason)
    }

    /// Marks a send settled (sent, or refused for good). If even that fails, the send is not
    /// undone and the job not retried: its claim stays pending, and a redelivery within the
    /// lease skips it rather than sending twice.
    async fn settle(&self, send_key: &str, now: i64) {
        if let Err(err) = self.finish(send_key, now).await {
            tracing::warn!(send = %send_key, reason = %err, "marking the send done failed");
        }
    }

    async fn release(&self, claim: &Claim) {
        if let Err(err) = self.deps.ledger.release(&claim.key, &claim.attempt).await {
            tracing::warn!(reason = %err, "send claim release failed; it expires with its lease");
        }
    }

    async fn finish(&self, key: &str, now: i64) -> Result<(), PortError> {
        self.deps
            .ledger
            .mark_done(key, (now / 1000).saturating_add(secs(LEDGER_TTL)))
            .await
    }

    /// Undoes a send's claim and quota after a failure that SQS will retry.
    async fn give_back(&self, claim: &Claim, openid: &str, window: QuotaWindow) {
        if let Err(err) = self.deps.quota.refund(&self.appid, openid, window).await {
            tracing::warn!(reason = %err, "quota refund failed");
        }
        self.release(claim).await;
    }
}
