//! The message types: what a push carries once parsed ([`Message`], [`MessageKind`], [`Event`],
//! [`SubscribeItem`], [`MsgId`]), why parsing fails ([`ParseError`]), and the two body formats
//! ([`Format`]).
//!
//! Both formats use the same PascalCase keys, but WeChat is inconsistent about types, so the
//! parser is liberal: `CreateTime` and `MsgId` may be numbers or strings, `MsgId` is kept as its
//! exact decimal text (it exceeds 2^53), and a subscribe event's `List` may be one object or an
//! array (in XML it sits inside a wrapper element such as `<SubscribeMsgPopupEvent>`).
//!
//! Parsing is one pass into the borrowed fields of `raw.rs` (filled by the XML reader of
//! `xml.rs` or by serde_json), which `read.rs` turns into these types; only an unknown message
//! or event type takes a second, generic pass to keep every raw field.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::openid::{NotAnOpenId, OpenId};

/// A message id: WeChat's 64-bit integer kept as exact decimal text (or an opaque string, as
/// cloud-function delivery sends).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MsgId(pub String);

/// One user message or event pushed to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// The mini program's original id (`gh_…`).
    pub to_user_name: String,
    /// The sender's openid.
    pub from_user_name: OpenId,
    /// Seconds since the epoch, as WeChat stamped it.
    pub create_time: i64,
    /// Present on user messages; events have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_id: Option<MsgId>,
    pub kind: MessageKind,
}

/// What the user sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MessageKind {
    Text {
        content: String,
    },
    Image {
        pic_url: String,
        media_id: String,
    },
    /// A 小程序卡片 the user shared into the conversation.
    #[serde(rename = "miniprogrampage")]
    MiniProgramPage {
        title: String,
        app_id: String,
        page_path: String,
        thumb_url: String,
        thumb_media_id: String,
    },
    Link {
        title: String,
        description: String,
        url: String,
    },
    Event(Event),
    /// A message type this version does not model, with every raw field kept.
    Other {
        msg_type: String,
        fields: BTreeMap<String, String>,
    },
}

/// An event (`MsgType` = `event`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The user opened the conversation from a `<button open-type="contact">`.
    UserEnterTempsession { session_from: String },
    /// An agent took the session (多客服 接入会话): `KfAccount`.
    KfCreateSession { kf_account: String },
    /// The session ended (关闭会话): `KfAccount`, and `CloseType` when WeChat sends one.
    KfCloseSession {
        kf_account: String,
        /// Why it closed, kept as sent. No document kefu's protocol notes cite lists this field
        /// (wechatpy's `KfCloseSessionEvent` reads `KfAccount` only), so it is optional.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        close_type: Option<String>,
    },
    /// Another agent took over (转接会话): `FromKfAccount`, `ToKfAccount`.
    KfSwitchSession {
        from_kf_account: String,
        to_kf_account: String,
    },
    #[serde(rename = "subscribe_msg_popup_event")]
    SubscribeMsgPopup { list: Vec<SubscribeItem> },
    #[serde(rename = "subscribe_msg_change_event")]
    SubscribeMsgChange { list: Vec<SubscribeItem> },
    #[serde(rename = "subscribe_msg_sent_event")]
    SubscribeMsgSent { list: Vec<SubscribeItem> },
    /// An event this version does not model, with every raw field kept.
    Other {
        name: String,
        fields: BTreeMap<String, String>,
    },
}

/// One entry of a subscribe event's `List`; which fields are set depends on the event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscribeItem {
    #[serde(rename = "TemplateId", default)]
    pub template_id: String,
    /// `accept` or `reject` (popup and change events).
    #[serde(
        rename = "SubscribeStatusString",
        default,
        deserialize_with = "opt_text"
    )]
    pub subscribe_status: Option<String>,
    #[serde(rename = "PopupScene", default, deserialize_with = "opt_text")]
    pub popup_scene: Option<String>,
    /// The sent message's id (sent events).
    #[serde(rename = "MsgID", default, deserialize_with = "opt_text")]
    pub msg_id: Option<String>,
    #[serde(rename = "ErrorCode", default, deserialize_with = "opt_text")]
    pub error_code: Option<String>,
    #[serde(rename = "ErrorStatus", default, deserialize_with = "opt_text")]
    pub error_status: Option<String>,
}

