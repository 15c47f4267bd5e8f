//! One check of `kefu doctor`'s report — its name, how it came out and the detail in words —
//! and the words the checks share.

use serde::Serialize;

use crate::paint::{Colour, paint};

/// Where 小程序后台 keeps the AppID, AppSecret and IP whitelist.
pub(super) const SETTINGS: &str = "小程序后台 → 开发 → 开发管理 → 开发设置";

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// Works, but worth knowing (exit status stays 0).
    Warn,
    /// Will not work as configured (exit status 1).
    Fail,
    /// Not checked: a flag was not given, or an earlier check failed.
    Skip,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
}

impl Check {
    pub(super) fn new(name: &'static str, status: Status, detail: impl Into<String>) -> Self {
        Self {
            name,
            status,
            detail: detail.into(),
        }
    }

    pub(super) fn line(&self) -> String {
        let (mark, colour) = match self.status {
            Status::Ok => ("✓", Colour::Green),
            Status::Warn => ("!", Colour::Yellow),
            Status::Fail => ("✗", Colour::Red),
            Status::Skip => ("-", Colour::Dim),
        };
        paint(&format!("{mark} {}: {}", self.name, self.detail), colour)
    }
}

/// `text` cut to `max` characters, with … where it was cut (a value as it was given).
pub(super) fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() > max {
        format!("{}…", text.chars().take(max).collect::<String>())
    } else {
        text.to_owned()
    }
}
