//! Pure: a rule's reply message as WeChat's custom/send body. Placeholders in text replies
//! (`{openid}`, `{kf_account}`, `{time}`, … — `rules::template`) are filled from the message
//! answered and the instant it arrived; images are uploaded first (by `delivery`), and this
//! only places the media_id where WeChat expects it.

use crate::protocol::{Event, Message, MessageKind, OpenId};
use crate::rules::calendar::{LocalTime, TimeZone};
use crate::rules::template::{self, Piece, Placeholder};
use crate::rules::{MediaSource, ReplyMessage};
use crate::wechat_types::outbound::{self, Outbound, OutboundContent};

/// What placeholders are filled with: the message answered, and the wall-clock time it arrived
/// in the rule set's zone.
#[derive(Debug, Clone, Copy)]
pub struct Placeholders<'m> {
    pub message: &'m Message,
    pub local: LocalTime,
}

impl<'m> Placeholders<'m> {
    /// `received_at` is ms since the epoch (the job's), `zone` the rule set's.
    pub fn new(message: &'m Message, zone: &TimeZone, received_at: i64) -> Self {
        Self {
            message,
            local: zone.local(received_at),
        }
    }

    fn value(&self, placeholder: Placeholder) -> String {
        let event = match &self.message.kind {
            MessageKind::Event(event) => Some(event),
            _ => None,
        };
        let text = |value: &str| value.to_owned();
        match placeholder {
            Placeholder::Openid => text(self.message.openid().as_str()),
            Placeholder::KfAccount => match event {
                Some(
                    Event::KfCreateSession { kf_account }
                    | Event::KfCloseSession { kf_account, .. },
                ) => text(kf_account),
                Some(Event::KfSwitchSession { to_kf_account, .. }) => text(to_kf_account),
                _ => String::new(),
            },
            Placeholder::FromKfAccount => match event {
                Some(Event::KfSwitchSession {
                    from_kf_account, ..
                }) => text(from_kf_account),
                _ => String::new(),
            },
            Placeholder::ToKfAccount => match event {
                Some(Event::KfSwitchSession { to_kf_account, .. }) => text(to_kf_account),
                _ => String::new(),
            },
            Placeholder::SessionFrom => match event {
                Some(Event::UserEnterTempsession { session_from }) => text(session_from),
                _ => String::new(),
            },
            Placeholder::Content => match &self.message.kind {
                MessageKind::Text { content } => text(content.trim()),
                _ => String::new(),
            },
            Placeholder::Time => self.local.hh_mm(),
            Placeholder::Date => self.local.date.to_string(),
        }
    }
}

/// `message` with the placeholders of a text reply filled in; other messages as they are. A
/// text that fails to parse (never, in a validated set) is sent as written.
pub fn fill(message: &ReplyMessage, placeholders: &Placeholders<'_>) -> ReplyMessage {
    let ReplyMessage::Text { content } = message else {
        return message.clone();
    };
    let Ok(pieces) = template::pieces(content) else {
        return message.clone();
    };
    let content = pieces
        .into_iter()
        .map(|piece| match piece {
            Piece::Literal(text) => text.into_owned(),
            Piece::Placeholder(placeholder) => placeholders.value(placeholder),
        })
        .collect();
    ReplyMessage::Text { content }
}

/// The image `message` needs uploaded before it can be sent, if any.
pub fn image_of(message: &ReplyMessage) -> Option<&MediaSource> {
    match message {
        // Already uploaded: sent as it is.
        ReplyMessage::Image {
            source: MediaSource::MediaId(_),
        }
        | ReplyMessage::MiniProgramPage {
            thumb: MediaSource::MediaId(_),
            ..
        } => None,
        ReplyMessage::Image { source } => Some(source),
        ReplyMessage::MiniProgramPage { thumb, .. } => Some(thumb),
        ReplyMessage::Text { .. } | ReplyMessage::Link { .. } => None,
    }
}

