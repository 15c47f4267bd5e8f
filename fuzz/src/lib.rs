//! The entry points of the fuzz targets, one per target, each taking the raw input bytes.
//!
//! The fuzz targets (`fuzz/fuzz_targets/*.rs`, nightly) call these, and the stable test
//! `tests/tests/fuzz_regressions.rs` includes this very file to replay every saved input
//! (`tests/fuzz-regressions/<target>/`) through the same code. Each entry must return,
//! whatever the bytes: an `Err` from kefu is a correct answer, a panic is the defect. What they
//! return (whether kefu accepted the input; the receive handler's status) lets the stable test
//! check that the seeds reach the code behind the checks, not only the first refusal.
//!
//! Inputs that carry more than one value start with a flags byte; `fuzz/seeds.py` writes the
//! seed corpora in these layouts from `events/` and the public vectors.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aes::Aes256;
use base64::Engine as _;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockEncryptMut as _, KeyIvInit as _};
use kefu::clock::ManualClock;
use kefu::compose::MemoryStack;
use kefu::memory::StaticRules;
use kefu::protocol::{AesKey, Credentials, Format, Message, PushQuery, Signature, Token, push};
use kefu::receive::{PushRequest, ReceiveSettings};
use kefu::rules::{RuleSet, fragments};
use kefu::sample;

/// The fixed keys the decryptor is fuzzed with: the sample deployment's (the events), the
/// documented example's and wechatpy's (the public vectors), each with its appid.
const KEYS: [(&str, &str); 3] = [
    (sample::ENCODING_AES_KEY, sample::APPID),
    (
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "wxba5fad812f8e6fb9",
    ),
    (
        "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
        "wx49f0ab532d5d035a",
    ),
];

/// The events' `timestamp` (1714112445 s): the receive target's clock stands there, so that
/// the events pass the freshness check.
pub const EVENTS_NOW_MS: i64 = 1_714_112_445_000;
const TIMESTAMP: &str = "1714112445";
const NONCE: &str = "415670741";

/// XML body reader: the plaintext message parser and the `Encrypt` envelope reader.
/// `true` when a message or an `Encrypt` field was read.
pub fn body_xml(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let envelope = matches!(push::encrypt_field(text), Ok(Some(_)));
    Message::from_xml(text).is_ok() || envelope
}

/// JSON body reader: the plaintext message parser and the `Encrypt` envelope reader.
/// `true` when a message or an `Encrypt` field was read.
pub fn body_json(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let envelope = matches!(push::encrypt_field(text), Ok(Some(_)));
    Message::from_json(text).is_ok() || envelope
}

/// The decryptor with a fixed key. Flags byte: bits 0–1 pick the key of [`KEYS`] (3 = the
/// first), bits 2–3 what the rest is:
/// 0 the `Encrypt` text itself (base64 layer included),
/// 1 the ciphertext bytes (base64-encoded here),
/// 2 the decrypted frame, padding included (zero-filled to whole 32-byte blocks, encrypted here),
/// 3 the frame without its padding (`random16 ‖ len ‖ msg ‖ appid`; valid PKCS#7 added here),
/// so the fuzzer reaches the padding and frame checks without having to beat AES.
/// `true` when the message came out.
pub fn decrypt(data: &[u8]) -> bool {
    let Some((&flags, rest)) = data.split_first() else {
        return false;
    };
    let (encoding_aes_key, appid) = match flags & 0b11 {
        1 => KEYS[1],
        2 => KEYS[2],
        _ => KEYS[0],
    };
    let key = AesKey::from_encoding_aes_key(encoding_aes_key).expect("a fixed valid key");
    let encrypt = match (flags >> 2) & 0b11 {
        0 => String::from_utf8_lossy(rest).into_owned(),
        1 => STANDARD.encode(rest),
        2 => {
            let mut frame = rest.to_vec();
            frame.resize(rest.len().div_ceil(32).max(1) * 32, 0);
            seal_frame(encoding_aes_key, frame)
        }
        _ => {
            let mut frame = rest.to_vec();
            let pad = 32 - rest.len() % 32;
            frame.resize(rest.len() + pad, u8::try_from(pad).unwrap_or(32));
            seal_frame(encoding_aes_key, frame)
        }
    };
    key.decrypt(appid, &encrypt).is_ok()
}

