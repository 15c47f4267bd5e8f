//! The WeChat server API's vocabulary, spoken by both sides of the `WeChatApi` port: the
//! access_token and how it is fetched, the custom/send bodies, and a failed call. It imports
//! neither the port nor the client, so the core and the reqwest adapter both depend on it and
//! not on each other.

mod error;
pub mod outbound;

pub use error::ApiError;
pub use outbound::{Outbound, OutboundContent};

use crate::secret::SecretString;

/// An access_token. A secret: it never prints.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct AccessToken(SecretString);

impl AccessToken {
    pub fn new(token: impl Into<SecretString>) -> Self {
        Self(token.into())
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

/// Which token endpoint to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenKind {
    /// `cgi-bin/stable_token`: instances do not invalidate each other's tokens.
    #[default]
    Stable,
    /// `cgi-bin/token`: each fetch supersedes the previous token (after 5 minutes).
    Plain,
}

/// A token as WeChat issued it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedToken {
    pub token: AccessToken,
    /// Seconds it stays valid from now.
    pub expires_in: i64,
}
