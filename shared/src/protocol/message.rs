//! Inbound messages and events, parsed from XML or JSON push bodies.
//!
//! Both formats use the same PascalCase keys, but WeChat is inconsistent about types, so the
//! parser is liberal: `CreateTime` and `MsgId` may be numbers or strings, `MsgId` is kept as its
//! exact decimal text (it exceeds 2^53), and a subscribe event's `List` may be one object or an
//! array (in XML it sits inside a wrapper element such as `<SubscribeMsgPopupEvent>`).
//!
//! Parsing is one pass into [`RawPush`], a struct of borrowed fields, shared by the XML reader and
//! serde_json; only an unknown message or event type takes a second, generic pass to keep every
//! raw field. The same `RawPush` carries the `Encrypt` field of compatible and safe mode.

use std::borrow::Cow;
use std::collections::BTreeMap;

use quick_xml::events::Event as XmlEvent;
use serde::{Deserialize, Serialize};

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
    pub from_user_name: String,
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
    UserEnterTempsession {
        session_from: String,
    },
    KfCreateSession {
        kf_account: String,
    },
    KfCloseSession {
        kf_account: String,
    },
    KfSwitchSession {
        from_kf_account: String,
        to_kf_account: String,
    },
    #[serde(rename = "subscribe_msg_popup_event")]
    SubscribeMsgPopup {
        list: Vec<SubscribeItem>,
    },
    #[serde(rename = "subscribe_msg_change_event")]
    SubscribeMsgChange {
        list: Vec<SubscribeItem>,
    },
    #[serde(rename = "subscribe_msg_sent_event")]
    SubscribeMsgSent {
        list: Vec<SubscribeItem>,
    },
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
    #[error("field {0} is not an integer")]
    NotAnInteger(&'static str),
}

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
    pub fn openid(&self) -> &str {
        &self.from_user_name
    }

    /// Parses a plaintext XML message (`<xml>…</xml>`).
    pub fn from_xml(body: &str) -> Result<Self, ParseError> {
        RawPush::from_xml(body)?.to_message(Format::Xml, body)
    }

    /// Parses a plaintext JSON message.
    pub fn from_json(body: &str) -> Result<Self, ParseError> {
        RawPush::from_json(body)?.to_message(Format::Json, body)
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

/// An integer that WeChat sends either as a number or as a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Scalar<'a> {
    Unsigned(u64),
    Signed(i64),
    Text(Cow<'a, str>),
}

impl Scalar<'_> {
    fn to_i64(&self, field: &'static str) -> Result<i64, ParseError> {
        match *self {
            Self::Unsigned(n) => i64::try_from(n).map_err(|_| ParseError::NotAnInteger(field)),
            Self::Signed(n) => Ok(n),
            Self::Text(ref text) => text
                .trim()
                .parse()
                .map_err(|_| ParseError::NotAnInteger(field)),
        }
    }

    fn to_text(&self) -> String {
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

/// Accepts a string or a number as text (subscribe list fields vary between the two).
fn opt_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<Scalar<'de>>::deserialize(d)?
        .as_ref()
        .map(Scalar::to_text))
}

/// `List`: one object or an array of them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(SubscribeItem),
    Many(Vec<SubscribeItem>),
}

/// Every field kefu reads from a push body, borrowed from it where no unescaping is needed.
/// Unknown keys are ignored here and kept by the generic pass for unknown types.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RawPush<'a> {
    #[serde(borrow)]
    pub(crate) to_user_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(crate) from_user_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    create_time: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub(crate) msg_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    msg_id: Option<Scalar<'a>>,
    #[serde(borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pic_url: Option<Cow<'a, str>>,
    #[serde(borrow)]
    media_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    title: Option<Cow<'a, str>>,
    #[serde(borrow)]
    app_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    page_path: Option<Cow<'a, str>>,
    #[serde(borrow)]
    thumb_url: Option<Cow<'a, str>>,
    #[serde(borrow)]
    thumb_media_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    description: Option<Cow<'a, str>>,
    #[serde(borrow)]
    url: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event: Option<Cow<'a, str>>,
    #[serde(borrow)]
    session_from: Option<Cow<'a, str>>,
    #[serde(borrow)]
    kf_account: Option<Cow<'a, str>>,
    #[serde(borrow)]
    from_kf_account: Option<Cow<'a, str>>,
    #[serde(borrow)]
    to_kf_account: Option<Cow<'a, str>>,
    list: Option<OneOrMany>,
    /// The AES envelope of compatible and safe mode.
    #[serde(borrow)]
    pub(crate) encrypt: Option<Cow<'a, str>>,
}

