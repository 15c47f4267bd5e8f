//! When a rule applies: a schedule of open days, hours and date exceptions in a time zone,
//! checked once ([`Schedule::compile`]) and then asked ([`OpenHours::at`]). Pure: a schedule is
//! asked about an instant (ms since the epoch, from the injected clock), never about "now";
//! the calendar it is asked in (time zones, dates, weekdays) is [`super::calendar`].
//!
//! Hours are half-open (`09:00-21:00` is open at 09:00, closed at 21:00) and never cross
//! midnight: a night shift is two ranges, `22:00-24:00` and `00:00-02:00`, so that each range
//! belongs to the day it is on and the day list says plainly which days they are.

use std::borrow::Cow;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::calendar::{DAY_NAMES, Date, MINUTES_PER_DAY, TimeZone, hh_mm, parse_minute};

/// When a rule applies, as written in JSON. Every part is optional: no `days` means every day,
/// no `hours` the whole day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// The days of the week it is open: `mon` `tue` `wed` `thu` `fri` `sat` `sun` (every day
    /// when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<Vec<DayName>>,
    /// The hours it is open on an open day, `HH:MM-HH:MM`, start included, end excluded, end
    /// up to `24:00`; a range may not cross midnight (the whole day when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<Vec<TimeRange>>,
    /// Dates it is closed all day whatever the weekday (holidays), `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub closed_dates: Vec<DateText>,
    /// Dates it is open whatever the weekday, with the same hours (make-up workdays, 调休上班).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open_dates: Vec<DateText>,
    /// The zone its days and hours are in; the rule set's `time_zone` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// A day of the week as written: `mon` … `sun`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DayName(pub String);

/// `09:00-21:00` as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TimeRange(pub String);

/// `2026-10-01` as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DateText(pub String);

impl JsonSchema for DayName {
    fn schema_name() -> Cow<'static, str> {
        "DayName".into()
    }

    fn json_schema(_generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "enum": DAY_NAMES,
            "description": "A day of the week."
        })
    }
}

impl JsonSchema for TimeRange {
    fn schema_name() -> Cow<'static, str> {
        "TimeRange".into()
    }

    fn json_schema(_generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$",
            "description": "HH:MM-HH:MM, start included, end excluded (up to 24:00); the start must be before the end (a range does not cross midnight: write 22:00-24:00 and 00:00-02:00)."
        })
    }
}

impl JsonSchema for DateText {
    fn schema_name() -> Cow<'static, str> {
        "Date".into()
    }

    fn json_schema(_generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
            "description": "A date, YYYY-MM-DD, in the schedule's time zone."
        })
    }
}

/// A schedule checked and ready to ask: see [`Schedule::compile`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenHours {
    zone: TimeZone,
    /// Indexed by weekday, Monday first.
    days: [bool; 7],
    /// `None`: every day (for the explanation).
    day_list: Option<Vec<&'static str>>,
    /// Minutes of the day, `[start, end)`; `None`: the whole day.
    ranges: Option<Vec<(u16, u16)>>,
    closed: Vec<Date>,
    open: Vec<Date>,
}

/// Whether a schedule is open at an instant, and why, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Openness {
    pub open: bool,
    pub why: String,
}

