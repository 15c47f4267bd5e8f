//! Freshness and replay: a push's `timestamp` must be near the clock, and a (timestamp, nonce)
//! pair is good for one message. Without them one captured signature — every push URL and the
//! GET verification URL carry one — would sign any number of forged plaintext pushes, for ever:
//! the URL `signature` covers the token, timestamp and nonce, not the body.

use std::time::Duration;

use super::error::ReceiveError;
use crate::clock::millis;
use crate::protocol::PushQuery;

/// The message key (with `#{appid}`) a GET verification consumes its (timestamp, nonce) pair
/// with.
pub(super) const URL_VERIFICATION: &str = "url-verification";

/// The push's `timestamp` (seconds), if it lies within `window` of `now` (ms) either way.
/// `window` zero turns the check off (replaying recorded events only).
pub(super) fn check(query: &PushQuery, now: i64, window: Duration) -> Result<(), ReceiveError> {
    if window.is_zero() {
        return Ok(());
    }
    let stamped = query
        .timestamp
        .as_deref()
        .and_then(|t| t.trim().parse::<i64>().ok())
        .ok_or(ReceiveError::Stale)?;
    let skew = stamped
        .saturating_mul(1000)
        .saturating_sub(now)
        .saturating_abs();
    if skew > millis(window) {
        return Err(ReceiveError::Stale);
    }
    Ok(())
}

/// The ledger key of a (timestamp, nonce) pair. Not per app: the pair is used once across the
/// deployment, so a URL captured from one app cannot sign a push to another that shares its
/// Token (the holder, a ledger key, names the app).
pub(super) fn nonce_key(query: &PushQuery) -> String {
    format!(
        "nonce#{}#{}",
        query.timestamp.as_deref().unwrap_or_default(),
        query.nonce.as_deref().unwrap_or_default()
    )
}

/// Whether a message stamped `create_time` (seconds) claims to come from further ahead of the
/// clock than `window` allows: such a push could open a quota window that never closes.
pub(super) fn from_the_future(create_time: i64, now: i64, window: Duration) -> bool {
    let ahead = create_time.saturating_mul(1000).saturating_sub(now);
    ahead > millis(window.max(Duration::from_secs(60)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(timestamp: &str) -> PushQuery {
        PushQuery {
            timestamp: Some(timestamp.into()),
            ..PushQuery::default()
        }
    }

    const NOW: i64 = 1_714_112_445_000;
    const FIVE_MINUTES: Duration = Duration::from_secs(300);

    #[test]
    fn a_timestamp_within_five_minutes_either_way_is_fresh() {
        assert!(check(&query("1714112445"), NOW, FIVE_MINUTES).is_ok());
        assert!(check(&query("1714112745"), NOW, FIVE_MINUTES).is_ok());
        assert!(check(&query("1714112145"), NOW, FIVE_MINUTES).is_ok());
        assert!(check(&query("1714112746"), NOW, FIVE_MINUTES).is_err());
        assert!(check(&query("1714112144"), NOW, FIVE_MINUTES).is_err());
        assert!(check(&query("0"), NOW, FIVE_MINUTES).is_err(), "1970");
        assert!(check(&query("soon"), NOW, FIVE_MINUTES).is_err());
        assert!(check(&PushQuery::default(), NOW, FIVE_MINUTES).is_err());
        assert!(check(&query("0"), NOW, Duration::ZERO).is_ok(), "off");
    }

    #[test]
    fn a_create_time_far_ahead_is_from_the_future() {
        assert!(!from_the_future(NOW / 1000 + 60, NOW, FIVE_MINUTES));
        assert!(from_the_future(NOW / 1000 + 301, NOW, FIVE_MINUTES));
        assert!(from_the_future(i64::MAX, NOW, FIVE_MINUTES));
    }
}
