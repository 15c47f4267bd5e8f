//! Verify → decrypt → parse, in every mode and format, and the passive replies that answer it.
//! Encrypted fixtures are made with the library's own `encrypt`, as WeChat would make them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use kefu::protocol::passive::{self, Seal};
use kefu::protocol::{
    AesKey, CryptoError, Format, Message, MessageKind, Mode, ParseError, PushError, PushQuery,
    Signature, Token, push,
};

const TOKEN: &str = "AAAAA";
const KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const APPID: &str = "wxba5fad812f8e6fb9";
const TS: &str = "1714112445";
const NONCE: &str = "415670741";

const TEXT_JSON: &str = r#"{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714112445,"MsgType":"text","Content":"人工","MsgId":23241477706429916}"#;
const TEXT_XML: &str = "<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName><FromUserName><![CDATA[o9AgO5Kd5ggOC-bXrbNODIiE3bGY]]></FromUserName><CreateTime>1714112445</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[人工]]></Content><MsgId>23241477706429916</MsgId></xml>";

fn credentials() -> push::Credentials {
    push::Credentials {
        token: Token::new(TOKEN),
        aes_key: Some(AesKey::from_encoding_aes_key(KEY).unwrap()),
        appid: APPID.into(),
    }
}

fn key() -> AesKey {
    AesKey::from_encoding_aes_key(KEY).unwrap()
}

fn url_query() -> PushQuery {
    PushQuery {
        signature: Some(Signature::of_url(&Token::new(TOKEN), TS, NONCE).to_hex()),
        timestamp: Some(TS.into()),
        nonce: Some(NONCE.into()),
        ..PushQuery::default()
    }
}