impl Schedule {
    /// Checks every part and returns the schedule ready to ask. `zone` is the rule set's zone,
    /// used when the schedule names none. Errors name the part: `hours[1] "21:00-09:00"
    /// crosses midnight …`.
    pub fn compile(&self, zone: &TimeZone) -> Result<OpenHours, String> {
        let zone = match &self.time_zone {
            Some(name) => TimeZone::parse(name)?,
            None => zone.clone(),
        };
        let (days, day_list) = match &self.days {
            None => ([true; 7], None),
            Some(names) => {
                let mut days = [false; 7];
                let mut list = Vec::new();
                for (n, DayName(name)) in names.iter().enumerate() {
                    let index = DAY_NAMES
                        .iter()
                        .position(|day| day == name)
                        .ok_or_else(|| {
                            format!("days[{n}] {name:?} is not a day: use mon, tue, wed, thu, fri, sat, sun")
                        })?;
                    if let (Some(slot), Some(day)) = (days.get_mut(index), DAY_NAMES.get(index)) {
                        *slot = true;
                        list.push(*day);
                    }
                }
                (days, Some(list))
            }
        };
        let ranges = match &self.hours {
            None => None,
            Some(ranges) if ranges.is_empty() => {
                return Err("hours is empty: leave it out for the whole day".into());
            }
            Some(ranges) => Some(
                ranges
                    .iter()
                    .enumerate()
                    .map(|(n, TimeRange(range))| {
                        parse_range(range)
                            .map_err(|problem| format!("hours[{n}] {range:?} {problem}"))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
        };
        let dates = |list: &[DateText], field: &str| {
            list.iter()
                .enumerate()
                .map(|(n, DateText(text))| {
                    Date::parse(text).ok_or_else(|| {
                        format!("{field}[{n}] {text:?} is not a date: write YYYY-MM-DD (e.g. 2026-10-01)")
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        };
        let closed = dates(&self.closed_dates, "closed_dates")?;
        let open = dates(&self.open_dates, "open_dates")?;
        if let Some(both) = open.iter().find(|date| closed.contains(date)) {
            return Err(format!("{both} is both a closed and an open date"));
        }
        if !days.contains(&true) && open.is_empty() {
            return Err("days is empty and there are no open_dates: it is never open".into());
        }
        Ok(OpenHours {
            zone,
            days,
            day_list,
            ranges,
            closed,
            open,
        })
    }
}

/// `09:00-21:00` (or with an en dash) as minutes of the day.
fn parse_range(range: &str) -> Result<(u16, u16), String> {
    let bad = || "is not a time range: write HH:MM-HH:MM (e.g. 09:00-21:00)".to_owned();
    let (start, end) = range
        .split_once('-')
        .or_else(|| range.split_once('–'))
        .ok_or_else(bad)?;
    let (start, end) = (
        parse_minute(start.trim()).ok_or_else(bad)?,
        parse_minute(end.trim()).ok_or_else(bad)?,
    );
    if start == MINUTES_PER_DAY {
        return Err(bad());
    }
    if end == start {
        return Err("is empty: the start must be before the end".into());
    }
    if end < start {
        return Err(format!(
            "crosses midnight: write it as two ranges, \"{}-24:00\" and \"00:00-{}\"",
            hh_mm(start),
            hh_mm(end)
        ));
    }
    Ok((start, end))
}

impl OpenHours {
    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// Whether it is open at `millis` since the epoch, and why: `closed: sat is not among mon,
    /// tue, wed, thu, fri (sat 2026-12-05 22:30 Asia/Shanghai)`.
    pub fn at(&self, millis: i64) -> Openness {
        let local = self.zone.local(millis);
        let when = format!("{local} {}", self.zone.name());
        let closed = |why: String| Openness {
            open: false,
            why: format!("closed: {why} ({when})"),
        };
        let day = if self.closed.contains(&local.date) {
            return closed(format!("{} is a closed date", local.date));
        } else if self.open.contains(&local.date) {
            format!("{} is an open date", local.date)
        } else if self.days.get(local.weekday).copied().unwrap_or(false) {
            match &self.day_list {
                None => "every day".to_owned(),
                Some(_) => format!("{} is an open day", local.day_name()),
            }
        } else {
            return closed(format!(
                "{} is not among {}",
                local.day_name(),
                self.day_list.as_deref().unwrap_or_default().join(", ")
            ));
        };
        let hours = match &self.ranges {
            None => "all day".to_owned(),
            Some(ranges) => {
                let written = || {
                    ranges
                        .iter()
                        .map(|(start, end)| format!("{}-{}", hh_mm(*start), hh_mm(*end)))
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                match ranges
                    .iter()
                    .find(|(start, end)| (*start..*end).contains(&local.minute))
                {
                    Some((start, end)) => {
                        format!("{} in {}-{}", local.hh_mm(), hh_mm(*start), hh_mm(*end))
                    }
                    None => {
                        return closed(format!("{} is outside {}", local.hh_mm(), written()));
                    }
                }
            }
        };
        Openness {
            open: true,
            why: format!("open: {day}, {hours} ({when})"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn schedule(json: &str) -> OpenHours {
        serde_json::from_str::<Schedule>(json)
            .unwrap()
            .compile(&TimeZone::shanghai())
            .unwrap()
    }

    fn problem(json: &str) -> String {
        serde_json::from_str::<Schedule>(json)
            .unwrap()
            .compile(&TimeZone::shanghai())
            .unwrap_err()
    }

    /// An instant from a wall-clock time in Shanghai.
    fn at(text: &str) -> i64 {
        let (date, time) = text.split_once('T').unwrap();
        TimeZone::shanghai().instant(Date::parse(date).unwrap(), parse_minute(time).unwrap())
    }

    const BUSINESS: &str = r#"{"days":["mon","tue","wed","thu","fri"],"hours":["09:00-21:00"],
        "closed_dates":["2026-10-01"],"open_dates":["2026-09-27"]}"#;

    #[test]
    fn business_hours_open_at_the_start_and_close_at_the_end() {
        let hours = schedule(BUSINESS);
        assert!(!hours.at(at("2026-12-04T08:59")).open);
        assert!(hours.at(at("2026-12-04T09:00")).open);
        assert!(hours.at(at("2026-12-04T20:59")).open);
        let closing = hours.at(at("2026-12-04T21:00"));
        assert!(!closing.open);
        assert_eq!(
            closing.why,
            "closed: 21:00 is outside 09:00-21:00 (fri 2026-12-04 21:00 Asia/Shanghai)"
        );
        let saturday = hours.at(at("2026-12-05T22:30"));
        assert_eq!(
            saturday.why,
            "closed: sat is not among mon, tue, wed, thu, fri (sat 2026-12-05 22:30 Asia/Shanghai)"
        );
        assert_eq!(
            hours.at(at("2026-12-07T10:00")).why,
            "open: mon is an open day, 10:00 in 09:00-21:00 (mon 2026-12-07 10:00 Asia/Shanghai)"
        );
    }

    #[test]
    fn the_day_turns_at_local_midnight_not_at_utc_midnight() {
        let hours = schedule(r#"{"days":["sat"]}"#);
        // Saturday 00:00 in Shanghai is Friday 16:00 UTC.
        assert!(!hours.at(at("2026-12-04T23:59")).open);
        assert!(hours.at(at("2026-12-05T00:00")).open);
        assert!(hours.at(at("2026-12-05T23:59")).open);
        assert!(!hours.at(at("2026-12-06T00:00")).open);
    }

    #[test]
    fn a_night_shift_is_two_ranges_and_a_range_across_midnight_is_refused() {
        let night = schedule(r#"{"hours":["22:00-24:00","00:00-02:00"]}"#);
        assert!(night.at(at("2026-12-05T23:59")).open);
        assert!(night.at(at("2026-12-06T00:00")).open);
        assert!(night.at(at("2026-12-06T01:59")).open);
        assert!(!night.at(at("2026-12-06T02:00")).open);
        assert!(!night.at(at("2026-12-06T21:59")).open);
        assert_eq!(
            problem(r#"{"hours":["09:00-18:00","22:00-02:00"]}"#),
            "hours[1] \"22:00-02:00\" crosses midnight: write it as two ranges, \"22:00-24:00\" and \"00:00-02:00\""
        );
    }

    #[test]
    fn holidays_close_and_make_up_workdays_open() {
        let hours = schedule(BUSINESS);
        // 2026-10-01 is a Thursday; 2026-09-27 a Sunday.
        let holiday = hours.at(at("2026-10-01T10:00"));
        assert_eq!(
            holiday.why,
            "closed: 2026-10-01 is a closed date (thu 2026-10-01 10:00 Asia/Shanghai)"
        );
        assert!(hours.at(at("2026-09-27T10:00")).open);
        assert!(!hours.at(at("2026-09-27T21:30")).open);
        assert!(!hours.at(at("2026-09-20T10:00")).open);
    }

    #[test]
    fn the_zone_moves_the_hours() {
        let tokyo = schedule(r#"{"hours":["09:00-10:00"],"time_zone":"Asia/Tokyo"}"#);
        // 09:30 in Tokyo is 08:30 in Shanghai.
        assert!(tokyo.at(at("2026-12-05T08:30")).open);
        assert!(!tokyo.at(at("2026-12-05T09:30")).open);
        let offset = schedule(r#"{"hours":["09:00-10:00"],"time_zone":"UTC-05:30"}"#);
        // 09:30 at UTC-05:30 is 15:00 UTC, 23:00 in Shanghai.
        assert!(offset.at(at("2026-12-05T23:00")).open);
        assert_eq!(TimeZone::parse("UTC+8").unwrap().local(0).hh_mm(), "08:00");
        assert!(problem(r#"{"time_zone":"America/New_York"}"#).contains("is not one kefu knows"));
    }

    #[test]
    fn bad_parts_are_named() {
        assert_eq!(
            problem(r#"{"days":["mon","Fri"]}"#),
            "days[1] \"Fri\" is not a day: use mon, tue, wed, thu, fri, sat, sun"
        );
        assert!(
            problem(r#"{"hours":["9:00-21:00"]}"#)
                .starts_with("hours[0] \"9:00-21:00\" is not a time range")
        );
        assert!(problem(r#"{"hours":["09:00-24:01"]}"#).contains("is not a time range"));
        assert!(problem(r#"{"hours":["24:00-24:00"]}"#).contains("is not a time range"));
        assert!(problem(r#"{"hours":["10:00-10:00"]}"#).contains("is empty"));
        assert!(problem(r#"{"hours":[]}"#).starts_with("hours is empty"));
        assert_eq!(
            problem(r#"{"closed_dates":["2026-02-30"]}"#),
            "closed_dates[0] \"2026-02-30\" is not a date: write YYYY-MM-DD (e.g. 2026-10-01)"
        );
        assert!(
            problem(r#"{"closed_dates":["2026-10-01"],"open_dates":["2026-10-01"]}"#)
                .contains("both a closed and an open date")
        );
        assert!(problem(r#"{"days":[]}"#).contains("never open"));
        assert!(
            schedule(r#"{"days":[],"open_dates":["2026-09-27"]}"#)
                .at(at("2026-09-27T12:00"))
                .open
        );
        assert!(
            schedule(r#"{"hours":["09:00–21:00"]}"#)
                .at(at("2026-09-27T12:00"))
                .open
        );
    }
}
