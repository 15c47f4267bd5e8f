//! `TokenStore` in memory: the shared access_token and its refresh lease, with the DynamoDB
//! version's conditions.

use async_trait::async_trait;

use super::table::MemoryTable;
use crate::clock::EpochMillis;
use crate::ports::{PortError, StoredToken, TokenStore};
use crate::wechat_types::AccessToken;

#[async_trait]
impl TokenStore for MemoryTable {
    async fn read(&self, appid: &str) -> Result<Option<StoredToken>, PortError> {
        self.count();
        Ok(self
            .lock_state()
            .tokens
            .get(appid)
            .and_then(|t| t.token.clone()))
    }

    async fn try_lease(
        &self,
        appid: &str,
        owner: &str,
        now: EpochMillis,
        until: EpochMillis,
        stale_at: EpochMillis,
    ) -> Result<bool, PortError> {
        self.count();
        let mut state = self.lock_state();
        let item = state.tokens.entry(appid.to_owned()).or_default();
        let needs_refresh = item.token.as_ref().is_none_or(|t| t.expires_at <= stale_at);
        let leased_by_other = item
            .lease
            .as_ref()
            .is_some_and(|(holder, lease_until)| holder != owner && *lease_until >= now);
        if !needs_refresh || leased_by_other {
            return Ok(false);
        }
        item.lease = Some((owner.to_owned(), until));
        Ok(true)
    }

    async fn store(&self, appid: &str, token: &StoredToken) -> Result<(), PortError> {
        self.count();
        let mut state = self.lock_state();
        let item = state.tokens.entry(appid.to_owned()).or_default();
        item.token = Some(token.clone());
        item.lease = None;
        Ok(())
    }

    async fn expire_if_current(
        &self,
        appid: &str,
        failed: &AccessToken,
    ) -> Result<bool, PortError> {
        self.count();
        let mut state = self.lock_state();
        let Some(stored) = state.tokens.get_mut(appid).and_then(|i| i.token.as_mut()) else {
            return Ok(false);
        };
        if &stored.token != failed {
            return Ok(false);
        }
        stored.expires_at = EpochMillis(0);
        Ok(true)
    }
}
