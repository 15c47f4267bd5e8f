//! The rule set's knowledge base (`faq`): entries of a standard question, similar questions and
//! an action, answered by what users ask in their own words after no rule matched (rules first,
//! then the FAQ, then the default). The matching is `knowledge`'s; this is the model as written
//! in JSON, its validation, and the index built once when the rules load.
//!
//! ```json
//! "faq": {
//!   "synonyms": [["退钱", "退款"]],
//!   "entries": [
//!     {"id": "refund", "questions": ["怎么申请退款", "如何退款", "退款流程是什么"],
//!      "action": {"reply": [{"type": "text", "content": "申请退款：我的-订单-…"}]}}
//!   ]
//! }
//! ```

use std::sync::{Arc, OnceLock};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::model::{Action, OneOrMany};
use crate::knowledge::index::{Index, Score};
use crate::knowledge::normalize::normalize;
use crate::knowledge::tokens::Lexicon;
use crate::knowledge::{self, Thresholds, Verdict};

/// At most this many entries and questions per entry: the index is built at every rules load.
pub const MAX_ENTRIES: usize = 2000;
pub const MAX_QUESTIONS: usize = 30;

/// A knowledge base: questions users ask, and what answers them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Faq {
    pub entries: Vec<FaqEntry>,
    /// Words that mean the same here, each group's first the one the others become
    /// (`[["拿铁", "latte"]]`); added to the built-in customer-service synonyms.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub synonyms: Vec<Vec<String>>,
    /// An entry is answered when its score (0–1) is at least this and clearly ahead of the
    /// next (default 0.3). Higher: fewer answers, fewer wrong ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_threshold: Option<f32>,
    /// Entries scoring at least this (0–1) are offered as 「您是不是想问」 suggestions when none
    /// is answered (default 0.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggest_threshold: Option<f32>,
    /// The first line of a suggestion (default 「您是不是想问：」); the numbered standard
    /// questions follow, then `suggest_outro`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggest_intro: Option<String>,
    /// The last line of a suggestion (default 「回复数字即可」).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggest_outro: Option<String>,
    #[serde(skip)]
    #[schemars(skip)]
    index: IndexCell,
}

/// One entry: `questions[0]` is the standard question, the rest similar questions (相似问法).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaqEntry {
    /// A short name, unique in the set (shown in logs, reports and `kefu rules test`).
    pub id: String,
    pub questions: Vec<String>,
    pub action: Action,
    /// The entry is never chosen for a message containing one of these words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not: Option<OneOrMany>,
}

/// The index and each entry's `not` words normalised, built on first use (the rules' load
/// validates and builds them), so a decision normalises only the message.
#[derive(Debug, Clone, Default)]
struct IndexCell(OnceLock<Arc<Compiled>>);

#[derive(Debug)]
struct Compiled {
    index: Index,
    /// Per entry, its `not` words as `normalize` leaves them.
    not: Vec<Vec<String>>,
}

