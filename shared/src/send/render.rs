//! Pure: a rule's reply message as WeChat's custom/send body. Images are uploaded first (by
//! `delivery`); this only places the media_id where WeChat expects it.

use crate::rules::{MediaSource, ReplyMessage};
use crate::wechat_types::outbound::{self, Outbound, OutboundContent};

/// The image `message` needs uploaded before it can be sent, if any.
pub fn image_of(message: &ReplyMessage) -> Option<&MediaSource> {
    match message {
        ReplyMessage::Image { source } => Some(source),
        ReplyMessage::MiniProgramPage { thumb, .. } => Some(thumb),
        ReplyMessage::Text { .. } | ReplyMessage::Link { .. } => None,
    }
}

/// The custom/send body of `message` for `openid`. `media_id` is the uploaded image of
/// [`image_of`] (unused by text and link messages).
pub fn render(openid: &str, message: &ReplyMessage, media_id: Option<String>) -> Outbound {
    let media_id = media_id.unwrap_or_default();
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
        touser: openid.to_owned(),
        content,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            serde_json::to_value(render("o1", &card, Some("M1".into()))).unwrap(),
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
            serde_json::to_value(render("o1", &text, None)).unwrap(),
            serde_json::json!({"touser": "o1", "msgtype": "text", "text": {"content": "你好"}})
        );
    }
}
