//! The AES frame of compatible and safe mode: the crypto of the `Encrypt` field.
//!
//! `Encrypt = base64(AES-256-CBC(key, iv = key[..16], PKCS#7₃₂(random16 ‖ len_be32(msg) ‖ msg ‖ appid)))`
//! where `key = base64(EncodingAESKey + "=")`. The padding block is **32** bytes, not AES's 16:
//! pad values 17…32 occur in about half of real pushes, and a 16-byte unpadder rejects them.
//! Every length is checked before it is used, so no input can make this module panic.

use aes::Aes256;
use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, InnerIvInit, KeyInit};

/// WeChat's PKCS#7 block: K = 32, the key length.
const PAD_BLOCK: usize = 32;
/// random(16) ‖ msg_len(4)
const FRAME_HEADER: usize = 20;
/// An appid is 18 characters; more of a wrong one would only make the error long.
const MAX_SHOWN_APPID: usize = 32;

/// Real EncodingAESKeys sometimes end in a character whose low bits are not zero; WeChat's own
/// servers accept them, so the key is decoded leniently (and with or without the trailing `=`).
const LENIENT_KEY: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Every way a signature, key or `Encrypt` field can be wrong. One variant per failure, each
/// with a message that is safe to log and to print: none carries key material or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("signature mismatch")]
    SignatureMismatch,
    #[error("EncodingAESKey is not base64")]
    KeyNotBase64,
    #[error("EncodingAESKey decodes to {0} bytes, expected 32 (a 43-character key)")]
    KeyLength(usize),
    #[error("Encrypt is not valid base64")]
    CiphertextNotBase64,
    #[error("Encrypt decodes to {0} bytes, not a positive multiple of 32")]
    CiphertextLength(usize),
    #[error("bad PKCS#7 padding (wrong key or corrupted ciphertext)")]
    BadPadding,
    #[error("decrypted frame is truncated")]
    TruncatedFrame,
    /// Appids are not secrets: the error names both, so a wrong `KEFU_APPID` (or a message
    /// sealed for another mini program) is plain to see. `arrived` is cut to 32 characters and
    /// printed escaped, since it comes from the message.
    #[error("appid mismatch: the message is for appid {arrived:?}, not {expected:?}")]
    AppIdMismatch { arrived: String, expected: String },
    #[error("decrypted message is not UTF-8")]
    NotUtf8,
    #[error("message is too long to encrypt")]
    MessageTooLong,
}

/// The 32-byte AES key derived from an EncodingAESKey, with its round keys expanded once (the
/// expansion costs as much as decrypting a short push). A secret: `Debug` never shows it.
#[derive(Clone)]
pub struct AesKey {
    key: [u8; 32],
    cipher: Aes256,
}

impl PartialEq for AesKey {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq as _;
        self.key.ct_eq(&other.key).into()
    }
}

impl Eq for AesKey {}

impl std::fmt::Debug for AesKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AesKey(<redacted>)")
    }
}

