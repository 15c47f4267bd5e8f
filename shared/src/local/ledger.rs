//! The table in memory: the push ledger and the hand-off registry (the worker's stores are in
//! `stores.rs`), with DynamoDB's semantics
//! (a conditional claim is atomic; expired entries are ignored as if deleted).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;

use crate::ports::{Claim, ClaimOutcome, HandoffRegistry, PortError, PushLedger, StoredToken};
use crate::worker::quota::QuotaState;

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Pending { attempt: String, lease_until: i64 },
    Done,
}

#[derive(Debug, Clone)]
struct Entry {
    state: State,
    expires_at: i64,
}

/// The reply worker's items (see `stores.rs`).
#[derive(Debug, Default)]
pub(super) struct WorkerState {
    pub(super) tokens: HashMap<String, TokenItem>,
    pub(super) quotas: HashMap<String, QuotaState>,
    pub(super) media: HashMap<String, (String, i64)>,
}

#[derive(Debug, Default)]
pub(super) struct TokenItem {
    pub(super) token: Option<StoredToken>,
    pub(super) lease: Option<(String, i64)>,
}

#[derive(Debug, Default)]
pub struct MemoryTable {
    pushes: Mutex<HashMap<String, Entry>>,
    handoffs: Mutex<HashMap<String, i64>>,
    worker: Mutex<WorkerState>,
    calls: AtomicUsize,
}

impl MemoryTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many calls were made (each would be one round trip to DynamoDB).
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Whether the push is recorded as handled.
    pub fn is_done(&self, key: &str) -> bool {
        self.lock_pushes()
            .get(key)
            .is_some_and(|e| e.state == State::Done)
    }

    /// Whether any claim (pending or done) exists for the push.
    pub fn has_claim(&self, key: &str) -> bool {
        self.lock_pushes().contains_key(key)
    }

    pub(super) fn lock_state(&self) -> std::sync::MutexGuard<'_, WorkerState> {
        self.worker.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn count(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
    }

    fn lock_pushes(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A poisoned lock only means another test thread panicked; the map is still usable.
        self.pushes.lock().unwrap_or_else(|p| p.into_inner())
    }
}

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

#[async_trait]
impl HandoffRegistry for MemoryTable {
    async fn record(&self, appid: &str, openid: &str, until_ms: i64) -> Result<(), PortError> {
        self.count();
        self.handoffs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(format!("{appid}#{openid}"), until_ms);
        Ok(())
    }

    async fn held_until(&self, appid: &str, openid: &str) -> Result<Option<i64>, PortError> {
        self.count();
        Ok(self
            .handoffs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&format!("{appid}#{openid}"))
            .copied())
    }
}
