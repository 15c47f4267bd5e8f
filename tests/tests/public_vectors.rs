//! Every public vector in `fixtures/public-vectors.json`, reproduced through the `kefu` library.
//!
//! The tests walk the whole file. A vector of a kind, with a named check or with a field these
//! tests do not know makes them fail, so a vector added to the file is either reproduced or
//! reported, never skipped.

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kefu::protocol::{AesKey, CryptoError, Signature, Token};
use kefu_tests::{Vector, public_vectors, public_vectors_json, vector};

/// random(16) ‖ msg_len(4)
const FRAME_HEADER: usize = 20;
/// WeChat's PKCS#7 block.
const PAD_BLOCK: usize = 32;

/// Every top-level field a vector may have. Each is either checked below or is metadata.
const KNOWN_FIELDS: &[&str] = &[
    // metadata
    "id",
    "source",
    "kind",
    "note",
    "verified",
    "checks",
    // inputs
    "token",
    "encoding_aes_key",
    "appid",
    "timestamp",
    "nonce",
    "random16",
    // asserted outputs
    "signature",
    "msg_signature",
    "encrypted",
    "plaintext",
    "decrypted_plaintext_observed",
    "expected_fields",
    "expected_random16",
    "expected_msg_len",
    "observed",
    "url_signature_equals_sha1(token,ts,nonce)",
    "reply_json",
    "expected_reply_xml",
    "openid",
    "encrypt_type",
    "body_format",
    "to_user_name",
    // The GET reply body, echoed verbatim. The library has no GET handler to check it against
    // yet; its signature is checked.
    "echostr",
];

/// Every field of `observed`; all are checked by [`check_observed_frame`].
const KNOWN_OBSERVED_FIELDS: &[&str] = &[
    "ciphertext_len",
    "pad_byte",
    "pkcs7_32_ok",
    "pkcs7_16_would_accept",
    "full_str_len",
    "random16",
    "msg_len",
    "appid_in_plaintext",
];

// ---------------------------------------------------------------------------------------------
// Field access: a vector that lacks a field its kind needs is a broken fixture.

fn token(v: &Vector) -> Token {
    Token::new(v.token.as_str())
}

fn key(v: &Vector) -> AesKey {
    let encoding_aes_key = v
        .encoding_aes_key
        .as_deref()
        .unwrap_or_else(|| panic!("{}: no encoding_aes_key", v.id));
    AesKey::from_encoding_aes_key(encoding_aes_key)
        .unwrap_or_else(|e| panic!("{}: EncodingAESKey rejected: {e}", v.id))
}

fn appid(v: &Vector) -> &str {
    v.appid
        .as_deref()
        .unwrap_or_else(|| panic!("{}: no appid", v.id))
}

fn encrypted(v: &Vector) -> &str {
    v.encrypted
        .as_deref()
        .unwrap_or_else(|| panic!("{}: no encrypted", v.id))
}

/// What `encrypted` decrypts to: the full observed plaintext where the source asserted only parts
/// of it (wechatpy's decrypt test, the WeCom echostr), the vector's `plaintext` otherwise.
fn expected_message(v: &Vector) -> &str {
    v.decrypted_plaintext_observed
        .as_deref()
        .or(v.plaintext.as_deref())
        .unwrap_or_else(|| panic!("{}: encrypted, but no plaintext to expect", v.id))
}

fn random16(id: &str, ascii: &str) -> [u8; 16] {
    ascii
        .as_bytes()
        .try_into()
        .unwrap_or_else(|_| panic!("{id}: random16 {ascii:?} is not 16 bytes"))
}

fn ciphertext_bytes(v: &Vector) -> Vec<u8> {
    STANDARD
        .decode(encrypted(v))
        .unwrap_or_else(|e| panic!("{}: encrypted is not base64: {e}", v.id))
}

/// The same signature with its last hex digit changed.
fn tampered(hex: &str) -> String {
    let mut out = hex.to_owned();
    let last = out.pop().expect("empty signature");
    out.push(if last == '0' { '1' } else { '0' });
    out
}

// ---------------------------------------------------------------------------------------------
// Checks. Each panics with the vector id on failure.

