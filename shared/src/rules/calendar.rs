//! The calendar that schedules are asked in: fixed-offset time zones, proleptic Gregorian
//! dates, weekdays and minutes of the day, and the parsing of each as written (`Asia/Shanghai`,
//! `UTC+08:00`, `2026-10-01`, `09:00`). Pure: an instant is ms since the epoch, passed in.
//!
//! Time zones are fixed offsets. China has had no daylight saving time since 1991, so
//! `Asia/Shanghai` is UTC+08:00 for every instant a rule will meet; kefu knows a few IANA names
//! of zones without DST today, and any `UTC±HH:MM`. A name it does not know (a zone with DST,
//! such as `Europe/Berlin`) is refused at validation rather than evaluated wrongly.

use std::fmt;

/// The zone of a rule set that names none.
pub const DEFAULT_TIME_ZONE: &str = "Asia/Shanghai";

/// IANA zones without daylight saving time today, and their offsets in minutes.
const NAMED_ZONES: &[(&str, i32)] = &[
    ("Asia/Shanghai", 480),
    ("Asia/Chongqing", 480),
    ("Asia/Urumqi", 360),
    ("Asia/Hong_Kong", 480),
    ("Asia/Macau", 480),
    ("Asia/Taipei", 480),
    ("Asia/Singapore", 480),
    ("Asia/Kuala_Lumpur", 480),
    ("Asia/Manila", 480),
    ("Asia/Tokyo", 540),
    ("Asia/Seoul", 540),
    ("Asia/Bangkok", 420),
    ("Asia/Ho_Chi_Minh", 420),
    ("Asia/Jakarta", 420),
    ("Asia/Kolkata", 330),
    ("Asia/Dubai", 240),
    ("UTC", 0),
    ("Etc/UTC", 0),
];

/// Minutes in a day: `24:00`, the end of the last range of a day.
pub(super) const MINUTES_PER_DAY: u16 = 24 * 60;
const MILLIS_PER_DAY: i64 = 86_400_000;
/// The days of the week as schedules write them, Monday first (a weekday's index).
pub(super) const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// A fixed-offset time zone, with the name it was written as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZone {
    name: String,
    offset_minutes: i32,
}

