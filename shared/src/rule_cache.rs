//! The rules in memory: reloaded from their source when older than a short TTL, the last good
//! set kept when a reload fails (a Parameter Store hiccup must not stop the replies).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;

use crate::clock::millis;
use crate::ports::{Clock, PortError, RuleSource};
use crate::rules::RuleSet;

/// After a failed reload, wait this long before asking the source again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(5);

#[derive(Debug)]
pub struct RuleCache {
    source: Arc<dyn RuleSource>,
    clock: Arc<dyn Clock>,
    ttl: Duration,
    state: Mutex<Option<Cached>>,
}

#[derive(Debug)]
struct Cached {
    rules: Arc<RuleSet>,
    /// When to ask the source again, in ms since the epoch.
    refresh_at: i64,
}

impl RuleCache {
    pub fn new(source: Arc<dyn RuleSource>, clock: Arc<dyn Clock>, ttl: Duration) -> Self {
        Self {
            source,
            clock,
            ttl,
            state: Mutex::new(None),
        }
    }

    /// The current rules: from memory while fresh; otherwise reloaded, falling back to the last
    /// good set if the reload fails. Fails only when no set was ever loaded.
    pub async fn get(&self) -> Result<Arc<RuleSet>, PortError> {
        let mut state = self.state.lock().await;
        let now = self.clock.now_millis();
        if let Some(cached) = state.as_ref()
            && now < cached.refresh_at
        {
            return Ok(Arc::clone(&cached.rules));
        }
        match self.source.load().await {
            Ok(rules) => {
                let rules = Arc::new(rules);
                *state = Some(Cached {
                    rules: Arc::clone(&rules),
                    refresh_at: now.saturating_add(millis(self.ttl)),
                });
                Ok(rules)
            }
            Err(err) => match state.as_mut() {
                Some(cached) => {
                    tracing::warn!(error = %err, "rules reload failed; keeping the last good set");
                    cached.refresh_at = now.saturating_add(millis(RETRY_AFTER_FAILURE));
                    Ok(Arc::clone(&cached.rules))
                }
                None => Err(err),
            },
        }
    }
}
