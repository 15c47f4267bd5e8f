//! The reply worker's stores in memory (tokens, quotas, media ids), with the same conditional
//! semantics as their DynamoDB versions. Part of `MemoryTable`, like the ledger.

use async_trait::async_trait;

use super::MemoryTable;
use crate::ports::{MediaCache, PortError, QuotaStore, QuotaWindow, StoredToken, TokenStore};
use crate::wechat_api::AccessToken;

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
        now: i64,
        until: i64,
        stale_at: i64,
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

    async fn store(&self, appid: &str, _owner: &str, token: &StoredToken) -> Result<(), PortError> {
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
        stored.expires_at = 0;
        Ok(true)
    }
}

#[async_trait]
impl QuotaStore for MemoryTable {
    async fn open(
        &self,
        appid: &str,
        openid: &str,
        window: QuotaWindow,
        at: i64,
    ) -> Result<(), PortError> {
        self.count();
        self.lock_state()
            .quotas
            .entry(format!("{appid}#{openid}"))
            .or_default()
            .open(window, at);
        Ok(())
    }

    async fn reserve(
        &self,
        appid: &str,
        openid: &str,
        now: i64,
    ) -> Result<Option<QuotaWindow>, PortError> {
        self.count();
        Ok(self
            .lock_state()
            .quotas
            .entry(format!("{appid}#{openid}"))
            .or_default()
            .reserve(now))
    }

    async fn refund(
        &self,
        appid: &str,
        openid: &str,
        window: QuotaWindow,
    ) -> Result<(), PortError> {
        self.count();
        if let Some(quota) = self
            .lock_state()
            .quotas
            .get_mut(&format!("{appid}#{openid}"))
        {
            quota.refund(window);
        }
        Ok(())
    }
}

#[async_trait]
impl MediaCache for MemoryTable {
    async fn get(&self, appid: &str, hash: &str, now: i64) -> Result<Option<String>, PortError> {
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
        expires_at: i64,
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
