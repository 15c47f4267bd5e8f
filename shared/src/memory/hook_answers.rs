//! `HookAnswers` in memory: the decision kept for a job's hook, first write wins, ignored once
//! expired.

use async_trait::async_trait;

use super::table::MemoryTable;
use crate::clock::{EpochMillis, EpochSecs};
use crate::ports::{HookAnswers, PortError};

#[async_trait]
impl HookAnswers for MemoryTable {
    async fn kept(&self, key: &str, now: EpochMillis) -> Result<Option<String>, PortError> {
        self.count();
        Ok(self
            .lock_hook_answers()
            .get(key)
            .filter(|(_, expires_at)| *expires_at > now.secs())
            .map(|(decision, _)| decision.clone()))
    }

    async fn keep(
        &self,
        key: &str,
        decision: &str,
        now: EpochMillis,
        expires_at: EpochSecs,
    ) -> Result<String, PortError> {
        self.count();
        let mut kept = self.lock_hook_answers();
        match kept.get(key) {
            Some((earlier, at)) if *at > now.secs() => Ok(earlier.clone()),
            _ => {
                kept.insert(key.to_owned(), (decision.to_owned(), expires_at));
                Ok(decision.to_owned())
            }
        }
    }
}
