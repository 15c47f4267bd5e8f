//! Properties of the AES envelope and the signatures that must hold for every input, not only
//! for the public vectors: round trips at every length, exact ciphertext sizes, and no panics on
//! hostile input.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use kefu::protocol::{AesKey, CryptoError, Signature, Token};
use proptest::collection::vec;
use proptest::prelude::*;

/// The documented example key and appid ([DOC-PUSH]).
const DOC_KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const DOC_APPID: &str = "wxba5fad812f8e6fb9";

/// random(16) ‖ msg_len(4)
const FRAME_HEADER: usize = 20;
/// WeChat's PKCS#7 block.
const PAD_BLOCK: usize = 32;

/// Enough cases to find the usual bugs, few enough for a debug build to run in seconds.
fn config() -> ProptestConfig {
    ProptestConfig::with_cases(256)
}

/// The base64-decoded length of `Encrypt` for a message: the frame padded up to the next
/// multiple of 32, with a whole extra block when it is already aligned.
fn sealed_len(message_len: usize, appid: &str) -> usize {
    let frame = FRAME_HEADER + message_len + appid.len();
    (frame / PAD_BLOCK + 1) * PAD_BLOCK
}

/// The 43-character EncodingAESKey for 32 key bytes, as 小程序后台 shows it.
fn encoding_aes_key(bytes: &[u8; 32]) -> String {
    let key = STANDARD_NO_PAD.encode(bytes);
    assert_eq!(key.len(), 43);
    key
}

fn key_from(bytes: &[u8; 32]) -> AesKey {
    AesKey::from_encoding_aes_key(&encoding_aes_key(bytes)).expect("a 43-character key decodes")
}

/// Printable ASCII, varying with the position and the length so that every message differs.
fn message_of_len(len: usize) -> String {
    (0..len)
        .map(|i| char::from(b' ' + ((i * 7 + len) % 95) as u8))
        .collect()
}

