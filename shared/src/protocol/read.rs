//! Reading a body, in either format, into the raw fields and then the typed message: its outer
//! shape (`BodyShape`: where `Encrypt` is, whether clear fields sit beside it), `RawPush` from
//! serde_json or the XML reader, the typed `Message` built from it, and the generic field map
//! kept for types kefu does not model.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;

use super::message::Scalar;
use super::message::{Event, FIELD_LIMITS, Format, Message, MessageKind, MsgId, ParseError};
use super::openid::OpenId;
use super::raw::{OneOrMany, RawPush};
use super::xml;

impl Message {
    /// Parses a plaintext XML message (`<xml>…</xml>`).
    pub fn from_xml(body: &str) -> Result<Self, ParseError> {
        RawPush::read(Format::Xml, body)?.to_message(Format::Xml, body)
    }

    /// Parses a plaintext JSON message.
    pub fn from_json(body: &str) -> Result<Self, ParseError> {
        RawPush::read(Format::Json, body)?.to_message(Format::Json, body)
    }
}

/// The outer shape of a push body: where `Encrypt` is, and whether clear fields sit beside it
/// (compatible mode) or not (safe mode). Not to be confused with the AES frame inside `Encrypt`
/// (`aes_frame.rs`).
#[derive(Debug)]
pub(super) struct BodyShape<'a> {
    pub(super) encrypt: Option<Cow<'a, str>>,
    pub(super) has_clear_fields: bool,
    /// Every field of a plaintext XML body: telling its shape meant reading them all, so they
    /// are kept and the message is built without reading the body a second time. `None` for an
    /// encrypted body and for JSON, whose shape is read from three fields only.
    clear: Option<RawPush<'a>>,
}

impl<'a> BodyShape<'a> {
    pub(super) fn read(format: Format, body: &'a str) -> Result<Self, ParseError> {
        match format {
            Format::Xml => {
                let mut raw = xml::read_push(body)?;
                let encrypt = raw.encrypt.take();
                Ok(Self {
                    has_clear_fields: raw.from_user_name.is_some() || raw.msg_type.is_some(),
                    clear: if encrypt.is_none() { Some(raw) } else { None },
                    encrypt,
                })
            }
            Format::Json => {
                // A three-field struct: a safe-mode body is mostly the base64 `Encrypt`, and
                // skipping the full field set here keeps the per-push cost down.
                #[derive(Deserialize)]
                #[serde(rename_all = "PascalCase")]
                struct JsonShape<'a> {
                    #[serde(borrow)]
                    encrypt: Option<Cow<'a, str>>,
                    from_user_name: Option<serde::de::IgnoredAny>,
                    msg_type: Option<serde::de::IgnoredAny>,
                }
                if body.trim().is_empty() {
                    return Err(ParseError::Empty);
                }
                let shape: JsonShape<'a> =
                    serde_json::from_str(body).map_err(|e| ParseError::Json(e.to_string()))?;
                Ok(Self {
                    has_clear_fields: shape.from_user_name.is_some() || shape.msg_type.is_some(),
                    encrypt: shape.encrypt,
                    clear: None,
                })
            }
        }
    }

    /// The message of a body without `Encrypt`: built from the fields already read (XML), or
    /// from a full read of `body`, which must be the body this shape was read from (JSON).
    pub(super) fn clear_message(
        &self,
        format: Format,
        body: &'a str,
    ) -> Result<Message, ParseError> {
        match &self.clear {
            Some(raw) => raw.to_message(format, body),
            None => RawPush::read(format, body)?.to_message(format, body),
        }
    }
}

impl<'a> RawPush<'a> {
    /// Reads every field of `body`, which is in `format`.
    pub(super) fn read(format: Format, body: &'a str) -> Result<Self, ParseError> {
        match format {
            Format::Xml => xml::read_push(body),
            Format::Json => Self::from_json(body),
        }
    }

    fn from_json(body: &'a str) -> Result<Self, ParseError> {
        if body.trim().is_empty() {
            return Err(ParseError::Empty);
        }
        serde_json::from_str(body).map_err(|e| ParseError::Json(e.to_string()))
    }

