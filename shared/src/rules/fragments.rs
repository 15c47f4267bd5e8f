//! How a rule set is laid out in Parameter Store, pure: a small set is one parameter; a large
//! one spans several under one path (`/kefu/rules/000`, `/kefu/rules/001`, …), each a rule-set
//! fragment of at most [`PARAMETER_LIMIT`] bytes, merged in name order: rules concatenated, the
//! `default` (with its schedule and otherwise) from whichever fragment has it (the first, as
//! [`split`] writes it); the knowledge base's entries likewise concatenated after the rules,
//! its settings (synonyms, thresholds) from whichever fragment has them (the first). Every
//! fragment carries the set's `time_zone` and `schedules`, so that each is a valid set on its
//! own. `aws::rules` reads and writes this layout; `kefu rules push`
//! and the functions share it.

use super::faq::Faq;
use super::model::{RuleError, RuleSet};

/// A standard-tier SSM parameter holds at most 4 KB.
pub const PARAMETER_LIMIT: usize = 4096;

/// Why a rule set cannot be laid out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FragmentError {
    #[error("rule {0:?} is larger than one parameter ({PARAMETER_LIMIT} bytes)")]
    RuleTooLarge(String),
    #[error("faq entry {0:?} is larger than one parameter ({PARAMETER_LIMIT} bytes)")]
    EntryTooLarge(String),
    #[error("{name}: {source}")]
    Invalid {
        name: String,
        #[source]
        source: RuleError,
    },
    #[error("merged rules: {0}")]
    Merged(#[source] RuleError),
}

/// The name of fragment `n` under `path`.
pub fn fragment_name(path: &str, n: usize) -> String {
    format!("{}/{n:03}", path.trim_end_matches('/'))
}

/// Splits a rule set into parameter-sized fragments (JSON), in order; the default rides in the
/// first, the zone and schedules in each.
pub fn split(rules: &RuleSet) -> Result<Vec<String>, FragmentError> {
    let fits = |set: &RuleSet| to_json(set).len() <= PARAMETER_LIMIT;
    let mut fragments = Vec::new();
    let shared = RuleSet {
        time_zone: rules.time_zone.clone(),
        schedules: rules.schedules.clone(),
        ..RuleSet::default()
    };
    let mut current = RuleSet {
        default: rules.default.clone(),
        default_schedule: rules.default_schedule.clone(),
        default_otherwise: rules.default_otherwise.clone(),
        ..shared.clone()
    };
    for rule in &rules.rules {
        let mut candidate = current.clone();
        candidate.rules.push(rule.clone());
        if fits(&candidate) {
            current = candidate;
            continue;
        }
        if current.rules.is_empty() {
            return Err(FragmentError::RuleTooLarge(rule.name.clone()));
        }
        fragments.push(to_json(&current));
        current = RuleSet {
            rules: vec![rule.clone()],
            ..shared.clone()
        };
        if !fits(&current) {
            return Err(FragmentError::RuleTooLarge(rule.name.clone()));
        }
    }
    if let Some(faq) = &rules.faq {
        // The settings ride with the first entries; each entry goes whole into one fragment.
        let mut settings = faq.with_entries(Vec::new());
        if !fits(&RuleSet {
            faq: Some(Box::new(settings.clone())),
            ..current.clone()
        }) {
            fragments.push(to_json(&current));
            current = shared.clone();
        }
        for entry in &faq.entries {
            let mut entries = current
                .faq
                .as_ref()
                .map(|f| f.entries.clone())
                .unwrap_or_default();
            entries.push(entry.clone());
            let with = settings.with_entries(entries);
            let candidate = RuleSet {
                faq: Some(Box::new(with)),
                ..current.clone()
            };
            if fits(&candidate) {
                current = candidate;
                continue;
            }
            if current.faq.is_none() && current.rules.is_empty() && current.default.is_none() {
                return Err(FragmentError::EntryTooLarge(entry.id.clone()));
            }
            fragments.push(to_json(&current));
            settings = Faq::default();
            current = RuleSet {
                faq: Some(Box::new(Faq::default().with_entries(vec![entry.clone()]))),
                ..shared.clone()
            };
            if !fits(&current) {
                return Err(FragmentError::EntryTooLarge(entry.id.clone()));
            }
        }
        if current.faq.is_none() {
            current.faq = Some(Box::new(settings));
        }
    }
    fragments.push(to_json(&current));
    Ok(fragments)
}

