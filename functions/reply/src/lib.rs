//! The `reply` function's mapping: an SQS batch in, the send core (`kefu::send`) in the middle,
//! a partial batch response out (only the records to retry; `ReportBatchItemFailures`).

use std::sync::Arc;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use kefu::apps::Apps;
use kefu::send::Sender;

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

/// Runs one SQS batch, each job by its app's sender; `deadline` (ms since the epoch) is the
/// invocation's, from the Lambda context: no send starts that could not finish before it.
pub async fn handle(apps: &Arc<Apps<Sender>>, event: SqsEvent, deadline: i64) -> SqsBatchResponse {
    let records = event
        .records
        .into_iter()
        .filter_map(|record| match (record.message_id, record.body) {
            (Some(id), Some(body)) => Some((id, body)),
            (id, _) => {
                tracing::warn!(message_id = ?id, "SQS record without id or body dropped");
                None
            }
        })
        .collect();
    let failures = kefu::send::run_batch(apps, records, deadline).await;
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