/// The body and query WeChat would send for `plain` in `mode`.
fn wechat_push(plain: &str, format: Format, mode: Mode) -> (PushQuery, String) {
    if mode == Mode::Plaintext {
        return (url_query(), plain.to_owned());
    }
    let encrypt = key()
        .encrypt(APPID, plain.as_bytes(), b"0123456789abcdef")
        .unwrap();
    let mut query = url_query();
    query.encrypt_type = Some("aes".into());
    query.msg_signature =
        Some(Signature::of_message(&Token::new(TOKEN), TS, NONCE, &encrypt).to_hex());
    let body = match (format, mode) {
        (Format::Json, Mode::Safe) => {
            format!(r#"{{"ToUserName":"gh_97417a04a28d","Encrypt":"{encrypt}"}}"#)
        }
        (Format::Json, _) => format!(r#"{},"Encrypt":"{encrypt}"}}"#, plain.trim_end_matches('}')),
        (Format::Xml, Mode::Safe) => format!(
            "<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        ),
        (Format::Xml, _) => plain.replace(
            "</xml>",
            &format!("<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"),
        ),
    };
    (query, body)
}

#[test]
fn every_mode_and_format_opens_to_the_same_message() {
    let expected = Message::from_json(TEXT_JSON).unwrap();
    for (format, plain) in [(Format::Json, TEXT_JSON), (Format::Xml, TEXT_XML)] {
        for mode in [Mode::Plaintext, Mode::Compatible, Mode::Safe] {
            let (query, body) = wechat_push(plain, format, mode);
            let opened = push::open(&credentials(), &query, &body)
                .unwrap_or_else(|e| panic!("{format:?} {mode:?}: {e}"));
            assert_eq!(opened.message, expected, "{format:?} {mode:?}");
            assert_eq!((opened.format, opened.mode), (format, mode));
        }
    }
}

#[test]
fn documented_safe_mode_push_opens() {
    let body = r#"{"ToUserName":"gh_97417a04a28d","Encrypt":"+qdx1OKCy+5JPCBFWw70tm0fJGb2Jmeia4FCB7kao+/Q5c/ohsOzQHi8khUOb05JCpj0JB4RvQMkUyus8TPxLKJGQqcvZqzDpVzazhZv6JsXUnnR8XGT740XgXZUXQ7vJVnAG+tE8NUd4yFyjPy7GgiaviNrlCTj+l5kdfMuFUPpRSrfMZuMcp3Fn2Pede2IuQrKEYwKSqFIZoNqJ4M8EajAsjLY2km32IIjdf8YL/P50F7mStwntrA2cPDrM1kb6mOcfBgRtWygb3VIYnSeOBrebufAlr7F9mFUPAJGj04="}"#;
    let query = PushQuery::from_pairs([
        ("signature", "6c5c811b55cc85e0e1b54100749188c20beb3f5d"),
        ("timestamp", "1714112445"),
        ("nonce", "415670741"),
        ("openid", "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"),
        ("encrypt_type", "aes"),
        ("msg_signature", "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3"),
    ]);
    let opened = push::open(&credentials(), &query, body).unwrap();
    assert_eq!(opened.mode, Mode::Safe);
    assert_eq!(opened.message.kind.type_name(), "debug_demo");
}

#[test]
fn encrypted_push_is_authenticated_by_msg_signature_not_signature() {
    let (mut query, body) = wechat_push(TEXT_JSON, Format::Json, Mode::Safe);
    query.msg_signature = query.signature.clone();
    assert_eq!(
        push::open(&credentials(), &query, &body),
        Err(PushError::Crypto(CryptoError::SignatureMismatch))
    );
    query.msg_signature = None;
    assert_eq!(
        push::open(&credentials(), &query, &body),
        Err(PushError::MissingParameter("msg_signature"))
    );
}

#[test]
fn compatible_mode_trusts_only_the_encrypted_copy() {
    let (query, body) = wechat_push(TEXT_JSON, Format::Json, Mode::Compatible);
    let forged = body.replacen("人工", "forged", 1);
    let opened = push::open(&credentials(), &query, &forged).unwrap();
    assert_eq!(
        opened.message.kind,
        MessageKind::Text {
            content: "人工".into()
        }
    );
}

#[test]
fn refusals_name_their_reason() {
    let (query, body) = wechat_push(TEXT_JSON, Format::Json, Mode::Plaintext);
    let mut bad = query.clone();
    bad.signature = Some("0".repeat(40));
    assert_eq!(
        push::open(&credentials(), &bad, &body),
        Err(PushError::Crypto(CryptoError::SignatureMismatch))
    );
    assert_eq!(
        push::open(&credentials(), &query, "success"),
        Err(PushError::UnknownFormat)
    );
    assert!(matches!(
        push::open(&credentials(), &query, r#"{"ToUserName":"#),
        Err(PushError::Parse(ParseError::Json(_)))
    ));

    let mut wrong_appid = credentials();
    wrong_appid.appid = "wx0000000000000000".into();
    let (query, body) = wechat_push(TEXT_XML, Format::Xml, Mode::Safe);
    assert_eq!(
        push::open(&wrong_appid, &query, &body),
        Err(PushError::Crypto(CryptoError::AppIdMismatch {
            arrived: APPID.into(),
            expected: "wx0000000000000000".into(),
        }))
    );
    let mut no_key = credentials();
    no_key.aes_key = None;
    assert_eq!(
        push::open(&no_key, &query, &body),
        Err(PushError::EncryptionNotConfigured)
    );
}

#[test]
fn get_verification_echoes_only_with_a_valid_signature() {
    let query = PushQuery::from_pairs([
        ("signature", "f464b24fc39322e44b38aa78f5edd27bd1441696"),
        ("timestamp", "1714036504"),
        ("nonce", "1514711492"),
        ("echostr", "4375120948345356249"),
    ]);
    assert_eq!(
        push::verify_url(&Token::new(TOKEN), &query),
        Ok("4375120948345356249")
    );
    assert_eq!(
        push::verify_url(&Token::new("BBBBB"), &query),
        Err(PushError::Crypto(CryptoError::SignatureMismatch))
    );
    let mut no_echo = query.clone();
    no_echo.echostr = None;
    assert_eq!(
        push::verify_url(&Token::new(TOKEN), &no_echo),
        Err(PushError::MissingParameter("echostr"))
    );
}

#[test]
fn transfer_reply_is_in_the_push_format_and_addressed_back_to_the_user() {
    let message = Message::from_json(TEXT_JSON).unwrap();
    let json = passive::transfer_customer_service(&message, Format::Json, 1714112446);
    assert_eq!(
        json,
        r#"{"ToUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","FromUserName":"gh_97417a04a28d","CreateTime":1714112446,"MsgType":"transfer_customer_service"}"#
    );
    let xml = passive::transfer_customer_service(&message, Format::Xml, 1714112446);
    assert_eq!(
        xml,
        "<xml><ToUserName><![CDATA[o9AgO5Kd5ggOC-bXrbNODIiE3bGY]]></ToUserName><FromUserName><![CDATA[gh_97417a04a28d]]></FromUserName><CreateTime>1714112446</CreateTime><MsgType><![CDATA[transfer_customer_service]]></MsgType></xml>"
    );
}

#[test]
fn sealed_reply_reproduces_the_documented_envelope_and_opens_again() {
    let token = Token::new(TOKEN);
    let key = key();
    let seal = Seal {
        token: &token,
        key: &key,
        appid: APPID,
        timestamp: 1713424427,
        nonce: "415670741",
        random: b"707722b803182950",
    };
    let json = passive::seal(r#"{"demo_resp":"good luck"}"#, Format::Json, &seal).unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&json).unwrap(),
        serde_json::json!({
            "Encrypt": "ELGduP2YcVatjqIS+eZbp80MNLoAUWvzzyJxgGzxZO/5sAvd070Bs6qrLARC9nVHm48Y4hyRbtzve1L32tmxSQ==",
            "MsgSignature": "1b9339964ed2e271e7c7b6ff2b0ef902fc94dea1",
            "TimeStamp": 1713424427,
            "Nonce": "415670741"
        })
    );

    // An XML transfer sealed the same way opens with the library's own push reader.
    let message = Message::from_xml(TEXT_XML).unwrap();
    let transfer = passive::transfer_customer_service(&message, Format::Xml, 1713424427);
    let xml = passive::seal(&transfer, Format::Xml, &seal).unwrap();
    let encrypt = xml
        .split("<Encrypt><![CDATA[")
        .nth(1)
        .unwrap()
        .split("]]>")
        .next()
        .unwrap();
    let signature = Signature::of_message(&token, "1713424427", "415670741", encrypt);
    assert!(xml.contains(&format!(
        "<MsgSignature><![CDATA[{signature}]]></MsgSignature>"
    )));
    assert_eq!(key.decrypt(APPID, encrypt).unwrap(), transfer);
}

#[test]
fn cdata_cannot_be_broken_out_of() {
    // The openid cannot hold markup (it is an `OpenId`); the mini program's id is text as the
    // push gave it, and goes back as the reply's FromUserName.
    let mut message = Message::from_json(TEXT_JSON).unwrap();
    message.to_user_name = "gh_]]><Evil/>".into();
    let xml = passive::transfer_customer_service(&message, Format::Xml, 1);
    assert!(!xml.contains("]]><Evil/>"));
    // Read back with the two names swapped, so that the id lands in the text field.
    let swapped = xml
        .replace("transfer_customer_service", "text")
        .replace("ToUserName>", "Swap>")
        .replace("FromUserName>", "ToUserName>")
        .replace("Swap>", "FromUserName>");
    let back = Message::from_xml(&swapped).unwrap();
    assert_eq!(back.to_user_name, "gh_]]><Evil/>");
    assert_eq!(back.from_user_name, message.from_user_name);
}
