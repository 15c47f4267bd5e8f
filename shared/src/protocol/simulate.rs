//! Pushes as WeChat sends them: the plaintext message in XML or JSON, sealed and signed for
//! plaintext, compatible or safe mode. `kefu push`, `kefu event` and the tests build their
//! pushes here, with the same crypto the receiving side uses.

use serde_json::{Map, Value};

use super::aes_frame::{AesKey, CryptoError};
use super::message::Format;
use super::passive::cdata;
use super::push::{Mode, PushQuery};
use super::signature::{Signature, Token};

/// The common header of every push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The mini program's original id (`gh_…`).
    pub to_user_name: String,
    /// The user's openid.
    pub from_user_name: String,
    pub create_time: i64,
}

/// What the simulated user sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payload {
    Text {
        content: String,
        msg_id: u64,
    },
    Image {
        pic_url: String,
        media_id: String,
        msg_id: u64,
    },
    MiniProgramPage {
        title: String,
        app_id: String,
        page_path: String,
        thumb_url: String,
        thumb_media_id: String,
        msg_id: u64,
    },
    Link {
        title: String,
        description: String,
        url: String,
        msg_id: u64,
    },
    /// `MsgType` = `event`, with its extra fields (e.g. `SessionFrom`).
    Event {
        event: String,
        fields: Vec<(String, String)>,
    },
}

