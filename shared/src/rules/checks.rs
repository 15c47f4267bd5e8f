//! What a valid rule set can still get wrong, found before it goes live: an image file that
//! is not shipped, a `transfer` on an event (WeChat hands only user messages to agents, so the
//! rule does nothing), and a rule that can never match because an earlier one matches
//! everything it does (first match wins). Pure: whether a file exists is asked of the caller.

use std::fmt;

use super::model::{Action, Condition, Match, MediaSource, ReplyMessage, Rule, RuleSet};

/// How bad a finding is: an error fails `kefu rules validate`; a warning is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warning,
    Error,
}

/// One problem, with the position of the rule it is about (`None`: the default).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub index: Option<usize>,
    pub name: Option<String>,
    pub problem: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.index, &self.name) {
            (Some(index), Some(name)) => write!(f, "rules[{index}] ({name}): {}", self.problem),
            _ => write!(f, "default: {}", self.problem),
        }
    }
}

impl RuleSet {
    /// Everything worth telling about this (valid) set. `image_exists(name)` says whether
    /// a `{"file": name}` image ships with the deployment.
    pub fn check(&self, image_exists: &dyn Fn(&str) -> bool) -> Vec<Finding> {
        let mut findings = Vec::new();
        for (index, rule) in self.rules.iter().enumerate() {
            let finding = |severity, problem: String| Finding {
                severity,
                index: Some(index),
                name: Some(rule.name.clone()),
                problem,
            };
            for action in std::iter::once(&rule.action).chain(&rule.otherwise) {
                for name in missing_images(action, image_exists) {
                    findings.push(finding(Severity::Error, missing(&name)));
                }
            }
            let transfers = rule.action == Action::Transfer
                || rule.otherwise.as_ref() == Some(&Action::Transfer);
            if transfers && matches_only_events(&rule.when) {
                findings.push(finding(
                    Severity::Warning,
                    "transfer on an event does nothing: WeChat hands only user messages to a human agent".into(),
                ));
            }
            let earlier = self.rules.iter().enumerate().take(index);
            if let Some((at, first)) = earlier
                .into_iter()
                .find(|(_, earlier)| always_answers_before(earlier, rule))
            {
                findings.push(finding(
                    Severity::Warning,
                    format!(
                        "never matches: rules[{at}] ({}) comes first and matches everything this rule does",
                        first.name
                    ),
                ));
            }
        }
        for action in self.default.iter().chain(&self.default_otherwise) {
            for name in missing_images(action, image_exists) {
                findings.push(Finding {
                    severity: Severity::Error,
                    index: None,
                    name: None,
                    problem: missing(&name),
                });
            }
        }
        findings
    }
}

fn missing(name: &str) -> String {
    format!("image file {name:?} is not among the deployment's images (functions/reply/assets)")
}

fn missing_images(action: &Action, image_exists: &dyn Fn(&str) -> bool) -> Vec<String> {
    let Action::Send(messages) = action else {
        return Vec::new();
    };
    messages
        .iter()
        .filter_map(|message| match message {
            ReplyMessage::Image {
                source: MediaSource::File(name),
            }
            | ReplyMessage::MiniProgramPage {
                thumb: MediaSource::File(name),
                ..
            } if !image_exists(name) => Some(name.clone()),
            _ => None,
        })
        .collect()
}

/// A match that only events can satisfy: one of its conditions admits events only.
fn matches_only_events(when: &Match) -> bool {
    when.conditions().iter().any(|condition| match condition {
        Condition::Event(_) | Condition::SessionFrom(_) => true,
        Condition::MsgType(types) => types.iter().all(|t| t == "event"),
        _ => false,
    })
}

/// Whether `earlier` answers every message `later` would, at every instant: its match covers
/// `later`'s, and its schedule never lets such a message through to `later` (it has none, it
/// has an `otherwise`, or it is the very schedule `later` has).
fn always_answers_before(earlier: &Rule, later: &Rule) -> bool {
    let schedule_covers = match &earlier.schedule {
        None => true,
        Some(_) if earlier.otherwise.is_some() => true,
        Some(schedule) => later.schedule.as_ref() == Some(schedule) && later.otherwise.is_none(),
    };
    schedule_covers && covers(&earlier.when, &later.when)
}

