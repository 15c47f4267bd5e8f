//! `HandoffRegistry` in memory: who a human agent holds, and until when.

use async_trait::async_trait;

use super::table::MemoryTable;
use crate::ports::{HandoffRegistry, PortError};

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

    async fn end(&self, appid: &str, openid: &str) -> Result<(), PortError> {
        self.count();
        self.handoffs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&format!("{appid}#{openid}"));
        Ok(())
    }
}
