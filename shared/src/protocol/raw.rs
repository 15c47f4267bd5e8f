//! The lenient raw-field layer shared by both formats: `RawPush`, every field kefu reads from
//! a push body, borrowed from it where no unescaping is needed (numbers-or-strings kept as
//! `Scalar`, one-or-many lists as `OneOrMany`). serde_json fills it directly; `xml.rs` fills it
//! from XML; `read.rs` turns it into a typed `Message`.

use std::borrow::Cow;

use serde::Deserialize;

use super::message::{Scalar, SubscribeItem};

/// `List`: one object or an array of them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum OneOrMany {
    One(SubscribeItem),
    Many(Vec<SubscribeItem>),
}

/// Every field kefu reads from a push body, borrowed from it where no unescaping is needed.
/// Unknown keys are ignored here and kept by the generic pass for unknown types. serde_json fills
/// it through `Deserialize`, the XML reader (`xml.rs`) field by field.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RawPush<'a> {
    #[serde(borrow)]
    pub(super) to_user_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) from_user_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) create_time: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub(super) msg_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) msg_id: Option<Scalar<'a>>,
    #[serde(borrow)]
    pub(super) content: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) pic_url: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) media_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) title: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) app_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) page_path: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) thumb_url: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) thumb_media_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) description: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) url: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) event: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) session_from: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) kf_account: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) close_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) from_kf_account: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(super) to_kf_account: Option<Cow<'a, str>>,
    pub(super) list: Option<OneOrMany>,
    /// The AES frame of compatible and safe mode (`aes_frame.rs`).
    #[serde(borrow)]
    pub(super) encrypt: Option<Cow<'a, str>>,
}
