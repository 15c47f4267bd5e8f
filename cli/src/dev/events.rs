//! kefu's events as `kefu dev` shows them: each one the reply side publishes (to memory here,
//! as it would to the EventBridge bus of `EventBusName`) is printed in the terminal as it comes,
//! and listed in the chat page's events panel.

use kefu::events::{Event, Kind};
use serde_json::Value;
use tokio::sync::broadcast;

use super::console;
use super::timeline::{Level, Timeline, What};

/// Prints every event published from now on, one line each, and puts it on the page's events
/// panel, until the publisher is gone.
pub(super) async fn print(mut events: broadcast::Receiver<Event>, timeline: Timeline) {
    loop {
        match events.recv().await {
            Ok(event) => {
                let text = line(&event);
                console::say(Level::Info, &text);
                let openid = match &event.user {
                    kefu::events::User::OpenId(openid) => Some(openid.to_string()),
                    kefu::events::User::Hash(_) => None,
                };
                timeline.push(
                    openid,
                    What::Event {
                        event: event.kind.name().to_owned(),
                        id: event.id.clone(),
                        text,
                    },
                );
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                console::say(
                    Level::Warn,
                    &format!("event: {missed} not shown (too many at once)"),
                );
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// `event reply.sent o-user: text #0 (id 3f2a9c1e…)`.
fn line(event: &Event) -> String {
    let detail = event.detail();
    let at = |pointer: &str| detail.pointer(pointer).unwrap_or(&Value::Null);
    let text = |pointer: &str| at(pointer).as_str().unwrap_or_default().to_owned();
    let what = match event.kind {
        Kind::MessageReceived => match at("/message/kind/content").as_str() {
            Some(content) => format!("「{}」", short(content)),
            None => match at("/message/kind/event").as_str() {
                Some(name) => format!("event {name}"),
                None => text("/message/kind/type"),
            },
        },
        Kind::ReplySent => format!("{} #{}", text("/msgtype"), at("/n")),
        Kind::ReplySettled => match at("/errcode") {
            Value::Number(code) => format!("{} ({code})", text("/reason")),
            _ => text("/reason"),
        },
        Kind::HandoffStarted => match at("/kf_account").as_str() {
            Some(account) => format!("{} {account}", text("/by")),
            None => format!("rule {}", text("/rule")),
        },
        Kind::HandoffEnded => text("/kf_account"),
        Kind::QuestionUnanswered => {
            format!("「{}」 {}", short(&text("/text")), text("/outcome"))
        }
    };
    let id: String = event.id.chars().take(8).collect();
    format!(
        "event {} {}: {what} (id {id}…)",
        event.kind,
        event.user.shown()
    )
}

/// At most 30 characters of `text`.
fn short(text: &str) -> String {
    let mut out: String = text.chars().take(30).collect();
    if text.chars().count() > 30 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kefu::events::{About, User};
    use kefu::protocol::Message;

    #[test]
    fn a_line_names_the_kind_the_user_and_what_happened() {
        let user = User::OpenId(kefu::protocol::OpenId::parse("o-user").unwrap());
        let about = About {
            appid: "wx1",
            user: &user,
        };
        let message = Message::from_json(
            r#"{"ToUserName":"gh","FromUserName":"o-user","CreateTime":1,"MsgType":"text","Content":"退款多久到账","MsgId":1}"#,
        )
        .expect("a text message");
        let received = line(&about.message_received("push#wx1#1", 0, &message));
        assert!(
            received.starts_with("event message.received o-user: 「退款多久到账」 (id "),
            "{received}"
        );
        let question =
            line(&about.question_unanswered("push#wx1#1", 0, "退款多久到账", "unanswered"));
        assert!(
            question.contains("「退款多久到账」 unanswered"),
            "{question}"
        );
    }
}