/// Why a body could not be read as a message. Messages are safe to log: they describe the
/// shape of the input, never echo a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("empty body")]
    Empty,
    #[error("malformed XML: {0}")]
    Xml(String),
    #[error("malformed JSON: {0}")]
    Json(String),
    #[error("missing field {0}")]
    MissingField(&'static str),
    /// `FromUserName` is not an openid ([`OpenId`]).
    #[error("FromUserName is not an openid: {0}")]
    NotAnOpenId(#[from] NotAnOpenId),
    #[error("field {0} is not an integer")]
    NotAnInteger(&'static str),
    /// An unknown message or event type whose fields exceed [`FIELD_LIMITS`]: kept raw, they
    /// would make a job larger than the queue accepts.
    #[error("unknown {0} type with more fields, nesting or text than kefu keeps")]
    TooComplex(&'static str),
}

/// What kefu keeps of the raw fields of a type it does not model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldLimits {
    /// At most this many fields.
    pub fields: usize,
    /// At most this deep (XML elements below the root).
    pub depth: usize,
    /// At most this many bytes of keys and values together.
    pub bytes: usize,
}

/// The limits: generous for anything WeChat sends (a few fields, one or two levels), and far
/// inside SQS's 256 KB per job.
pub const FIELD_LIMITS: FieldLimits = FieldLimits {
    fields: 64,
    depth: 4,
    bytes: 32 * 1024,
};

impl Message {
    /// The key WeChat recommends for de-duplicating retries: `MsgId` for messages, else
    /// `FromUserName#CreateTime#Event` (events carry no MsgId).
    pub fn dedup_key(&self) -> String {
        match &self.msg_id {
            Some(id) => id.0.clone(),
            None => format!(
                "{}#{}#{}",
                self.from_user_name,
                self.create_time,
                self.kind.type_name()
            ),
        }
    }

    /// The openid of the user.
    pub fn openid(&self) -> &OpenId {
        &self.from_user_name
    }
}

impl MessageKind {
    /// `MsgType` for messages, the `Event` name for events.
    pub fn type_name(&self) -> &str {
        match self {
            Self::Text { .. } => "text",
            Self::Image { .. } => "image",
            Self::MiniProgramPage { .. } => "miniprogrampage",
            Self::Link { .. } => "link",
            Self::Event(event) => event.name(),
            Self::Other { msg_type, .. } => msg_type,
        }
    }
}

impl Event {
    /// The `Event` value WeChat sends.
    pub fn name(&self) -> &str {
        match self {
            Self::UserEnterTempsession { .. } => "user_enter_tempsession",
            Self::KfCreateSession { .. } => "kf_create_session",
            Self::KfCloseSession { .. } => "kf_close_session",
            Self::KfSwitchSession { .. } => "kf_switch_session",
            Self::SubscribeMsgPopup { .. } => "subscribe_msg_popup_event",
            Self::SubscribeMsgChange { .. } => "subscribe_msg_change_event",
            Self::SubscribeMsgSent { .. } => "subscribe_msg_sent_event",
            Self::Other { name, .. } => name,
        }
    }
}

/// The two push body formats (数据格式).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Xml,
    Json,
}

impl Format {
    /// Tells the format from the first non-blank byte: `<` is XML, `{` is JSON.
    pub fn sniff(body: &str) -> Option<Self> {
        match body.trim_start().as_bytes().first() {
            Some(b'<') => Some(Self::Xml),
            Some(b'{') => Some(Self::Json),
            _ => None,
        }
    }
}

/// Accepts a string or a number as text (subscribe list fields vary between the two).
pub(super) fn opt_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Scalar<'de>>::deserialize(d)?
        .as_ref()
        .map(Scalar::to_text))
}

/// An integer that WeChat sends either as a number or as a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Scalar<'a> {
    Unsigned(u64),
    Signed(i64),
    Text(Cow<'a, str>),
}

impl Scalar<'_> {
    pub(super) fn to_i64(&self, field: &'static str) -> Result<i64, ParseError> {
        match *self {
            Self::Unsigned(n) => i64::try_from(n).map_err(|_| ParseError::NotAnInteger(field)),
            Self::Signed(n) => Ok(n),
            Self::Text(ref text) => text
                .trim()
                .parse()
                .map_err(|_| ParseError::NotAnInteger(field)),
        }
    }

    pub(super) fn to_text(&self) -> String {
        match self {
            Self::Unsigned(n) => n.to_string(),
            Self::Signed(n) => n.to_string(),
            Self::Text(text) => text.trim().to_owned(),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visitor<'a> {
            type Value = Scalar<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an integer or a string")
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Scalar::Signed(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Scalar::Unsigned(v))
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Scalar::Text(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_any(Visitor(std::marker::PhantomData))
    }
}
