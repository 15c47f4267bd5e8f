//! `MediaCache` in memory: uploaded images' media_ids by content hash, until they expire.

use async_trait::async_trait;

use super::table::MemoryTable;
use crate::clock::EpochMillis;
use crate::ports::{MediaCache, PortError};

#[async_trait]
impl MediaCache for MemoryTable {
    async fn get(
        &self,
        appid: &str,
        hash: &str,
        now: EpochMillis,
    ) -> Result<Option<String>, PortError> {
        self.count();
        Ok(self
            .lock_state()
            .media
            .get(&format!("{appid}#{hash}"))
            .filter(|(_, expires_at)| *expires_at > now)
            .map(|(media_id, _)| media_id.clone()))
    }

    async fn put(
        &self,
        appid: &str,
        hash: &str,
        media_id: &str,
        expires_at: EpochMillis,
    ) -> Result<(), PortError> {
        self.count();
        self.lock_state()
            .media
            .insert(format!("{appid}#{hash}"), (media_id.to_owned(), expires_at));
        Ok(())
    }

    async fn forget(&self, appid: &str, hash: &str) -> Result<(), PortError> {
        self.count();
        self.lock_state().media.remove(&format!("{appid}#{hash}"));
        Ok(())
    }
}
