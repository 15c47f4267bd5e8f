//! `PushLedger` in memory: claims of pushes and sends, atomic as DynamoDB's conditional PutItem.

use async_trait::async_trait;

use super::table::{Entry, MemoryTable, State};
use crate::ports::{Claim, ClaimOutcome, PortError, PushLedger};

#[async_trait]
impl PushLedger for MemoryTable {
    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, PortError> {
        self.count();
        let mut pushes = self.lock_pushes();
        let now_secs = claim.now / 1000;
        let free = match pushes.get(&claim.key) {
            None => true,
            Some(entry) if entry.expires_at <= now_secs => true,
            Some(Entry {
                state: State::Pending { lease_until, .. },
                ..
            }) => *lease_until < claim.now,
            Some(_) => false,
        };
        if !free {
            return Ok(ClaimOutcome::Duplicate);
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

    async fn release(&self, key: &str, attempt: &str) -> Result<(), PortError> {
        self.count();
        let mut pushes = self.lock_pushes();
        let ours = matches!(
            pushes.get(key),
            Some(Entry { state: State::Pending { attempt: owner, .. }, .. }) if owner == attempt
        );
        if ours {
            pushes.remove(key);
        }
        Ok(())
    }

    async fn mark_done(&self, key: &str, expires_at: i64) -> Result<(), PortError> {
        self.count();
        self.lock_pushes().insert(
            key.to_owned(),
            Entry {
                state: State::Done,
                expires_at,
            },
        );
        Ok(())
    }
}