/// Whether every message `later` matches is matched by `earlier` too (conservatively: `false`
/// when unsure). Both are conjunctions: it is enough that each condition of `earlier` is
/// implied by some condition of `later`.
fn covers(earlier: &Match, later: &Match) -> bool {
    let later = later.conditions();
    earlier
        .conditions()
        .iter()
        .all(|e| later.iter().any(|l| implies(l, e)))
}

/// Whether every message satisfying `later` satisfies `earlier` (conservatively).
fn implies(later: &Condition<'_>, earlier: &Condition<'_>) -> bool {
    use Condition::{Contains, Event, Exact, MsgType, Prefix, Regex, SessionFrom};
    match (earlier, later) {
        (MsgType(types), Exact(_) | Prefix(_) | Contains(_) | Regex(_)) => {
            types.iter().any(|t| t == "text")
        }
        (MsgType(types), MsgType(later)) => later.iter().all(|l| types.iter().any(|t| t == l)),
        (MsgType(types), Event(_) | SessionFrom(_)) => types.iter().any(|t| t == "event"),
        (Event(names), Event(later)) => later.iter().all(|l| names.iter().any(|n| n == l)),
        (Event(names), SessionFrom(_)) => names.iter().any(|n| n == "user_enter_tempsession"),
        (SessionFrom(pages), SessionFrom(later)) => {
            later.iter().all(|l| pages.iter().any(|p| p == l))
        }
        // Every text the later rule matches exactly is a text the earlier one matches.
        (_, Exact(words)) => words.iter().all(|word| text_matches(earlier, word.trim())),
        (Prefix(prefixes), Prefix(later)) => later
            .iter()
            .all(|p| prefixes.iter().any(|q| p.starts_with(q))),
        (Contains(parts), Prefix(later) | Contains(later)) => {
            later.iter().all(|p| parts.iter().any(|c| p.contains(c)))
        }
        _ => false,
    }
}

