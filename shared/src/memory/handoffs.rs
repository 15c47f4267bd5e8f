//! `HandoffRegistry` in memory: who a human agent holds, until when, and the time of the
//! decision (a decision older than the stored one is not applied, as on DynamoDB).

use async_trait::async_trait;

use super::table::MemoryTable;
use crate::ports::{HandoffRegistry, PortError};
use crate::protocol::OpenId;

impl MemoryTable {
    fn decide(&self, appid: &str, openid: &OpenId, at_ms: i64, until_ms: i64) -> bool {
        self.count();
        let mut handoffs = self.handoffs.lock().unwrap_or_else(|p| p.into_inner());
        let key = format!("{appid}#{openid}");
        if handoffs.get(&key).is_some_and(|(at, _)| *at > at_ms) {
            return false;
        }
        handoffs.insert(key, (at_ms, until_ms));
        true
    }
}

#[async_trait]
impl HandoffRegistry for MemoryTable {
    async fn record(
        &self,
        appid: &str,
        openid: &OpenId,
        at_ms: i64,
        until_ms: i64,
    ) -> Result<bool, PortError> {
        Ok(self.decide(appid, openid, at_ms, until_ms))
    }

    async fn held_until(&self, appid: &str, openid: &OpenId) -> Result<Option<i64>, PortError> {
        self.count();
        Ok(self
            .handoffs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&format!("{appid}#{openid}"))
            .map(|(_, until)| *until))
    }

    async fn end(&self, appid: &str, openid: &OpenId, at_ms: i64) -> Result<bool, PortError> {
        Ok(self.decide(appid, openid, at_ms, at_ms))
    }
}
