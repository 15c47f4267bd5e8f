//! What a valid rule set can still get wrong, found before it goes live: an image file that
//! is not shipped, a `transfer` on an event (WeChat hands only user messages to agents, so the
//! rule does nothing), and a rule that can never match because an earlier one matches
//! everything it does (first match wins). In the knowledge base (`faq`): entries so close that
//! one answers the other's questions, the same question twice, a question a rule answers first
//! (rules come before the FAQ), and an entry with one question only. Pure: whether a file
//! exists is asked of the caller.

use std::fmt;

use super::faq::{Faq, FaqDecision};
use super::model::{Action, Condition, Match, MediaSource, ReplyMessage, Rule, RuleSet};
use crate::knowledge::normalize::normalize;

/// How bad a finding is: an error fails `kefu rules validate`; a warning is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Warning,
    Error,
}

/// The part of the set a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Rule,
    Default,
    /// The knowledge base: an entry (`index`, `name` its id), or the section.
    Faq,
}

/// One problem, with the position of the rule or FAQ entry it is about (`None`: the default,
/// or the whole `faq`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub part: Part,
    pub index: Option<usize>,
    pub name: Option<String>,
    pub problem: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let problem = &self.problem;
        match (self.part, &self.index, &self.name) {
            (Part::Rule, Some(index), Some(name)) => {
                write!(f, "rules[{index}] ({name}): {problem}")
            }
            (Part::Faq, Some(index), Some(id)) => {
                write!(f, "faq.entries[{index}] ({id}): {problem}")
            }
            (Part::Faq, _, _) => write!(f, "faq: {problem}"),
            _ => write!(f, "default: {problem}"),
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
                part: Part::Rule,
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
                    part: Part::Default,
                    index: None,
                    name: None,
                    problem: missing(&name),
                });
            }
        }
        if let Some(faq) = &self.faq {
            for (index, entry) in faq.entries.iter().enumerate() {
                for name in missing_images(&entry.action, image_exists) {
                    findings.push(Finding {
                        severity: Severity::Error,
                        part: Part::Faq,
                        index: Some(index),
                        name: Some(entry.id.clone()),
                        problem: missing(&name),
                    });
                }
            }
            findings.extend(self.faq_findings(faq));
        }
        findings
    }

    /// The knowledge base's warnings, entry by entry: its questions that are the same as
    /// another's, that a rule answers first, that another entry answers (or is suggested
    /// ahead of it for), or that get nothing on their own; an entry with one question only.
    fn faq_findings(&self, faq: &Faq) -> Vec<Finding> {
        let mut findings = Vec::new();
        // Where each question's words were first seen: (entry, question).
        let mut seen: std::collections::HashMap<String, (usize, usize)> =
            std::collections::HashMap::new();
        for (index, entry) in faq.entries.iter().enumerate() {
            let finding = |problem: String| Finding {
                severity: Severity::Warning,
                part: Part::Faq,
                index: Some(index),
                name: Some(entry.id.clone()),
                problem,
            };
            if entry.questions.len() == 1 {
                findings.push(finding(
                    "only one question: add 3–5 similar questions, as users would type them (docs/faq.md)".into(),
                ));
            }
            // Questions told about already are not weighed against other entries.
            let mut told = std::collections::HashSet::new();
            for (n, question) in entry.questions.iter().enumerate() {
                match seen.get(&normalize(question)) {
                    Some(&(e, q)) if e == index => {
                        findings.push(finding(format!(
                            "questions[{n}] {question:?} is questions[{q}] again (the same words once punctuation, spaces and case are set aside)"
                        )));
                        told.insert(n);
                    }
                    Some(&(e, q)) => {
                        let other = faq.entries.get(e).map_or("", |o| o.id.as_str());
                        findings.push(finding(format!(
                            "questions[{n}] {question:?} is the same as entries[{e}] ({other}) questions[{q}]: a user who asks it gets one of the two, or a suggestion of both"
                        )));
                        told.insert(n);
                    }
                    None => {
                        seen.insert(normalize(question), (index, n));
                    }
                }
            }
            // Questions a rule answers before the FAQ is asked, by rule.
            let mut by_rule: Vec<(usize, bool, Vec<String>)> = Vec::new();
            for (n, question) in entry.questions.iter().enumerate() {
                let Some((at, rule)) = self
                    .rules
                    .iter()
                    .enumerate()
                    .find(|(_, rule)| answers_text(&rule.when, question.trim()))
                else {
                    continue;
                };
                told.insert(n);
                let always = rule.schedule.is_none() || rule.otherwise.is_some();
                let quoted = format!("questions[{n}] {question:?}");
                match by_rule.iter_mut().find(|(r, _, _)| *r == at) {
                    Some((_, _, questions)) => questions.push(quoted),
                    None => by_rule.push((at, always, vec![quoted])),
                }
            }
            for (at, always, questions) in by_rule {
                let name = self.rules.get(at).map_or("", |r| r.name.as_str());
                findings.push(finding(format!(
                    "{} {} answered by rules[{at}] ({name}){}: rules come before the FAQ, so this entry never answers that text",
                    questions.join(", "),
                    if questions.len() == 1 { "is" } else { "are" },
                    if always { "" } else { " inside its schedule" },
                )));
            }
            // Entries that take this one's questions, in the order first met.
            let mut rivals: Vec<(usize, Vec<String>)> = Vec::new();
            for (n, question) in entry.questions.iter().enumerate() {
                if told.contains(&n) {
                    continue;
                }
                let (rival, how) = match faq.decide(question) {
                    FaqDecision::Answer {
                        entry: other,
                        score,
                        runner_up,
                    } if other.id != entry.id => {
                        let own = match runner_up {
                            Some((r, s)) if r.id == entry.id => format!("this entry {s:.2}"),
                            _ => "this entry lower".to_owned(),
                        };
                        (
                            other,
                            format!("is answered by {} ({score:.2}, {own})", other.id),
                        )
                    }
                    FaqDecision::Suggest(list) => match list.first() {
                        Some((first, score)) if first.id != entry.id => {
                            let own = list.iter().find(|(e, _)| e.id == entry.id).map_or_else(
                                || "this entry not suggested".to_owned(),
                                |(_, s)| format!("this entry {s:.2}"),
                            );
                            (
                                *first,
                                format!("is suggested with {} first ({score:.2}, {own})", first.id),
                            )
                        }
                        _ => continue,
                    },
                    FaqDecision::Nothing(why) => {
                        findings.push(finding(format!(
                            "questions[{n}] {question:?} gets no answer even as written ({why}): write what users ask about this entry"
                        )));
                        continue;
                    }
                    _ => continue,
                };
                let Some(at) = faq.entries.iter().position(|e| e.id == rival.id) else {
                    continue;
                };
                let said = format!("questions[{n}] {question:?} {how}");
                match rivals.iter_mut().find(|(r, _)| *r == at) {
                    Some((_, said_before)) => said_before.push(said),
                    None => rivals.push((at, vec![said])),
                }
            }
            for (at, said) in rivals {
                let other = faq.entries.get(at).map_or("", |o| o.id.as_str());
                findings.push(finding(format!(
                    "competes with entries[{at}] ({other}): {}; make the questions more distinct, merge the two entries, or add `not` words",
                    said.join("; ")
                )));
            }
        }
        findings
    }
}