/// The outer layer of a push: where `Encrypt` is, and whether clear fields sit beside it
/// (compatible mode) or not (safe mode).
#[derive(Debug)]
pub(crate) struct Envelope<'a> {
    pub(crate) encrypt: Option<Cow<'a, str>>,
    pub(crate) has_clear_fields: bool,
}

impl<'a> Envelope<'a> {
    pub(crate) fn read(format: Format, body: &'a str) -> Result<Self, ParseError> {
        match format {
            Format::Xml => {
                let raw = RawPush::from_xml(body)?;
                Ok(Self {
                    has_clear_fields: raw.from_user_name.is_some() || raw.msg_type.is_some(),
                    encrypt: raw.encrypt,
                })
            }
            Format::Json => {
                // A three-field struct: a safe-mode body is mostly the base64 `Encrypt`, and
                // skipping the full field set here keeps the per-push cost down.
                #[derive(Deserialize)]
                #[serde(rename_all = "PascalCase")]
                struct JsonEnvelope<'a> {
                    #[serde(borrow)]
                    encrypt: Option<Cow<'a, str>>,
                    from_user_name: Option<serde::de::IgnoredAny>,
                    msg_type: Option<serde::de::IgnoredAny>,
                }
                if body.trim().is_empty() {
                    return Err(ParseError::Empty);
                }
                let envelope: JsonEnvelope<'a> =
                    serde_json::from_str(body).map_err(|e| ParseError::Json(e.to_string()))?;
                Ok(Self {
                    has_clear_fields: envelope.from_user_name.is_some()
                        || envelope.msg_type.is_some(),
                    encrypt: envelope.encrypt,
                })
            }
        }
    }
}

/// Which `RawPush` field an XML element fills.
#[derive(Clone, Copy)]
enum Slot<'a> {
    Field(for<'r> fn(&'r mut RawPush<'a>) -> &'r mut Option<Cow<'a, str>>),
    CreateTime,
    MsgId,
    /// A subscribe event wrapper whose `<List>` children become items.
    ListWrapper,
    /// Anything else: read past it.
    Ignored,
}

fn top_level_slot<'a>(name: &[u8]) -> Slot<'a> {
    match name {
        b"ToUserName" => Slot::Field(|r| &mut r.to_user_name),
        b"FromUserName" => Slot::Field(|r| &mut r.from_user_name),
        b"CreateTime" => Slot::CreateTime,
        b"MsgType" => Slot::Field(|r| &mut r.msg_type),
        b"MsgId" => Slot::MsgId,
        b"Content" => Slot::Field(|r| &mut r.content),
        b"PicUrl" => Slot::Field(|r| &mut r.pic_url),
        b"MediaId" => Slot::Field(|r| &mut r.media_id),
        b"Title" => Slot::Field(|r| &mut r.title),
        b"AppId" => Slot::Field(|r| &mut r.app_id),
        b"PagePath" => Slot::Field(|r| &mut r.page_path),
        b"ThumbUrl" => Slot::Field(|r| &mut r.thumb_url),
        b"ThumbMediaId" => Slot::Field(|r| &mut r.thumb_media_id),
        b"Description" => Slot::Field(|r| &mut r.description),
        b"Url" => Slot::Field(|r| &mut r.url),
        b"Event" => Slot::Field(|r| &mut r.event),
        b"SessionFrom" => Slot::Field(|r| &mut r.session_from),
        b"KfAccount" => Slot::Field(|r| &mut r.kf_account),
        b"FromKfAccount" => Slot::Field(|r| &mut r.from_kf_account),
        b"ToKfAccount" => Slot::Field(|r| &mut r.to_kf_account),
        b"Encrypt" => Slot::Field(|r| &mut r.encrypt),
        b"SubscribeMsgPopupEvent" | b"SubscribeMsgChangeEvent" | b"SubscribeMsgSentEvent" => {
            Slot::ListWrapper
        }
        _ => Slot::Ignored,
    }
}

