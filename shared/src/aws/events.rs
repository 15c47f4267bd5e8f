//! kefu's events on an EventBridge bus: `EventPublisher` with PutEvents. A request takes at
//! most 10 entries and 256 KB; EventBridge may accept some entries of a request and fail others
//! (`FailedEntryCount`, an `ErrorCode` on each failed entry), so the failed ones are sent again,
//! a bounded number of times, before the publish fails. The SDK's own retries (throttling, 5xx,
//! a lost connection) come on top of these.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use super::describe;
use crate::events::Event;
use crate::ports::{EventPublisher, PortError};

/// EventBridge's limit of entries per PutEvents.
pub const MAX_ENTRIES: usize = 10;
/// EventBridge's limit of a PutEvents request (256 KB), less a margin.
const MAX_REQUEST_BYTES: usize = 240 * 1024;
/// How many times the entries EventBridge failed are sent again (after 100 ms, then 200 ms).
pub const FAILED_ENTRY_RETRIES: u32 = 2;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

#[derive(Debug, Clone)]
pub struct EventBus {
    client: Client,
    bus: String,
}

impl EventBus {
    /// The bus named `bus` (a name or an ARN).
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        Self {
            client,
            bus: bus.into(),
        }
    }

    fn entry(&self, event: &Event) -> PutEventsRequestEntry {
        PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(event.source())
            .detail_type(event.detail_type())
            .detail(event.detail().to_string())
            .time(DateTime::from_millis(event.at_ms))
            .build()
    }

    /// One request's worth of entries, sent until every one is accepted or the retries run out;
    /// returns how many were not accepted and EventBridge's last reason.
    async fn put(&self, mut pending: Vec<PutEventsRequestEntry>) -> Result<(), PortError> {
        let total = pending.len();
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 0;
        loop {
            let out = self
                .client
                .put_events()
                .set_entries(Some(pending.clone()))
                .send()
                .await
                .map_err(|err| {
                    PortError::new(
                        "publish events",
                        format!(
                            "{} of {total} events not published: {}",
                            pending.len(),
                            describe(&err)
                        ),
                    )
                })?;
            if out.failed_entry_count() == 0 {
                return Ok(());
            }
            // The results are in the order of the entries; a failed one has an error code.
            let mut reason = String::new();
            pending = pending
                .into_iter()
                .zip(
                    out.entries()
                        .iter()
                        .map(Some)
                        .chain(std::iter::repeat(None)),
                )
                .filter_map(|(entry, result)| match result {
                    Some(result) if result.error_code().is_none() => None,
                    Some(result) => {
                        reason = format!(
                            "{}: {}",
                            result.error_code().unwrap_or_default(),
                            result.error_message().unwrap_or_default()
                        );
                        Some(entry)
                    }
                    // No result for it: not known to be accepted.
                    None => Some(entry),
                })
                .collect();
            if pending.is_empty() {
                return Ok(());
            }
            if attempt >= FAILED_ENTRY_RETRIES {
                return Err(PortError::new(
                    "publish events",
                    format!(
                        "{} of {total} events not accepted after {} tries: {reason}",
                        pending.len(),
                        attempt + 1
                    ),
                ));
            }
            attempt += 1;
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    }
}

#[async_trait]
impl EventPublisher for EventBus {
    async fn publish(&self, events: &[Event]) -> Result<(), PortError> {
        let mut failures = Vec::new();
        for batch in batches(events.iter().map(|event| self.entry(event)).collect()) {
            if let Err(err) = self.put(batch).await {
                failures.push(err.message);
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(PortError::new("publish events", failures.join("; ")))
        }
    }
}

/// Entries grouped into requests EventBridge takes: at most [`MAX_ENTRIES`] and about
/// [`MAX_REQUEST_BYTES`] each (the size as EventBridge counts it: source, detail-type, detail,
/// and 14 bytes for the time).
fn batches(entries: Vec<PutEventsRequestEntry>) -> Vec<Vec<PutEventsRequestEntry>> {
    let size = |entry: &PutEventsRequestEntry| {
        14 + entry.source().map_or(0, str::len)
            + entry.detail_type().map_or(0, str::len)
            + entry.detail().map_or(0, str::len)
    };
    let mut batches: Vec<Vec<PutEventsRequestEntry>> = Vec::new();
    let mut bytes = 0;
    for entry in entries {
        let entry_bytes = size(&entry);
        match batches.last_mut() {
            Some(batch)
                if batch.len() < MAX_ENTRIES && bytes + entry_bytes <= MAX_REQUEST_BYTES =>
            {
                bytes += entry_bytes;
                batch.push(entry);
            }
            _ => {
                bytes = entry_bytes;
                batches.push(vec![entry]);
            }
        }
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(detail_bytes: usize) -> PutEventsRequestEntry {
        PutEventsRequestEntry::builder()
            .source("kefu.wx1")
            .detail_type("message.received")
            .detail("x".repeat(detail_bytes))
            .build()
    }

    #[test]
    fn requests_hold_ten_entries_and_stay_under_the_size_limit() {
        let sizes: Vec<usize> = batches((0..23).map(|_| entry(10)).collect())
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, [10, 10, 3]);
        let sizes: Vec<usize> = batches((0..5).map(|_| entry(100 * 1024)).collect())
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, [2, 2, 1]);
        assert!(batches(Vec::new()).is_empty());
    }
}
