//! Text and event pushes as WeChat sends them, signed (and sealed) with the documented sample
//! credentials through `kefu::protocol::simulate`, for the tests that post them.

use kefu::protocol::simulate::{self, Header, Payload, Signer, SimulatedPush};
use kefu::protocol::{AesKey, Format, Mode, Token};
use kefu::sample;

/// How a push is framed and signed.
#[derive(Debug, Clone, Copy)]
pub struct Framing<'a> {
    pub mode: Mode,
    pub format: Format,
    /// The URL `timestamp` (seconds), also the message's CreateTime.
    pub timestamp: i64,
    pub nonce: &'a str,
}

/// One app's message-push credentials.
#[derive(Debug, Clone, Copy)]
pub struct AppKeys<'a> {
    pub appid: &'a str,
    pub token: &'a str,
    pub encoding_aes_key: &'a str,
}

/// The documented sample app's.
pub const SAMPLE_APP: AppKeys<'static> = AppKeys {
    appid: sample::APPID,
    token: sample::TOKEN,
    encoding_aes_key: sample::ENCODING_AES_KEY,
};

/// `content` from `openid` as message `msg_id`, framed and signed as `framing` says.
pub fn text_push(openid: &str, content: &str, msg_id: u64, framing: Framing<'_>) -> SimulatedPush {
    app_text_push(SAMPLE_APP, openid, content, msg_id, framing)
}

/// The same, for the app `app`, signed with its credentials.
pub fn app_text_push(
    app: AppKeys<'_>,
    openid: &str,
    content: &str,
    msg_id: u64,
    framing: Framing<'_>,
) -> SimulatedPush {
    let payload = Payload::Text {
        content: content.into(),
        msg_id,
    };
    seal(app, openid, &payload, framing.timestamp, framing)
}

/// The event `event` (with its `fields`) from `openid`, created at `create_time` (seconds),
/// framed and signed as `framing` says, with the sample app's credentials.
pub fn event_push(
    openid: &str,
    event: &str,
    fields: &[(&str, &str)],
    create_time: i64,
    framing: Framing<'_>,
) -> SimulatedPush {
    let payload = Payload::Event {
        event: event.into(),
        fields: fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    };
    seal(SAMPLE_APP, openid, &payload, create_time, framing)
}

/// `payload` from `openid` to `app`, rendered, signed and (unless plaintext) sealed.
fn seal(
    app: AppKeys<'_>,
    openid: &str,
    payload: &Payload,
    create_time: i64,
    framing: Framing<'_>,
) -> SimulatedPush {
    let token = Token::new(app.token);
    let key = AesKey::from_encoding_aes_key(app.encoding_aes_key)
        .expect("a test EncodingAESKey is valid");
    let header = Header {
        to_user_name: sample::ORIGINAL_ID.into(),
        from_user_name: openid.into(),
        create_time,
    };
    let plain = simulate::render(&header, payload, framing.format);
    let signer = Signer {
        token: &token,
        key: (framing.mode != Mode::Plaintext).then_some(&key),
        appid: app.appid,
    };
    simulate::seal_push(
        &signer,
        &header,
        &plain,
        framing.format,
        framing.mode,
        &framing.timestamp.to_string(),
        framing.nonce,
        &[7; 16],
    )
    .expect("a sample push seals")
}

/// Now, in seconds since the epoch: the `timestamp` of a push sent now.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
