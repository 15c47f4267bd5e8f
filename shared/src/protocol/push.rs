//! Opening a push: URL verification (GET) and verify → decrypt → parse (POST).
//!
//! The mode is told per request from the body: an `Encrypt` field means compatible (other
//! fields beside it) or safe mode (only `ToUserName` and `Encrypt`), and then `msg_signature`
//! is what authenticates the body — never the URL `signature`, which covers only the token,
//! timestamp and nonce. Without `Encrypt` the push is plaintext and `signature` is checked.
//! In compatible mode the message is read from the decrypted, authenticated copy only.
//!
//! The body's format is sniffed once per push (by [`open`], or by the caller of [`open_as`]),
//! and a plaintext XML body is read once: the pass that looks for `Encrypt` keeps its fields.

use std::borrow::Cow;

use super::aes_frame::{AesKey, CryptoError};
use super::message::{Format, Message, ParseError};
use super::raw::RawPush;
use super::read::BodyShape;
use super::signature::{Signature, Token};

/// The three 消息加解密方式.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// 明文: the body is the message.
    Plaintext,
    /// 兼容: the message in clear and in `Encrypt`.
    Compatible,
    /// 安全: only `Encrypt`.
    Safe,
}

/// What verifying and decrypting a push needs. `Debug` shows no secret.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub token: Token,
    /// `None` for a plaintext-only deployment; encrypted pushes are then refused.
    pub aes_key: Option<AesKey>,
    pub appid: String,
}

/// The query parameters WeChat puts on the push URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushQuery {
    pub signature: Option<String>,
    pub timestamp: Option<String>,
    pub nonce: Option<String>,
    pub msg_signature: Option<String>,
    pub encrypt_type: Option<String>,
    pub openid: Option<String>,
    pub echostr: Option<String>,
}

impl PushQuery {
    /// Collects the known parameters from decoded `(name, value)` pairs; others are ignored.
    pub fn from_pairs<K: AsRef<str>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let mut query = Self::default();
        for (name, value) in pairs {
            let slot = match name.as_ref() {
                "signature" => &mut query.signature,
                "timestamp" => &mut query.timestamp,
                "nonce" => &mut query.nonce,
                "msg_signature" => &mut query.msg_signature,
                "encrypt_type" => &mut query.encrypt_type,
                "openid" => &mut query.openid,
                "echostr" => &mut query.echostr,
                _ => continue,
            };
            *slot = Some(value.into());
        }
        query
    }

    fn require<'q>(value: &'q Option<String>, name: &'static str) -> Result<&'q str, PushError> {
        value.as_deref().ok_or(PushError::MissingParameter(name))
    }
}

/// A verified, decrypted and parsed push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedPush {
    pub message: Message,
    /// The body format, which the passive reply must use too.
    pub format: Format,
    pub mode: Mode,
}

/// Why a push was refused. Each variant says what was wrong without echoing secrets or bodies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    #[error("missing query parameter {0}")]
    MissingParameter(&'static str),
    #[error("body is neither XML nor JSON")]
    UnknownFormat,
    #[error("encrypted push but no EncodingAESKey is configured")]
    EncryptionNotConfigured,
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    Parse(#[from] ParseError),
}

/// GET URL verification: returns the `echostr` to answer with when `signature` is valid.
/// A mini program's echostr is plain text even in safe mode.
pub fn verify_url<'q>(token: &Token, query: &'q PushQuery) -> Result<&'q str, PushError> {
    let echostr = PushQuery::require(&query.echostr, "echostr")?;
    check_url_signature(token, query)?;
    Ok(echostr)
}

fn check_url_signature(token: &Token, query: &PushQuery) -> Result<(), PushError> {
    let signature = PushQuery::require(&query.signature, "signature")?;
    let timestamp = PushQuery::require(&query.timestamp, "timestamp")?;
    let nonce = PushQuery::require(&query.nonce, "nonce")?;
    Signature::of_url(token, timestamp, nonce).verify(signature)?;
    Ok(())
}

/// POST: verifies, decrypts and parses one push in whichever mode and format it arrived.
pub fn open(
    credentials: &Credentials,
    query: &PushQuery,
    body: &str,
) -> Result<OpenedPush, PushError> {
    let format = Format::sniff(body).ok_or(PushError::UnknownFormat)?;
    open_as(credentials, query, body, format)
}

/// [`open`] for a caller that has already told the body's format with [`Format::sniff`] (to
/// check it against a pinned one), so the body is not sniffed again.
pub fn open_as(
    credentials: &Credentials,
    query: &PushQuery,
    body: &str,
    format: Format,
) -> Result<OpenedPush, PushError> {
    let shape = BodyShape::read(format, body)?;
    let Some(encrypt) = shape.encrypt.as_deref() else {
        check_url_signature(&credentials.token, query)?;
        let message = shape.clear_message(format, body)?;
        return Ok(OpenedPush {
            message,
            format,
            mode: Mode::Plaintext,
        });
    };

    let msg_signature = PushQuery::require(&query.msg_signature, "msg_signature")?;
    let timestamp = PushQuery::require(&query.timestamp, "timestamp")?;
    let nonce = PushQuery::require(&query.nonce, "nonce")?;
    Signature::of_message(&credentials.token, timestamp, nonce, encrypt).verify(msg_signature)?;
    let key = credentials
        .aes_key
        .as_ref()
        .ok_or(PushError::EncryptionNotConfigured)?;
    let plain = key.decrypt(&credentials.appid, encrypt)?;

    // The decrypted message is a body of its own, in the push's format; it is sniffed anyway so
    // that a mismatch is a clear parse error rather than a confusing one.
    let inner_format = Format::sniff(&plain).ok_or(PushError::UnknownFormat)?;
    let message = RawPush::read(inner_format, &plain)?.to_message(inner_format, &plain)?;
    let mode = if shape.has_clear_fields {
        Mode::Compatible
    } else {
        Mode::Safe
    };
    Ok(OpenedPush {
        message,
        format,
        mode,
    })
}

/// The `Encrypt` field of an XML or JSON push body, if it has one (for tools that are handed a
/// whole body rather than the field).
pub fn encrypt_field(body: &str) -> Result<Option<String>, PushError> {
    let format = Format::sniff(body).ok_or(PushError::UnknownFormat)?;
    Ok(BodyShape::read(format, body)?.encrypt.map(Cow::into_owned))
}
