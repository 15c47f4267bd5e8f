//! Request signatures: `signature` on the URL and `msg_signature` over an encrypted body.
//!
//! Both are SHA-1, lower-case hex, over the lexicographically (byte-order, not numerically)
//! sorted strings concatenated without separator: `[Token, timestamp, nonce]` for the URL
//! signature, plus the `Encrypt` field as received for `msg_signature`. Presented signatures are
//! compared in constant time so that response timing reveals nothing about the expected value.

use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;

use super::aes_frame::CryptoError;
use crate::secret::SecretString;

/// The Token configured in 小程序后台 → 消息推送. A secret: it never prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token(SecretString);

impl Token {
    pub fn new(token: impl Into<SecretString>) -> Self {
        Self(token.into())
    }

    fn as_bytes(&self) -> &[u8] {
        self.0.expose().as_bytes()
    }
}

/// A 20-byte SHA-1 signature.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature([u8; 20]);

impl Signature {
    /// `signature` of a GET verification or a plaintext-mode POST: sha1(sort(token, timestamp, nonce)).
    pub fn of_url(token: &Token, timestamp: &str, nonce: &str) -> Self {
        Self::of_sorted(&mut [token.as_bytes(), timestamp.as_bytes(), nonce.as_bytes()])
    }

    /// `msg_signature` of an encrypted body (or of an encrypted passive reply):
    /// sha1(sort(token, timestamp, nonce, Encrypt)).
    pub fn of_message(token: &Token, timestamp: &str, nonce: &str, encrypt: &str) -> Self {
        Self::of_sorted(&mut [
            token.as_bytes(),
            timestamp.as_bytes(),
            nonce.as_bytes(),
            encrypt.as_bytes(),
        ])
    }

    fn of_sorted(parts: &mut [&[u8]]) -> Self {
        // Insertion sort: for three or four parts it beats the general sort by a wide margin on
        // the per-push hot path.
        for i in 1..parts.len() {
            let mut j = i;
            while j > 0 && parts.get(j - 1) > parts.get(j) {
                parts.swap(j - 1, j);
                j -= 1;
            }
        }
        let mut hasher = Sha1::new();
        for part in parts.iter() {
            hasher.update(part);
        }
        Self(hasher.finalize().into())
    }

    /// Lower-case hex, as WeChat sends it.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Checks a presented hex signature in constant time. Case-insensitive; anything that is not
    /// 40 hex digits is a mismatch.
    pub fn verify(&self, presented: &str) -> Result<(), CryptoError> {
        let mut decoded = [0u8; 20];
        if hex::decode_to_slice(presented, &mut decoded).is_err() {
            return Err(CryptoError::SignatureMismatch);
        }
        // OR-fold of the differences: no branch depends on where the first difference is, and
        // the single comparison at the end goes through `subtle`'s optimisation barrier.
        let difference = self
            .0
            .iter()
            .zip(&decoded)
            .fold(0u8, |acc, (ours, theirs)| acc | (ours ^ theirs));
        if bool::from(difference.ct_eq(&0)) {
            Ok(())
        } else {
            Err(CryptoError::SignatureMismatch)
        }
    }
}

impl std::fmt::Display for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signature({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> Token {
        Token::new("AAAAA")
    }

    #[test]
    fn url_signature_matches_the_documented_get_example() {
        let sig = Signature::of_url(&token(), "1714036504", "1514711492");
        assert_eq!(sig.to_hex(), "f464b24fc39322e44b38aa78f5edd27bd1441696");
    }

    #[test]
    fn message_signature_sorts_plus_before_digits() {
        let sig = Signature::of_message(&token(), "1714112445", "415670741", "+qdx1OKCy+5JPCBF");
        let other_order =
            Signature::of_sorted(&mut [b"1714112445", b"+qdx1OKCy+5JPCBF", b"AAAAA", b"415670741"]);
        assert_eq!(sig, other_order);
    }

    #[test]
    fn verify_accepts_upper_case_and_rejects_everything_else() {
        let sig = Signature::of_url(&token(), "1714036504", "1514711492");
        assert!(
            sig.verify("F464B24FC39322E44B38AA78F5EDD27BD1441696")
                .is_ok()
        );
        for bad in [
            "",
            "f464",
            "f464b24fc39322e44b38aa78f5edd27bd1441697",
            "f464b24fc39322e44b38aa78f5edd27bd1441696aa",
            "zz64b24fc39322e44b38aa78f5edd27bd1441696",
            "f464b24fc39322e44b38aa78f5edd27bd14416é",
        ] {
            assert_eq!(
                sig.verify(bad),
                Err(CryptoError::SignatureMismatch),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn token_debug_is_redacted() {
        assert!(!format!("{:?}", Token::new("s3cr3t-token")).contains("s3cr3t"));
    }
}
