//! An EncodingAESKey as a user gives it — a flag, an apps file, a secrets file — checked, with
//! the fact needed to fix it: a key of the wrong length says how long it is (never the key).

use anyhow::Context as _;
use kefu::protocol::AesKey;
use kefu::secret::SecretString;

/// The 32-byte key of `encoding_aes_key`, or why not; `what` names where it came from
/// (`--aes-key`, `encoding_aes_key`).
pub fn parse(encoding_aes_key: &SecretString, what: &str) -> anyhow::Result<AesKey> {
    let text = encoding_aes_key.expose().trim();
    let length = text.trim_end_matches('=').chars().count();
    anyhow::ensure!(
        length == 43,
        "{what}: the EncodingAESKey is {length} characters, it must be 43 (as 小程序后台 → 开发设置 → 消息推送 shows it)"
    );
    AesKey::from_encoding_aes_key(text).with_context(|| what.to_owned())
}
