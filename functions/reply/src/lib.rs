//! The `reply` function's mapping: an SQS batch in, the send core (`kefu::send`) in the middle,
//! a partial batch response out (only the records to retry; `ReportBatchItemFailures`).

use std::sync::Arc;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use kefu::send::Sender;

/// Runs one SQS batch; `deadline` (ms since the epoch) is the invocation's, from the Lambda
/// context: no send starts that could not finish before it.
pub async fn handle(sender: &Arc<Sender>, event: SqsEvent, deadline: i64) -> SqsBatchResponse {
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
    let failures = sender.run_batch(records, deadline).await;
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
