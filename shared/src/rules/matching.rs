//! Which rule answers a message, and what that means for the push: hand-off, a reply job, or
//! nothing at all.

use super::model::{Action, Match, Rule, RuleSet};
use crate::protocol::{Message, MessageKind};

/// What `receive` does with a push, decided from the rules.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Route<'r> {
    /// Answer with `transfer_customer_service`.
    Transfer { rule: &'r str },
    /// Enqueue a job for the `reply` function; `rule` is `None` for the default action.
    Enqueue { rule: Option<&'r str> },
    /// Acknowledge and do nothing (an event no rule names, or nothing to say).
    Ignore,
}

impl Match {
    pub fn matches(&self, message: &Message) -> bool {
        let text = match &message.kind {
            MessageKind::Text { content } => Some(content.trim()),
            _ => None,
        };
        let event = match &message.kind {
            MessageKind::Event(event) => Some(event.name()),
            _ => None,
        };
        match self {
            Self::Exact(words) => text.is_some_and(|t| words.iter().any(|w| w.trim() == t)),
            Self::Prefix(words) => text.is_some_and(|t| words.iter().any(|w| t.starts_with(w))),
            Self::Contains(words) => text.is_some_and(|t| words.iter().any(|w| t.contains(w))),
            Self::Regex(pattern) => text.is_some_and(|t| pattern.0.is_match(t)),
            Self::MsgType(types) => {
                let msg_type = if event.is_some() {
                    "event"
                } else {
                    message.kind.type_name()
                };
                types.iter().any(|t| t == msg_type)
            }
            Self::Event(names) => event.is_some_and(|e| names.iter().any(|n| n == e)),
        }
    }
}

impl RuleSet {
    /// The first rule that matches `message`.
    pub fn first_match(&self, message: &Message) -> Option<&Rule> {
        self.rules.iter().find(|rule| rule.when.matches(message))
    }

    /// The action for `message`: the first matching rule's, else the default for user
    /// messages. Events get only what a rule names explicitly.
    pub fn action_for(&self, message: &Message) -> Option<(Option<&str>, &Action)> {
        if let Some(rule) = self.first_match(message) {
            return Some((Some(rule.name.as_str()), &rule.action));
        }
        if matches!(message.kind, MessageKind::Event(_)) {
            return None;
        }
        self.default.as_ref().map(|action| (None, action))
    }

    /// What `receive` should do with `message`. A transfer never applies to an event: WeChat
    /// documents that only user messages may be handed to an agent.
    pub fn route(&self, message: &Message) -> Route<'_> {
        match self.action_for(message) {
            Some((Some(rule), Action::Transfer)) if !is_event(message) => Route::Transfer { rule },
            Some((None, Action::Transfer)) if !is_event(message) => {
                Route::Transfer { rule: "default" }
            }
            Some((rule, Action::Send(_))) => Route::Enqueue { rule },
            _ => Route::Ignore,
        }
    }
}

fn is_event(message: &Message) -> bool {
    matches!(message.kind, MessageKind::Event(_))
}
