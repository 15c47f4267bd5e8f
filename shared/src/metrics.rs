//! Counters as CloudWatch Embedded Metric Format lines: one JSON line on stdout per count,
//! which Lambda's log pipeline turns into a metric in the `kefu` namespace without an API call.

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
