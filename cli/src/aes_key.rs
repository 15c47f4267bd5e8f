//! An EncodingAESKey as a user gives it — a flag, an apps file, a secrets file — checked by
//! the one rule (`kefu::protocol::settings`), with the fact needed to fix it: a key of the
//! wrong length says how long it is (never the key).

use kefu::protocol::AesKey;
use kefu::protocol::settings::{AesKeyProblem, check_encoding_aes_key};
use kefu::secret::SecretString;

/// The 32-byte key of `encoding_aes_key`, or why not; `what` names where it came from
/// (`--aes-key`, `encoding_aes_key`).
pub fn parse(encoding_aes_key: &SecretString, what: &str) -> anyhow::Result<AesKey> {
    match check_encoding_aes_key(encoding_aes_key.expose()) {
        Ok(key) => Ok(key),
        Err(AesKeyProblem::Length(length)) => anyhow::bail!(
            "{what}: the EncodingAESKey is {length} characters, it must be 43 (as 小程序后台 → 开发设置 → 消息推送 shows it)"
        ),
        Err(AesKeyProblem::Key(err)) => Err(anyhow::Error::new(err).context(what.to_owned())),
    }
}
