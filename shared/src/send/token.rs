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

use crate::clock::{EpochMillis, millis};
use crate::ports::{Clock, PortError, StoredToken, TokenStore, WeChatApi};
use crate::wechat_types::{AccessToken, ApiError, TokenKind};

/// Refresh this long before the token expires (WeChat keeps the old one valid 5 minutes).
pub const REFRESH_AHEAD: Duration = Duration::from_secs(5 * 60);
/// How long one instance may hold the refresh lease.
const LEASE: Duration = Duration::from_secs(10);
/// A waiting instance looks again after this, doubling each time up to [`MAX_PAUSE`], with
/// jitter so that waiters do not poll in step.
const FIRST_PAUSE: Duration = Duration::from_millis(50);
const MAX_PAUSE: Duration = Duration::from_secs(2);
/// At most this many reads per wait: about two leases' worth of pauses.
const MAX_LOOKS: u32 = 16;

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
        for look in 0..MAX_LOOKS {
            let now = self.clock.now_millis();
            let stored = self.store.read(&self.appid).await?;
            if let Some(stored) = &stored
                && fresh(stored, now)
            {
                return Ok(self.remember(stored.clone()).await);
            }
            let lease_until = EpochMillis(now) + LEASE;
            let stale_at = EpochMillis(now) + REFRESH_AHEAD;
            if self
                .store
                .try_lease(
                    &self.appid,
                    &self.owner,
                    EpochMillis(now),
                    lease_until,
                    stale_at,
                )
                .await?
            {
                return self.refresh(now).await;
            }
            // Someone else is refreshing: the current token, if still valid, serves meanwhile.
            if let Some(stored) = stored
                && stored.expires_at > EpochMillis(now)
            {
                return Ok(stored.token);
            }
            tokio::time::sleep(pause(look)).await;
        }
        Err(TokenError::Timeout(waited()))
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
            expires_at: EpochMillis(now.saturating_add(fetched.expires_in.saturating_mul(1000))),
        };
        self.store.store(&self.appid, &token).await?;
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
    token.expires_at.0.saturating_sub(now) > millis(REFRESH_AHEAD)
}

/// The pause before look `look + 1`, before jitter: exponential, capped.
fn base_pause(look: u32) -> Duration {
    FIRST_PAUSE
        .saturating_mul(2u32.saturating_pow(look))
        .min(MAX_PAUSE)
}

/// The pause before look `look + 1`: [`base_pause`] with ±50 % jitter.
fn pause(look: u32) -> Duration {
    let base = base_pause(look);
    let mut byte = [0u8; 1];
    // Without OS randomness the pause is simply not jittered.
    let jitter = match getrandom::fill(&mut byte) {
        Ok(()) => {
            let [b] = byte;
            u32::from(b)
        }
        Err(_) => 128,
    };
    base / 2 + base * jitter / 510
}

/// The longest a wait lasts (without jitter), for the error message.
fn waited() -> Duration {
    (0..MAX_LOOKS).map(base_pause).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiters_back_off_and_give_up_after_a_bounded_number_of_reads() {
        for look in 0..MAX_LOOKS {
            let base = base_pause(look);
            let p = pause(look);
            assert!(
                p >= base / 2 && p <= base,
                "look {look}: {p:?} for base {base:?}"
            );
        }
        // Two leases at most, so a refresher that died is replaced in time.
        assert!(waited() <= LEASE * 3, "{:?}", waited());
        assert!(waited() >= LEASE, "{:?}", waited());
    }
}