/// Whether `earlier` holds for a text message whose trimmed content is `text`.
fn text_matches(earlier: &Condition<'_>, text: &str) -> bool {
    match earlier {
        Condition::Exact(words) => words.iter().any(|w| w.trim() == text),
        Condition::Prefix(words) => words.iter().any(|w| text.starts_with(w)),
        Condition::Contains(words) => words.iter().any(|w| text.contains(w)),
        Condition::Regex(pattern) => pattern.0.is_match(text),
        Condition::MsgType(types) => types.iter().any(|t| t == "text"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn findings(json: &str) -> Vec<String> {
        RuleSet::from_json(json)
            .unwrap()
            .check(&|name| name == "welcome.png")
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn the_sample_rules_have_nothing_to_report() {
        assert_eq!(
            crate::sample::rules().check(&|_| true),
            Vec::<Finding>::new()
        );
    }

    /// Every sample under `rules/` (not only the one `kefu dev` serves) is valid and clean.
    #[test]
    fn every_sample_rules_file_is_valid_with_nothing_to_report() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules");
        let mut samples = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if !name.ends_with(".json") || name == "schema.json" {
                continue;
            }
            let rules = RuleSet::from_json(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(rules.check(&|_| true), Vec::<Finding>::new(), "{name}");
            samples += 1;
        }
        assert!(samples >= 2, "{samples} samples in {}", dir.display());
    }

    #[test]
    fn combined_conditions_and_schedules_are_weighed_before_calling_a_rule_shadowed() {
        let found = findings(
            r#"{"schedules":{"day":{"hours":["09:00-18:00"]}},"rules":[
                {"name":"refund","match":{"contains":"退款"},"schedule":"day","action":"transfer"},
                {"name":"refund-late","match":{"contains":"退款"},"action":"transfer"},
                {"name":"refund-day","match":{"contains":"退款","msg_type":"text"},"schedule":"day","action":"transfer"},
                {"name":"enter","match":{"event":"user_enter_tempsession"},"action":{"reply":[{"type":"text","content":"hi"}]}},
                {"name":"enter-order","match":{"event":"user_enter_tempsession","session_from":"order"},"action":{"reply":[{"type":"text","content":"hi"}]}},
                {"name":"order","match":{"session_from":"order"},"schedule":"day","action":"transfer","otherwise":"transfer"}
            ]}"#,
        );
        let shadowed: Vec<&str> = found
            .iter()
            .filter(|f| f.contains("never matches"))
            .filter_map(|f| f.split(" (").nth(1)?.split(')').next())
            .collect();
        // refund-late answers outside the day: not shadowed; refund-day has refund's very
        // schedule and a narrower match: shadowed; enter-order comes after the catch-all enter.
        assert_eq!(shadowed, ["refund-day", "enter-order", "order"]);
        assert!(
            found
                .iter()
                .any(|f| f.starts_with("rules[5] (order): transfer on an event does nothing")),
            "{found:?}"
        );
    }

    #[test]
    fn a_missing_image_file_is_an_error_with_the_rule_position() {
        let found = RuleSet::from_json(
            r#"{"rules":[{"name":"pic","match":{"msg_type":"image"},"action":{"reply":[{"type":"image","source":{"file":"nope.png"}}]}}],
               "default":{"reply":[{"type":"miniprogrampage","title":"t","pagepath":"p","thumb":{"file":"gone.png"}}]}}"#,
        )
        .unwrap()
        .check(&|name| name == "welcome.png");
        assert_eq!(found.len(), 2);
        assert!(found.iter().all(|f| f.severity == Severity::Error));
        assert!(
            found[0]
                .to_string()
                .starts_with("rules[0] (pic): image file \"nope.png\"")
        );
        assert!(
            found[1]
                .to_string()
                .starts_with("default: image file \"gone.png\"")
        );
    }

    #[test]
    fn transfer_on_an_event_is_reported() {
        let found = findings(
            r#"{"rules":[{"name":"enter","match":{"event":"user_enter_tempsession"},"action":"transfer"}]}"#,
        );
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("rules[0] (enter): transfer on an event does nothing"));
    }

    #[test]
    fn rules_shadowed_by_an_earlier_one_are_reported() {
        let found = findings(
            r#"{"rules":[
                {"name":"order","match":{"prefix":"订单"},"action":"transfer"},
                {"name":"order-status","match":{"exact":["订单状态"," 订单号 "]},"action":"transfer"},
                {"name":"order-prefix","match":{"prefix":"订单查询"},"action":"transfer"},
                {"name":"help","match":{"contains":"帮助"},"action":"transfer"},
                {"name":"help-more","match":{"contains":"帮助中心"},"action":"transfer"},
                {"name":"code","match":{"regex":"^\\d+$"},"action":"transfer"},
                {"name":"code-exact","match":{"exact":"123"},"action":"transfer"},
                {"name":"hi","match":{"exact":["你好","在吗"]},"action":"transfer"},
                {"name":"hi-again","match":{"exact":"在吗"},"action":"transfer"},
                {"name":"partly","match":{"exact":["在吗","新词"]},"action":"transfer"},
                {"name":"texts","match":{"msg_type":"text"},"action":"transfer"},
                {"name":"after-texts","match":{"contains":"x"},"action":"transfer"}
            ]}"#,
        );
        let shadowed: Vec<&str> = found
            .iter()
            .filter(|f| f.contains("never matches"))
            .filter_map(|f| f.split(" (").nth(1)?.split(')').next())
            .collect();
        assert_eq!(
            shadowed,
            [
                "order-status",
                "order-prefix",
                "help-more",
                "code-exact",
                "hi-again",
                "after-texts"
            ]
        );
        assert!(
            found
                .iter()
                .any(|f| f.starts_with("rules[1] (order-status): never matches: rules[0] (order)"))
        );
    }
}
