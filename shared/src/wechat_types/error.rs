//! What can go wrong calling the WeChat API. What each failure *means* (refresh, retry, give
//! up) is the send core's decision: `send::errcode`.

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

impl ApiError {
    pub fn errcode(&self) -> Option<i64> {
        match self {
            Self::Errcode { code, .. } => Some(*code),
            _ => None,
        }
    }
}
