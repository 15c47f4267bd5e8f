//! What a failed WeChat API call means for a send: refresh the token, forget the media id,
//! retry later, or give up. Pure: the decision only, applied by `delivery` and `sequence`.

use std::fmt;

use crate::wechat_types::ApiError;

/// How the send core treats a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// 40001 / 40014 / 42001: the token is stale; expire it (if it is still the stored one),
    /// refresh, retry once.
    StaleToken,
    /// 45015 / 45047: outside the 48 h window or over the 5-message limit. Terminal: counted,
    /// never retried, never sent to the DLQ.
    QuotaExhausted,
    /// 40007: the media_id expired or is unknown; forget it so the retry uploads again.
    StaleMedia,
    /// -1, 45009, 45011, HTTP 5xx (but a send's 502/504), timeouts, throttling: SQS
    /// retries it.
    Transient,
    /// A custom/send that may have reached the user (no answer, an unreadable one, or a
    /// gateway's 502/504). WeChat's
    /// custom/send has no idempotency key, so it is never sent again: settled as "maybe sent".
    MaybeSent,
    /// Anything else (bad openid, bad data, no permission): retrying cannot help.
    Permanent,
}

/// The class of a failed custom/send: like [`classify`], but a send whose outcome is unknown is
/// [`ErrorClass::MaybeSent`], never retried (at most once).
pub fn classify_send(err: &ApiError) -> ErrorClass {
    if err.outcome_unknown() || gateway_failure(err) {
        ErrorClass::MaybeSent
    } else {
        classify(err)
    }
}

/// HTTP 502 or 504 from WeChat's front: the gateway passed the request on and lost or waited
/// too long for the answer, so the send may have landed. Other 5xx (and 429) are retried.
fn gateway_failure(err: &ApiError) -> bool {
    matches!(err, ApiError::Http(502 | 504))
}

/// The class of a failed call whose repetition does no harm (tokens, typing, uploads).
pub fn classify(err: &ApiError) -> ErrorClass {
    match err {
        ApiError::Errcode { code, .. } => match code {
            40001 | 40014 | 42001 => ErrorClass::StaleToken,
            45015 | 45047 => ErrorClass::QuotaExhausted,
            40007 => ErrorClass::StaleMedia,
            -1 | 45009 | 45011 => ErrorClass::Transient,
            _ => ErrorClass::Permanent,
        },
        ApiError::Http(status) if *status >= 500 || *status == 429 => ErrorClass::Transient,
        ApiError::Http(_) => ErrorClass::Permanent,
        ApiError::Unreached(_) | ApiError::NoAnswer(_) | ApiError::Malformed(_) => {
            ErrorClass::Transient
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::StaleToken => "stale_token",
            Self::QuotaExhausted => "quota_exhausted",
            Self::StaleMedia => "stale_media",
            Self::Transient => "transient",
            Self::Permanent => "permanent",
            Self::MaybeSent => "maybe_sent",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(code: i64) -> ApiError {
        ApiError::Errcode {
            code,
            message: String::new(),
        }
    }

    #[test]
    fn errcodes_map_to_what_the_send_core_does() {
        assert_eq!(classify(&code(42001)), ErrorClass::StaleToken);
        assert_eq!(classify(&code(45047)), ErrorClass::QuotaExhausted);
        assert_eq!(classify(&code(40007)), ErrorClass::StaleMedia);
        assert_eq!(classify(&code(-1)), ErrorClass::Transient);
        assert_eq!(classify(&code(40003)), ErrorClass::Permanent);
        assert_eq!(classify(&ApiError::Http(503)), ErrorClass::Transient);
        assert_eq!(classify(&ApiError::Http(429)), ErrorClass::Transient);
        assert_eq!(classify(&ApiError::Http(404)), ErrorClass::Permanent);
        assert_eq!(
            classify(&ApiError::NoAnswer("timed out".into())),
            ErrorClass::Transient
        );
    }

    #[test]
    fn a_send_without_an_answer_may_have_gone_out_but_one_never_sent_may_be_retried() {
        assert_eq!(
            classify_send(&ApiError::NoAnswer("timed out".into())),
            ErrorClass::MaybeSent
        );
        assert_eq!(
            classify_send(&ApiError::Malformed("eof".into())),
            ErrorClass::MaybeSent
        );
        assert_eq!(
            classify_send(&ApiError::Unreached("connection refused".into())),
            ErrorClass::Transient
        );
        assert_eq!(classify_send(&code(-1)), ErrorClass::Transient);
    }

    #[test]
    fn a_send_answered_by_a_failing_gateway_may_have_gone_out() {
        for status in [502, 504] {
            assert_eq!(
                classify_send(&ApiError::Http(status)),
                ErrorClass::MaybeSent,
                "HTTP {status}"
            );
        }
        assert_eq!(classify_send(&ApiError::Http(500)), ErrorClass::Transient);
        assert_eq!(classify_send(&ApiError::Http(503)), ErrorClass::Transient);
        assert_eq!(classify_send(&ApiError::Http(429)), ErrorClass::Transient);
        // Calls that may be repeated (tokens, uploads) still retry on any 5xx.
        assert_eq!(classify(&ApiError::Http(502)), ErrorClass::Transient);
    }
}