impl AesKey {
    /// Decodes the 43-character EncodingAESKey from 小程序后台.
    pub fn from_encoding_aes_key(encoding_aes_key: &str) -> Result<Self, CryptoError> {
        let bytes = LENIENT_KEY
            .decode(encoding_aes_key.trim())
            .map_err(|_| CryptoError::KeyNotBase64)?;
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::KeyLength(bytes.len()))?;
        Ok(Self {
            key,
            cipher: Aes256::new(&key.into()),
        })
    }

    /// WeChat uses the first 16 bytes of the key as the IV.
    fn iv(&self) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv.copy_from_slice(&self.key[..16]);
        iv
    }

    fn decryptor(&self) -> cbc::Decryptor<Aes256> {
        cbc::Decryptor::inner_iv_init(self.cipher.clone(), &self.iv().into())
    }

    fn encryptor(&self) -> cbc::Encryptor<Aes256> {
        cbc::Encryptor::inner_iv_init(self.cipher.clone(), &self.iv().into())
    }

    /// Opens an `Encrypt` field and returns the message, after checking the padding, the frame
    /// and that the trailing appid is `appid`.
    pub fn decrypt(&self, appid: &str, encrypt: &str) -> Result<String, CryptoError> {
        // SIMD base64 (already in the tree through the AWS SDK): a third of the cost of a
        // scalar decoder on a typical push.
        let mut buf = base64_simd::STANDARD
            .decode_to_vec(encrypt.trim())
            .map_err(|_| CryptoError::CiphertextNotBase64)?;
        if buf.is_empty() || buf.len() % PAD_BLOCK != 0 {
            return Err(CryptoError::CiphertextLength(buf.len()));
        }
        let cipher_len = buf.len();
        let plain_len = self
            .decryptor()
            .decrypt_padded_mut::<NoPadding>(&mut buf)
            .map_err(|_| CryptoError::CiphertextLength(cipher_len))?
            .len();
        let unpadded = unpad_pkcs7_32(buf.get(..plain_len).unwrap_or_default())?;
        let (msg_end, trailing_appid) = split_frame(unpadded)?;
        if trailing_appid != appid.as_bytes() {
            return Err(CryptoError::AppIdMismatch {
                arrived: String::from_utf8_lossy(trailing_appid)
                    .chars()
                    .take(MAX_SHOWN_APPID)
                    .collect(),
                expected: appid.to_owned(),
            });
        }
        buf.truncate(msg_end);
        buf.drain(..FRAME_HEADER);
        String::from_utf8(buf).map_err(|_| CryptoError::NotUtf8)
    }

    /// Seals `message` for `appid` with the given 16 random bytes. The caller supplies the
    /// randomness (from the OS in production, fixed in tests and vectors).
    pub fn encrypt(
        &self,
        appid: &str,
        message: &[u8],
        random: &[u8; 16],
    ) -> Result<String, CryptoError> {
        let msg_len = u32::try_from(message.len()).map_err(|_| CryptoError::MessageTooLong)?;
        let frame_len = FRAME_HEADER + message.len() + appid.len();
        let pad = PAD_BLOCK - frame_len % PAD_BLOCK;
        let mut buf = Vec::with_capacity(frame_len + pad);
        buf.extend_from_slice(random);
        buf.extend_from_slice(&msg_len.to_be_bytes());
        buf.extend_from_slice(message);
        buf.extend_from_slice(appid.as_bytes());
        // `pad` is 1..=32, so it fits a byte.
        buf.resize(frame_len + pad, pad as u8);
        let total = buf.len();
        self.encryptor()
            .encrypt_padded_mut::<NoPadding>(&mut buf, total)
            .map_err(|_| CryptoError::MessageTooLong)?;
        Ok(STANDARD.encode(&buf))
    }
}

/// Strips PKCS#7 padding over 32-byte blocks: the last byte `p` must be 1..=32 and the last `p`
/// bytes must all equal `p`.
fn unpad_pkcs7_32(plain: &[u8]) -> Result<&[u8], CryptoError> {
    let pad = usize::from(*plain.last().ok_or(CryptoError::BadPadding)?);
    if pad == 0 || pad > PAD_BLOCK || pad > plain.len() {
        return Err(CryptoError::BadPadding);
    }
    let (body, padding) = plain.split_at(plain.len() - pad);
    if padding.iter().any(|&b| usize::from(b) != pad) {
        return Err(CryptoError::BadPadding);
    }
    Ok(body)
}

