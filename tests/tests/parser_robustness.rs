//! Whatever bytes arrive, every parser and the decryptor return a value or an error: never a
//! panic. Inputs are arbitrary text, XML/JSON-shaped text built from the real field names, and
//! arbitrary plaintexts sealed with the right key (so that they get past the crypto and reach
//! the parser).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use kefu::protocol::{AesKey, Message, PushQuery, Signature, Token, push};
use proptest::prelude::*;

const TOKEN: &str = "AAAAA";
const KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const APPID: &str = "wxba5fad812f8e6fb9";

fn credentials() -> push::Credentials {
    push::Credentials {
        token: Token::new(TOKEN),
        aes_key: Some(AesKey::from_encoding_aes_key(KEY).unwrap()),
        appid: APPID.into(),
    }
}

fn signed_query(encrypt: Option<&str>) -> PushQuery {
    let token = Token::new(TOKEN);
    PushQuery {
        signature: Some(Signature::of_url(&token, "1", "2").to_hex()),
        timestamp: Some("1".into()),
        nonce: Some("2".into()),
        msg_signature: encrypt.map(|e| Signature::of_message(&token, "1", "2", e).to_hex()),
        ..PushQuery::default()
    }
}

const NAMES: &[&str] = &[
    "xml",
    "ToUserName",
    "FromUserName",
    "CreateTime",
    "MsgType",
    "MsgId",
    "Content",
    "Event",
    "List",
    "SubscribeMsgPopupEvent",
    "TemplateId",
    "Encrypt",
    "SessionFrom",
    "PicUrl",
];

/// Text made of the pieces real bodies are made of, in random order and nesting.
fn body_like() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        prop::sample::select(NAMES).prop_map(|n| format!("<{n}>")),
        prop::sample::select(NAMES).prop_map(|n| format!("</{n}>")),
        prop::sample::select(NAMES).prop_map(|n| format!("<{n}/>")),
        prop::sample::select(NAMES).prop_map(|n| format!("\"{n}\":")),
        Just("<![CDATA[".to_owned()),
        Just("]]>".to_owned()),
        Just("&amp;".to_owned()),
        Just("&#x110000;".to_owned()),
        Just("&bogus;".to_owned()),
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just(",".to_owned()),
        Just("\"text\"".to_owned()),
        Just("\"event\"".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("-1".to_owned()),
        Just("1.5e300".to_owned()),
        Just("null".to_owned()),
        ".{0,8}",
    ];
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn message_parsers_never_panic_on_arbitrary_text(text in ".{0,600}") {
        let _ = Message::from_xml(&text);
        let _ = Message::from_json(&text);
    }

    #[test]
    fn message_parsers_never_panic_on_body_shaped_text(text in body_like()) {
        let _ = Message::from_xml(&text);
        let _ = Message::from_json(&text);
        let _ = Message::from_xml(&format!("<xml>{text}</xml>"));
        let _ = Message::from_json(&format!("{{{text}}}"));
    }

    #[test]
    fn open_never_panics_on_arbitrary_bodies_and_queries(
        body in prop_oneof![".{0,400}", body_like()],
        with_signature in any::<bool>(),
        msg_signature in proptest::option::of("[0-9a-f]{0,44}"),
    ) {
        let mut query = if with_signature { signed_query(None) } else { PushQuery::default() };
        query.msg_signature = msg_signature;
        let _ = push::open(&credentials(), &query, &body);
        let _ = push::encrypt_field(&body);
    }

    #[test]
    fn open_never_panics_when_arbitrary_plaintext_is_properly_sealed(
        plain in prop_oneof![".{0,400}", body_like()],
        json in any::<bool>(),
    ) {
        let encrypt = credentials().aes_key.unwrap().encrypt(APPID, plain.as_bytes(), &[9; 16]).unwrap();
        let body = if json {
            format!(r#"{{"ToUserName":"gh_1","Encrypt":"{encrypt}"}}"#)
        } else {
            format!("<xml><ToUserName>gh_1</ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
        };
        // Authentic and decryptable: whatever happens next is the parser's doing.
        let _ = push::open(&credentials(), &signed_query(Some(&encrypt)), &body);
    }

    #[test]
    fn open_never_panics_on_arbitrary_bytes_sealed_as_a_push(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let encrypt = credentials().aes_key.unwrap().encrypt(APPID, &bytes, &[3; 16]).unwrap();
        let body = format!(r#"{{"ToUserName":"gh_1","Encrypt":"{encrypt}"}}"#);
        let _ = push::open(&credentials(), &signed_query(Some(&encrypt)), &body);
    }
}
