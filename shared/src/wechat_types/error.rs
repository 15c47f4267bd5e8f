//! What can go wrong calling the WeChat API. What each failure *means* (refresh, retry, give
//! up) is the send core's decision: `policy::errcode`.

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
    /// The request never reached WeChat: no connection could be made. Safe to repeat.
    #[error("unreached: {0}")]
    Unreached(String),
    /// The request went out but no (whole) answer came back: timed out, reset, cut short. The
    /// call may have taken effect.
    #[error("no answer: {0}")]
    NoAnswer(String),
    /// An answer that is not what WeChat documents. The call may have taken effect.
    #[error("unexpected answer: {0}")]
    Malformed(String),
}

impl ApiError {
    /// Whether the call may have taken effect although it failed: WeChat may have acted on the
    /// request, but its answer was lost or unreadable.
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, Self::NoAnswer(_) | Self::Malformed(_))
    }

    pub fn errcode(&self) -> Option<i64> {
        match self {
            Self::Errcode { code, .. } => Some(*code),
            _ => None,
        }
    }
}
