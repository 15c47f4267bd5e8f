//! Which rule answers a message at an instant, and what that means for the push: hand-off, a
//! reply job, or nothing at all. Every condition of a match must hold; a rule with a schedule
//! applies inside it, does its `otherwise` outside it, or is passed over. The instant is an
//! argument (ms since the epoch): `receive` passes its clock's, `reply` the job's
//! `received_at`, so both decide the same way however late the job runs.

use std::borrow::Cow;

use super::faq::{Faq, FaqDecision};
use super::model::{Action, Condition, Match, OneOrMany, ReplyMessage, Rule, RuleSet};
use crate::knowledge;
use crate::protocol::{Event, Message, MessageKind};

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

/// How a match came out: the reasons of the conditions that held, and the first that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchTest {
    pub held: Vec<String>,
    pub failed: Option<String>,
    /// A condition other than `not` held: the match was about this message (a `not` holds for
    /// nearly everything).
    pub near: bool,
}

impl MatchTest {
    pub fn holds(&self) -> bool {
        self.failed.is_none()
    }
}

/// What the rules decide for a message at an instant, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision<'r> {
    /// The rule that answers and its position; `None` when the default answers or nothing does.
    pub rule: Option<(usize, &'r Rule)>,
    /// What is done: the rule's action or `otherwise`, the FAQ entry's, a suggestion, the
    /// default's, or nothing.
    pub action: Option<Cow<'r, Action>>,
    /// What the knowledge base decided, when it was asked (user text no rule matched).
    pub faq: Option<FaqDecision<'r>>,
    /// Why, in words: `exact "人工"; open: …`, `no rule matched: the default reply`, …
    pub why: String,
    /// Rules tried before the answer that almost applied: some condition (other than a `not`)
    /// held but another failed, or the match held outside the schedule. Rules none of whose
    /// conditions held are not listed.
    pub passed_over: Vec<(usize, &'r Rule, String)>,
}

/// The text a text condition looks at: a text message's content, trimmed.
fn text_of(message: &Message) -> Option<&str> {
    match &message.kind {
        MessageKind::Text { content } => Some(content.trim()),
        _ => None,
    }
}

fn listed(words: &OneOrMany) -> String {
    words
        .iter()
        .map(|w| format!("{w:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Condition<'_> {
    /// Why the condition holds for `message` (`exact "人工"`), or why not. Failures never
    /// quote the user's text (it may be long); they name what was expected.
    pub fn test(&self, message: &Message) -> Result<String, String> {
        let text = text_of(message);
        let no_text = |key: &str| format!("{key}: a {} message has no text", kind_name(message));
        match *self {
            Self::Exact(words) => {
                let t = text.ok_or_else(|| no_text("exact"))?;
                words
                    .iter()
                    .find(|w| w.trim() == t)
                    .map(|w| format!("exact {w:?}"))
                    .ok_or_else(|| format!("exact: the text is none of {}", listed(words)))
            }
            Self::Prefix(words) => {
                let t = text.ok_or_else(|| no_text("prefix"))?;
                words
                    .iter()
                    .find(|w| t.starts_with(w))
                    .map(|w| format!("prefix {w:?}"))
                    .ok_or_else(|| {
                        format!("prefix: the text starts with none of {}", listed(words))
                    })
            }
            Self::Contains(words) => {
                let t = text.ok_or_else(|| no_text("contains"))?;
                words
                    .iter()
                    .find(|w| t.contains(w))
                    .map(|w| format!("contains {w:?}"))
                    .ok_or_else(|| format!("contains: the text contains none of {}", listed(words)))
            }
            Self::Regex(pattern) => {
                let t = text.ok_or_else(|| no_text("regex"))?;
                let source = pattern.0.as_str();
                if pattern.0.is_match(t) {
                    Ok(format!("regex {source:?}"))
                } else {
                    Err(format!("regex: {source:?} does not match the text"))
                }
            }
            Self::MsgType(types) => {
                let msg_type = kind_name(message);
                types
                    .iter()
                    .find(|t| *t == msg_type)
                    .map(|t| format!("msg_type {t}"))
                    .ok_or_else(|| format!("msg_type: {msg_type} is none of {}", listed(types)))
            }
            Self::Event(names) => match &message.kind {
                MessageKind::Event(event) => names
                    .iter()
                    .find(|n| *n == event.name())
                    .map(|n| format!("event {n}"))
                    .ok_or_else(|| format!("event: {} is none of {}", event.name(), listed(names))),
                _ => Err(format!(
                    "event: a {} message is not an event",
                    kind_name(message)
                )),
            },
            Self::SessionFrom(pages) => match &message.kind {
                MessageKind::Event(Event::UserEnterTempsession { session_from }) => pages
                    .iter()
                    .find(|p| *p == session_from)
                    .map(|p| format!("session_from {p:?}"))
                    .ok_or_else(|| {
                        format!(
                            "session_from: {session_from:?} is none of {}",
                            listed(pages)
                        )
                    }),
                _ => Err(format!(
                    "session_from: only user_enter_tempsession carries it, not {}",
                    message.kind.type_name()
                )),
            },
            Self::Any(matches) => {
                let mut failures = Vec::new();
                for inner in matches {
                    let test = inner.test(message);
                    match test.failed {
                        None => return Ok(format!("any ({})", test.held.join(" and "))),
                        Some(failed) => failures.push(failed),
                    }
                }
                Err(format!("any: none holds ({})", failures.join("; ")))
            }
            Self::Not(inner) => {
                let test = inner.test(message);
                match test.failed {
                    Some(failed) => Ok(format!("not ({failed})")),
                    None => Err(format!("not: it holds ({})", test.held.join(" and "))),
                }
            }
        }
    }
}

/// `text`, `image`, … and `event` for every event: what `msg_type` compares.
fn kind_name(message: &Message) -> &str {
    match message.kind {
        MessageKind::Event(_) => "event",
        ref kind => kind.type_name(),
    }
}

impl Match {
    /// Every condition checked: those that held (their reasons) and the first that failed.
    pub fn test(&self, message: &Message) -> MatchTest {
        let mut test = MatchTest {
            held: Vec::new(),
            failed: None,
            near: false,
        };
        for condition in self.conditions() {
            match condition.test(message) {
                Ok(reason) => {
                    test.near |= !matches!(condition, Condition::Not(_));
                    test.held.push(reason);
                }
                Err(reason) => {
                    test.failed.get_or_insert(reason);
                }
            }
        }
        test
    }
}

/// How trying one rule came out.
enum Tried<'r> {
    /// It applies: this action, for this reason.
    Applies(&'r Action, String),
    /// It is passed over; `near` when something about it held.
    Passed { why: String, near: bool },
}

impl RuleSet {
    fn try_rule<'r>(&self, rule: &'r Rule, message: &Message, now: i64) -> Tried<'r> {
        let test = rule.when.test(message);
        if let Some(failed) = test.failed {
            return Tried::Passed {
                near: test.near,
                why: failed,
            };
        }
        let matched = test.held.join(" and ");
        let Some(schedule) = &rule.schedule else {
            return Tried::Applies(&rule.action, matched);
        };
        let openness = match self.open_hours(schedule) {
            Ok(hours) => hours.at(now),
            // Not in a validated set.
            Err(problem) => {
                return Tried::Passed {
                    why: format!("{matched}; schedule: {problem}"),
                    near: true,
                };
            }
        };
        let why = format!("{matched}; {}", openness.why);
        match (openness.open, &rule.otherwise) {
            (true, _) => Tried::Applies(&rule.action, why),
            (false, Some(otherwise)) => Tried::Applies(otherwise, format!("{why}: otherwise")),
            (false, None) => Tried::Passed {
                why: format!("{why}, and it has no otherwise"),
                near: true,
            },
        }
    }

    /// What the rules decide for `message` at `now` (ms since the epoch): the first rule that
    /// applies, else the default for user messages (inside its schedule, or its otherwise).
    /// Events get only what a rule names explicitly.
    pub fn decide(&self, message: &Message, now: i64) -> Decision<'_> {
        let mut passed_over = Vec::new();
        for (index, rule) in self.rules.iter().enumerate() {
            match self.try_rule(rule, message, now) {
                Tried::Applies(action, why) => {
                    return Decision {
                        rule: Some((index, rule)),
                        action: Some(Cow::Borrowed(action)),
                        why,
                        passed_over,
                        faq: None,
                    };
                }
                Tried::Passed { why, near: true } => passed_over.push((index, rule, why)),
                Tried::Passed { near: false, .. } => {}
            }
        }
        let mut faq_decision = None;
        let mut faq_note = None;
        if let (Some(faq), Some(text)) = (&self.faq, text_of(message)) {
            let decision = faq.decide(text);
            if let Some((action, why)) = self.faq_answer(faq, text, &decision, now) {
                return Decision {
                    rule: None,
                    action: Some(action),
                    why,
                    passed_over,
                    faq: Some(decision),
                };
            }
            if let FaqDecision::Nothing(why) = &decision {
                faq_note = Some(*why);
            }
            faq_decision = Some(decision);
        }
        let (action, mut why) = if let MessageKind::Event(event) = &message.kind {
            (
                None,
                format!(
                    "no rule names event {}: acknowledged, nothing sent (the default answers user messages only)",
                    event.name()
                ),
            )
        } else {
            self.default_at(now)
        };
        if let Some(note) = faq_note {
            why = format!("{why} (faq: {note})");
        }
        Decision {
            rule: None,
            action: action.map(Cow::Borrowed),
            why,
            passed_over,
            faq: faq_decision,
        }
    }

    /// What the knowledge base's `decision` for `text` does, and why: the entry's action, a
    /// suggestion, or (a number) the default's until the reply function finds the pick; none
    /// when it answers nothing.
    fn faq_answer<'r>(
        &'r self,
        faq: &'r Faq,
        text: &str,
        decision: &FaqDecision<'r>,
        now: i64,
    ) -> Option<(Cow<'r, Action>, String)> {
        match decision {
            FaqDecision::Answer {
                entry,
                score,
                runner_up,
            } => {
                let words = faq.shared_words(text, entry);
                let runner = runner_up.map_or(String::new(), |(r, s)| {
                    // Closer than the lead: the words only the entry has decided.
                    let own = if score - s < knowledge::Thresholds::default().lead {
                        format!(
                            ", decided by words it has and {} lacks: {}",
                            r.id,
                            faq.own_words(text, entry, r).join(" ")
                        )
                    } else {
                        String::new()
                    };
                    format!("; runner-up {} ({s:.2}{own})", r.id)
                });
                Some((
                    Cow::Borrowed(&entry.action),
                    format!(
                        "faq entry {} (score {score:.2}{runner}; shared words: {})",
                        entry.id,
                        if words.is_empty() {
                            "none shown".to_owned()
                        } else {
                            words.join(" ")
                        }
                    ),
                ))
            }
            FaqDecision::Suggest(candidates) => {
                let entries: Vec<_> = candidates.iter().map(|(e, _)| *e).collect();
                let listed: Vec<String> = candidates
                    .iter()
                    .map(|(e, s)| format!("{} ({s:.2})", e.id))
                    .collect();
                Some((
                    Cow::Owned(Action::Send(vec![ReplyMessage::Text {
                        content: faq.suggestion_text(&entries),
                    }])),
                    format!("faq unsure: suggests {}", listed.join(", ")),
                ))
            }
            FaqDecision::Choice(n) => Some((
                // The reply function answers with the suggestion's entry, if one was offered;
                // this is the default's answer otherwise.
                self.default_at(now)
                    .0
                    .map_or_else(|| Cow::Owned(Action::Send(Vec::new())), Cow::Borrowed),
                format!("a number ({n}): the answer to a suggestion, if one was offered"),
            )),
            FaqDecision::Nothing(_) => None,
        }
    }

    /// The default's action at `now`, and why.
    fn default_at(&self, now: i64) -> (Option<&Action>, String) {
        let what = |action: Option<&Action>| match action {
            Some(Action::Transfer) => "the default transfers",
            Some(Action::Send(_)) => "the default reply",
            Some(Action::Hook(_)) => "the default hook",
            None => "there is no default: nothing sent",
        };
        let Some(schedule) = &self.default_schedule else {
            let action = self.default.as_ref();
            return (action, format!("no rule matched: {}", what(action)));
        };
        let openness = match self.open_hours(schedule) {
            Ok(hours) => hours.at(now),
            Err(problem) => return (None, format!("default_schedule: {problem}")),
        };
        let action = if openness.open {
            self.default.as_ref()
        } else {
            self.default_otherwise.as_ref()
        };
        let what = match (openness.open, action) {
            (false, Some(Action::Transfer)) => "default_otherwise transfers",
            (false, Some(Action::Send(_))) => "default_otherwise reply",
            (false, Some(Action::Hook(_))) => "default_otherwise hook",
            (false, None) => "no default_otherwise: nothing sent",
            (true, action) => what(action),
        };
        (
            action,
            format!("no rule matched; default {}: {what}", openness.why),
        )
    }

    /// The default's action at `now` (for a numbered reply no suggestion was offered for).
    pub fn default_action(&self, now: i64) -> Option<&Action> {
        self.default_at(now).0
    }

    /// The action for `message` at `now`, with the name of what answers: the rule, the FAQ
    /// entry's id, `faq-suggest`, `faq-choice`, or `None` for the default.
    pub fn action_for(
        &self,
        message: &Message,
        now: i64,
    ) -> Option<(Option<&str>, Cow<'_, Action>)> {
        let decision = self.decide(message, now);
        let by = match (&decision.rule, &decision.faq) {
            (Some((_, rule)), _) => Some(rule.name.as_str()),
            (None, Some(FaqDecision::Answer { entry, .. })) => Some(entry.id.as_str()),
            (None, Some(FaqDecision::Suggest(_))) => Some("faq-suggest"),
            (None, Some(FaqDecision::Choice(_))) => Some("faq-choice"),
            (None, _) => None,
        };
        decision.action.map(|action| (by, action))
    }

    /// What `receive` should do with `message` at `now`. A transfer never applies to an event:
    /// WeChat documents that only user messages may be handed to an agent.
    pub fn route(&self, message: &Message, now: i64) -> Route<'_> {
        let answer = self.action_for(message, now);
        match answer.as_ref().map(|(by, action)| (*by, action.as_ref())) {
            Some((Some(rule), Action::Transfer)) if !is_event(message) => Route::Transfer { rule },
            Some((None, Action::Transfer)) if !is_event(message) => {
                Route::Transfer { rule: "default" }
            }
            // A numbered reply goes to the reply function, which knows what was suggested.
            Some((Some("faq-choice"), _)) => Route::Enqueue {
                rule: Some("faq-choice"),
            },
            // A hook is called by the reply function, like a reply is sent by it.
            Some((rule, Action::Send(_) | Action::Hook(_))) => Route::Enqueue { rule },
            _ => Route::Ignore,
        }
    }
}

fn is_event(message: &Message) -> bool {
    matches!(message.kind, MessageKind::Event(_))
}
