//! The WeChat message-push protocol, pure: signatures, the AES frame, inbound messages, passive
//! replies. Nothing here performs I/O, reads the clock or the environment; callers pass in
//! timestamps and randomness, so every function is deterministic and testable with vectors.
//!
//! - `signature.rs`: the SHA-1 signatures of the URL and of `Encrypt` ([`Token`], [`Signature`]).
//! - `aes_frame.rs`: the AES frame inside the `Encrypt` field ([`AesKey`], [`CryptoError`]).
//! - `message.rs`: the parsed message types ([`Message`], [`MessageKind`], [`Event`], …),
//!   [`ParseError`] and the body [`Format`].
//! - `raw.rs`: the lenient raw fields both formats are read into.
//! - `xml.rs`: the XML reader that fills those raw fields.
//! - `read.rs`: a body in either format → its outer shape (`Encrypt` alone or beside clear
//!   fields), the raw fields, the typed message, and the generic field map of unknown types.
//! - `push.rs`: opening a push — URL verification (GET), verify → decrypt → parse (POST).
//! - `passive.rs`: passive replies (`success`, `transfer_customer_service`, sealed in safe mode).
//! - `simulate.rs`: pushes as WeChat sends them, for `kefu push`, `kefu event` and the tests.
//! - `openid.rs`: a user's openid ([`OpenId`]), parsed once where it comes in.
//! - `settings.rs`: an app's AppID ([`AppId`]), Token, EncodingAESKey and AppSecret, each
//!   with its one rule.

pub mod aes_frame;
pub mod message;
pub mod openid;
pub mod passive;
pub mod push;
mod raw;
mod read;
pub mod settings;
pub mod signature;
pub mod simulate;
mod xml;

pub use aes_frame::{AesKey, CryptoError};
pub use message::{Event, Format, Message, MessageKind, MsgId, ParseError, SubscribeItem};
pub use openid::{NotAnOpenId, OpenId};
pub use push::{Credentials, Mode, OpenedPush, PushError, PushQuery};
pub use settings::AppId;
pub use signature::{Signature, Token};
