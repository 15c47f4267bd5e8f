//! What a `custom/send` body must look like (protocol doc §6.2), checked field by field as
//! WeChat documents it:
//!
//! ```json
//! {"touser":"OPENID","msgtype":"text","text":{"content":"Hello World"}}
//! {"touser":"OPENID","msgtype":"image","image":{"media_id":"MEDIA_ID"}}
//! {"touser":"OPENID","msgtype":"link","link":{"title":"…","description":"…","url":"…","thumb_url":"…"}}
//! {"touser":"OPENID","msgtype":"miniprogrampage","miniprogrampage":{"title":"…","pagepath":"…","thumb_media_id":"…"}}
//! ```
//!
//! Not JSON, not an object, or a required field missing or not a string: 47001. A `msgtype`
//! outside those four: 40008. Empty text `content`: 44004. Extra fields are ignored, as WeChat
//! does.

use serde_json::Value;

use super::errcode;

/// A well-formed send: who it is for, its type, and the media it refers to (which must exist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Outgoing {
    pub(super) touser: String,
    pub(super) msgtype: String,
    pub(super) media_ids: Vec<String>,
}

/// Checks a `custom/send` body; the error is a WeChat errcode.
pub(super) fn parse_send(body: &Value) -> Result<Outgoing, i64> {
    let touser = string_field(body, "touser")?;
    if touser.is_empty() {
        return Err(errcode::DATA_FORMAT_ERROR);
    }
    let msgtype = string_field(body, "msgtype")?;
    let required: &[&str] = match msgtype {
        "text" => &["content"],
        "image" => &["media_id"],
        "link" => &["title", "description", "url", "thumb_url"],
        "miniprogrampage" => &["title", "pagepath", "thumb_media_id"],
        _ => return Err(errcode::INVALID_MESSAGE_TYPE),
    };
    let object = body.get(msgtype).ok_or(errcode::DATA_FORMAT_ERROR)?;
    for field in required {
        string_field(object, field)?;
    }
    if msgtype == "text" && string_field(object, "content")?.is_empty() {
        return Err(errcode::EMPTY_CONTENT);
    }
    let media_ids = ["media_id", "thumb_media_id"]
        .iter()
        .filter(|field| required.contains(field))
        .map(|field| string_field(object, field).map(str::to_owned))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Outgoing {
        touser: touser.to_owned(),
        msgtype: msgtype.to_owned(),
        media_ids,
    })
}

/// A `custom/typing` body: who, and the command (still unchecked: a bad one is 45072).
pub(super) fn parse_typing(body: &Value) -> Result<(String, String), i64> {
    let touser = string_field(body, "touser")?;
    if touser.is_empty() {
        return Err(errcode::DATA_FORMAT_ERROR);
    }
    let command = body
        .get("command")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Ok((touser.to_owned(), command.to_owned()))
}

fn string_field<'a>(object: &'a Value, field: &str) -> Result<&'a str, i64> {
    object
        .get(field)
        .and_then(Value::as_str)
        .ok_or(errcode::DATA_FORMAT_ERROR)
}