/// `signature` = sha1(sort(token, timestamp, nonce)); `verify` accepts it (in either case) and
/// rejects a tampered one.
fn check_url_signature(v: &Vector, expected: &str) {
    let sig = Signature::of_url(&token(v), &v.timestamp, &v.nonce);
    assert_eq!(sig.to_hex(), expected, "{}: URL signature", v.id);
    assert_eq!(sig.verify(expected), Ok(()), "{}: verify", v.id);
    assert_eq!(
        sig.verify(&expected.to_uppercase()),
        Ok(()),
        "{}: verify upper case",
        v.id
    );
    assert_eq!(
        sig.verify(&tampered(expected)),
        Err(CryptoError::SignatureMismatch),
        "{}: verify accepted a tampered signature",
        v.id
    );
}

/// `msg_signature` = sha1(sort(token, timestamp, nonce, encrypted)); `verify` accepts it and
/// rejects a tampered one, and it does not verify as a URL signature.
fn check_msg_signature(v: &Vector) {
    let expected = v
        .msg_signature
        .as_deref()
        .unwrap_or_else(|| panic!("{}: no msg_signature", v.id));
    let sig = Signature::of_message(&token(v), &v.timestamp, &v.nonce, encrypted(v));
    assert_eq!(sig.to_hex(), expected, "{}: msg_signature", v.id);
    assert_eq!(sig.verify(expected), Ok(()), "{}: verify", v.id);
    assert_eq!(
        sig.verify(&tampered(expected)),
        Err(CryptoError::SignatureMismatch),
        "{}: verify accepted a tampered msg_signature",
        v.id
    );
    assert_eq!(
        Signature::of_url(&token(v), &v.timestamp, &v.nonce).verify(expected),
        Err(CryptoError::SignatureMismatch),
        "{}: msg_signature verified without the Encrypt field",
        v.id
    );
}

/// The WeCom echostr vector's own negative case: nonce 437374424 instead of 437374425.
fn check_msg_signature_rejects_other_nonce(v: &Vector, nonce: &str) {
    assert_ne!(
        v.nonce, nonce,
        "{}: the negative nonce is the real one",
        v.id
    );
    let expected = v
        .msg_signature
        .as_deref()
        .unwrap_or_else(|| panic!("{}: no msg_signature", v.id));
    assert_eq!(
        Signature::of_message(&token(v), &v.timestamp, nonce, encrypted(v)).verify(expected),
        Err(CryptoError::SignatureMismatch),
        "{}: msg_signature verified with nonce {nonce}",
        v.id
    );
}

/// `encrypted` opens with the vector's appid to the expected message.
fn check_decrypts(v: &Vector) {
    assert_eq!(
        key(v).decrypt(appid(v), encrypted(v)).as_deref(),
        Ok(expected_message(v)),
        "{}: decrypt",
        v.id
    );
}

/// Any other appid is refused with `AppIdMismatch`.
fn check_rejects_wrong_appid(v: &Vector) {
    let right = appid(v);
    for wrong in [
        String::new(),
        "wx0000000000000000".to_owned(),
        format!("{right}0"),
        right.get(..right.len() - 1).unwrap_or_default().to_owned(),
        right.to_uppercase(),
    ] {
        assert_eq!(
            key(v).decrypt(&wrong, encrypted(v)),
            Err(CryptoError::AppIdMismatch {
                arrived: right.to_owned(),
                expected: wrong.clone(),
            }),
            "{}: decrypt with appid {wrong:?}",
            v.id
        );
    }
}

/// Flipping any byte of the last cipher block (which holds the appid and the padding) is
/// detected.
fn check_rejects_corrupted_last_block(v: &Vector) {
    let original = ciphertext_bytes(v);
    assert!(original.len() >= 32, "{}: ciphertext too short", v.id);
    for i in original.len() - 16..original.len() {
        let mut corrupted = original.clone();
        if let Some(byte) = corrupted.get_mut(i) {
            *byte ^= 0x01;
        }
        let result = key(v).decrypt(appid(v), &STANDARD.encode(&corrupted));
        assert!(
            result.is_err(),
            "{}: flipping byte {i} of the ciphertext gave {result:?}",
            v.id
        );
    }
}

/// Sealing the message with the given random16 reproduces `encrypted` bit for bit.
fn check_encrypts_to(v: &Vector, random_ascii: &str) {
    let sealed = key(v)
        .encrypt(
            appid(v),
            expected_message(v).as_bytes(),
            &random16(&v.id, random_ascii),
        )
        .unwrap_or_else(|e| panic!("{}: encrypt: {e}", v.id));
    assert_eq!(
        sealed,
        encrypted(v),
        "{}: encrypt with random16 {random_ascii:?}",
        v.id
    );
}