#[test]
fn every_message_length_up_to_4096_round_trips_with_exact_padding() {
    let key = AesKey::from_encoding_aes_key(DOC_KEY).unwrap();
    for len in 0..=4096 {
        let message = message_of_len(len);
        let random = [(len % 256) as u8; 16];
        let sealed = key.encrypt(DOC_APPID, message.as_bytes(), &random).unwrap();
        assert_eq!(
            STANDARD.decode(&sealed).unwrap().len(),
            sealed_len(len, DOC_APPID),
            "ciphertext length for a {len}-byte message"
        );
        assert_eq!(
            key.decrypt(DOC_APPID, &sealed).as_deref(),
            Ok(message.as_str()),
            "round trip of a {len}-byte message"
        );
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_key_appid_message_and_randomness_round_trips(
        key_bytes in any::<[u8; 32]>(),
        appid in any::<String>(),
        message in vec(any::<u8>(), 0..4096),
        random in any::<[u8; 16]>(),
    ) {
        let key = key_from(&key_bytes);
        let sealed = key.encrypt(&appid, &message, &random).unwrap();
        let raw = STANDARD.decode(&sealed).unwrap();
        prop_assert_eq!(raw.len() % PAD_BLOCK, 0);
        prop_assert_eq!(raw.len(), sealed_len(message.len(), &appid));

        let opened = key.decrypt(&appid, &sealed);
        match String::from_utf8(message) {
            Ok(text) => prop_assert_eq!(opened, Ok(text)),
            Err(_) => prop_assert_eq!(opened, Err(CryptoError::NotUtf8)),
        }
    }

    #[test]
    fn any_text_message_round_trips_and_only_opens_for_its_own_appid(
        key_bytes in any::<[u8; 32]>(),
        appid in any::<String>(),
        other_appid in any::<String>(),
        message in any::<String>(),
        random in any::<[u8; 16]>(),
    ) {
        let key = key_from(&key_bytes);
        let sealed = key.encrypt(&appid, message.as_bytes(), &random).unwrap();
        prop_assert_eq!(key.decrypt(&appid, &sealed), Ok(message));
        if other_appid != appid {
            prop_assert_eq!(
                key.decrypt(&other_appid, &sealed),
                Err(CryptoError::AppIdMismatch {
                    // The error shows at most 32 characters of what arrived.
                    arrived: appid.chars().take(32).collect(),
                    expected: other_appid.clone(),
                })
            );
        }
    }

    #[test]
    fn the_encoding_aes_key_decodes_with_or_without_its_equals_sign(
        key_bytes in any::<[u8; 32]>(),
    ) {
        let without = encoding_aes_key(&key_bytes);
        prop_assert_eq!(
            AesKey::from_encoding_aes_key(&format!("{without}=")),
            AesKey::from_encoding_aes_key(&without)
        );
    }

    #[test]
    fn a_tampered_length_field_is_always_refused(
        key_bytes in any::<[u8; 32]>(),
        message in "[a-z]{0,100}",
        delta in any::<[u8; 4]>().prop_filter("a change", |d| d != &[0; 4]),
    ) {
        // CBC: XOR-ing ciphertext bytes 0..4 flips plaintext bytes 16..20, the msg_len field,
        // and garbles only the random prefix.
        let key = key_from(&key_bytes);
        let sealed = key.encrypt(DOC_APPID, message.as_bytes(), &[0; 16]).unwrap();
        let mut raw = STANDARD.decode(&sealed).unwrap();
        for (byte, d) in raw.iter_mut().zip(delta) {
            *byte ^= d;
        }
        let opened = key.decrypt(DOC_APPID, &STANDARD.encode(&raw));
        prop_assert!(
            matches!(opened, Err(CryptoError::AppIdMismatch { .. } | CryptoError::TruncatedFrame)),
            "{:?}",
            opened
        );
    }

    #[test]
    fn decrypt_never_panics_on_arbitrary_text(
        key_bytes in any::<[u8; 32]>(),
        appid in any::<String>(),
        encrypt in any::<String>(),
    ) {
        let _ = key_from(&key_bytes).decrypt(&appid, &encrypt);
    }

    #[test]
    fn decrypt_never_panics_on_arbitrary_base64(
        key_bytes in any::<[u8; 32]>(),
        appid in prop_oneof![Just(DOC_APPID.to_owned()), any::<String>()],
        // Whole 32-byte blocks get past the length check into unpadding and frame parsing.
        ciphertext in prop_oneof![
            vec(any::<u8>(), 0..512),
            (1..16usize).prop_flat_map(|blocks| vec(any::<u8>(), blocks * PAD_BLOCK)),
        ],
    ) {
        let result = key_from(&key_bytes).decrypt(&appid, &STANDARD.encode(&ciphertext));
        if ciphertext.is_empty() || ciphertext.len() % PAD_BLOCK != 0 {
            prop_assert_eq!(result, Err(CryptoError::CiphertextLength(ciphertext.len())));
        }
    }

    #[test]
    fn decrypt_never_panics_on_a_corrupted_envelope(
        key_bytes in any::<[u8; 32]>(),
        message in vec(any::<u8>(), 0..256),
        flips in vec((any::<prop::sample::Index>(), 1..=255u8), 1..4),
    ) {
        let key = key_from(&key_bytes);
        let mut raw = STANDARD
            .decode(key.encrypt(DOC_APPID, &message, &[0; 16]).unwrap())
            .unwrap();
        for (index, mask) in flips {
            let i = index.index(raw.len());
            raw[i] ^= mask;
        }
        let _ = key.decrypt(DOC_APPID, &STANDARD.encode(&raw));
    }

    #[test]
    fn key_decoding_never_panics(encoding_aes_key in any::<String>()) {
        let _ = AesKey::from_encoding_aes_key(&encoding_aes_key);
    }

    #[test]
    fn key_decoding_never_panics_on_base64_of_any_length(bytes in vec(any::<u8>(), 0..64)) {
        let result = AesKey::from_encoding_aes_key(&STANDARD_NO_PAD.encode(&bytes));
        if bytes.len() != 32 {
            prop_assert_eq!(result, Err(CryptoError::KeyLength(bytes.len())));
        }
    }

    #[test]
    fn verify_never_panics_and_accepts_only_the_signature_itself(
        token in any::<String>(),
        timestamp in any::<String>(),
        nonce in any::<String>(),
        presented in any::<String>(),
    ) {
        let sig = Signature::of_url(&Token::new(token), &timestamp, &nonce);
        let result = sig.verify(&presented);
        if presented.to_ascii_lowercase() != sig.to_hex() {
            prop_assert_eq!(result, Err(CryptoError::SignatureMismatch));
        }
        prop_assert_eq!(sig.verify(&sig.to_hex()), Ok(()));
        prop_assert_eq!(sig.verify(&sig.to_hex().to_uppercase()), Ok(()));
    }

    #[test]
    fn signatures_do_not_depend_on_the_order_of_their_parts(
        a in "[0-9A-Za-z+/=]{0,20}",
        b in "[0-9A-Za-z+/=]{0,20}",
        c in "[0-9A-Za-z+/=]{0,20}",
        d in "[0-9A-Za-z+/=]{0,20}",
    ) {
        prop_assert_eq!(
            Signature::of_url(&Token::new(a.as_str()), &b, &c),
            Signature::of_url(&Token::new(c.as_str()), &a, &b)
        );
        prop_assert_eq!(
            Signature::of_message(&Token::new(a.as_str()), &b, &c, &d),
            Signature::of_message(&Token::new(d.as_str()), &c, &a, &b)
        );
    }
}
