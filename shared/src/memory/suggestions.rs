//! `SuggestionStore` in memory: the FAQ suggestions last offered to each user, until when.

use async_trait::async_trait;

use super::table::MemoryTable;
use crate::ports::{PortError, SuggestionStore};
use crate::protocol::OpenId;

#[async_trait]
impl SuggestionStore for MemoryTable {
    async fn offer(
        &self,
        appid: &str,
        openid: &OpenId,
        entries: &[String],
        until_ms: i64,
    ) -> Result<(), PortError> {
        self.count();
        self.lock_suggestions()
            .insert(format!("{appid}#{openid}"), (entries.to_vec(), until_ms));
        Ok(())
    }

    async fn offered(
        &self,
        appid: &str,
        openid: &OpenId,
        now_ms: i64,
    ) -> Result<Option<Vec<String>>, PortError> {
        self.count();
        Ok(self
            .lock_suggestions()
            .get(&format!("{appid}#{openid}"))
            .filter(|(_, until)| *until > now_ms)
            .map(|(entries, _)| entries.clone()))
    }
}