/// The frame measurements in `observed` match the library's view of the vector: the lengths,
/// the pad value (1…32, and whether a 16-byte unpadder would take it), the random prefix and
/// the trailing appid.
fn check_observed_frame(v: &Vector) {
    let o = v
        .observed
        .as_ref()
        .unwrap_or_else(|| panic!("{}: no observed", v.id));
    let message = expected_message(v);
    let cipher_len = ciphertext_bytes(v).len();
    let full_str_len = FRAME_HEADER + message.len() + appid(v).len();
    let pad = cipher_len - full_str_len;

    assert_eq!(o.ciphertext_len, cipher_len, "{}: ciphertext_len", v.id);
    assert_eq!(o.msg_len, message.len(), "{}: msg_len", v.id);
    assert_eq!(o.full_str_len, full_str_len, "{}: full_str_len", v.id);
    assert_eq!(o.pad_byte, pad, "{}: pad_byte", v.id);
    assert_eq!(
        pad,
        PAD_BLOCK - full_str_len % PAD_BLOCK,
        "{}: PKCS#7 over 32-byte blocks",
        v.id
    );
    assert!(o.pkcs7_32_ok, "{}: pkcs7_32_ok", v.id);
    assert_eq!(
        o.pkcs7_16_would_accept,
        pad <= 16,
        "{}: pkcs7_16_would_accept",
        v.id
    );
    assert_eq!(
        o.appid_in_plaintext,
        appid(v),
        "{}: appid_in_plaintext",
        v.id
    );
    // The library does not return the random prefix; sealing with it must give the same bytes.
    check_encrypts_to(v, &o.random16);
}

/// Each `expected_fields` entry is an element of the decrypted XML.
fn check_expected_fields(v: &Vector) {
    let fields = v
        .expected_fields
        .as_ref()
        .unwrap_or_else(|| panic!("{}: no expected_fields", v.id));
    assert!(!fields.is_empty(), "{}: empty expected_fields", v.id);
    let message = key(v)
        .decrypt(appid(v), encrypted(v))
        .unwrap_or_else(|e| panic!("{}: decrypt: {e}", v.id));
    for (name, value) in fields {
        let element = format!("<{name}><![CDATA[{value}]]></{name}>");
        assert!(
            message.contains(&element),
            "{}: decrypted message has no {element}",
            v.id
        );
    }
}

/// The expected encrypted XML reply carries this vector's Encrypt, MsgSignature, TimeStamp and
/// Nonce.
fn check_expected_reply_xml(v: &Vector) {
    let xml = v
        .expected_reply_xml
        .as_deref()
        .unwrap_or_else(|| panic!("{}: no expected_reply_xml", v.id));
    let msg_signature = Signature::of_message(&token(v), &v.timestamp, &v.nonce, encrypted(v));
    for element in [
        format!("<Encrypt><![CDATA[{}]]></Encrypt>", encrypted(v)),
        format!("<MsgSignature><![CDATA[{msg_signature}]]></MsgSignature>"),
        format!("<TimeStamp>{}</TimeStamp>", v.timestamp),
        format!("<Nonce><![CDATA[{}]]></Nonce>", v.nonce),
    ] {
        assert!(
            xml.contains(&element),
            "{}: reply XML lacks {element}",
            v.id
        );
    }
}

/// The JSON passive reply carries this vector's Encrypt, MsgSignature, TimeStamp and Nonce.
fn check_reply_json(v: &Vector) {
    let reply = v
        .reply_json
        .as_ref()
        .unwrap_or_else(|| panic!("{}: no reply_json", v.id));
    assert_eq!(reply.encrypt, encrypted(v), "{}: reply Encrypt", v.id);
    assert_eq!(
        reply.time_stamp.to_string(),
        v.timestamp,
        "{}: reply TimeStamp",
        v.id
    );
    assert_eq!(reply.nonce, v.nonce, "{}: reply Nonce", v.id);
    Signature::of_message(&token(v), &v.timestamp, &v.nonce, &reply.encrypt)
        .verify(&reply.msg_signature)
        .unwrap_or_else(|e| panic!("{}: reply MsgSignature: {e}", v.id));
}

/// A string field of a JSON object.
fn field<'a>(object: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    object.get(name).and_then(serde_json::Value::as_str)
}

