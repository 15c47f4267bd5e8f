//! `QuotaStore` in memory: `policy::quota::QuotaState` applied as is, per user.

use async_trait::async_trait;

use super::table::MemoryTable;
use crate::ports::{PortError, QuotaStore, QuotaWindow, QuotaWindows};
use crate::protocol::OpenId;

#[async_trait]
impl QuotaStore for MemoryTable {
    async fn open(
        &self,
        appid: &str,
        openid: &OpenId,
        window: QuotaWindow,
        at: i64,
        opener: &str,
        now: i64,
    ) -> Result<(), PortError> {
        self.count();
        self.lock_state()
            .quotas
            .entry(format!("{appid}#{openid}"))
            .or_default()
            .open(window, at, opener, now);
        Ok(())
    }

    async fn reserve(
        &self,
        appid: &str,
        openid: &OpenId,
        now: i64,
        reservation: &str,
    ) -> Result<Option<QuotaWindow>, PortError> {
        self.count();
        Ok(self
            .lock_state()
            .quotas
            .entry(format!("{appid}#{openid}"))
            .or_default()
            .reserve(now, reservation))
    }

    async fn refund(
        &self,
        appid: &str,
        openid: &OpenId,
        reservation: &str,
    ) -> Result<(), PortError> {
        self.count();
        if let Some(quota) = self
            .lock_state()
            .quotas
            .get_mut(&format!("{appid}#{openid}"))
        {
            quota.refund(reservation);
        }
        Ok(())
    }

    async fn windows(&self, appid: &str, openid: &OpenId) -> Result<QuotaWindows, PortError> {
        self.count();
        Ok(self
            .lock_state()
            .quotas
            .get(&format!("{appid}#{openid}"))
            .map(|quota| quota.windows())
            .unwrap_or_default())
    }
}
