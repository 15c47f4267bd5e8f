//! The access_token every send needs, shared by all instances through the `TokenStore`.
//!
//! Refreshed ahead of expiry under a conditional-write lease, so exactly one instance calls
//! WeChat while the others keep using the current token (or, if there is none, wait for the
//! new one). A token WeChat rejects as stale is expired only if it is still the stored one:
//! another instance may already have replaced it, and expiring the replacement would start a
//! refresh storm.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use crate::clock::millis;
use crate::ports::{Clock, PortError, StoredToken, TokenStore, WeChatApi};
use crate::wechat_types::{AccessToken, ApiError, TokenKind};

/// Refresh this long before the token expires (WeChat keeps the old one valid 5 minutes).
pub const REFRESH_AHEAD: Duration = Duration::from_secs(5 * 60);
/// How long one instance may hold the refresh lease.
const LEASE: Duration = Duration::from_secs(10);
/// How often a waiting instance looks for the new token.
const POLL: Duration = Duration::from_millis(100);

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token store: {0}")]
    Store(#[from] PortError),
    #[error("fetching the access_token: {0}")]
    Api(#[from] ApiError),
    #[error("no access_token after waiting {0:?} for another instance's refresh")]
    Timeout(Duration),
}

#[derive(Debug)]
pub struct TokenProvider {
    appid: String,
    kind: TokenKind,
    store: Arc<dyn TokenStore>,
    api: Arc<dyn WeChatApi>,
    clock: Arc<dyn Clock>,
    /// This instance's copy, so that warm invocations skip the store.
    memo: Mutex<Option<StoredToken>>,
    owner: String,
}

impl TokenProvider {
    pub fn new(
        appid: &str,
        kind: TokenKind,
        store: Arc<dyn TokenStore>,
        api: Arc<dyn WeChatApi>,
        clock: Arc<dyn Clock>,
        owner: String,
    ) -> Self {
        Self {
            appid: appid.to_owned(),
            kind,
            store,
            api,
            clock,
            memo: Mutex::new(None),
            owner,
        }
    }

    /// A token valid for a while yet.
    pub async fn get(&self) -> Result<AccessToken, TokenError> {
        let now = self.clock.now_millis();
        if let Some(memo) = self.memo.lock().await.as_ref()
            && fresh(memo, now)
        {
            return Ok(memo.token.clone());
        }
        // Bounded by attempts, not by the clock (which tests may hold still).
        let attempts = LEASE.as_millis() * 2 / POLL.as_millis();
        for _ in 0..attempts {
            let now = self.clock.now_millis();
            let stored = self.store.read(&self.appid).await?;
            if let Some(stored) = &stored
                && fresh(stored, now)
            {
                return Ok(self.remember(stored.clone()).await);
            }
            let lease_until = now.saturating_add(millis(LEASE));
            let stale_at = now.saturating_add(millis(REFRESH_AHEAD));
            if self
                .store
                .try_lease(&self.appid, &self.owner, now, lease_until, stale_at)
                .await?
            {
                return self.refresh(now).await;
            }
            // Someone else is refreshing: the current token, if still valid, serves meanwhile.
            if let Some(stored) = stored
                && stored.expires_at > now
            {
                return Ok(stored.token);
            }
            tokio::time::sleep(POLL).await;
        }
        Err(TokenError::Timeout(LEASE * 2))
    }

    /// WeChat said `failed` is stale (40001/40014/42001): expire it if it is still the stored
    /// one, and return a token to retry with (once: the caller never loops).
    pub async fn replace_stale(&self, failed: &AccessToken) -> Result<AccessToken, TokenError> {
        {
            let mut memo = self.memo.lock().await;
            if memo.as_ref().is_some_and(|m| &m.token == failed) {
                *memo = None;
            }
        }
        self.store.expire_if_current(&self.appid, failed).await?;
        self.get().await
    }

    async fn refresh(&self, now: i64) -> Result<AccessToken, TokenError> {
        let fetched = self.api.fetch_token(self.kind, false).await?;
        let token = StoredToken {
            token: fetched.token,
            expires_at: now.saturating_add(fetched.expires_in.saturating_mul(1000)),
        };
        self.store.store(&self.appid, &self.owner, &token).await?;
        tracing::info!(expires_in = fetched.expires_in, "access_token refreshed");
        Ok(self.remember(token).await)
    }

    async fn remember(&self, token: StoredToken) -> AccessToken {
        let access = token.token.clone();
        *self.memo.lock().await = Some(token);
        access
    }
}

fn fresh(token: &StoredToken, now: i64) -> bool {
    token.expires_at.saturating_sub(now) > millis(REFRESH_AHEAD)
}