/// A JSON push body's `ToUserName` and `FromUserName` match the vector's `to_user_name` and
/// URL `openid`.
fn check_push_metadata(v: &Vector) {
    let body: serde_json::Value = match v.body_format.as_deref() {
        Some("json") => serde_json::from_str(expected_message(v))
            .unwrap_or_else(|e| panic!("{}: JSON body does not parse: {e}", v.id)),
        other => panic!("{}: unhandled body_format {other:?}", v.id),
    };
    if let Some(to) = &v.to_user_name {
        assert_eq!(
            field(&body, "ToUserName"),
            Some(to.as_str()),
            "{}: ToUserName",
            v.id
        );
    }
    if let Some(openid) = &v.openid {
        assert_eq!(
            field(&body, "FromUserName"),
            Some(openid.as_str()),
            "{}: openid",
            v.id
        );
    }
    if let Some(encrypt_type) = &v.encrypt_type {
        assert_eq!(encrypt_type, "aes", "{}: encrypt_type", v.id);
        assert!(v.encrypted.is_some(), "{}: aes without Encrypt", v.id);
    }
}

/// The whole decrypt suite for a vector with an `Encrypt` field.
fn check_envelope(v: &Vector) {
    check_decrypts(v);
    check_rejects_wrong_appid(v);
    check_rejects_corrupted_last_block(v);
}

/// One of the vector's named `checks`.
fn check_named(v: &Vector, name: &str) {
    match name {
        "msg_signature" => check_msg_signature(v),
        "plaintext" | "roundtrip" | "echostr_decrypts_with_appid" => check_decrypts(v),
        "appid" => check_rejects_wrong_appid(v),
        "fields" => check_expected_fields(v),
        "encrypt" => check_encrypts_to(
            v,
            v.random16
                .as_deref()
                .unwrap_or_else(|| panic!("{}: no random16", v.id)),
        ),
        "random16" => {
            let random = v
                .expected_random16
                .as_deref()
                .unwrap_or_else(|| panic!("{}: no expected_random16", v.id));
            check_encrypts_to(v, random);
        }
        "msg_len" => {
            let len = v
                .expected_msg_len
                .unwrap_or_else(|| panic!("{}: no expected_msg_len", v.id));
            assert_eq!(len, expected_message(v).len(), "{}: msg_len", v.id);
            check_decrypts(v);
        }
        "pkcs7_block32" => check_observed_frame(v),
        "doc_lengths_224_205" => {
            check_observed_frame(v);
            assert_eq!(
                ciphertext_bytes(v).len(),
                224,
                "{}: ciphertext length",
                v.id
            );
            assert_eq!(
                FRAME_HEADER + expected_message(v).len() + appid(v).len(),
                205,
                "{}: FullStr length",
                v.id
            );
        }
        "fullstr_63_padded_64" => {
            assert_eq!(
                FRAME_HEADER + expected_message(v).len() + appid(v).len(),
                63,
                "{}: FullStr length",
                v.id
            );
            assert_eq!(ciphertext_bytes(v).len(), 64, "{}: ciphertext length", v.id);
        }
        "expected_xml_timestamp_nonce" => check_expected_reply_xml(v),
        "negative_nonce_437374424_fails" => check_msg_signature_rejects_other_nonce(v, "437374424"),
        other => panic!(
            "{}: unhandled check {other:?}; add it to check_named in {}",
            v.id,
            file!()
        ),
    }
}

