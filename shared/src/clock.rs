//! The clocks behind the `Clock` port — the system's, and a manual one that moves only when
//! told to (tests of leases, TTLs and quota windows) — and the units time is kept in: instants
//! as [`EpochMillis`] (the clock's unit: leases, windows, the access_token's and media ids'
//! expiries) or [`EpochSecs`] (DynamoDB's TTLs), converted only explicitly, so that an instant
//! in the wrong unit does not compile where a port takes one; and durations in either unit.

use std::ops::Add;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::ports::Clock;

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0)
    }
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn at(millis: i64) -> Self {
        Self(AtomicI64::new(millis))
    }

    pub fn advance(&self, millis: i64) {
        self.0.fetch_add(millis, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A duration in the clock's unit (ms), saturating.
pub fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// A duration in seconds (DynamoDB TTLs), saturating.
pub fn secs(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// An instant in milliseconds since the Unix epoch: the clock's unit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EpochMillis(pub i64);

/// An instant in whole seconds since the Unix epoch: what a DynamoDB TTL (`expires_at`) keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EpochSecs(pub i64);

impl EpochMillis {
    /// The same instant in whole seconds (the milliseconds dropped).
    pub const fn secs(self) -> EpochSecs {
        EpochSecs(self.0 / 1000)
    }
}

impl EpochSecs {
    /// The start of this second in milliseconds, saturating.
    pub const fn millis(self) -> EpochMillis {
        EpochMillis(self.0.saturating_mul(1000))
    }
}

/// Later by a duration (its whole milliseconds), saturating.
impl Add<Duration> for EpochMillis {
    type Output = Self;
    fn add(self, duration: Duration) -> Self {
        Self(self.0.saturating_add(millis(duration)))
    }
}

/// Later by a duration (its whole seconds), saturating.
impl Add<Duration> for EpochSecs {
    type Output = Self;
    fn add(self, duration: Duration) -> Self {
        Self(self.0.saturating_add(secs(duration)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_convert_explicitly() {
        let at = EpochMillis(1_700_000_000_999);
        assert_eq!(at.secs(), EpochSecs(1_700_000_000));
        assert_eq!(at.secs().millis(), EpochMillis(1_700_000_000_000));
        assert_eq!(
            at + Duration::from_millis(1),
            EpochMillis(1_700_000_001_000)
        );
        assert_eq!(
            at.secs() + Duration::from_millis(1_999),
            EpochSecs(1_700_000_001)
        );
        assert_eq!(
            EpochMillis(i64::MAX) + Duration::from_secs(1),
            EpochMillis(i64::MAX)
        );
    }
}
