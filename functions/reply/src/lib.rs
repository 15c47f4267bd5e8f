//! The `reply` function's mapping: an SQS batch in, the send core (`kefu::send`) in the middle,
//! a partial batch response out (only the records to retry; `ReportBatchItemFailures`).
//!
//! The function has two event sources: the job queue (what `receive` enqueues) and the outbox
//! (business systems' commands, `kefu::outbox`). A record is told by its `eventSourceARN`: the
//! outbox's ARN (`KEFU_OUTBOX_QUEUE_ARN`) makes it a command, anything else a job.

use std::sync::Arc;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use kefu::apps::Apps;
use kefu::send::{OutboxRecord, OutboxSettings, Sender};

// `SHIPPED_ASSETS`: the images of functions/reply/assets/, built in (see build.rs).
include!(concat!(env!("OUT_DIR"), "/shipped_assets.rs"));

/// The invocation's deadline (ms since the epoch) from the context's `deadline`. Lambda sends an
/// instant; a local emulator may send a duration instead (cargo lambda watch sends `600000`): a
/// "deadline" before now at the start of an invocation is read as that many ms from now.
pub fn deadline(context_deadline: u64, now: i64) -> i64 {
    let given = i64::try_from(context_deadline).unwrap_or(i64::MAX);
    if given < now {
        now.saturating_add(given)
    } else {
        given
    }
}

/// Where the function's records come from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// The outbox queue's ARN; none: every record is a job.
    pub outbox_arn: Option<String>,
    pub outbox: OutboxSettings,
}

/// Runs one SQS batch, each job by its app's sender; `deadline` (ms since the epoch) is the
/// invocation's, from the Lambda context: no send starts that could not finish before it.
pub async fn handle(apps: &Arc<Apps<Sender>>, event: SqsEvent, deadline: i64) -> SqsBatchResponse {
    handle_sources(apps, &Sources::default(), event, deadline).await
}

/// Runs one SQS batch of either source: jobs by the reply path, outbox commands by the
/// outbox's (each record by the source its `eventSourceARN` names).
pub async fn handle_sources(
    apps: &Arc<Apps<Sender>>,
    sources: &Sources,
    event: SqsEvent,
    deadline: i64,
) -> SqsBatchResponse {
    let mut jobs = Vec::new();
    let mut commands = Vec::new();
    for record in event.records {
        let from_outbox = sources.outbox_arn.is_some()
            && record.event_source_arn.as_deref() == sources.outbox_arn.as_deref();
        let queued_at = queued_at(&record);
        match (record.message_id, record.body) {
            (Some(id), Some(body)) if from_outbox => commands.push(OutboxRecord {
                id,
                body,
                queued_at,
            }),
            (Some(id), Some(body)) => jobs.push((id, body)),
            (id, _) => {
                tracing::warn!(message_id = ?id, "SQS record without id or body dropped");
            }
        }
    }
    let (mut failures, outbox_failures) = tokio::join!(
        async {
            if jobs.is_empty() {
                Vec::new()
            } else {
                kefu::send::run_batch(apps, jobs, deadline).await
            }
        },
        async {
            if commands.is_empty() {
                Vec::new()
            } else {
                kefu::send::run_outbox_batch(apps, commands, deadline, sources.outbox).await
            }
        }
    );
    failures.extend(outbox_failures);
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures
        .into_iter()
        .map(|item_identifier| {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = item_identifier;
            failure
        })
        .collect();
    response
}

/// When SQS took the message (its `SentTimestamp` attribute, ms since the epoch).
fn queued_at(record: &SqsMessage) -> Option<i64> {
    record.attributes.get("SentTimestamp")?.parse().ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::SHIPPED_ASSETS;

    /// Every file of functions/reply/assets/ is built in, byte for byte, in binary-search order.
    #[test]
    fn every_asset_file_is_built_in() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
        let mut on_disk: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter(|name| !name.starts_with('.'))
            .collect();
        on_disk.sort();
        let shipped: Vec<&str> = SHIPPED_ASSETS.iter().map(|(name, _)| *name).collect();
        assert_eq!(shipped, on_disk);
        for (name, bytes) in SHIPPED_ASSETS {
            assert_eq!(
                *bytes,
                std::fs::read(folder.join(name)).unwrap().as_slice(),
                "{name}"
            );
        }
    }
}
