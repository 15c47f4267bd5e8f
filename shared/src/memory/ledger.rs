//! `PushLedger` in memory: claims of pushes and sends, atomic as DynamoDB's conditional
//! PutItem, with the same states (pending → accepted → done) and the same answers.

use async_trait::async_trait;

use super::table::{Entry, MemoryTable, State};
use crate::clock::{EpochMillis, EpochSecs};
use crate::ports::{Answer, Claim, ClaimOutcome, PortError, PushLedger};

#[async_trait]
impl PushLedger for MemoryTable {
    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, PortError> {
        self.count();
        let mut pushes = self.lock_pushes();
        let now_secs = claim.now.secs();
        let found = match pushes.get(&claim.key) {
            None => None,
            Some(entry) if entry.expires_at <= now_secs => None,
            Some(Entry {
                state:
                    State::Pending {
                        attempt,
                        lease_until,
                    },
                ..
            }) if *lease_until < claim.now || *attempt == claim.attempt => None,
            Some(Entry {
                state: State::Pending { .. },
                ..
            }) => Some(ClaimOutcome::InProgress),
            Some(Entry {
                state: State::Sending { lease_until, .. },
                ..
            }) if *lease_until < claim.now => Some(ClaimOutcome::Abandoned),
            Some(Entry {
                state: State::Sending { .. },
                ..
            }) => Some(ClaimOutcome::InProgress),
            Some(Entry {
                state: State::Accepted { answer, .. } | State::Done { answer },
                ..
            }) => Some(ClaimOutcome::Handled(*answer)),
        };
        if let Some(outcome) = found {
            return Ok(outcome);
        }
        pushes.insert(
            claim.key.clone(),
            Entry {
                state: State::Pending {
                    attempt: claim.attempt.clone(),
                    lease_until: claim.lease_until,
                },
                expires_at: claim.expires_at,
            },
        );
        Ok(ClaimOutcome::Claimed)
    }

    async fn hold_once(
        &self,
        key: &str,
        holder: &str,
        now: EpochMillis,
        expires_at: EpochSecs,
    ) -> Result<bool, PortError> {
        self.count();
        let mut nonces = self.lock_nonces();
        let free = match nonces.get(key) {
            None => true,
            Some((held_by, expires)) => held_by == holder || *expires <= now.secs(),
        };
        if free {
            nonces.insert(key.to_owned(), (holder.to_owned(), expires_at));
        }
        Ok(free)
    }

    async fn accept(&self, key: &str, attempt: &str, answer: Answer) -> Result<(), PortError> {
        self.count();
        let mut pushes = self.lock_pushes();
        if let Some(entry) = pushes.get_mut(key) {
            let ours = matches!(
                &entry.state,
                State::Pending { attempt: owner, .. } | State::Accepted { attempt: owner, .. }
                    if owner == attempt
            );
            if ours {
                entry.state = State::Accepted {
                    attempt: attempt.to_owned(),
                    answer,
                };
            }
        }
        Ok(())
    }

    async fn begin_send(&self, key: &str, attempt: &str) -> Result<bool, PortError> {
        self.count();
        let mut pushes = self.lock_pushes();
        let Some(entry) = pushes.get_mut(key) else {
            return Ok(false);
        };
        match &entry.state {
            State::Pending {
                attempt: owner,
                lease_until,
            }
            | State::Sending {
                attempt: owner,
                lease_until,
            } if owner == attempt => {
                entry.state = State::Sending {
                    attempt: attempt.to_owned(),
                    lease_until: *lease_until,
                };
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn release(&self, key: &str, attempt: &str) -> Result<(), PortError> {
        self.count();
        let mut pushes = self.lock_pushes();
        let ours = matches!(
            pushes.get(key),
            Some(Entry {
                state: State::Pending { attempt: owner, .. } | State::Sending { attempt: owner, .. },
                ..
            }) if owner == attempt
        );
        if ours {
            pushes.remove(key);
        }
        Ok(())
    }

    async fn mark_done(&self, key: &str, expires_at: EpochSecs) -> Result<(), PortError> {
        self.count();
        let mut pushes = self.lock_pushes();
        let answer = match pushes.get(key).map(|e| &e.state) {
            Some(State::Accepted { answer, .. } | State::Done { answer }) => *answer,
            _ => Answer::Success,
        };
        pushes.insert(
            key.to_owned(),
            Entry {
                state: State::Done { answer },
                expires_at,
            },
        );
        Ok(())
    }
}