/// AES-256-CBC (IV = the key's first 16 bytes) over whole blocks, base64: `Encrypt` for an
/// arbitrary frame.
fn seal_frame(encoding_aes_key: &str, mut frame: Vec<u8>) -> String {
    // As 小程序后台 makes them, EncodingAESKeys may have stray bits in their last character.
    const KEY_BASE64: GeneralPurpose = GeneralPurpose::new(
        &alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let key = KEY_BASE64
        .decode(encoding_aes_key)
        .expect("a fixed valid key");
    let iv = key.get(..16).expect("a 32-byte key");
    let len = frame.len();
    let encryptor = cbc::Encryptor::<Aes256>::new_from_slices(&key, iv).expect("key and IV sizes");
    let _ = encryptor.encrypt_padded_mut::<NoPadding>(&mut frame, len);
    STANDARD.encode(&frame)
}

/// The inner message parser, reached the way a push reaches it: the rest of the input is
/// sealed with the sample key as the decrypted message, in a properly signed push. Flags byte:
/// bit 0 XML (else JSON), bit 1 compatible mode (clear fields beside `Encrypt`).
/// `true` when the push opened.
pub fn inner_message(data: &[u8]) -> bool {
    let Some((&flags, plain)) = data.split_first() else {
        return false;
    };
    let credentials = sample::credentials();
    let key = credentials
        .aes_key
        .as_ref()
        .expect("the sample key is valid");
    let Ok(encrypt) = key.encrypt(&credentials.appid, plain, &[9; 16]) else {
        return false;
    };
    let clear = flags & 0b10 != 0;
    let body = match (flags & 1 != 0, clear) {
        (true, false) => format!(
            "<xml><ToUserName><![CDATA[{}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>",
            sample::ORIGINAL_ID
        ),
        (true, true) => format!(
            "<xml><ToUserName><![CDATA[{}]]></ToUserName><FromUserName><![CDATA[{}]]></FromUserName><MsgType><![CDATA[text]]></MsgType><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>",
            sample::ORIGINAL_ID,
            sample::OPENID
        ),
        (false, false) => format!(
            r#"{{"ToUserName":"{}","Encrypt":"{encrypt}"}}"#,
            sample::ORIGINAL_ID
        ),
        (false, true) => format!(
            r#"{{"ToUserName":"{}","FromUserName":"{}","MsgType":"text","Encrypt":"{encrypt}"}}"#,
            sample::ORIGINAL_ID,
            sample::OPENID
        ),
    };
    let token = &credentials.token;
    let query = PushQuery {
        signature: Some(Signature::of_url(token, TIMESTAMP, NONCE).to_hex()),
        timestamp: Some(TIMESTAMP.into()),
        nonce: Some(NONCE.into()),
        msg_signature: Some(Signature::of_message(token, TIMESTAMP, NONCE, &encrypt).to_hex()),
        ..PushQuery::default()
    };
    push::open(&credentials, &query, &body).is_ok()
}

/// Messages every parsed rule set is matched against: text (a keyword, the transfer word),
/// an image and the enter-session event.
fn probe_messages() -> &'static [Message] {
    static MESSAGES: OnceLock<Vec<Message>> = OnceLock::new();
    MESSAGES.get_or_init(|| {
        [
            r#"{"ToUserName":"gh_1","FromUserName":"o1","CreateTime":1714112445,"MsgType":"text","Content":"营业时间是几点？","MsgId":1}"#,
            r#"{"ToUserName":"gh_1","FromUserName":"o1","CreateTime":1714112445,"MsgType":"text","Content":"人工","MsgId":2}"#,
            r#"{"ToUserName":"gh_1","FromUserName":"o1","CreateTime":1714112445,"MsgType":"image","PicUrl":"https://example.com/a.png","MediaId":"m","MsgId":3}"#,
            r#"{"ToUserName":"gh_1","FromUserName":"o1","CreateTime":1714112445,"MsgType":"event","Event":"user_enter_tempsession","SessionFrom":"x"}"#,
        ]
        .iter()
        .filter_map(|json| Message::from_json(json).ok())
        .collect()
    })
}