impl TimeZone {
    /// `Asia/Shanghai` and the other names kefu knows, `UTC`, or `UTC+08:00` / `UTC-05:30`.
    pub fn parse(name: &str) -> Result<Self, String> {
        let known = NAMED_ZONES
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, offset)| *offset);
        let offset = known.or_else(|| parse_offset(name)).ok_or_else(|| {
            format!(
                "time zone {name:?} is not one kefu knows: use a zone without daylight saving time (Asia/Shanghai, Asia/Hong_Kong, Asia/Tokyo, UTC, …) or an offset such as UTC+08:00"
            )
        })?;
        Ok(Self {
            name: name.to_owned(),
            offset_minutes: offset,
        })
    }

    /// `Asia/Shanghai`.
    pub fn shanghai() -> Self {
        Self {
            name: DEFAULT_TIME_ZONE.to_owned(),
            offset_minutes: 480,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The wall-clock date and time in this zone at `millis` since the epoch.
    pub fn local(&self, millis: i64) -> LocalTime {
        let local = millis.saturating_add(i64::from(self.offset_minutes) * 60_000);
        let days = local.div_euclid(MILLIS_PER_DAY);
        let minute = u16::try_from(local.rem_euclid(MILLIS_PER_DAY) / 60_000).unwrap_or(0);
        LocalTime {
            date: Date::from_days(days),
            // 1970-01-01 was a Thursday (index 3, counting from Monday).
            weekday: usize::try_from((days + 3).rem_euclid(7)).unwrap_or(0),
            minute,
        }
    }

    /// The instant (ms since the epoch) of a wall-clock date and minute in this zone.
    pub fn instant(&self, date: Date, minute: u16) -> i64 {
        date.days() * MILLIS_PER_DAY + (i64::from(minute) - i64::from(self.offset_minutes)) * 60_000
    }
}

/// `UTC+08:00`, `UTC-5`, `UTC+05:30`.
fn parse_offset(name: &str) -> Option<i32> {
    let rest = name.strip_prefix("UTC")?;
    let (sign, rest) = match rest.as_bytes().first()? {
        b'+' => (1, rest.get(1..)?),
        b'-' => (-1, rest.get(1..)?),
        _ => return None,
    };
    let (hours, minutes) = rest.split_once(':').unwrap_or((rest, "00"));
    if hours.is_empty() || hours.len() > 2 || minutes.len() != 2 {
        return None;
    }
    let hours: i32 = digits(hours)?;
    let minutes: i32 = digits(minutes)?;
    let total = hours * 60 + minutes;
    (minutes < 60 && total <= 14 * 60).then_some(sign * total)
}

/// An unsigned decimal number of ASCII digits only (no sign, no spaces).
fn digits<T: std::str::FromStr>(text: &str) -> Option<T> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A calendar date (proleptic Gregorian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

impl Date {
    /// `2026-10-01`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('-');
        let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || year.len() != 4 || month.len() != 2 || day.len() != 2 {
            return None;
        }
        let date = Self {
            year: digits(year)?,
            month: digits(month)?,
            day: digits(day)?,
        };
        (date.month >= 1 && date.month <= 12 && date.day >= 1 && date.day <= date.month_length())
            .then_some(date)
    }

    fn month_length(self) -> u8 {
        match self.month {
            2 if self.year % 4 == 0 && (self.year % 100 != 0 || self.year % 400 == 0) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    /// Days since 1970-01-01 (H. Hinnant's `days_from_civil`).
    fn days(self) -> i64 {
        let (month, day) = (i64::from(self.month), i64::from(self.day));
        let year = i64::from(self.year) - i64::from(month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    /// The date `days` after 1970-01-01 (`civil_from_days`).
    pub fn from_days(days: i64) -> Self {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z - era * 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let mp = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        Self {
            year: i32::try_from(year).unwrap_or(i32::MAX),
            month: u8::try_from(month).unwrap_or(1),
            day: u8::try_from(day).unwrap_or(1),
        }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A wall-clock moment: date, weekday (0 = Monday) and minute of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    pub date: Date,
    pub weekday: usize,
    pub minute: u16,
}

impl LocalTime {
    /// `22:30`.
    pub fn hh_mm(&self) -> String {
        hh_mm(self.minute)
    }

    /// `sat`.
    pub fn day_name(&self) -> &'static str {
        DAY_NAMES.get(self.weekday).copied().unwrap_or("?")
    }
}

impl fmt::Display for LocalTime {
    /// `sat 2026-12-05 22:30`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.day_name(), self.date, self.hh_mm())
    }
}

/// `HH:MM` (two digits each, `24:00` allowed) as a minute of the day.
pub(super) fn parse_minute(text: &str) -> Option<u16> {
    let (hours, minutes) = text.split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let (hours, minutes): (u16, u16) = (digits(hours)?, digits(minutes)?);
    let minute = hours * 60 + minutes;
    (minutes < 60 && minute <= MINUTES_PER_DAY).then_some(minute)
}

/// A minute of the day as `HH:MM` (`24:00` for the end of the day).
pub(super) fn hh_mm(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    /// An instant from a wall-clock time in Shanghai.
    fn at(text: &str) -> i64 {
        let (date, time) = text.split_once('T').unwrap();
        TimeZone::shanghai().instant(Date::parse(date).unwrap(), parse_minute(time).unwrap())
    }

    #[test]
    fn the_calendar_round_trips_and_knows_weekdays() {
        let zone = TimeZone::parse("UTC").unwrap();
        assert_eq!(zone.local(0).to_string(), "thu 1970-01-01 00:00");
        assert_eq!(zone.local(-1).to_string(), "wed 1969-12-31 23:59");
        for text in [
            "2000-02-29",
            "2024-02-29",
            "2026-12-05",
            "1999-12-31",
            "2100-03-01",
        ] {
            let date = Date::parse(text).unwrap();
            assert_eq!(Date::from_days(date.days()), date);
            assert_eq!(date.to_string(), text);
        }
        assert_eq!(
            zone.local(at("2026-12-05T22:30")).to_string(),
            "sat 2026-12-05 14:30"
        );
        assert_eq!(
            TimeZone::shanghai()
                .local(at("2026-12-05T22:30"))
                .day_name(),
            "sat"
        );
        assert_eq!(Date::parse("2026-02-29"), None);
        assert_eq!(Date::parse("2100-02-29"), None);
        assert_eq!(Date::parse("2026-13-01"), None);
        assert_eq!(Date::parse("2026-1-01"), None);
        assert_eq!(Date::parse("+026-01-01"), None);
    }

    #[test]
    fn zones_are_the_names_kefu_knows_or_fixed_offsets() {
        assert_eq!(TimeZone::parse("UTC+8").unwrap().local(0).hh_mm(), "08:00");
        for bad in [
            "Europe/Berlin",
            "UTC+15:00",
            "UTC+08:60",
            "UTC8",
            "+08:00",
            "asia/shanghai",
        ] {
            assert!(TimeZone::parse(bad).is_err(), "{bad}");
        }
    }
}
