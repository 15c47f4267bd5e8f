//! Why a message gets the answer it gets: the rule that matched and the keyword, type or event
//! that made it match, in words — for `kefu dev`'s inspector and `kefu rules test`. It uses the
//! same matching as the functions (`matching.rs`), so what it says is what they do.

use serde::Serialize;

use super::matching::Route;
use super::model::{Action, Match, RuleSet};
use crate::protocol::{Message, MessageKind};

/// The rule that answers a message, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The matching rule's name; `None` when the default answers or nothing does.
    pub rule: Option<String>,
    /// Its position in `rules` (0-based).
    pub index: Option<usize>,
    /// Why, in words: `exact "人工"`, `msg_type image`, `no rule matched: the default`, …
    pub why: String,
    /// What `receive` does with the push: `transfer`, `reply` or `nothing`.
    pub outcome: &'static str,
}

impl Match {
    /// The keyword, pattern, type or event of this match that `message` satisfies, if any.
    pub fn reason(&self, message: &Message) -> Option<String> {
        let text = match &message.kind {
            MessageKind::Text { content } => Some(content.trim()),
            _ => None,
        };
        match self {
            Self::Exact(words) => text
                .and_then(|t| words.iter().find(|w| w.trim() == t))
                .map(|w| format!("exact {w:?}")),
            Self::Prefix(words) => text
                .and_then(|t| words.iter().find(|w| t.starts_with(w)))
                .map(|w| format!("prefix {w:?}")),
            Self::Contains(words) => text
                .and_then(|t| words.iter().find(|w| t.contains(w)))
                .map(|w| format!("contains {w:?}")),
            Self::Regex(pattern) => text
                .filter(|t| pattern.0.is_match(t))
                .map(|_| format!("regex {:?}", pattern.0.as_str())),
            Self::MsgType(types) => {
                let msg_type = match message.kind {
                    MessageKind::Event(_) => "event",
                    ref kind => kind.type_name(),
                };
                types
                    .iter()
                    .find(|t| *t == msg_type)
                    .map(|t| format!("msg_type {t}"))
            }
            Self::Event(names) => match &message.kind {
                MessageKind::Event(event) => names
                    .iter()
                    .find(|n| *n == event.name())
                    .map(|n| format!("event {n}")),
                _ => None,
            },
        }
    }
}