/// Reproduces everything `v` asserts.
fn reproduce(v: &Vector) {
    // What each kind must carry, and its primary check.
    match v.kind.as_str() {
        "signature" => assert!(
            v.signature.is_some() || v.msg_signature.is_some(),
            "{}: signature vector without a signature",
            v.id
        ),
        "decrypt" => {
            assert!(v.encrypted.is_some(), "{}: nothing to decrypt", v.id);
            check_envelope(v);
        }
        "encrypt_with_fixed_random" => {
            let random = v
                .random16
                .as_deref()
                .unwrap_or_else(|| panic!("{}: no random16", v.id));
            check_encrypts_to(v, random);
            check_envelope(v);
        }
        other => panic!(
            "{}: unhandled vector kind {other:?}; teach {} to reproduce it",
            v.id,
            file!()
        ),
    }

    // Everything else the vector states, whatever its kind.
    if let Some(signature) = &v.signature {
        check_url_signature(v, signature);
    }
    match v.url_signature_is_plain_sha1 {
        Some(true) => assert!(v.signature.is_some(), "{}: no URL signature", v.id),
        Some(false) => panic!("{}: a URL signature that is not sha1(sort(..))", v.id),
        None => {}
    }
    if v.msg_signature.is_some() {
        check_msg_signature(v);
    }
    if v.encrypted.is_some() && v.encoding_aes_key.is_some() {
        check_envelope(v);
    }
    if let (Some(signature), None, Some(body)) = (&v.signature, &v.encrypted, &v.plaintext) {
        // Plaintext mode: the URL signature covers token, timestamp and nonce, not the body.
        assert_eq!(
            Signature::of_message(&token(v), &v.timestamp, &v.nonce, body).verify(signature),
            Err(CryptoError::SignatureMismatch),
            "{}: the URL signature covers the body",
            v.id
        );
    }
    if v.observed.is_some() {
        check_observed_frame(v);
    }
    if v.expected_fields.is_some() {
        check_expected_fields(v);
    }
    if let Some(random) = &v.expected_random16 {
        check_encrypts_to(v, random);
    }
    if let Some(len) = v.expected_msg_len {
        assert_eq!(len, expected_message(v).len(), "{}: expected_msg_len", v.id);
    }
    if v.reply_json.is_some() {
        check_reply_json(v);
    }
    if v.expected_reply_xml.is_some() {
        check_expected_reply_xml(v);
    }
    if v.body_format.is_some() || v.openid.is_some() || v.to_user_name.is_some() {
        check_push_metadata(v);
    }

    for (name, passed) in &v.checks {
        assert!(
            passed,
            "{}: the vector records check {name:?} as failed; decide what that means before \
             adding it",
            v.id
        );
        check_named(v, name);
    }
}

// ---------------------------------------------------------------------------------------------

#[test]
fn every_public_vector_is_reproduced() {
    let vectors = public_vectors();
    assert!(!vectors.is_empty(), "no public vectors");
    for v in &vectors {
        reproduce(v);
    }
}

#[test]
fn every_vector_field_is_understood_by_these_tests() {
    let json = public_vectors_json();
    let vectors = json.as_array().expect("the vectors file is a JSON array");
    for raw in vectors {
        let object = raw.as_object().expect("each vector is a JSON object");
        let id = object.get("id").and_then(|id| id.as_str()).unwrap_or("?");
        for field in object.keys() {
            assert!(
                KNOWN_FIELDS.contains(&field.as_str()),
                "{id}: unknown field {field:?}; check it in {} and add it to KNOWN_FIELDS",
                file!()
            );
        }
        if let Some(observed) = object.get("observed") {
            for field in observed.as_object().expect("observed is an object").keys() {
                assert!(
                    KNOWN_OBSERVED_FIELDS.contains(&field.as_str()),
                    "{id}: unknown observed field {field:?}"
                );
            }
        }
    }
}

#[test]
fn every_vector_has_a_unique_id_and_a_source() {
    let vectors = public_vectors();
    let mut ids = BTreeSet::new();
    for v in &vectors {
        assert!(ids.insert(v.id.as_str()), "duplicate vector id {:?}", v.id);
        assert!(!v.source.trim().is_empty(), "{}: no source", v.id);
        assert!(v.verified, "{}: not verified by its author", v.id);
    }
}

#[test]
fn official_safe_mode_push_needs_a_pad_value_above_16() {
    // [DOC-PUSH]'s own example: a 16-byte-block unpadder would reject it.
    let v = vector("doc-post-safe-mode-json-decrypt");
    let o = v.observed.as_ref().expect("observed");
    assert_eq!(o.pad_byte, 19);
    assert!(!o.pkcs7_16_would_accept);
    check_decrypts(&v);
}

#[test]
fn wecom_echostr_is_signed_as_a_fourth_element_not_as_a_url_signature() {
    // wechatpy's WeCom echostr: the 4-element signature verifies, the 3-element one does not.
    let v = vector("wechatpy-echostr-signature");
    let msg_signature = v.msg_signature.as_deref().expect("msg_signature");
    check_msg_signature(&v);
    assert_eq!(
        Signature::of_url(&token(&v), &v.timestamp, &v.nonce).verify(msg_signature),
        Err(CryptoError::SignatureMismatch)
    );
}