impl PartialEq for IndexCell {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// What the knowledge base decides for a message.
#[derive(Debug, Clone, PartialEq)]
pub enum FaqDecision<'f> {
    Answer {
        entry: &'f FaqEntry,
        score: f32,
        runner_up: Option<(&'f FaqEntry, f32)>,
    },
    Suggest(Vec<(&'f FaqEntry, f32)>),
    /// The message is a number (1–9): the user's pick among suggestions offered earlier.
    Choice(usize),
    Nothing(&'static str),
}

impl Faq {
    fn thresholds(&self) -> Thresholds {
        let defaults = Thresholds::default();
        Thresholds {
            answer: self.answer_threshold.unwrap_or(defaults.answer),
            suggest: self.suggest_threshold.unwrap_or(defaults.suggest),
            lead: defaults.lead,
            coverage: defaults.coverage,
        }
    }

    /// The same settings (synonyms, thresholds, texts) with `entries` instead of this one's
    /// (and an index built for them when first asked).
    pub fn with_entries(&self, entries: Vec<FaqEntry>) -> Self {
        Self {
            entries,
            synonyms: self.synonyms.clone(),
            answer_threshold: self.answer_threshold,
            suggest_threshold: self.suggest_threshold,
            suggest_intro: self.suggest_intro.clone(),
            suggest_outro: self.suggest_outro.clone(),
            index: IndexCell::default(),
        }
    }

    /// Whether any setting differs from the defaults (entries aside).
    pub fn has_settings(&self) -> bool {
        self.with_entries(Vec::new()) != Self::default()
    }

    /// The index (built now if it was not).
    pub fn index(&self) -> &Index {
        &self.compiled().index
    }

    fn compiled(&self) -> &Compiled {
        self.index.0.get_or_init(|| {
            let questions: Vec<Vec<&str>> = self
                .entries
                .iter()
                .map(|e| e.questions.iter().map(String::as_str).collect())
                .collect();
            let not = self
                .entries
                .iter()
                .map(|e| {
                    e.not
                        .iter()
                        .flat_map(|words| words.iter().map(normalize))
                        .collect()
                })
                .collect();
            Arc::new(Compiled {
                index: Index::build(&questions, Lexicon::new(&self.synonyms)),
                not,
            })
        })
    }

    /// What answers `text`.
    pub fn decide(&self, text: &str) -> FaqDecision<'_> {
        let plain = normalize(text);
        if let Some(n) = choice(&plain) {
            return FaqDecision::Choice(n);
        }
        let compiled = self.compiled();
        let excluded = |n: usize| {
            compiled
                .not
                .get(n)
                .is_some_and(|words| words.iter().any(|w| plain.contains(w.as_str())))
        };
        let entry = |score: Score| self.entries.get(score.entry).map(|e| (e, score.score));
        match knowledge::decide(&compiled.index, text, self.thresholds(), excluded) {
            Verdict::Answer { best, runner_up } => match entry(best) {
                Some((entry_found, score)) => FaqDecision::Answer {
                    entry: entry_found,
                    score,
                    runner_up: runner_up.and_then(entry),
                },
                None => FaqDecision::Nothing("no entry"),
            },
            Verdict::Suggest(scores) => {
                FaqDecision::Suggest(scores.into_iter().filter_map(entry).collect())
            }
            Verdict::Nothing(why) => FaqDecision::Nothing(why),
        }
    }

    /// The suggestion message listing `entries`' standard questions, numbered from 1.
    pub fn suggestion_text(&self, entries: &[&FaqEntry]) -> String {
        let mut text = self
            .suggest_intro
            .clone()
            .unwrap_or_else(|| "您是不是想问：".to_owned());
        for (n, entry) in entries.iter().enumerate() {
            let standard = entry.questions.first().map_or("", String::as_str);
            text.push_str(&format!("\n{}. {standard}", n + 1));
        }
        text.push('\n');
        text.push_str(self.suggest_outro.as_deref().unwrap_or("回复数字即可"));
        text
    }

    /// The words `text` shares with `entry`'s closest question (for explanations).
    pub fn shared_words(&self, text: &str, entry: &FaqEntry) -> Vec<String> {
        let index = self.index();
        entry
            .questions
            .iter()
            .map(|q| knowledge::shared_words(index, text, q))
            .max_by_key(Vec::len)
            .unwrap_or_default()
    }

    /// The words of `text` that `entry` has and `rival` does not, longest first: what decides
    /// between two close entries (for explanations).
    pub fn own_words(&self, text: &str, entry: &FaqEntry, rival: &FaqEntry) -> Vec<String> {
        let position = |wanted: &FaqEntry| self.entries.iter().position(|e| e.id == wanted.id);
        match (position(entry), position(rival)) {
            (Some(best), Some(rival)) => knowledge::own_words(self.index(), text, best, rival),
            _ => Vec::new(),
        }
    }

    /// The entry named `id`.
    pub fn entry(&self, id: &str) -> Option<&FaqEntry> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// Checks what the JSON types cannot: ids, questions, thresholds, sizes.
    pub fn validate(&self) -> Result<(), String> {
        if self.entries.len() > MAX_ENTRIES {
            return Err(format!(
                "{} entries, over the limit of {MAX_ENTRIES}",
                self.entries.len()
            ));
        }
        let mut ids = std::collections::HashSet::new();
        for (n, entry) in self.entries.iter().enumerate() {
            let at = |problem: String| format!("entries[{n}] ({}): {problem}", entry.id);
            if entry.id.trim().is_empty() {
                return Err(at("id is empty".into()));
            }
            if !ids.insert(entry.id.as_str()) {
                return Err(at("id is used by an earlier entry".into()));
            }
            if entry.questions.is_empty() {
                return Err(at("no questions".into()));
            }
            if entry.questions.len() > MAX_QUESTIONS {
                return Err(at(format!(
                    "{} questions, over the limit of {MAX_QUESTIONS}",
                    entry.questions.len()
                )));
            }
            if let Some(q) = entry.questions.iter().position(|q| normalize(q).is_empty()) {
                return Err(at(format!("questions[{q}] has no words")));
            }
            super::model::validate_action(&entry.action).map_err(|p| at(format!("action: {p}")))?;
            if let Some(words) = &entry.not
                && words.iter().any(|w| normalize(w).is_empty())
            {
                return Err(at("not: a word is empty".into()));
            }
        }
        for (name, value) in [
            ("answer_threshold", self.answer_threshold),
            ("suggest_threshold", self.suggest_threshold),
        ] {
            if let Some(v) = value
                && !(0.0..=1.0).contains(&v)
            {
                return Err(format!("{name} is {v}: a score between 0 and 1"));
            }
        }
        let t = self.thresholds();
        if t.suggest > t.answer {
            return Err(format!(
                "suggest_threshold ({}) is above answer_threshold ({}): nothing would be suggested",
                t.suggest, t.answer
            ));
        }
        Ok(())
    }
}

/// The number a message is, if it is only one digit 1–9 (「1」「２」): a pick among suggestions.
pub fn choice(plain: &str) -> Option<usize> {
    let mut chars = plain.chars();
    match (chars.next(), chars.next()) {
        (Some(c @ '1'..='9'), None) => c.to_digit(10).map(|d| d as usize),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use crate::rules::{FaqDecision, RuleSet};

    #[test]
    fn an_entry_is_never_chosen_for_a_message_with_one_of_its_not_words() {
        let rules = RuleSet::from_json(
            r#"{"faq": {"entries": [
                {"id": "refund", "questions": ["怎么申请退款", "如何退款"], "not": ["运费", "ＰＯＳＴ"],
                 "action": {"reply": [{"type": "text", "content": "退款"}]}}
            ]}}"#,
        )
        .unwrap();
        let faq = rules.faq.as_ref().unwrap();
        let id = |text: &str| match faq.decide(text) {
            FaqDecision::Answer { entry, .. } => Some(entry.id.clone()),
            _ => None,
        };
        assert_eq!(id("怎么申请退款").as_deref(), Some("refund"));
        assert_eq!(id("运费怎么申请退款"), None);
        // Written full-width and upper case, matched as the message is normalised.
        assert_eq!(id("post怎么申请退款"), None);
    }
}