fn set_item_field(item: &mut SubscribeItem, name: &[u8], value: Cow<'_, str>) {
    let target = match name {
        b"TemplateId" => {
            item.template_id = value.into_owned();
            return;
        }
        b"SubscribeStatusString" => &mut item.subscribe_status,
        b"PopupScene" => &mut item.popup_scene,
        b"MsgID" => &mut item.msg_id,
        b"ErrorCode" => &mut item.error_code,
        b"ErrorStatus" => &mut item.error_status,
        _ => return,
    };
    *target = Some(value.into_owned());
}

/// Collects the character data of one element: borrowed from the body when it is a single text
/// or CDATA run, owned when entity references split it into pieces.
struct TextAccumulator<'a> {
    /// The body being read; the reader's slices point into it.
    source: &'a str,
    text: Option<Cow<'a, str>>,
}

impl<'a> TextAccumulator<'a> {
    fn new(source: &'a str) -> Self {
        Self { source, text: None }
    }

    fn push(&mut self, piece: Cow<'a, str>) {
        self.text = Some(match self.text.take() {
            None => piece,
            Some(mut text) => {
                text.to_mut().push_str(&piece);
                text
            }
        });
    }

    fn push_event(&mut self, event: &XmlEvent<'a>) -> Result<(), ParseError> {
        match event {
            XmlEvent::Text(t) => self.push(self.as_str(t.clone().into_inner())?),
            XmlEvent::CData(c) => self.push(self.as_str(c.clone().into_inner())?),
            XmlEvent::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref().map_err(xml_error)?
                } else {
                    None
                };
                match resolved {
                    Some(ch) => self.push(Cow::Owned(ch.to_string())),
                    None => {
                        let name = std::str::from_utf8(r).map_err(xml_error)?;
                        let value = quick_xml::escape::resolve_predefined_entity(name)
                            .ok_or_else(|| ParseError::Xml(format!("unknown entity &{name};")))?;
                        self.push(Cow::Borrowed(value));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The reader hands out bytes, but they are a slice of `source`, which is already UTF-8:
    /// re-slicing the `&str` (an O(1) boundary check) saves validating every field again.
    fn as_str(&self, bytes: Cow<'a, [u8]>) -> Result<Cow<'a, str>, ParseError> {
        match bytes {
            Cow::Borrowed(b) => {
                let within_source = (b.as_ptr() as usize)
                    .checked_sub(self.source.as_ptr() as usize)
                    .and_then(|start| self.source.get(start..start.checked_add(b.len())?));
                match within_source {
                    Some(text) => Ok(Cow::Borrowed(text)),
                    None => std::str::from_utf8(b).map(Cow::Borrowed).map_err(xml_error),
                }
            }
            Cow::Owned(b) => String::from_utf8(b).map(Cow::Owned).map_err(xml_error),
        }
    }

    fn take(&mut self) -> Cow<'a, str> {
        self.text.take().unwrap_or(Cow::Borrowed(""))
    }
}

fn xml_error(e: impl std::fmt::Display) -> ParseError {
    ParseError::Xml(e.to_string())
}

impl<'a> RawPush<'a> {
    pub(crate) fn from_json(body: &'a str) -> Result<Self, ParseError> {
        if body.trim().is_empty() {
            return Err(ParseError::Empty);
        }
        serde_json::from_str(body).map_err(|e| ParseError::Json(e.to_string()))
    }

    /// Reads `<xml>` with one level of fields, plus the subscribe wrappers' `<List>` items.
    pub(crate) fn from_xml(body: &'a str) -> Result<Self, ParseError> {
        if body.trim().is_empty() {
            return Err(ParseError::Empty);
        }
        let mut reader = quick_xml::Reader::from_str(body);
        let mut raw = RawPush::default();
        let mut depth = 0usize;
        let mut slot = Slot::Ignored;
        let mut text = TextAccumulator::new(body);
        let mut items: Vec<SubscribeItem> = Vec::new();
        let mut saw_root = false;
        loop {
            let event = reader.read_event().map_err(xml_error)?;
            match &event {
                XmlEvent::Start(start) => {
                    depth += 1;
                    text = TextAccumulator::new(body);
                    match depth {
                        1 if saw_root => {
                            return Err(ParseError::Xml("more than one root element".into()));
                        }
                        1 => saw_root = true,
                        2 => slot = top_level_slot(start.name().as_ref()),
                        3 if matches!(slot, Slot::ListWrapper)
                            && start.name().as_ref() == b"List" =>
                        {
                            items.push(SubscribeItem::default());
                        }
                        _ => {}
                    }
                }
                XmlEvent::Empty(start) if depth == 1 => {
                    // `<Content/>`: present but empty.
                    if let Slot::Field(field) = top_level_slot(start.name().as_ref()) {
                        *field(&mut raw) = Some(Cow::Borrowed(""));
                    }
                }
                XmlEvent::End(end) => {
                    let value = text.take();
                    match depth {
                        2 => match slot {
                            Slot::Field(field) => *field(&mut raw) = Some(value),
                            Slot::CreateTime => raw.create_time = Some(Scalar::Text(value)),
                            Slot::MsgId => raw.msg_id = Some(Scalar::Text(value)),
                            Slot::ListWrapper | Slot::Ignored => {}
                        },
                        4 if matches!(slot, Slot::ListWrapper) => {
                            if let Some(item) = items.last_mut() {
                                set_item_field(item, end.name().as_ref(), value);
                            }
                        }
                        _ => {}
                    }
                    depth = depth.saturating_sub(1);
                    if depth == 1 {
                        slot = Slot::Ignored;
                    }
                }
                XmlEvent::Text(_) | XmlEvent::CData(_) | XmlEvent::GeneralRef(_) => {
                    if depth == 0 {
                        if matches!(&event, XmlEvent::Text(t) if !t.iter().all(u8::is_ascii_whitespace))
                        {
                            return Err(ParseError::Xml("text outside the root element".into()));
                        }
                    } else {
                        text.push_event(&event)?;
                    }
                }
                XmlEvent::Eof => break,
                _ => {}
            }
        }
        if !saw_root {
            return Err(ParseError::Xml("no root element".into()));
        }
        if depth != 0 {
            return Err(ParseError::Xml("unclosed element".into()));
        }
        if !items.is_empty() {
            raw.list = Some(OneOrMany::Many(items));
        }
        Ok(raw)
    }

    /// Builds the typed message (borrowing, so the large raw struct is never moved). `body` is only read again for an unknown message or event type,
    /// to keep all of its fields.
    pub(crate) fn to_message(&self, format: Format, body: &str) -> Result<Message, ParseError> {
        let text = |field: &Option<Cow<'_, str>>| field.as_deref().unwrap_or_default().to_owned();
        let to_user_name = self
            .to_user_name
            .as_deref()
            .ok_or(ParseError::MissingField("ToUserName"))?
            .to_owned();
        let from_user_name = self
            .from_user_name
            .as_deref()
            .ok_or(ParseError::MissingField("FromUserName"))?
            .to_owned();
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
            Ok(map
                .into_iter()
                .map(|(key, value)| match value {
                    serde_json::Value::String(s) => (key, s),
                    other => (key, other.to_string()),
                })
                .collect())
        }
        Format::Xml => {
            let mut reader = quick_xml::Reader::from_str(body);
            let mut path: Vec<String> = Vec::new();
            let mut fields = BTreeMap::new();
            let mut text = TextAccumulator::new(body);
            let mut leaf = false;
            loop {
                let event = reader.read_event().map_err(xml_error)?;
                match &event {
                    XmlEvent::Start(start) => {
                        path.push(String::from_utf8_lossy(start.name().as_ref()).into_owned());
                        text = TextAccumulator::new(body);
                        leaf = true;
                    }
                    XmlEvent::End(_) => {
                        let value = text.take();
                        if leaf && path.len() > 1 {
                            let key = path.get(1..).unwrap_or_default().join(".");
                            fields.insert(key, value.into_owned());
                        }
                        path.pop();
                        leaf = false;
                    }
                    XmlEvent::Text(_) | XmlEvent::CData(_) | XmlEvent::GeneralRef(_) => {
                        text.push_event(&event)?;
                    }
                    XmlEvent::Eof => break,
                    _ => {}
                }
            }
            Ok(fields)
        }
    }
}