/// The rules parser and what runs on a rule set that parsed: matching, explanations, the
/// checks, and the split into Parameter Store fragments and back. `true` when the set parsed.
pub fn rules(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let Ok(set) = RuleSet::from_json(text) else {
        return false;
    };
    // Two instants 13 hours apart, so scheduled rules are met both open and closed.
    for now in [1_714_112_445_000, 1_714_159_245_000] {
        for message in probe_messages() {
            let _ = set.route(message, now);
            let _ = set.explain(message, now);
        }
    }
    let _ = set.check(&|name: &str| !name.contains("missing"));
    if let Ok(parts) = fragments::split(&set) {
        let named = parts
            .into_iter()
            .enumerate()
            .map(|(n, json)| (fragments::fragment_name("/kefu/rules", n), json))
            .collect();
        let _ = fragments::merge(named);
    }
    true
}

/// The whole receive handler on the in-memory stack (sample credentials and rules, the clock at
/// the events' timestamp), a fresh stack per input. Flags byte: bits 0–1 the method (1 GET,
/// 3 PUT, else POST); bit 2 re-sign the query for this body (so that a changed body gets past
/// the signatures); bit 3 require encryption; bits 4–5 pin the format (1 XML, 2 JSON). Then the
/// query string (`name=value&…`, not percent-decoded) up to the first newline, then the body.
/// Returns the HTTP status of the answer (0 for an empty input).
pub fn receive(data: &[u8]) -> u16 {
    let Some((&flags, rest)) = data.split_first() else {
        return 0;
    };
    let (query, body) = match rest.iter().position(|&b| b == b'\n') {
        Some(newline) => (
            rest.get(..newline).unwrap_or_default(),
            rest.get(newline + 1..).unwrap_or_default(),
        ),
        None => (rest, &[][..]),
    };
    let query = String::from_utf8_lossy(query);
    let mut query = PushQuery::from_pairs(query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        match pair.split_once('=') {
            Some((name, value)) => (name, value.to_owned()),
            None => (pair, String::new()),
        }
    }));
    let credentials = sample::credentials();
    if flags & 0b100 != 0 {
        resign(&credentials, &mut query, body);
    }
    let mut settings = ReceiveSettings::new(credentials);
    settings.require_encryption = flags & 0b1000 != 0;
    settings.format = match (flags >> 4) & 0b11 {
        1 => Some(Format::Xml),
        2 => Some(Format::Json),
        _ => None,
    };
    let method = match flags & 0b11 {
        1 => "GET",
        3 => "PUT",
        _ => "POST",
    };

    let stack = MemoryStack::new(
        StaticRules::new(sample_rules().clone()),
        Arc::new(ManualClock::at(EVENTS_NOW_MS)),
        Duration::from_secs(30),
    );
    let receiver = stack.receiver(settings);
    let request = PushRequest {
        method,
        query: &query,
        body,
    };
    RUNTIME
        .with(|runtime| runtime.block_on(receiver.handle(request)))
        .status
}

/// Signs `query` for `body` with the sample Token, keeping its timestamp and nonce (the
/// events' if it has none): `signature`, and `msg_signature` when the body has `Encrypt`.
fn resign(credentials: &Credentials, query: &mut PushQuery, body: &[u8]) {
    let timestamp = query
        .timestamp
        .get_or_insert_with(|| TIMESTAMP.into())
        .clone();
    let nonce = query.nonce.get_or_insert_with(|| NONCE.into()).clone();
    let token: &Token = &credentials.token;
    query.signature = Some(Signature::of_url(token, &timestamp, &nonce).to_hex());
    if let Ok(text) = std::str::from_utf8(body)
        && let Ok(Some(encrypt)) = push::encrypt_field(text)
    {
        query.msg_signature =
            Some(Signature::of_message(token, &timestamp, &nonce, &encrypt).to_hex());
    }
}

fn sample_rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(sample::rules)
}

thread_local! {
    /// One single-threaded runtime for all inputs: the handler's only timer (the wait for an
    /// attempt in flight) never fires on a fresh stack.
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime");
}
