//! The rule model as it is written in JSON, and its validation.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::calendar::TimeZone;
use super::faq::Faq;
use super::hook::Hook;
use super::schedule::{OpenHours, Schedule};
use super::template;

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
    /// The zone schedules and the `{time}` / `{date}` placeholders are in: `Asia/Shanghai`
    /// when absent. A zone without daylight saving time (`Asia/Shanghai`, `Asia/Hong_Kong`,
    /// `Asia/Tokyo`, `UTC`, …) or a fixed offset (`UTC+08:00`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Named schedules, for rules to refer to by name (`"schedule": "business"`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub schedules: BTreeMap<String, Schedule>,
    #[serde(default)]
    pub rules: Vec<Rule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Action>,
    /// When the default applies; outside it, `default_otherwise` (or nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_schedule: Option<ScheduleRef>,
    /// What the default does outside `default_schedule`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_otherwise: Option<Action>,
    /// A knowledge base answering user text no rule matched, before the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faq: Option<Box<Faq>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    #[serde(rename = "match")]
    pub when: Match,
    /// When the rule applies. Outside it the rule does `otherwise`, or, without `otherwise`,
    /// is passed over (the next rules are tried).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<ScheduleRef>,
    pub action: Action,
    /// What the rule does when it matches outside its schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otherwise: Option<Action>,
}

/// A schedule: the name of one of the set's `schedules`, or written in place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ScheduleRef {
    Named(String),
    // Boxed: a rule set stays small where it is kept by value (the rule caches).
    Inline(Box<Schedule>),
}