/// The custom/send body of `message` for `openid`. `media_id` is the uploaded image of
/// [`image_of`] (unused by text and link messages).
pub fn render(openid: &OpenId, message: &ReplyMessage, media_id: Option<String>) -> Outbound {
    let given = match message {
        ReplyMessage::Image {
            source: MediaSource::MediaId(id),
        }
        | ReplyMessage::MiniProgramPage {
            thumb: MediaSource::MediaId(id),
            ..
        } => Some(id.clone()),
        _ => None,
    };
    let media_id = media_id.or(given).unwrap_or_default();
    let content = match message {
        ReplyMessage::Text { content } => OutboundContent::Text {
            text: outbound::Text {
                content: content.clone(),
            },
        },
        ReplyMessage::Link {
            title,
            description,
            url,
            thumb_url,
        } => OutboundContent::Link {
            link: outbound::Link {
                title: title.clone(),
                description: description.clone(),
                url: url.clone(),
                thumb_url: thumb_url.clone(),
            },
        },
        ReplyMessage::Image { .. } => OutboundContent::Image {
            image: outbound::Image { media_id },
        },
        ReplyMessage::MiniProgramPage {
            title, pagepath, ..
        } => OutboundContent::MiniProgramPage {
            miniprogrampage: outbound::MiniProgramPage {
                title: title.clone(),
                pagepath: pagepath.clone(),
                thumb_media_id: media_id,
            },
        },
    };
    Outbound {
        touser: openid.as_str().to_owned(),
        content,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn filled(content: &str, push: serde_json::Value, zone: &str, at: i64) -> String {
        let mut fields =
            serde_json::json!({"ToUserName": "gh", "FromUserName": "o-user", "CreateTime": 1});
        if let (Some(base), Some(extra)) = (fields.as_object_mut(), push.as_object()) {
            base.extend(extra.clone());
        }
        let message = Message::from_json(&fields.to_string()).unwrap();
        let zone = TimeZone::parse(zone).unwrap();
        let text = ReplyMessage::Text {
            content: content.into(),
        };
        match fill(&text, &Placeholders::new(&message, &zone, at)) {
            ReplyMessage::Text { content } => content,
            other => panic!("{other:?}"),
        }
    }

    /// 2026-12-05 14:30 UTC.
    const AT: i64 = 1_796_481_000_000;

    #[test]
    fn placeholders_are_filled_from_the_message_and_the_local_time() {
        let create = serde_json::json!({"MsgType": "event", "Event": "kf_create_session", "KfAccount": "alice@kefu"});
        assert_eq!(
            filled(
                "客服 {kf_account} 为你服务（{date} {time}）{{openid}}: {openid}",
                create,
                "Asia/Shanghai",
                AT
            ),
            "客服 alice@kefu 为你服务（2026-12-05 22:30）{openid}: o-user"
        );
        let switch = serde_json::json!({"MsgType": "event", "Event": "kf_switch_session",
            "FromKfAccount": "alice@kefu", "ToKfAccount": "bob@kefu"});
        assert_eq!(
            filled(
                "{from_kf_account} → {to_kf_account} ({kf_account})",
                switch,
                "UTC",
                AT
            ),
            "alice@kefu → bob@kefu (bob@kefu)"
        );
        let enter = serde_json::json!({"MsgType": "event", "Event": "user_enter_tempsession", "SessionFrom": "order-42"});
        assert_eq!(
            filled("from {session_from}{kf_account}", enter, "UTC", AT),
            "from order-42"
        );
        let text = serde_json::json!({"MsgType": "text", "Content": " 人工 ", "MsgId": 1});
        assert_eq!(
            filled("你说「{content}」，现在 {time}", text, "UTC", AT),
            "你说「人工」，现在 14:30"
        );
    }

    #[test]
    fn only_text_is_filled() {
        let link = ReplyMessage::Link {
            title: "{time}".into(),
            description: "{openid}".into(),
            url: "https://example.com/{openid}".into(),
            thumb_url: "https://example.com/t.png".into(),
        };
        let message = Message::from_json(
            r#"{"ToUserName":"gh","FromUserName":"o","CreateTime":1,"MsgType":"text","Content":"x","MsgId":1}"#,
        )
        .unwrap();
        assert_eq!(
            fill(
                &link,
                &Placeholders::new(&message, &TimeZone::shanghai(), AT)
            ),
            link
        );
    }

    #[test]
    fn a_mini_program_card_carries_its_uploaded_thumb() {
        let card = ReplyMessage::MiniProgramPage {
            title: "商品".into(),
            pagepath: "pages/index/index".into(),
            thumb: MediaSource::File("card-thumb.png".into()),
        };
        assert_eq!(
            image_of(&card),
            Some(&MediaSource::File("card-thumb.png".into()))
        );
        assert_eq!(
            serde_json::to_value(render(
                &OpenId::parse("o1").unwrap(),
                &card,
                Some("M1".into())
            ))
            .unwrap(),
            serde_json::json!({"touser": "o1", "msgtype": "miniprogrampage",
                "miniprogrampage": {"title": "商品", "pagepath": "pages/index/index", "thumb_media_id": "M1"}})
        );
    }

    #[test]
    fn text_needs_no_image() {
        let text = ReplyMessage::Text {
            content: "你好".into(),
        };
        assert_eq!(image_of(&text), None);
        assert_eq!(
            serde_json::to_value(render(&OpenId::parse("o1").unwrap(), &text, None)).unwrap(),
            serde_json::json!({"touser": "o1", "msgtype": "text", "text": {"content": "你好"}})
        );
    }
}
