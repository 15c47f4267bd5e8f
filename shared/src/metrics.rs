//! Counters as CloudWatch Embedded Metric Format lines: one JSON line on stdout per count,
//! which Lambda's log pipeline turns into a metric in the `kefu` namespace without an API call.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Off in `kefu dev`, whose terminal says the same in words.
static ENABLED: AtomicBool = AtomicBool::new(true);

/// Turns the metric lines on or off for this process.
pub fn set_enabled(enabled: bool) {
    ENABLED.store(enabled, Ordering::Relaxed);
}

/// Counts one occurrence of `name` (e.g. `quota_skipped`, `job_dropped`).
pub fn count(name: &str) {
    if !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let line = serde_json::json!({
        "_aws": {
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": "kefu",
                "Dimensions": [[]],
                "Metrics": [{"Name": name, "Unit": "Count"}]
            }]
        },
        name: 1
    });
    println!("{line}");
}

/// This process's outcomes so far, by (app, outcome, id): what `kefu dev` reports (a
/// deployment's are in CloudWatch). As few keys as the metric has dimensions.
static TALLY: Mutex<BTreeMap<TallyKey, u64>> = Mutex::new(BTreeMap::new());

/// (app, outcome, id).
type TallyKey = (String, String, Option<String>);

/// Messages counted of one (app, outcome, id): the last is the count.
pub type Counted = (String, String, Option<String>, u64);

/// The outcomes counted in this process.
pub fn tally() -> Vec<Counted> {
    TALLY
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|((app, outcome, id), n)| (app.clone(), outcome.clone(), id.clone(), *n))
        .collect()
}

/// This process's outcomes by hour: (start of the hour in ms, app, outcome) → messages. What
/// `kefu dev`'s report charts over time; a deployment's are the `messages` metric.
static HOURS: Mutex<BTreeMap<(i64, String, String), u64>> = Mutex::new(BTreeMap::new());

const HOUR_MS: i64 = 3_600_000;

/// Hours older than this are dropped as a new hour starts: a long-lived process keeps a
/// bounded tally.
const KEEP_HOURS: i64 = 24 * 31;

/// Messages of one (start of the hour in ms, app, outcome): the last is the count.
pub type Hourly = (i64, String, String, u64);

/// The outcomes counted in this process, by hour (the last 31 days).
pub fn tally_by_hour() -> Vec<Hourly> {
    HOURS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .map(|((hour, app, outcome), n)| (*hour, app.clone(), outcome.clone(), *n))
        .collect()
}

/// Counts one message in its hour.
fn count_hour(
    hours: &mut BTreeMap<(i64, String, String), u64>,
    at_ms: i64,
    app: &str,
    outcome: &str,
) {
    let hour = at_ms.div_euclid(HOUR_MS) * HOUR_MS;
    let key = (hour, app.to_owned(), outcome.to_owned());
    if !hours.contains_key(&key) {
        let oldest = hour - KEEP_HOURS * HOUR_MS;
        hours.retain(|(h, ..), _| *h > oldest);
    }
    *hours.entry(key).or_default() += 1;
}

/// The metric counting user messages by outcome (`learn::Outcome`).
pub const MESSAGES: &str = "messages";

/// Counts one user message of `app` by its outcome: the `messages` metric by outcome (all
/// apps), by app and outcome, and by app, outcome and the rule or entry that answered (`id`:
/// a name from the rules, so the dimensions are as few as the rules' names).
pub fn outcome(app: &str, outcome: &str, id: Option<&str>) {
    {
        let mut tally = TALLY.lock().unwrap_or_else(|p| p.into_inner());
        *tally
            .entry((app.to_owned(), outcome.to_owned(), id.map(str::to_owned)))
            .or_default() += 1;
    }
    let now = now_millis();
    count_hour(
        &mut HOURS.lock().unwrap_or_else(|p| p.into_inner()),
        i64::try_from(now).unwrap_or(i64::MAX),
        app,
        outcome,
    );
    if !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    println!("{}", outcome_line(app, outcome, id, now));
}

fn now_millis() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// The EMF line of [`outcome`].
fn outcome_line(app: &str, outcome: &str, id: Option<&str>, timestamp: u128) -> String {
    let mut dimensions = vec![
        serde_json::json!(["outcome"]),
        serde_json::json!(["app", "outcome"]),
    ];
    if id.is_some() {
        dimensions.push(serde_json::json!(["app", "outcome", "id"]));
    }
    let mut line = serde_json::Map::new();
    line.insert(
        "_aws".into(),
        serde_json::json!({
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": "kefu",
                "Dimensions": dimensions,
                "Metrics": [{"Name": MESSAGES, "Unit": "Count"}]
            }]
        }),
    );
    line.insert("app".into(), app.into());
    line.insert("outcome".into(), outcome.into());
    if let Some(id) = id {
        line.insert("id".into(), id.into());
    }
    line.insert(MESSAGES.into(), 1.into());
    serde_json::Value::Object(line).to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn outcomes_are_counted_by_hour_and_old_hours_dropped() {
        let mut hours = BTreeMap::new();
        let day = 20_000 * 86_400_000;
        count_hour(&mut hours, day + 10, "wx1", "faq");
        count_hour(&mut hours, day + HOUR_MS - 1, "wx1", "faq");
        count_hour(&mut hours, day + HOUR_MS, "wx1", "faq");
        count_hour(&mut hours, day + HOUR_MS, "wx1", "unanswered");
        assert_eq!(hours.get(&(day, "wx1".into(), "faq".into())), Some(&2));
        assert_eq!(
            hours.get(&(day + HOUR_MS, "wx1".into(), "faq".into())),
            Some(&1)
        );
        count_hour(&mut hours, day + KEEP_HOURS * HOUR_MS, "wx1", "faq");
        assert_eq!(hours.len(), 3, "the first hour dropped: {hours:?}");
        assert!(!hours.keys().any(|(h, ..)| *h == day));
    }

    #[test]
    fn an_outcome_is_one_emf_line_with_bounded_dimensions() {
        let line: serde_json::Value =
            serde_json::from_str(&outcome_line("wx1", "faq", Some("refund"), 7)).unwrap();
        assert_eq!(line["messages"], 1);
        assert_eq!(line["app"], "wx1");
        assert_eq!(line["outcome"], "faq");
        assert_eq!(line["id"], "refund");
        let directive = &line["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "kefu");
        assert_eq!(
            directive["Dimensions"],
            serde_json::json!([["outcome"], ["app", "outcome"], ["app", "outcome", "id"]])
        );
        assert_eq!(directive["Metrics"][0]["Name"], "messages");
        let line: serde_json::Value =
            serde_json::from_str(&outcome_line("wx1", "unanswered", None, 7)).unwrap();
        assert!(line.get("id").is_none());
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([["outcome"], ["app", "outcome"]])
        );
    }
}