/// Merges `(name, JSON)` fragments, in name order, into one validated rule set.
pub fn merge(mut parameters: Vec<(String, String)>) -> Result<RuleSet, FragmentError> {
    parameters.sort();
    let mut merged = RuleSet::default();
    for (name, value) in parameters {
        let fragment =
            RuleSet::from_json(&value).map_err(|source| FragmentError::Invalid { name, source })?;
        merged.rules.extend(fragment.rules);
        if fragment.default.is_some()
            || fragment.default_schedule.is_some()
            || fragment.default_otherwise.is_some()
        {
            merged.default = fragment.default;
            merged.default_schedule = fragment.default_schedule;
            merged.default_otherwise = fragment.default_otherwise;
        }
        if fragment.time_zone.is_some() {
            merged.time_zone = fragment.time_zone;
        }
        merged.schedules.extend(fragment.schedules);
        if let Some(faq) = fragment.faq {
            let into = merged.faq.get_or_insert_with(Box::default);
            let mut entries = std::mem::take(&mut into.entries);
            entries.extend(faq.entries.iter().cloned());
            let settings = if faq.has_settings() { &*faq } else { &**into };
            **into = settings.with_entries(entries);
        }
    }
    merged.validate().map_err(FragmentError::Merged)?;
    if let Some(faq) = &merged.faq {
        faq.index();
    }
    Ok(merged)
}

fn to_json(rules: &RuleSet) -> String {
    // A rule set of strings and validated patterns always serialises.
    serde_json::to_string(rules).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{Action, Match, ReplyMessage, Rule, Schedule, ScheduleRef};

    fn rule(n: usize) -> Rule {
        Rule {
            name: format!("rule-{n}"),
            when: Match {
                exact: Some(crate::rules::model::OneOrMany::One(format!("kw{n}"))),
                ..Match::default()
            },
            schedule: n
                .is_multiple_of(2)
                .then(|| ScheduleRef::Named("business".into())),
            action: Action::Send(vec![ReplyMessage::Text {
                content: "回".repeat(300),
            }]),
            otherwise: None,
        }
    }

    #[test]
    fn a_large_set_splits_and_merges_back_in_order() {
        let rules = RuleSet {
            time_zone: Some("Asia/Hong_Kong".into()),
            schedules: [("business".to_owned(), Schedule::default())].into(),
            rules: (0..20).map(rule).collect(),
            default: Some(Action::Transfer),
            default_schedule: Some(ScheduleRef::Named("business".into())),
            ..RuleSet::default()
        };
        let fragments = split(&rules).unwrap();
        assert!(fragments.len() > 1);
        assert!(fragments.iter().all(|f| f.len() <= PARAMETER_LIMIT));
        let named = fragments
            .into_iter()
            .enumerate()
            .rev()
            .map(|(n, f)| (fragment_name("/kefu/rules/", n), f))
            .collect();
        assert_eq!(merge(named).unwrap(), rules);
    }

    #[test]
    fn a_rule_larger_than_a_parameter_is_named() {
        let mut big = rule(0);
        big.action = Action::Send(vec![ReplyMessage::Text {
            content: "回".repeat(2000),
        }]);
        let rules = RuleSet {
            rules: vec![big],
            ..RuleSet::default()
        };
        assert_eq!(
            split(&rules),
            Err(FragmentError::RuleTooLarge("rule-0".into()))
        );
    }

    #[test]
    fn a_large_knowledge_base_splits_and_merges_back_with_its_settings() {
        use crate::rules::faq::FaqEntry;
        use crate::rules::model::{Action, ReplyMessage};
        let entries: Vec<FaqEntry> = (0..60)
            .map(|n| FaqEntry {
                id: format!("entry-{n}"),
                questions: vec![format!("第{n}个问题怎么办"), format!("问题{n}如何处理")],
                action: Action::Send(vec![ReplyMessage::Text {
                    content: format!("这是第{n}个回答，内容稍微长一点，说明清楚。"),
                }]),
                not: None,
            })
            .collect();
        let mut settings = Faq::default();
        settings.synonyms = vec![vec!["退款".into(), "退钱".into()]];
        settings.answer_threshold = Some(0.4);
        let set = RuleSet {
            rules: (0..5).map(rule).collect(),
            schedules: [("business".to_owned(), Schedule::default())].into(),
            faq: Some(Box::new(settings.with_entries(entries))),
            ..RuleSet::default()
        };
        let fragments = split(&set).unwrap();
        assert!(fragments.len() > 2, "{}", fragments.len());
        assert!(fragments.iter().all(|f| f.len() <= PARAMETER_LIMIT));
        let named = fragments
            .into_iter()
            .enumerate()
            .map(|(n, f)| (fragment_name("/kefu/rules", n), f))
            .collect();
        assert_eq!(merge(named).unwrap(), set);
    }
}
