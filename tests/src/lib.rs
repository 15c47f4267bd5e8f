//! Test fixtures shared by the `kefu` end-to-end tests.
//!
//! [`public_vectors`] loads `fixtures/public-vectors.json`: WeChat message-push vectors taken
//! from the official documentation and from other implementations' test suites, each with the
//! `source` it came from. The file is compiled into the crate, so the tests need no working
//! directory and no I/O.
//!
//! [`aws`] creates tables, queues and parameters on the moto server `tests/run.sh` starts;
//! [`dev_process`] runs `kefu dev` as a process; [`lambda_events`] are what the functions' handlers are fed; [`pushes`] signs pushes as WeChat does; [`lossy_proxy`] sits in front of moto and loses answers; [`send_rig`] is the send core against the WeChat sandbox, for every reply-path test and
//! bench; [`template`] reads `template.yaml` as CloudFormation's values.
//!
//! This is a test-fixture crate: a fixture that does not load is a broken test setup, so the
//! loaders panic with a message instead of returning errors.

pub mod aws;
pub mod dev_process;
pub mod lambda_events;
pub mod lossy_proxy;
pub mod pushes;
pub mod send_rig;
pub mod template;
pub mod two_apps;

use std::collections::BTreeMap;

use kefu::protocol::OpenId;
use serde::Deserialize;

/// The openid `text`, which a test writes as WeChat would (panics if it is not one).
pub fn openid(text: &str) -> OpenId {
    OpenId::parse(text).unwrap_or_else(|e| panic!("{text:?} is not an openid: {e}"))
}

/// The vectors file, embedded at compile time.
const PUBLIC_VECTORS_JSON: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/fixtures/public-vectors.json"
));

/// One public test vector. Which fields are present depends on [`Vector::kind`]; fields that
/// the file spells `null` or leaves out are `None`.
#[derive(Debug, Clone, Deserialize)]
pub struct Vector {
    /// Stable, unique name of the vector.
    pub id: String,
    /// Where the vector comes from: a documentation URL or `owner/repo:path@commit`.
    pub source: String,
    /// What the vector asserts: `signature`, `decrypt` or `encrypt_with_fixed_random`.
    pub kind: String,
    pub token: String,
    pub encoding_aes_key: Option<String>,
    pub appid: Option<String>,
    pub timestamp: String,
    pub nonce: String,
    /// The URL `signature`: sha1(sort(token, timestamp, nonce)).
    pub signature: Option<String>,
    /// `msg_signature`: sha1(sort(token, timestamp, nonce, encrypted)).
    pub msg_signature: Option<String>,
    /// The `Encrypt` field (or, for WeCom, the encrypted echostr).
    pub encrypted: Option<String>,
    /// The message inside `encrypted`, or the (unsigned) plaintext-mode body.
    pub plaintext: Option<String>,
    /// The 16 random ASCII characters an `encrypt_with_fixed_random` vector seals with.
    pub random16: Option<String>,
    /// The random prefix a `decrypt` vector's frame starts with.
    pub expected_random16: Option<String>,
    /// The `msg_len` field a `decrypt` vector's frame carries.
    pub expected_msg_len: Option<usize>,
    /// The full plaintext, where the source only asserted parts of it ([`Vector::expected_fields`]).
    pub decrypted_plaintext_observed: Option<String>,
    /// XML elements the source asserts the decrypted message has.
    pub expected_fields: Option<BTreeMap<String, String>>,
    /// The GET verification `echostr`, returned verbatim.
    pub echostr: Option<String>,
    /// The encrypted XML passive reply the source expects.
    pub expected_reply_xml: Option<String>,
    /// The JSON passive reply the source shows.
    pub reply_json: Option<ReplyJson>,
    /// Sender openid from the push URL.
    pub openid: Option<String>,
    /// `encrypt_type` from the push URL.
    pub encrypt_type: Option<String>,
    /// `json` or `xml`.
    pub body_format: Option<String>,
    /// `ToUserName` of the push body.
    pub to_user_name: Option<String>,
    /// Named checks the vector's author ran, each `true` when it passed.
    #[serde(default)]
    pub checks: BTreeMap<String, bool>,
    /// Whether the URL `signature` of an encrypted push is also sha1(sort(token, timestamp, nonce)).
    #[serde(rename = "url_signature_equals_sha1(token,ts,nonce)")]
    pub url_signature_is_plain_sha1: Option<bool>,
    /// What the vector's author measured inside the decrypted frame.
    pub observed: Option<Observed>,
    pub note: Option<String>,
    /// Whether the vector's author reproduced it independently.
    #[serde(default)]
    pub verified: bool,
}

/// The encrypted JSON passive reply `{Encrypt, MsgSignature, TimeStamp, Nonce}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplyJson {
    pub encrypt: String,
    pub msg_signature: String,
    pub time_stamp: u64,
    pub nonce: String,
}

/// Measurements of a decrypted frame `random16 ‖ msg_len ‖ msg ‖ appid ‖ padding`.
#[derive(Debug, Clone, Deserialize)]
pub struct Observed {
    /// Length of the base64-decoded ciphertext.
    pub ciphertext_len: usize,
    /// The PKCS#7 pad value.
    pub pad_byte: usize,
    pub pkcs7_32_ok: bool,
    /// Whether an unpadder limited to AES's 16-byte block would accept the padding.
    pub pkcs7_16_would_accept: bool,
    /// Length of the frame without padding.
    pub full_str_len: usize,
    pub random16: String,
    pub msg_len: usize,
    pub appid_in_plaintext: String,
}

/// Every vector in `fixtures/public-vectors.json`, in file order.
pub fn public_vectors() -> Vec<Vector> {
    serde_json::from_str(PUBLIC_VECTORS_JSON)
        .unwrap_or_else(|e| panic!("fixtures/public-vectors.json does not parse: {e}"))
}

/// The vectors file as untyped JSON, for checks on fields [`Vector`] does not model.
pub fn public_vectors_json() -> serde_json::Value {
    serde_json::from_str(PUBLIC_VECTORS_JSON)
        .unwrap_or_else(|e| panic!("fixtures/public-vectors.json is not JSON: {e}"))
}

/// The vector named `id`. Panics if there is none.
pub fn vector(id: &str) -> Vector {
    public_vectors()
        .into_iter()
        .find(|v| v.id == id)
        .unwrap_or_else(|| panic!("no public vector with id {id:?}"))
}
