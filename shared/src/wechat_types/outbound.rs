//! custom/send bodies, exactly as WeChat documents them:
//!
//! ```json
//! {"touser":"OPENID","msgtype":"text","text":{"content":"Hello World"}}
//! {"touser":"OPENID","msgtype":"image","image":{"media_id":"MEDIA_ID"}}
//! {"touser":"OPENID","msgtype":"link","link":{"title":"…","description":"…","url":"URL","thumb_url":"URL"}}
//! {"touser":"OPENID","msgtype":"miniprogrampage","miniprogrampage":{"title":"…","pagepath":"…","thumb_media_id":"ID"}}
//! ```

use serde::{Deserialize, Serialize};

/// One message to one user, ready for custom/send (images already uploaded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outbound {
    pub touser: String,
    #[serde(flatten)]
    pub content: OutboundContent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "msgtype", rename_all = "lowercase")]
pub enum OutboundContent {
    Text {
        text: Text,
    },
    Image {
        image: Image,
    },
    Link {
        link: Link,
    },
    #[serde(rename = "miniprogrampage")]
    MiniProgramPage {
        miniprogrampage: MiniProgramPage,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text {
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    pub media_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub title: String,
    pub description: String,
    pub url: String,
    pub thumb_url: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MiniProgramPage {
    pub title: String,
    pub pagepath: String,
    pub thumb_media_id: String,
}

impl OutboundContent {
    pub fn msgtype(&self) -> &'static str {
        match self {
            Self::Text { .. } => "text",
            Self::Image { .. } => "image",
            Self::Link { .. } => "link",
            Self::MiniProgramPage { .. } => "miniprogrampage",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_the_documented_json() {
        let text = Outbound {
            touser: "OPENID".into(),
            content: OutboundContent::Text {
                text: Text {
                    content: "Hello World".into(),
                },
            },
        };
        assert_eq!(
            serde_json::to_value(&text).unwrap(),
            serde_json::json!({"touser":"OPENID","msgtype":"text","text":{"content":"Hello World"}})
        );
        let page = Outbound {
            touser: "OPENID".into(),
            content: OutboundContent::MiniProgramPage {
                miniprogrampage: MiniProgramPage {
                    title: "title".into(),
                    pagepath: "pages/index/index?foo=bar".into(),
                    thumb_media_id: "THUMB_MEDIA_ID".into(),
                },
            },
        };
        assert_eq!(
            serde_json::to_value(&page).unwrap(),
            serde_json::json!({"touser":"OPENID","msgtype":"miniprogrampage","miniprogrampage":{"title":"title","pagepath":"pages/index/index?foo=bar","thumb_media_id":"THUMB_MEDIA_ID"}})
        );
    }
}
