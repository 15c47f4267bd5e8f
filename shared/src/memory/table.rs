//! The table in memory: every store port on one `MemoryTable`, as deployed on one DynamoDB
//! table, one file per port beside this one (mirroring `aws/`). DynamoDB's semantics are kept:
//! a conditional write is atomic, expired entries are ignored as if deleted. Each call is
//! counted, so tests can assert how many round trips a path would cost on AWS.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::clock::{EpochMillis, EpochSecs};
use crate::policy::quota::QuotaState;
use crate::ports::{Answer, AskedQuestion, StoredToken};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum State {
    Pending {
        attempt: String,
        lease_until: EpochMillis,
    },
    /// A send going out (`begin_send`): never taken over, `Abandoned` once its lease is over.
    Sending {
        attempt: String,
        lease_until: EpochMillis,
    },
    Accepted {
        attempt: String,
        answer: Answer,
    },
    Done {
        answer: Answer,
    },
}

#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) state: State,
    pub(super) expires_at: EpochSecs,
}

/// The send core's items (tokens, quotas, media ids).
#[derive(Debug, Default)]
pub(super) struct SendState {
    pub(super) tokens: HashMap<String, TokenItem>,
    pub(super) quotas: HashMap<String, QuotaState>,
    pub(super) media: HashMap<String, (String, EpochMillis)>,
}

#[derive(Debug, Default)]
pub(super) struct TokenItem {
    pub(super) token: Option<StoredToken>,
    pub(super) lease: Option<(String, EpochMillis)>,
}

#[derive(Debug, Default)]
pub struct MemoryTable {
    pushes: Mutex<HashMap<String, Entry>>,
    /// Per `{appid}#{openid}`: (the decision's time, held until), both ms.
    pub(super) handoffs: Mutex<HashMap<String, (i64, i64)>>,
    /// (timestamp, nonce) pairs: the message each signed, and when the entry expires (s).
    nonces: Mutex<HashMap<String, (String, EpochSecs)>>,
    send: Mutex<SendState>,
    /// FAQ suggestions offered, per `{appid}#{openid}`: the entry ids and until when (ms).
    suggestions: Mutex<HashMap<String, (Vec<String>, i64)>>,
    /// Kept questions by (app, time, asker): the question and its TTL.
    questions: Mutex<QuestionMap>,
    /// What was decided for each job's hook (`hook#{push key}`): the decision and its TTL.
    hook_answers: Mutex<HashMap<String, (String, EpochSecs)>>,
    calls: AtomicUsize,
}

type QuestionMap = BTreeMap<(String, i64, String), (AskedQuestion, EpochSecs)>;

impl MemoryTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many calls were made (each would be one round trip to DynamoDB).
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Whether any claim (pending or done) exists for the push.
    pub fn has_claim(&self, key: &str) -> bool {
        self.lock_pushes().contains_key(key)
    }

    pub(super) fn lock_state(&self) -> std::sync::MutexGuard<'_, SendState> {
        self.send.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn count(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
    }

    pub(super) fn lock_nonces(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, (String, EpochSecs)>> {
        self.nonces.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn lock_suggestions(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, (Vec<String>, i64)>> {
        self.suggestions.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn lock_hook_answers(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, (String, EpochSecs)>> {
        self.hook_answers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(super) fn lock_questions(&self) -> std::sync::MutexGuard<'_, QuestionMap> {
        self.questions.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn lock_pushes(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A poisoned lock only means another test thread panicked; the map is still usable.
        self.pushes.lock().unwrap_or_else(|p| p.into_inner())
    }
}