impl Payload {
    fn fields(&self) -> (&'static str, Vec<(&str, Field<'_>)>) {
        use Field::{Num, Str};
        match self {
            Self::Text { content, msg_id } => (
                "text",
                vec![("Content", Str(content)), ("MsgId", Num(*msg_id))],
            ),
            Self::Image {
                pic_url,
                media_id,
                msg_id,
            } => (
                "image",
                vec![
                    ("PicUrl", Str(pic_url)),
                    ("MediaId", Str(media_id)),
                    ("MsgId", Num(*msg_id)),
                ],
            ),
            Self::MiniProgramPage {
                title,
                app_id,
                page_path,
                thumb_url,
                thumb_media_id,
                msg_id,
            } => (
                "miniprogrampage",
                vec![
                    ("MsgId", Num(*msg_id)),
                    ("Title", Str(title)),
                    ("AppId", Str(app_id)),
                    ("PagePath", Str(page_path)),
                    ("ThumbUrl", Str(thumb_url)),
                    ("ThumbMediaId", Str(thumb_media_id)),
                ],
            ),
            Self::Link {
                title,
                description,
                url,
                msg_id,
            } => (
                "link",
                vec![
                    ("Title", Str(title)),
                    ("Description", Str(description)),
                    ("Url", Str(url)),
                    ("MsgId", Num(*msg_id)),
                ],
            ),
            Self::Event { event, fields } => {
                let mut all = vec![("Event", Str(event.as_str()))];
                all.extend(fields.iter().map(|(k, v)| (k.as_str(), Str(v.as_str()))));
                ("event", all)
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Field<'a> {
    Str(&'a str),
    Num(u64),
}

/// The plaintext message body, as WeChat renders it in `format`.
pub fn render(header: &Header, payload: &Payload, format: Format) -> String {
    let (msg_type, fields) = payload.fields();
    match format {
        Format::Xml => {
            let mut xml = format!(
                "<xml><ToUserName>{}</ToUserName><FromUserName>{}</FromUserName>\
                 <CreateTime>{}</CreateTime><MsgType>{}</MsgType>",
                cdata(&header.to_user_name),
                cdata(&header.from_user_name),
                header.create_time,
                cdata(msg_type)
            );
            for (name, value) in fields {
                match value {
                    Field::Str(s) => xml.push_str(&format!("<{name}>{}</{name}>", cdata(s))),
                    Field::Num(n) => xml.push_str(&format!("<{name}>{n}</{name}>")),
                }
            }
            xml.push_str("</xml>");
            xml
        }
        Format::Json => {
            let mut map = Map::new();
            map.insert("ToUserName".into(), header.to_user_name.clone().into());
            map.insert("FromUserName".into(), header.from_user_name.clone().into());
            map.insert("CreateTime".into(), header.create_time.into());
            map.insert("MsgType".into(), msg_type.into());
            for (name, value) in fields {
                let value: Value = match value {
                    Field::Str(s) => s.into(),
                    Field::Num(n) => n.into(),
                };
                map.insert(name.into(), value);
            }
            Value::Object(map).to_string()
        }
    }
}

/// What signing and sealing a push needs.
#[derive(Debug, Clone, Copy)]
pub struct Signer<'a> {
    pub token: &'a Token,
    /// Required for compatible and safe mode.
    pub key: Option<&'a AesKey>,
    pub appid: &'a str,
}

/// A push ready to send: its query parameters and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatedPush {
    pub query: PushQuery,
    pub body: String,
}

/// Seals (in compatible and safe mode) and signs a plaintext message as WeChat does.
#[allow(clippy::too_many_arguments)]
pub fn seal_push(
    signer: &Signer<'_>,
    header: &Header,
    plain: &str,
    format: Format,
    mode: Mode,
    timestamp: &str,
    nonce: &str,
    random: &[u8; 16],
) -> Result<SimulatedPush, CryptoError> {
    let mut query = PushQuery {
        signature: Some(Signature::of_url(signer.token, timestamp, nonce).to_hex()),
        timestamp: Some(timestamp.to_owned()),
        nonce: Some(nonce.to_owned()),
        openid: Some(header.from_user_name.clone()),
        ..PushQuery::default()
    };
    if mode == Mode::Plaintext {
        return Ok(SimulatedPush {
            query,
            body: plain.to_owned(),
        });
    }
    // Without a key there is nothing to seal with: the same failure as a malformed key.
    let key = signer.key.ok_or(CryptoError::KeyLength(0))?;
    let encrypt = key.encrypt(signer.appid, plain.as_bytes(), random)?;
    query.encrypt_type = Some("aes".into());
    query.msg_signature =
        Some(Signature::of_message(signer.token, timestamp, nonce, &encrypt).to_hex());
    let body = match (format, mode) {
        (Format::Xml, Mode::Safe) => format!(
            "<xml><ToUserName>{}</ToUserName><Encrypt>{}</Encrypt></xml>",
            cdata(&header.to_user_name),
            cdata(&encrypt)
        ),
        (Format::Xml, _) => match plain.rfind("</xml>") {
            Some(end) => format!(
                "{}<Encrypt>{}</Encrypt></xml>",
                plain.get(..end).unwrap_or_default(),
                cdata(&encrypt)
            ),
            None => plain.to_owned(),
        },
        (Format::Json, Mode::Safe) => serde_json::json!({
            "ToUserName": header.to_user_name,
            "Encrypt": encrypt,
        })
        .to_string(),
        (Format::Json, _) => {
            let mut map: Map<String, Value> = serde_json::from_str(plain).unwrap_or_default();
            map.insert("Encrypt".into(), encrypt.into());
            Value::Object(map).to_string()
        }
    };
    Ok(SimulatedPush { query, body })
}

impl PushQuery {
    /// The URL query string, percent-encoded, in WeChat's parameter order.
    pub fn to_query_string(&self) -> String {
        self.pairs()
            .iter()
            .map(|(name, value)| format!("{name}={}", percent_encode(value)))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// The pairs that are set, in WeChat's parameter order.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        [
            ("signature", &self.signature),
            ("timestamp", &self.timestamp),
            ("nonce", &self.nonce),
            ("openid", &self.openid),
            ("encrypt_type", &self.encrypt_type),
            ("msg_signature", &self.msg_signature),
            ("echostr", &self.echostr),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.clone().map(|v| (name, v)))
        .collect()
    }
}

fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