    /// Builds the typed message (borrowing, so the large raw struct is never moved). `body` is
    /// only read again for an unknown message or event type, to keep all of its fields.
    pub(super) fn to_message(&self, format: Format, body: &str) -> Result<Message, ParseError> {
        let text = |field: &Option<Cow<'_, str>>| field.as_deref().unwrap_or_default().to_owned();
        let to_user_name = self
            .to_user_name
            .as_deref()
            .ok_or(ParseError::MissingField("ToUserName"))?
            .to_owned();
        let from_user_name = OpenId::parse(
            self.from_user_name
                .as_deref()
                .ok_or(ParseError::MissingField("FromUserName"))?,
        )?;
        let create_time = self
            .create_time
            .as_ref()
            .ok_or(ParseError::MissingField("CreateTime"))?
            .to_i64("CreateTime")?;
        let msg_type = self
            .msg_type
            .as_deref()
            .ok_or(ParseError::MissingField("MsgType"))?;
        let msg_id = self
            .msg_id
            .as_ref()
            .map(Scalar::to_text)
            .filter(|id| !id.is_empty())
            .map(MsgId);
        let list = || match &self.list {
            None => Vec::new(),
            Some(OneOrMany::One(item)) => vec![item.clone()],
            Some(OneOrMany::Many(items)) => items.clone(),
        };
        let kind = match msg_type.trim() {
            "text" => MessageKind::Text {
                content: text(&self.content),
            },
            "image" => MessageKind::Image {
                pic_url: text(&self.pic_url),
                media_id: text(&self.media_id),
            },
            "miniprogrampage" => MessageKind::MiniProgramPage {
                title: text(&self.title),
                app_id: text(&self.app_id),
                page_path: text(&self.page_path),
                thumb_url: text(&self.thumb_url),
                thumb_media_id: text(&self.thumb_media_id),
            },
            "link" => MessageKind::Link {
                title: text(&self.title),
                description: text(&self.description),
                url: text(&self.url),
            },
            "event" => {
                let name = self
                    .event
                    .as_deref()
                    .ok_or(ParseError::MissingField("Event"))?;
                MessageKind::Event(match name.trim() {
                    "user_enter_tempsession" => Event::UserEnterTempsession {
                        session_from: text(&self.session_from),
                    },
                    "kf_create_session" => Event::KfCreateSession {
                        kf_account: text(&self.kf_account),
                    },
                    "kf_close_session" => Event::KfCloseSession {
                        kf_account: text(&self.kf_account),
                        close_type: self
                            .close_type
                            .as_deref()
                            .map(str::trim)
                            .filter(|t| !t.is_empty())
                            .map(str::to_owned),
                    },
                    "kf_switch_session" => Event::KfSwitchSession {
                        from_kf_account: text(&self.from_kf_account),
                        to_kf_account: text(&self.to_kf_account),
                    },
                    "subscribe_msg_popup_event" => Event::SubscribeMsgPopup { list: list() },
                    "subscribe_msg_change_event" => Event::SubscribeMsgChange { list: list() },
                    "subscribe_msg_sent_event" => Event::SubscribeMsgSent { list: list() },
                    other => Event::Other {
                        name: other.to_owned(),
                        fields: raw_fields(format, body)?,
                    },
                })
            }
            other => MessageKind::Other {
                msg_type: other.to_owned(),
                fields: raw_fields(format, body)?,
            },
        };
        Ok(Message {
            to_user_name,
            from_user_name,
            create_time,
            msg_id,
            kind,
        })
    }
}

/// Every field of a body as text, for types kefu does not model. Nested XML elements are keyed
/// by their path below the root (`Parent.Child`); nested JSON values keep their JSON text.
fn raw_fields(format: Format, body: &str) -> Result<BTreeMap<String, String>, ParseError> {
    match format {
        Format::Json => {
            let map: BTreeMap<String, serde_json::Value> =
                serde_json::from_str(body).map_err(|e| ParseError::Json(e.to_string()))?;
            if map.len() > FIELD_LIMITS.fields {
                return Err(ParseError::TooComplex("JSON"));
            }
            let fields: BTreeMap<String, String> = map
                .into_iter()
                .map(|(key, value)| match value {
                    serde_json::Value::String(s) => (key, s),
                    other => (key, other.to_string()),
                })
                .collect();
            let bytes: usize = fields.iter().map(|(k, v)| k.len() + v.len()).sum();
            if bytes > FIELD_LIMITS.bytes {
                return Err(ParseError::TooComplex("JSON"));
            }
            Ok(fields)
        }
        Format::Xml => xml::all_fields(body),
    }
}
