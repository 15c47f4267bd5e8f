//! The XML reader: one quick-xml event loop that fills a `RawPush` from `<xml>`, its one level
//! of fields and the subscribe wrappers' `<List>` items (each element routed by its `Slot`),
//! and the generic walk that keeps every element of a type kefu does not model. Character data is
//! collected by `TextAccumulator`, borrowed from the body unless entity references split it.

use std::borrow::Cow;
use std::collections::BTreeMap;

use quick_xml::events::Event as XmlEvent;

use super::message::Scalar;
use super::message::{FIELD_LIMITS, ParseError, SubscribeItem};
use super::raw::{OneOrMany, RawPush};

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
        b"CloseType" => Slot::Field(|r| &mut r.close_type),
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

/// Reads `<xml>` with one level of fields, plus the subscribe wrappers' `<List>` items.
pub(super) fn read_push(body: &str) -> Result<RawPush<'_>, ParseError> {
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
                    3 if matches!(slot, Slot::ListWrapper) && start.name().as_ref() == b"List" => {
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

/// Every leaf element of `body` as text, for types kefu does not model, keyed by its path below
/// the root (`Parent.Child`).
pub(super) fn all_fields(body: &str) -> Result<BTreeMap<String, String>, ParseError> {
    let mut reader = quick_xml::Reader::from_str(body);
    let mut path: Vec<String> = Vec::new();
    let mut fields = BTreeMap::new();
    let mut text = TextAccumulator::new(body);
    let mut leaf = false;
    let mut bytes = 0usize;
    loop {
        let event = reader.read_event().map_err(xml_error)?;
        match &event {
            XmlEvent::Start(start) => {
                path.push(String::from_utf8_lossy(start.name().as_ref()).into_owned());
                if path.len() > FIELD_LIMITS.depth + 1 {
                    return Err(ParseError::TooComplex("XML"));
                }
                text = TextAccumulator::new(body);
                leaf = true;
            }
            XmlEvent::End(_) => {
                let value = text.take();
                if leaf && path.len() > 1 {
                    let key = path.get(1..).unwrap_or_default().join(".");
                    bytes = bytes.saturating_add(key.len() + value.len());
                    fields.insert(key, value.into_owned());
                    if fields.len() > FIELD_LIMITS.fields || bytes > FIELD_LIMITS.bytes {
                        return Err(ParseError::TooComplex("XML"));
                    }
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
