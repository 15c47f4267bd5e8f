//! A bound on the Parameter Store requests one function instance makes: a token bucket in
//! front of the SSM client (an SDK interceptor, so every request counts: listings, secrets,
//! rules, and each attempt the SDK repeats). Parameter Store's limit is account-wide (about 40
//! requests a second for `GetParameter` and `GetParametersByPath` at the standard throughput),
//! so one busy instance must not spend it for all: when the bucket is empty a request fails at
//! once, without leaving the instance, and the callers do what they do on any Parameter Store
//! failure (serve the apps and rules they know from memory; a lookup that needs a read fails,
//! a push is answered 503 and WeChat retries).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_ssm::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_ssm::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_ssm::error::BoxError;

/// Requests an instance may make at once, after a quiet while (a cold start's listing, shared
/// rules and a few apps' secrets and rules fit).
pub const BURST: u32 = 50;
/// Requests an instance may make per minute, sustained.
pub const PER_MINUTE: u32 = 60;

/// Tokens refilled at a steady rate up to a capacity; each request takes one.
#[derive(Debug)]
pub struct TokenBucket {
    capacity: f64,
    per_second: f64,
    /// Tokens left, as of the instant.
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    /// Full, holding at most `capacity`, refilled by `per_minute` a minute.
    pub fn new(capacity: u32, per_minute: u32) -> Self {
        Self::new_at(capacity, per_minute, Instant::now())
    }

    fn new_at(capacity: u32, per_minute: u32, now: Instant) -> Self {
        Self {
            capacity: f64::from(capacity),
            per_second: f64::from(per_minute) / 60.0,
            state: Mutex::new((f64::from(capacity), now)),
        }
    }

    /// Takes a token if there is one.
    pub fn try_take(&self) -> bool {
        self.try_take_at(Instant::now())
    }

    fn try_take_at(&self, now: Instant) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (tokens, then) = *state;
        let elapsed = now.saturating_duration_since(then).as_secs_f64();
        let tokens = (tokens + elapsed * self.per_second).min(self.capacity);
        if tokens >= 1.0 {
            *state = (tokens - 1.0, now);
            true
        } else {
            *state = (tokens, now);
            false
        }
    }

    /// How long until the next token, from now (zero if there is one).
    pub fn wait(&self) -> Duration {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let missing = (1.0 - state.0).max(0.0);
        Duration::try_from_secs_f64(missing / self.per_second).unwrap_or(Duration::MAX)
    }
}

/// The interceptor: one token per request attempt.
#[derive(Debug, Clone)]
pub struct ParameterBudget(Arc<TokenBucket>);

impl ParameterBudget {
    /// [`BURST`] at once, [`PER_MINUTE`] a minute.
    pub fn per_instance() -> Self {
        Self::new(BURST, PER_MINUTE)
    }

    pub fn new(burst: u32, per_minute: u32) -> Self {
        Self(Arc::new(TokenBucket::new(burst, per_minute)))
    }
}

impl Intercept for ParameterBudget {
    fn name(&self) -> &'static str {
        "ParameterStoreBudget"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if self.0.try_take() {
            Ok(())
        } else {
            Err(format!(
                "this instance's Parameter Store budget is spent ({BURST} at once, \
                 {PER_MINUTE} a minute); next request in {} ms",
                self.0.wait().as_millis()
            )
            .into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_allows_its_burst_then_its_rate() {
        let start = Instant::now();
        let bucket = TokenBucket::new_at(3, 60, start);
        assert!((0..3).all(|_| bucket.try_take_at(start)));
        assert!(!bucket.try_take_at(start), "empty");
        assert!(!bucket.try_take_at(start + Duration::from_millis(500)));
        assert!(
            bucket.try_take_at(start + Duration::from_millis(1000)),
            "one a second"
        );
        assert!(!bucket.try_take_at(start + Duration::from_millis(1100)));
        // A quiet hour fills it to its capacity, no more.
        let later = start + Duration::from_secs(3600);
        assert_eq!((0..10).filter(|_| bucket.try_take_at(later)).count(), 3);
    }

    #[test]
    fn a_minute_allows_at_most_the_burst_and_the_rate() {
        let start = Instant::now();
        let bucket = TokenBucket::new_at(BURST, PER_MINUTE, start);
        let taken = (0..6000)
            .filter(|n| bucket.try_take_at(start + Duration::from_millis(n * 10)))
            .count();
        assert!(taken <= (BURST + PER_MINUTE) as usize, "{taken}");
        assert!(taken >= PER_MINUTE as usize, "{taken}");
    }
}
