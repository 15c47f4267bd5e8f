//! `kefu rules diff`: what differs between the rules in Parameter Store and a file, rule by
//! rule and in the set-wide parts, as a reviewer wants to see it (or as JSON).

use kefu::rules::{Action, Rule, RuleSet};

use crate::paint::{Colour, paint};

/// What differs between the rules in Parameter Store and a file, rule by rule.
#[derive(Debug, Default)]
pub(super) struct Changes<'a> {
    added: Vec<&'a Rule>,
    removed: Vec<&'a Rule>,
    /// (before, after)
    changed: Vec<(&'a Rule, &'a Rule)>,
    /// The names in order, before and after, when only the order changed.
    order: Option<(Vec<&'a str>, Vec<&'a str>)>,
    default: Option<(Option<&'a Action>, Option<&'a Action>)>,
    /// Set-wide parts that changed (`time_zone`, `schedules`, `default_schedule`,
    /// `default_otherwise`), as (part, before, after) in compact JSON.
    settings: Vec<(&'static str, String, String)>,
}

pub(super) fn diff<'a>(remote: &'a RuleSet, local: &'a RuleSet) -> Changes<'a> {
    let mut changes = Changes::default();
    for rule in &local.rules {
        match remote.rules.iter().find(|r| r.name == rule.name) {
            None => changes.added.push(rule),
            Some(old) if old != rule => changes.changed.push((old, rule)),
            Some(_) => {}
        }
    }
    changes.removed = remote
        .rules
        .iter()
        .filter(|r| !local.rules.iter().any(|l| l.name == r.name))
        .collect();
    let order = |set: &'a RuleSet| {
        set.rules
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
    };
    let kept = |names: Vec<&'a str>, other: &RuleSet| {
        names
            .into_iter()
            .filter(|n| other.rules.iter().any(|r| r.name == *n))
            .collect::<Vec<_>>()
    };
    let (before, after) = (kept(order(remote), local), kept(order(local), remote));
    if before != after {
        changes.order = Some((before, after));
    }
    if remote.default != local.default {
        changes.default = Some((remote.default.as_ref(), local.default.as_ref()));
    }
    for (part, before, after) in [
        (
            "time_zone",
            compact(&remote.time_zone),
            compact(&local.time_zone),
        ),
        (
            "schedules",
            compact(&remote.schedules),
            compact(&local.schedules),
        ),
        (
            "default_schedule",
            compact(&remote.default_schedule),
            compact(&local.default_schedule),
        ),
        (
            "default_otherwise",
            compact(&remote.default_otherwise),
            compact(&local.default_otherwise),
        ),
    ] {
        if before != after {
            changes.settings.push((part, before, after));
        }
    }
    changes
}

impl Changes<'_> {
    pub(super) fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.order.is_none()
            && self.default.is_none()
            && self.settings.is_empty()
    }

    /// `+`/`-` lines with the content, as a reviewer wants to see it.
    pub(super) fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for rule in &self.added {
            lines.push(paint(
                &format!("+ {}: {}", rule.name, compact(*rule)),
                Colour::Green,
            ));
        }
        for rule in &self.removed {
            lines.push(paint(
                &format!("- {}: {}", rule.name, compact(*rule)),
                Colour::Red,
            ));
        }
        for (before, after) in &self.changed {
            lines.push(paint(&format!("~ {}", after.name), Colour::Yellow));
            for (part, old, new) in [
                ("match", compact(&before.when), compact(&after.when)),
                (
                    "schedule",
                    compact(&before.schedule),
                    compact(&after.schedule),
                ),
                ("action", compact(&before.action), compact(&after.action)),
                (
                    "otherwise",
                    compact(&before.otherwise),
                    compact(&after.otherwise),
                ),
            ] {
                if old != new {
                    lines.push(paint(&format!("  - {part}: {old}"), Colour::Red));
                    lines.push(paint(&format!("  + {part}: {new}"), Colour::Green));
                }
            }
        }
        if let Some((before, after)) = &self.order {
            lines.push(paint("~ order of rules", Colour::Yellow));
            lines.push(paint(&format!("  - {}", before.join(", ")), Colour::Red));
            lines.push(paint(&format!("  + {}", after.join(", ")), Colour::Green));
        }
        if let Some((before, after)) = &self.default {
            let shown = |a: &Option<&Action>| a.map_or("(none)".to_owned(), compact);
            lines.push(paint("~ default", Colour::Yellow));
            lines.push(paint(&format!("  - {}", shown(before)), Colour::Red));
            lines.push(paint(&format!("  + {}", shown(after)), Colour::Green));
        }
        for (part, before, after) in &self.settings {
            lines.push(paint(&format!("~ {part}"), Colour::Yellow));
            lines.push(paint(&format!("  - {before}"), Colour::Red));
            lines.push(paint(&format!("  + {after}"), Colour::Green));
        }
        lines
    }

    pub(super) fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "differences": !self.is_empty(),
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed.iter().map(|(before, after)| serde_json::json!({
                "name": after.name, "before": before, "after": after,
            })).collect::<Vec<_>>(),
            "order": self.order.as_ref().map(|(before, after)| serde_json::json!({
                "before": before, "after": after,
            })),
            "default": self.default.as_ref().map(|(before, after)| serde_json::json!({
                "before": before, "after": after,
            })),
            "settings": self.settings.iter().map(|(part, before, after)| serde_json::json!({
                "part": part, "before": before, "after": after,
            })).collect::<Vec<_>>(),
        })
    }
}

/// One line of JSON, for display.
fn compact<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}