/// Whether `when` holds for a text message whose trimmed content is `text` (conservatively:
/// only text conditions and `msg_type`).
fn answers_text(when: &Match, text: &str) -> bool {
    let conditions = when.conditions();
    !conditions.is_empty() && conditions.iter().all(|c| text_matches(c, text))
}

fn missing(name: &str) -> String {
    format!("image file {name:?} is not among the deployment's images (functions/reply/assets)")
}

fn missing_images(action: &Action, image_exists: &dyn Fn(&str) -> bool) -> Vec<String> {
    let messages = match action {
        Action::Send(messages) => messages,
        // A hook's fallback is sent as written; its answer's images are checked when it comes.
        Action::Hook(hook) => match &hook.fallback {
            Some(fallback) => fallback,
            None => return Vec::new(),
        },
        Action::Transfer => return Vec::new(),
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

    fn faq_findings(json: &str) -> Vec<String> {
        findings(json)
            .into_iter()
            .filter(|f| f.starts_with("faq"))
            .collect()
    }

    #[test]
    fn faq_questions_twice_lone_and_answered_by_a_rule_first_are_warned_about() {
        let reply = r#"{"reply":[{"type":"text","content":"ok"}]}"#;
        let found = RuleSet::from_json(&format!(
            r#"{{"schedules":{{"day":{{"hours":["09:00-18:00"]}}}},
               "rules":[
                {{"name":"human","match":{{"exact":["人工","我要投诉"]}},"action":"transfer"}},
                {{"name":"fee","match":{{"contains":"运费"}},"schedule":"day","action":{reply}}}],
               "faq":{{"entries":[
                {{"id":"refund","questions":["怎么申请退款","如何退款","如何 退款！"],"action":{reply}}},
                {{"id":"fee","questions":["运费多少","包邮吗","运费谁出"],"action":{reply}}},
                {{"id":"complaint","questions":["我要投诉","怎么申请退款？"],"action":"transfer"}},
                {{"id":"invoice","questions":["怎么开发票"],"action":{reply}}},
                {{"id":"pic","questions":["发张图","你好"],"action":{{"reply":[{{"type":"image","source":{{"file":"gone.png"}}}}]}}}}
               ]}}}}"#
        ))
        .unwrap()
        .check(&|name| name == "welcome.png");
        let said: Vec<String> = found.iter().map(ToString::to_string).collect();
        let expected = [
            r#"faq.entries[0] (refund): questions[2] "如何 退款！" is questions[1] again"#,
            r#"faq.entries[1] (fee): questions[0] "运费多少", questions[2] "运费谁出" are answered by rules[1] (fee) inside its schedule"#,
            r#"faq.entries[2] (complaint): questions[1] "怎么申请退款？" is the same as entries[0] (refund) questions[0]"#,
            r#"faq.entries[2] (complaint): questions[0] "我要投诉" is answered by rules[0] (human): rules come before the FAQ"#,
            "faq.entries[3] (invoice): only one question",
            r#"faq.entries[4] (pic): image file "gone.png""#,
            r#"faq.entries[4] (pic): questions[1] "你好" gets no answer even as written (small talk)"#,
        ];
        for want in expected {
            assert!(
                said.iter().any(|s| s.starts_with(want)),
                "{want}\n{}",
                said.join("\n")
            );
        }
        assert_eq!(said.len(), expected.len(), "{}", said.join("\n"));
        let image = found
            .iter()
            .find(|f| f.problem.contains("gone.png"))
            .unwrap();
        assert_eq!((image.severity, image.part), (Severity::Error, Part::Faq));
        assert!(
            found
                .iter()
                .filter(|f| !f.problem.contains("gone.png"))
                .all(|f| f.severity == Severity::Warning)
        );
    }

    #[test]
    fn faq_entries_that_take_each_others_questions_are_named_together() {
        let reply = r#"{"reply":[{"type":"text","content":"ok"}]}"#;
        let found = faq_findings(&format!(
            r#"{{"faq":{{"entries":[
                {{"id":"refund","questions":["怎么申请退款","如何退款","退款怎么申请"],"action":{reply}}},
                {{"id":"refund-again","questions":["申请退款的方法","申请退款"],"action":{reply}}},
                {{"id":"invoice","questions":["怎么开发票","发票在哪里开"],"action":{reply}}}
            ]}}}}"#
        ));
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with(
                r#"faq.entries[1] (refund-again): competes with entries[0] (refund): questions[1] "申请退款" is suggested with refund first"#
            ),
            "{found:?}"
        );
        // The evaluation set's knowledge base: close entries, none taking another's questions.
        let set: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../rules/faq/eval/coffee.json"),
            )
            .unwrap(),
        )
        .unwrap();
        let coffee = serde_json::json!({"faq": set["faq"]}).to_string();
        assert_eq!(faq_findings(&coffee), Vec::<String>::new());
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
