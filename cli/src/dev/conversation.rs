//! The chat window's API: what the page asks `kefu dev` for.
//!
//! | route | what |
//! | --- | --- |
//! | `GET /dev/api/info` | that this is `kefu dev`, its push path, where the sandbox's record is |
//! | `GET /dev/api/events?after=N` | what happened after entry `N` (see `timeline.rs`) |
//! | `POST /dev/api/push` | act as WeChat for the user: build, sign and seal a push, hand it to the push path |
//!
//! `kefu push` reads `/dev/api/info` to find the sandbox, whatever the push path.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kefu::protocol::simulate::{self, Header, Signer};
use kefu::protocol::{Format, Mode, OpenId};
use kefu::sample;
use serde::Deserialize;
use serde_json::json;

use super::http::{PushPath, format_name};
use super::timeline::now_millis;
use crate::push_args::MessageArg;

/// What the page and `kefu push` learn about this server.
#[derive(Debug, Clone)]
pub(super) struct Info {
    pub push_path: String,
    /// `/sandbox/messages`, or `None` when replies go to `--wechat-api`.
    pub sandbox: Option<String>,
    pub rules: String,
    pub hold_minutes: u64,
}

#[derive(Debug, Clone)]
struct Api {
    path: PushPath,
    info: Info,
}

pub(super) fn routes(path: PushPath, info: Info) -> axum::Router {
    axum::Router::new()
        .route("/dev/api/info", get(info_route))
        .route("/dev/api/events", get(events))
        .route("/dev/api/push", post(push))
        .with_state(Api { path, info })
}

async fn info_route(State(api): State<Api>) -> Response {
    let credentials = &api.path.receiver.settings().credentials;
    Json(json!({
        "kefu_dev": true,
        "push_path": api.info.push_path,
        "sandbox": api.info.sandbox,
        "appid": credentials.appid,
        "encrypted": credentials.aes_key.is_some(),
        // Refused, as deployed, unless `kefu dev --allow-plaintext`.
        "plaintext_accepted": !api.path.receiver.settings().require_encryption,
        "openid": sample::OPENID,
        "rules": api.info.rules,
        "hold_minutes": api.info.hold_minutes,
    }))
    .into_response()
}

#[derive(Debug, Deserialize)]
struct After {
    #[serde(default)]
    after: u64,
}

async fn events(State(api): State<Api>, Query(after): Query<After>) -> Response {
    Json(json!({
        "now": now_millis(),
        "entries": api.path.timeline.after(after.after),
    }))
    .into_response()
}

/// A push as the page asks for it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PushAsk {
    openid: String,
    #[serde(default = "safe")]
    mode: String,
    #[serde(default = "json_format")]
    format: String,
    message: PageMessage,
}

fn safe() -> String {
    "safe".into()
}

fn json_format() -> String {
    "json".into()
}

/// What the user does in the page.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum PageMessage {
    Text {
        content: String,
    },
    Image {},
    Miniprogrampage {
        #[serde(default)]
        title: Option<String>,
    },
    Link {
        #[serde(default)]
        title: Option<String>,
    },
    Enter {},
    Event {
        name: String,
        #[serde(default)]
        fields: BTreeMap<String, String>,
    },
}

impl PageMessage {
    fn into_arg(self) -> MessageArg {
        match self {
            Self::Text { content } => MessageArg::Text { content },
            Self::Image {} => MessageArg::Image {
                pic_url: "https://example.com/photo.jpg".into(),
                media_id: "sample_media_id".into(),
            },
            Self::Miniprogrampage { title } => MessageArg::Miniprogrampage {
                title: title.unwrap_or_else(|| "商品详情".into()),
                page_path: "pages/index/index".into(),
                thumb_url: "https://example.com/thumb.jpg".into(),
                thumb_media_id: "sample_thumb_media_id".into(),
            },
            Self::Link { title } => MessageArg::Link {
                title: title.unwrap_or_else(|| "示例链接".into()),
                description: "链接描述".into(),
                url: "https://example.com/article".into(),
            },
            Self::Enter {} => MessageArg::Enter {
                session_from: "kefu-dev-page".into(),
            },
            Self::Event { name, fields } => MessageArg::Event {
                name,
                fields: fields.into_iter().collect(),
            },
        }
    }
}

fn bad_request(reason: impl std::fmt::Display) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": reason.to_string() })),
    )
        .into_response()
}

async fn push(State(api): State<Api>, body: Bytes) -> Response {
    let ask: PushAsk = match serde_json::from_slice(&body) {
        Ok(ask) => ask,
        Err(err) => return bad_request(format!("not a push request: {err}")),
    };
    // The openid the push path takes (it refuses another FromUserName): said here, before a
    // push is built.
    let openid = match OpenId::parse(ask.openid.trim()) {
        Ok(openid) => openid,
        Err(err) => return bad_request(format!("openid: {err}")),
    };
    if let PageMessage::Event { name, .. } = &ask.message
        && name.trim().is_empty()
    {
        return bad_request("the event needs a name");
    }
    let mode = match ask.mode.as_str() {
        "plaintext" => Mode::Plaintext,
        "compatible" => Mode::Compatible,
        "safe" => Mode::Safe,
        other => {
            return bad_request(format!("mode {other:?}: plaintext, compatible or safe"));
        }
    };
    let format = match ask.format.as_str() {
        "xml" => Format::Xml,
        "json" => Format::Json,
        other => return bad_request(format!("format {other:?}: xml or json")),
    };
    let credentials = &api.path.receiver.settings().credentials;
    if mode != Mode::Plaintext && credentials.aes_key.is_none() {
        return bad_request("this deployment has no EncodingAESKey: use plaintext mode");
    }
    let (nonce, random, msg_id) = match randomness() {
        Ok(values) => values,
        Err(err) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"error": err})),
            )
                .into_response();
        }
    };
    let timestamp = now_millis() / 1000;
    let header = Header {
        to_user_name: sample::ORIGINAL_ID.to_owned(),
        from_user_name: openid.to_string(),
        create_time: timestamp,
    };
    let payload = ask.message.into_arg().payload(msg_id, &credentials.appid);
    let plain = simulate::render(&header, &payload, format);
    let signer = Signer {
        token: &credentials.token,
        key: credentials.aes_key.as_ref(),
        appid: &credentials.appid,
    };
    let sealed = match simulate::seal_push(
        &signer,
        &header,
        &plain,
        format,
        mode,
        &timestamp.to_string(),
        &nonce,
        &random,
    ) {
        Ok(sealed) => sealed,
        Err(err) => return bad_request(err),
    };
    let answer = api
        .path
        .deliver(
            "POST",
            sealed.query.to_query_string(),
            &sealed.query,
            sealed.body.as_bytes(),
            Some(&openid),
        )
        .await;
    Json(json!({
        "status": answer.status,
        "answer": answer.body,
        "format": format_name(format),
    }))
    .into_response()
}

/// A nonce, the AES randomness and a MsgId, fresh from the OS.
fn randomness() -> Result<(String, [u8; 16], u64), String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness from the OS: {e}"))?;
    let (head, tail) = bytes.split_at(16);
    let random: [u8; 16] = head.try_into().map_err(|_| "randomness".to_owned())?;
    let (nonce_bytes, id_bytes) = tail.split_at(8);
    let word = |b: &[u8]| -> u64 { b.iter().fold(0, |acc, x| acc << 8 | u64::from(*x)) };
    let nonce = (word(nonce_bytes) % 10_000_000_000).to_string();
    // Positive, below 2^62, like WeChat's ids.
    let msg_id = word(id_bytes) >> 2;
    Ok((nonce, random, msg_id))
}