/// Splits `random16 ‖ len ‖ msg ‖ appid` and returns where `msg` ends and the appid bytes.
fn split_frame(frame: &[u8]) -> Result<(usize, &[u8]), CryptoError> {
    let len_bytes: [u8; 4] = frame
        .get(16..FRAME_HEADER)
        .and_then(|b| b.try_into().ok())
        .ok_or(CryptoError::TruncatedFrame)?;
    let msg_end = usize::try_from(u32::from_be_bytes(len_bytes))
        .ok()
        .and_then(|len| len.checked_add(FRAME_HEADER))
        .filter(|&end| end <= frame.len())
        .ok_or(CryptoError::TruncatedFrame)?;
    let appid = frame.get(msg_end..).ok_or(CryptoError::TruncatedFrame)?;
    Ok((msg_end, appid))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC_KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    const DOC_APPID: &str = "wxba5fad812f8e6fb9";

    fn key() -> AesKey {
        AesKey::from_encoding_aes_key(DOC_KEY).unwrap()
    }

    /// Encrypts a raw, already framed and padded plaintext, for tests that need a malformed frame.
    fn seal_raw(key: &AesKey, plain: &[u8]) -> String {
        let mut buf = plain.to_vec();
        let len = buf.len();
        key.encryptor()
            .encrypt_padded_mut::<NoPadding>(&mut buf, len)
            .unwrap();
        STANDARD.encode(buf)
    }

    #[test]
    fn key_accepts_non_zero_trailing_bits_and_an_optional_equals_sign() {
        // 'B' as the last character sets trailing bits a strict decoder refuses.
        let lenient = AesKey::from_encoding_aes_key("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB");
        assert!(lenient.is_ok());
        assert_eq!(
            AesKey::from_encoding_aes_key(&format!("{DOC_KEY}=")),
            Ok(key())
        );
    }

    #[test]
    fn key_errors_name_the_problem() {
        assert_eq!(
            AesKey::from_encoding_aes_key("not base64!!"),
            Err(CryptoError::KeyNotBase64)
        );
        assert_eq!(
            AesKey::from_encoding_aes_key("AAAA"),
            Err(CryptoError::KeyLength(3))
        );
    }

    #[test]
    fn documented_reply_example_is_reproduced_bit_exactly() {
        let sealed = key()
            .encrypt(
                DOC_APPID,
                br#"{"demo_resp":"good luck"}"#,
                b"707722b803182950",
            )
            .unwrap();
        assert_eq!(
            sealed,
            "ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ=="
        );
    }

    #[test]
    fn an_aligned_frame_gets_a_full_block_of_padding() {
        // 20 + 12 + 0 = 32 bytes: PKCS#7 adds a whole 32-byte block of 32s.
        let sealed = key().encrypt("", b"twelve bytes", &[7; 16]).unwrap();
        assert_eq!(STANDARD.decode(&sealed).unwrap().len(), 64);
        assert_eq!(key().decrypt("", &sealed).unwrap(), "twelve bytes");
    }

    #[test]
    fn every_failure_has_its_own_error() {
        let k = key();
        let good = k.encrypt(DOC_APPID, b"hello", &[1; 16]).unwrap();
        let mismatch = k.decrypt("wx0000000000000000", &good).unwrap_err();
        assert_eq!(
            mismatch.to_string(),
            format!(
                "appid mismatch: the message is for appid \"{DOC_APPID}\", not \"wx0000000000000000\""
            )
        );
        assert_eq!(
            k.decrypt(DOC_APPID, "%%%"),
            Err(CryptoError::CiphertextNotBase64)
        );
        assert_eq!(
            k.decrypt(DOC_APPID, ""),
            Err(CryptoError::CiphertextLength(0))
        );
        assert_eq!(
            k.decrypt(DOC_APPID, &STANDARD.encode([0u8; 48])),
            Err(CryptoError::CiphertextLength(48))
        );

        let mut bad_pad = [0u8; 32];
        bad_pad[31] = 33;
        assert_eq!(
            k.decrypt(DOC_APPID, &seal_raw(&k, &bad_pad)),
            Err(CryptoError::BadPadding)
        );
        let mut uneven_pad = [4u8; 32];
        uneven_pad[29] = 3;
        assert_eq!(
            k.decrypt(DOC_APPID, &seal_raw(&k, &uneven_pad)),
            Err(CryptoError::BadPadding)
        );
        bad_pad[31] = 0;
        assert_eq!(
            k.decrypt(DOC_APPID, &seal_raw(&k, &bad_pad)),
            Err(CryptoError::BadPadding)
        );

        // 19 bytes of frame + 13 of padding: too short for random16 ‖ len.
        let mut short = [13u8; 32];
        short[..19].fill(0);
        assert_eq!(
            k.decrypt(DOC_APPID, &seal_raw(&k, &short)),
            Err(CryptoError::TruncatedFrame)
        );

        // A length field pointing past the end of the frame.
        let mut long_len = [8u8; 32];
        long_len[16..20].copy_from_slice(&1000u32.to_be_bytes());
        assert_eq!(
            k.decrypt(DOC_APPID, &seal_raw(&k, &long_len)),
            Err(CryptoError::TruncatedFrame)
        );

        let not_utf8 = k.encrypt(DOC_APPID, &[0xff, 0xfe], &[0; 16]).unwrap();
        assert_eq!(k.decrypt(DOC_APPID, &not_utf8), Err(CryptoError::NotUtf8));

        let mut flipped = STANDARD.decode(&good).unwrap();
        flipped[20] ^= 0x01;
        assert!(k.decrypt(DOC_APPID, &STANDARD.encode(flipped)).is_err());
    }

    #[test]
    fn key_debug_is_redacted() {
        assert_eq!(format!("{:?}", key()), "AesKey(<redacted>)");
    }
}
