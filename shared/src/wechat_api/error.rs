//! What can go wrong calling the WeChat API, and what each failure means for the worker.

use std::fmt;

/// A failed WeChat API call. Never carries the access_token or AppSecret: transport errors are
/// stripped of their URL (which holds the token) before they become one of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// WeChat answered with a non-zero `errcode`.
    #[error("errcode {code}: {message}")]
    Errcode { code: i64, message: String },
    /// A non-2xx HTTP status.
    #[error("HTTP {0}")]
    Http(u16),
    /// No answer: connection refused, reset, timed out.
    #[error("transport: {0}")]
    Transport(String),
    /// An answer that is not what WeChat documents.
    #[error("unexpected answer: {0}")]
    Malformed(String),
}

/// How the worker treats a failure.
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
    /// -1, 45009, 45011, HTTP 5xx, timeouts, throttling: SQS retries it.
    Transient,
    /// Anything else (bad openid, bad data, no permission): retrying cannot help.
    Permanent,
}

impl ApiError {
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::Errcode { code, .. } => match code {
                40001 | 40014 | 42001 => ErrorClass::StaleToken,
                45015 | 45047 => ErrorClass::QuotaExhausted,
                40007 => ErrorClass::StaleMedia,
                -1 | 45009 | 45011 => ErrorClass::Transient,
                _ => ErrorClass::Permanent,
            },
            Self::Http(status) if *status >= 500 || *status == 429 => ErrorClass::Transient,
            Self::Http(_) => ErrorClass::Permanent,
            Self::Transport(_) => ErrorClass::Transient,
            Self::Malformed(_) => ErrorClass::Transient,
        }
    }

    pub fn errcode(&self) -> Option<i64> {
        match self {
            Self::Errcode { code, .. } => Some(*code),
            _ => None,
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
        })
    }
}
