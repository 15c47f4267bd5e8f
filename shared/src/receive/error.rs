//! Why a push was refused or failed, and the one place where that becomes an HTTP status.
//!
//! Bad input is 400, a bad signature or appid 403, an oversized body 413, an unknown method
//! 405, anything on our side 500 (WeChat retries it; the ledger absorbs the duplicate), and a
//! duplicate whose first attempt has not finished 503 (no `success` until the outcome is known). The
//! response body is a short reason for 4xx and a bare "internal error" for 5xx: internals,
//! secrets and message contents stay in (redacted) logs.

use crate::ports::PortError;
use crate::protocol::{CryptoError, PushError};

#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("body larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("body is not UTF-8")]
    BodyNotUtf8,
    #[error("body format {found} does not match the configured format")]
    FormatMismatch { found: &'static str },
    #[error("plaintext pushes are refused (encryption required)")]
    PlaintextRefused,
    #[error(transparent)]
    Push(#[from] PushError),
    #[error("{0}")]
    Store(#[from] PortError),
    #[error("sealing the reply: {0}")]
    Seal(CryptoError),
    #[error("no randomness from the OS: {0}")]
    Randomness(String),
    /// The message, as a job, would be larger than the queue accepts.
    #[error("message too large to queue")]
    JobTooLarge,
    /// The `timestamp` is missing or too far from the clock.
    #[error("timestamp outside the allowed window")]
    Stale,
    /// The (timestamp, nonce) pair already signed another message (or a URL verification).
    #[error("timestamp and nonce already used for another message")]
    Replayed,
    /// `CreateTime` lies further ahead of the clock than any clock skew explains.
    #[error("CreateTime is ahead of the clock")]
    FromTheFuture,
    /// Another attempt at the same push has not finished: answered without `success`, so
    /// that WeChat retries.
    #[error("the same push is being handled; retry")]
    InProgress,
}

impl ReceiveError {
    /// The HTTP status: the only place errors are mapped to statuses.
    pub fn status(&self) -> u16 {
        match self {
            Self::MethodNotAllowed => 405,
            Self::TooLarge { .. } | Self::JobTooLarge => 413,
            Self::BodyNotUtf8 | Self::FormatMismatch { .. } => 400,
            Self::PlaintextRefused | Self::Stale | Self::Replayed | Self::FromTheFuture => 403,
            Self::Push(PushError::Crypto(
                CryptoError::SignatureMismatch | CryptoError::AppIdMismatch { .. },
            )) => 403,
            Self::Push(PushError::EncryptionNotConfigured) => 500,
            Self::Push(_) => 400,
            Self::Store(_) | Self::Seal(_) | Self::Randomness(_) => 500,
            Self::InProgress => 503,
        }
    }

    /// What the client sees: the reason for 4xx, nothing internal for 5xx.
    pub fn public_reason(&self) -> String {
        if self.status() >= 500 && !matches!(self, Self::InProgress) {
            "internal error".to_owned()
        } else {
            self.to_string()
        }
    }
}
