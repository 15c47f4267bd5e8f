//! The rule model as it is written in JSON, and its validation.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// WeChat lets a server send at most 5 messages after each user message.
pub const MAX_MESSAGES_PER_REPLY: usize = 5;

/// An ordered list of rules, evaluated top to bottom, and an optional default for user
/// messages no rule matched.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    /// The schema the file follows (`rules/schema.json`), for editors; ignored by kefu.
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    #[serde(default)]
    pub rules: Vec<Rule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Action>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    #[serde(rename = "match")]
    pub when: Match,
    pub action: Action,
}

/// What a rule matches. Text matches (`exact`, `prefix`, `contains`, `regex`) look at a text
/// message's content with surrounding whitespace trimmed (full-width spaces too); they are
/// case-sensitive and compare characters as written (full-width `Ａ` is not `A`). `regex` is
/// the `regex-lite` dialect: no `\p{Han}`-style Unicode classes, `\d` `\w` `\s` are ASCII,
/// `(?i)` ignores case. `msg_type` looks at the message type; `event` at the event name.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Match {
    /// The whole message is one of these keywords.
    Exact(OneOrMany),
    Prefix(OneOrMany),
    Contains(OneOrMany),
    Regex(Pattern),
    /// `text`, `image`, `miniprogrampage`, `link`, …
    MsgType(OneOrMany),
    /// `user_enter_tempsession`, …
    Event(OneOrMany),
}

impl PartialEq for Match {
    fn eq(&self, other: &Self) -> bool {
        serde_json::to_value(self).ok() == serde_json::to_value(other).ok()
    }
}

/// A string or a list of strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn iter(&self) -> impl Iterator<Item = &str> + Clone {
        let slice: &[String] = match self {
            Self::One(one) => std::slice::from_ref(one),
            Self::Many(many) => many,
        };
        slice.iter().map(String::as_str)
    }
}

/// A compiled regular expression that reads and writes as its source text.
#[derive(Debug, Clone)]
pub struct Pattern(pub regex_lite::Regex);

impl JsonSchema for Pattern {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Pattern".into()
    }

    fn json_schema(_generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "regex",
            "description": "A regular expression (the regex-lite dialect of Rust regex syntax: no \\p{…} Unicode classes, \\d \\w \\s are ASCII, (?i) ignores case) matched against the trimmed text; it matches anywhere unless anchored with ^…$."
        })
    }
}

impl Serialize for Pattern {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.as_str())
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let source = String::deserialize(deserializer)?;
        regex_lite::Regex::new(&source)
            .map(Pattern)
            .map_err(|e| serde::de::Error::custom(format!("invalid regex {source:?}: {e}")))
    }
}

/// What to do when a rule matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Hand the user to a human agent (passive `transfer_customer_service`).
    Transfer,
    /// Send these messages (1–5) through custom/send.
    // Written `{"reply": [...]}`: the rules' word for a rule's answer.
    #[serde(rename = "reply")]
    Send(Vec<ReplyMessage>),
}

/// One message sent through custom/send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ReplyMessage {
    Text {
        content: String,
    },
    Image {
        source: MediaSource,
    },
    Link {
        title: String,
        description: String,
        url: String,
        thumb_url: String,
    },
    #[serde(rename = "miniprogrampage")]
    MiniProgramPage {
        title: String,
        pagepath: String,
        thumb: MediaSource,
    },
}

/// Where an image comes from: an https URL or a file shipped with the deployment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MediaSource {
    Url(String),
    File(String),
}

/// A rule set that parsed but makes no sense, with the position of the offending rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("rules: {0}")]
    Json(String),
    #[error("rules[{index}] ({name}): {problem}")]
    Rule {
        index: usize,
        name: String,
        problem: String,
    },
    #[error("default: {0}")]
    Default(String),
}

impl RuleSet {
    /// The JSON schema of a rule set, generated from these types (published as
    /// `rules/schema.json`).
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(RuleSet)).unwrap_or_default()
    }

    /// Parses and validates a rule set.
    pub fn from_json(json: &str) -> Result<Self, RuleError> {
        let set: Self = serde_json::from_str(json).map_err(|e| RuleError::Json(e.to_string()))?;
        set.validate()?;
        Ok(set)
    }

    /// Checks what the JSON types cannot: names, keyword lists, message counts, URLs.
    pub fn validate(&self) -> Result<(), RuleError> {
        let mut names = std::collections::HashSet::new();
        for (index, rule) in self.rules.iter().enumerate() {
            let problem = |problem: String| RuleError::Rule {
                index,
                name: rule.name.clone(),
                problem,
            };
            if rule.name.trim().is_empty() {
                return Err(problem("name is empty".into()));
            }
            if !names.insert(rule.name.as_str()) {
                return Err(problem("name is used by an earlier rule".into()));
            }
            if let Some(words) = rule.when.words()
                && (words.clone().next().is_none()
                    || words.into_iter().any(|w| w.trim().is_empty()))
            {
                return Err(problem("match needs at least one non-empty value".into()));
            }
            validate_action(&rule.action).map_err(problem)?;
        }
        if let Some(action) = &self.default {
            validate_action(action).map_err(RuleError::Default)?;
        }
        Ok(())
    }
}

impl Match {
    fn words(&self) -> Option<impl Iterator<Item = &str> + Clone> {
        match self {
            Self::Exact(w)
            | Self::Prefix(w)
            | Self::Contains(w)
            | Self::MsgType(w)
            | Self::Event(w) => Some(w.iter()),
            Self::Regex(_) => None,
        }
    }
}

fn validate_action(action: &Action) -> Result<(), String> {
    let Action::Send(messages) = action else {
        return Ok(());
    };
    if messages.is_empty() || messages.len() > MAX_MESSAGES_PER_REPLY {
        return Err(format!(
            "reply has {} messages; it must have 1 to {MAX_MESSAGES_PER_REPLY}",
            messages.len()
        ));
    }
    for (n, message) in messages.iter().enumerate() {
        let bad = |what: &str| Err(format!("reply[{n}]: {what}"));
        match message {
            ReplyMessage::Text { content } if content.trim().is_empty() => {
                return bad("text is empty");
            }
            ReplyMessage::Link { url, .. }
                if !url.starts_with("https://") && !url.starts_with("http://") =>
            {
                return bad("link url must start with http:// or https://");
            }
            ReplyMessage::Image { source }
            | ReplyMessage::MiniProgramPage { thumb: source, .. } => {
                if let MediaSource::Url(url) = source
                    && !url.starts_with("https://")
                {
                    return bad("image url must start with https://");
                }
            }
            _ => {}
        }
    }
    Ok(())
}
