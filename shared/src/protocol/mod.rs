//! The WeChat message-push protocol, pure: signatures, the AES envelope, inbound messages,
//! passive replies. Nothing here performs I/O, reads the clock or the environment; callers pass
//! in timestamps and randomness, so every function is deterministic and testable with vectors.

pub mod envelope;
pub mod message;
pub mod push;
pub mod reply;
pub mod signature;
pub mod simulate;

pub use envelope::{AesKey, CryptoError};
pub use message::{Event, Format, Message, MessageKind, MsgId, ParseError, SubscribeItem};
pub use push::{Credentials, Mode, OpenedPush, PushError, PushQuery};
pub use signature::{Signature, Token};