impl<'de> Deserialize<'de> for ScheduleRef {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // By hand, so that a mistake inside a written schedule is reported as such, not as
        // "did not match any variant".
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ScheduleRef;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a schedule's name or a schedule object")
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(ScheduleRef::Named(v.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                Schedule::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|schedule| ScheduleRef::Inline(Box::new(schedule)))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// What a rule matches: every condition written must hold (a message type *and* a keyword,
/// an event *and* the page it came from). Text conditions (`exact`, `prefix`, `contains`,
/// `regex`) look at a text message's content with surrounding whitespace trimmed (full-width
/// spaces too); they are case-sensitive and compare characters as written (full-width `Ａ` is
/// not `A`). `regex` is the `regex-lite` dialect: no `\p{Han}`-style Unicode classes, `\d` `\w`
/// `\s` are ASCII, `(?i)` ignores case. `msg_type` looks at the message type; `event` at the
/// event name; `session_from` at the `SessionFrom` of `user_enter_tempsession`. `any` holds
/// when one of its matches does; `not` when its match does not.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("minProperties" = 1))]
pub struct Match {
    /// The whole (trimmed) text is one of these keywords.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact: Option<OneOrMany>,
    /// The text starts with one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<OneOrMany>,
    /// The text contains one of these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contains: Option<OneOrMany>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<Pattern>,
    /// `text`, `image`, `miniprogrampage`, `link`, `event`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub msg_type: Option<OneOrMany>,
    /// `user_enter_tempsession`, `kf_create_session`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<OneOrMany>,
    /// The `SessionFrom` of a `user_enter_tempsession` event (the `session-from` of the
    /// mini program's contact button), compared whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_from: Option<OneOrMany>,
    /// At least one of these matches holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub any: Option<Vec<Match>>,
    /// This match does not hold (for any message, text or not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not: Option<Box<Match>>,
}

impl PartialEq for Match {
    fn eq(&self, other: &Self) -> bool {
        serde_json::to_value(self).ok() == serde_json::to_value(other).ok()
    }
}

/// One condition of a [`Match`], in the order they are checked.
#[derive(Debug, Clone, Copy)]
pub enum Condition<'m> {
    Exact(&'m OneOrMany),
    Prefix(&'m OneOrMany),
    Contains(&'m OneOrMany),
    Regex(&'m Pattern),
    MsgType(&'m OneOrMany),
    Event(&'m OneOrMany),
    SessionFrom(&'m OneOrMany),
    Any(&'m [Match]),
    Not(&'m Match),
}

impl Match {
    /// The conditions written, in a fixed order (text first, then type, event, page, `any`,
    /// `not`).
    pub fn conditions(&self) -> Vec<Condition<'_>> {
        let mut conditions = Vec::new();
        if let Some(w) = &self.exact {
            conditions.push(Condition::Exact(w));
        }
        if let Some(w) = &self.prefix {
            conditions.push(Condition::Prefix(w));
        }
        if let Some(w) = &self.contains {
            conditions.push(Condition::Contains(w));
        }
        if let Some(p) = &self.regex {
            conditions.push(Condition::Regex(p));
        }
        if let Some(w) = &self.msg_type {
            conditions.push(Condition::MsgType(w));
        }
        if let Some(w) = &self.event {
            conditions.push(Condition::Event(w));
        }
        if let Some(w) = &self.session_from {
            conditions.push(Condition::SessionFrom(w));
        }
        if let Some(any) = &self.any {
            conditions.push(Condition::Any(any));
        }
        if let Some(not) = &self.not {
            conditions.push(Condition::Not(not));
        }
        conditions
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

/// The longest regex a rule may hold, in bytes. Keyword patterns are short; compiling one of
/// 7 KB took 13–19 ms (found by fuzzing, docs/security.md), and every rules reload compiles them.
pub const MAX_PATTERN_BYTES: usize = 1024;

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let source = String::deserialize(deserializer)?;
        if source.len() > MAX_PATTERN_BYTES {
            return Err(serde::de::Error::custom(format!(
                "regex of {} bytes, over the limit of {MAX_PATTERN_BYTES}: split it into several rules",
                source.len()
            )));
        }
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
    /// Ask the team's own system (an HTTPS endpoint or a Lambda function) and send what it
    /// answers, or the hook's fallback (`rules::hook`).
    Hook(Box<Hook>),
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

/// Where an image comes from: an https URL or a file shipped with the deployment (or, in a
/// hook's answer, a media_id WeChat gave an upload).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MediaSource {
    Url(String),
    File(String),
    /// A temporary media_id (WeChat keeps it 3 days), sent as it is: for a hook's answer; a
    /// rule names a file or a URL.
    MediaId(String),
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
    #[error("schedules.{name}: {problem}")]
    Schedule { name: String, problem: String },
    #[error("time_zone: {0}")]
    TimeZone(String),
    #[error("faq: {0}")]
    Faq(String),
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
        // The knowledge base's index is built once, here, not on a user's first message.
        if let Some(faq) = &set.faq {
            faq.index();
        }
        Ok(set)
    }

    /// Checks what the JSON types cannot: names, keyword lists, message counts, URLs,
    /// placeholders, schedules and time zones.
    pub fn validate(&self) -> Result<(), RuleError> {
        let zone = self.zone().map_err(RuleError::TimeZone)?;
        for (name, schedule) in &self.schedules {
            schedule
                .compile(&zone)
                .map_err(|problem| RuleError::Schedule {
                    name: name.clone(),
                    problem,
                })?;
        }
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
            validate_match(&rule.when, "match").map_err(problem)?;
            validate_action(&rule.action).map_err(problem)?;
            if let Some(schedule) = &rule.schedule {
                self.open_hours(schedule)
                    .map_err(|p| problem(format!("schedule: {p}")))?;
            }
            match (&rule.otherwise, &rule.schedule) {
                (Some(_), None) => {
                    return Err(problem("otherwise needs a schedule".into()));
                }
                (Some(otherwise), Some(_)) => {
                    validate_action(otherwise).map_err(|p| problem(format!("otherwise: {p}")))?
                }
                (None, _) => {}
            }
        }
        if let Some(action) = &self.default {
            validate_action(action).map_err(RuleError::Default)?;
        }
        if let Some(schedule) = &self.default_schedule {
            self.open_hours(schedule)
                .map_err(|p| RuleError::Default(format!("default_schedule: {p}")))?;
        }
        match (&self.default_otherwise, &self.default_schedule) {
            (Some(_), None) => {
                return Err(RuleError::Default(
                    "default_otherwise needs a default_schedule".into(),
                ));
            }
            (Some(otherwise), Some(_)) => validate_action(otherwise)
                .map_err(|p| RuleError::Default(format!("default_otherwise: {p}")))?,
            (None, _) => {}
        }
        if let Some(faq) = &self.faq {
            faq.validate().map_err(RuleError::Faq)?;
        }
        Ok(())
    }

    /// The set's time zone (`Asia/Shanghai` unless it names another).
    pub fn zone(&self) -> Result<TimeZone, String> {
        match &self.time_zone {
            Some(name) => TimeZone::parse(name),
            None => Ok(TimeZone::shanghai()),
        }
    }

    /// A schedule, looked up by name if it is one, checked and ready to ask.
    pub fn open_hours(&self, schedule: &ScheduleRef) -> Result<OpenHours, String> {
        let zone = self.zone()?;
        match schedule {
            ScheduleRef::Inline(schedule) => schedule.compile(&zone),
            ScheduleRef::Named(name) => self
                .schedules
                .get(name)
                .ok_or_else(|| {
                    let known: Vec<&str> = self.schedules.keys().map(String::as_str).collect();
                    if known.is_empty() {
                        format!("{name:?} is not among the set's schedules (there are none)")
                    } else {
                        format!(
                            "{name:?} is not among the set's schedules ({})",
                            known.join(", ")
                        )
                    }
                })?
                .compile(&zone),
        }
    }
}

/// A match has at least one condition, no empty keyword, and its `any` / `not` are matches
/// too. `at` is where it is (`match`, `match.any[1]`, `match.not`).
fn validate_match(when: &Match, at: &str) -> Result<(), String> {
    let conditions = when.conditions();
    if conditions.is_empty() {
        return Err(format!("{at} has no condition"));
    }
    for condition in conditions {
        let words = match condition {
            Condition::Exact(w)
            | Condition::Prefix(w)
            | Condition::Contains(w)
            | Condition::MsgType(w)
            | Condition::Event(w)
            | Condition::SessionFrom(w) => w,
            Condition::Regex(_) => continue,
            Condition::Any(matches) => {
                if matches.is_empty() {
                    return Err(format!("{at}.any is empty"));
                }
                for (n, inner) in matches.iter().enumerate() {
                    validate_match(inner, &format!("{at}.any[{n}]"))?;
                }
                continue;
            }
            Condition::Not(inner) => {
                validate_match(inner, &format!("{at}.not"))?;
                continue;
            }
        };
        if words.iter().next().is_none() || words.iter().any(|w| w.trim().is_empty()) {
            let message = if at == "match" {
                "match needs at least one non-empty value".to_owned()
            } else {
                format!("{at} needs at least one non-empty value")
            };
            return Err(message);
        }
    }
    Ok(())
}

pub(super) fn validate_action(action: &Action) -> Result<(), String> {
    match action {
        Action::Transfer => Ok(()),
        Action::Send(messages) => validate_replies(messages),
        Action::Hook(hook) => hook.validate(),
    }
}

/// A reply's 1–5 messages, each sendable as written.
pub(super) fn validate_replies(messages: &[ReplyMessage]) -> Result<(), String> {
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
            ReplyMessage::Text { content } => {
                if let Err(problem) = template::pieces(content) {
                    return bad(&problem);
                }
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
                if let MediaSource::MediaId(_) = source {
                    return bad(
                        "a media_id expires 3 days after its upload: a rule names a file or an https url",
                    );
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn problem(json: &str) -> String {
        RuleSet::from_json(json).unwrap_err().to_string()
    }

    const REPLY: &str = r#"{"reply":[{"type":"text","content":"ok"}]}"#;

    #[test]
    fn a_regex_over_the_length_limit_is_refused_by_its_length() {
        let long = "a".repeat(MAX_PATTERN_BYTES + 1);
        let json = format!(
            r#"{{"rules":[{{"name":"long","match":{{"regex":"{long}"}},"action":"transfer"}}]}}"#
        );
        let said = problem(&json);
        assert!(
            said.contains("regex of 1025 bytes, over the limit of 1024"),
            "{said}"
        );
        assert!(
            !said.contains(&long),
            "the pattern is not repeated back: {said}"
        );
        let fits = "a".repeat(MAX_PATTERN_BYTES);
        let json = format!(
            r#"{{"rules":[{{"name":"ok","match":{{"regex":"{fits}"}},"action":"transfer"}}]}}"#
        );
        assert!(RuleSet::from_json(&json).is_ok());
    }

    #[test]
    fn every_rules_file_written_before_conditions_combined_still_reads_the_same() {
        let json = r#"{"rules":[{"name":"a","match":{"exact":["人工"]},"action":"transfer"},
            {"name":"b","match":{"regex":"^\\d+$"},"action":"transfer"}],"default":"transfer"}"#;
        let rules = RuleSet::from_json(json).unwrap();
        let written: serde_json::Value = serde_json::to_value(&rules).unwrap();
        assert_eq!(
            written,
            serde_json::from_str::<serde_json::Value>(json).unwrap()
        );
    }

    #[test]
    fn schedule_problems_name_the_rule_or_the_schedule() {
        assert_eq!(
            problem(
                r#"{"rules":[{"name":"ok","match":{"exact":"a"},"action":"transfer"},
                {"name":"night","match":{"exact":"b"},"schedule":{"hours":["21:00-09:00"]},"action":"transfer"}]}"#
            ),
            "rules[1] (night): schedule: hours[0] \"21:00-09:00\" crosses midnight: write it as two ranges, \"21:00-24:00\" and \"00:00-09:00\""
        );
        assert_eq!(
            problem(r#"{"schedules":{"business":{"days":["Mon"]}},"rules":[]}"#),
            "schedules.business: days[0] \"Mon\" is not a day: use mon, tue, wed, thu, fri, sat, sun"
        );
        assert_eq!(
            problem(
                r#"{"rules":[{"name":"h","match":{"exact":"a"},"schedule":{"closed_dates":["2026-13-01"]},"action":"transfer"}]}"#
            ),
            "rules[0] (h): schedule: closed_dates[0] \"2026-13-01\" is not a date: write YYYY-MM-DD (e.g. 2026-10-01)"
        );
        assert_eq!(
            problem(
                r#"{"schedules":{"business":{}},"rules":[{"name":"h","match":{"exact":"a"},"schedule":"bussiness","action":"transfer"}]}"#
            ),
            "rules[0] (h): schedule: \"bussiness\" is not among the set's schedules (business)"
        );
        assert_eq!(
            problem(&format!(
                r#"{{"rules":[{{"name":"h","match":{{"exact":"a"}},"action":"transfer","otherwise":{REPLY}}}]}}"#
            )),
            "rules[0] (h): otherwise needs a schedule"
        );
        assert_eq!(
            problem(&format!(
                r#"{{"default":{REPLY},"default_otherwise":{REPLY}}}"#
            )),
            "default: default_otherwise needs a default_schedule"
        );
        assert_eq!(
            problem(r#"{"default":"transfer","default_schedule":{"hours":["9-21"]}}"#),
            "default: default_schedule: hours[0] \"9-21\" is not a time range: write HH:MM-HH:MM (e.g. 09:00-21:00)"
        );
        assert!(
            problem(r#"{"time_zone":"Europe/Berlin","rules":[]}"#)
                .starts_with("time_zone: time zone \"Europe/Berlin\" is not one kefu knows")
        );
        assert!(
            problem(r#"{"rules":[{"name":"h","match":{"exact":"a"},"schedule":{"dayz":["mon"]},"action":"transfer"}]}"#)
                .contains("unknown field `dayz`")
        );
    }

    #[test]
    fn match_problems_name_the_rule_and_the_condition() {
        assert_eq!(
            problem(r#"{"rules":[{"name":"m","match":{},"action":"transfer"}]}"#),
            "rules[0] (m): match has no condition"
        );
        assert_eq!(
            problem(
                r#"{"rules":[{"name":"m","match":{"msg_type":"text","any":[]},"action":"transfer"}]}"#
            ),
            "rules[0] (m): match.any is empty"
        );
        assert_eq!(
            problem(
                r#"{"rules":[{"name":"m","match":{"any":[{"exact":"a"},{"not":{"session_from":[" "]}}]},"action":"transfer"}]}"#
            ),
            "rules[0] (m): match.any[1].not needs at least one non-empty value"
        );
        assert_eq!(
            problem(r#"{"rules":[{"name":"m","match":{"exact":[]},"action":"transfer"}]}"#),
            "rules[0] (m): match needs at least one non-empty value"
        );
    }

    #[test]
    fn unknown_placeholders_are_refused_with_the_position() {
        assert!(
            problem(
                r#"{"rules":[{"name":"hi","match":{"exact":"a"},"action":{"reply":[{"type":"text","content":"ok"},{"type":"text","content":"你好 {nickname}"}]}}]}"#
            )
            .starts_with("rules[0] (hi): reply[1]: unknown placeholder {nickname}: use {openid}")
        );
        assert!(
            problem(
                r#"{"default":"transfer","default_schedule":{},"default_otherwise":{"reply":[{"type":"text","content":"{Time}{tiem}"}]}}"#
            )
            .starts_with("default: default_otherwise: reply[0]: unknown placeholder {tiem}")
        );
        assert!(
            RuleSet::from_json(
                r#"{"default":{"reply":[{"type":"text","content":"{kf_account} {{literal}} {} {\"a\":1}"}]}}"#
            )
            .is_ok()
        );
    }
}