impl RuleSet {
    /// Which rule answers `message`, why, and what `receive` does with it.
    pub fn explain(&self, message: &Message) -> Explanation {
        let is_event = matches!(message.kind, MessageKind::Event(_));
        let outcome = match self.route(message) {
            Route::Transfer { .. } => "transfer",
            Route::Enqueue { .. } => "reply",
            Route::Ignore => "nothing",
        };
        let matched = self
            .rules
            .iter()
            .enumerate()
            .find(|(_, rule)| rule.when.matches(message));
        let Some((index, rule)) = matched else {
            let why = match (is_event, &self.default) {
                (true, _) => format!(
                    "no rule names event {}: acknowledged, nothing sent (the default answers user messages only)",
                    message.kind.type_name()
                ),
                (false, Some(Action::Transfer)) => "no rule matched: the default transfers".into(),
                (false, Some(Action::Send(_))) => "no rule matched: the default reply".into(),
                (false, None) => "no rule matched and there is no default: nothing sent".into(),
            };
            return Explanation {
                rule: None,
                index: None,
                why,
                outcome,
            };
        };
        let mut why = rule
            .when
            .reason(message)
            .unwrap_or_else(|| "matched".to_owned());
        if is_event && rule.action == Action::Transfer {
            why.push_str(": transfer never applies to events, nothing happens");
        }
        Explanation {
            rule: Some(rule.name.clone()),
            index: Some(index),
            why,
            outcome,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn message(json: serde_json::Value) -> Message {
        let mut fields = serde_json::json!({"ToUserName": "gh", "FromUserName": "o1", "CreateTime": 1, "MsgId": 1});
        if let (Some(base), Some(extra)) = (fields.as_object_mut(), json.as_object()) {
            base.extend(extra.clone());
        }
        Message::from_json(&fields.to_string()).unwrap()
    }

    fn text(content: &str) -> Message {
        message(serde_json::json!({"MsgType": "text", "Content": content}))
    }

    #[test]
    fn the_sample_rules_explain_themselves() {
        let rules = crate::sample::rules();
        let human = rules.explain(&text(" 人工 "));
        assert_eq!(human.rule.as_deref(), Some("human"));
        assert_eq!(human.index, Some(0));
        assert_eq!(human.why, "exact \"人工\"");
        assert_eq!(human.outcome, "transfer");

        let hours = rules.explain(&text("明天几点开门"));
        assert_eq!(
            (hours.rule.as_deref(), hours.why.as_str(), hours.outcome),
            (Some("hours"), "contains \"几点\"", "reply")
        );

        let other = rules.explain(&text("随便"));
        assert_eq!(other.rule, None);
        assert_eq!(other.why, "no rule matched: the default reply");

        let event = rules.explain(&message(
            serde_json::json!({"MsgType": "event", "Event": "kf_close_session", "KfAccount": "a"}),
        ));
        assert_eq!(event.outcome, "nothing");
        assert!(
            event.why.contains("no rule names event kf_close_session"),
            "{}",
            event.why
        );

        let enter = rules.explain(&message(
            serde_json::json!({"MsgType": "event", "Event": "user_enter_tempsession", "SessionFrom": "x"}),
        ));
        assert_eq!(enter.why, "event user_enter_tempsession");
    }

    #[test]
    fn a_transfer_rule_hit_by_an_event_says_that_nothing_happens() {
        let rules = RuleSet::from_json(
            r#"{"rules":[{"name":"all-events","match":{"msg_type":"event"},"action":"transfer"}]}"#,
        )
        .unwrap();
        let explained = rules.explain(&message(
            serde_json::json!({"MsgType": "event", "Event": "user_enter_tempsession", "SessionFrom": "x"}),
        ));
        assert_eq!(explained.outcome, "nothing");
        assert!(explained.why.contains("transfer never applies to events"));
    }

    /// What the README says of matching: trimmed (full-width spaces too), case-sensitive,
    /// regex-lite (no `\p{…}`, ASCII `\d`), `(?i)` to ignore case.
    #[test]
    fn matching_is_as_documented() {
        let rules = |json: &str| RuleSet::from_json(json).unwrap();
        let exact =
            rules(r#"{"rules":[{"name":"hi","match":{"exact":"Hi"},"action":"transfer"}]}"#);
        assert_eq!(
            exact.explain(&text("\u{3000} Hi \n")).rule.as_deref(),
            Some("hi")
        );
        assert_eq!(exact.explain(&text("hi")).rule, None);
        assert_eq!(exact.explain(&text("Ｈｉ")).rule, None);
        let insensitive =
            rules(r#"{"rules":[{"name":"hi","match":{"regex":"(?i)^hi$"},"action":"transfer"}]}"#);
        assert_eq!(insensitive.explain(&text("HI")).rule.as_deref(), Some("hi"));
        let digits =
            rules(r#"{"rules":[{"name":"n","match":{"regex":"^\\d+$"},"action":"transfer"}]}"#);
        assert_eq!(digits.explain(&text("123")).rule.as_deref(), Some("n"));
        assert_eq!(digits.explain(&text("１２３")).rule, None);
        let han = rules(
            r#"{"rules":[{"name":"han","match":{"regex":"^[一-龥]+$"},"action":"transfer"}]}"#,
        );
        assert_eq!(han.explain(&text("你好")).rule.as_deref(), Some("han"));
        assert_eq!(han.explain(&text("hi")).rule, None);
        assert!(
            RuleSet::from_json(
                r#"{"rules":[{"name":"han","match":{"regex":"\\p{Han}"},"action":"transfer"}]}"#
            )
            .is_err()
        );
    }

    #[test]
    fn a_schema_key_is_accepted_for_editors() {
        let rules = RuleSet::from_json(
            r#"{"$schema":"./schema.json","rules":[{"name":"hi","match":{"exact":"hi"},"action":"transfer"}]}"#,
        )
        .unwrap();
        assert_eq!(rules.schema.as_deref(), Some("./schema.json"));
        assert!(RuleSet::from_json(r#"{"$schemas":"x","rules":[]}"#).is_err());
    }
}
