//! `PushLedger` on DynamoDB: claims of pushes and sends. A claim is one conditional PutItem, so
//! exactly one attempt wins; a `pending` claim whose lease ran out may be taken over. Every
//! write is safe to repeat: the SDK repeats a request whose answer was lost, and the repeat must
//! recognise the first one as its own (the claim's condition accepts this attempt's own pending
//! item; `accept`, `release` and `mark_done` converge).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

use super::describe;
use super::table::{DynamoTable, applied, condition_failed, n, number, s};
use crate::clock::{EpochMillis, EpochSecs};
use crate::ports::{Answer, Claim, ClaimOutcome, PortError, PushLedger};

const PENDING: &str = "pending";
const ACCEPTED: &str = "accepted";
const SENDING: &str = "sending";
const DONE: &str = "done";

#[async_trait]
impl PushLedger for DynamoTable {
    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, PortError> {
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .item("pk", s(&claim.key))
            .item("sk", s("push"))
            .item("state", s(PENDING))
            .item("attempt", s(&claim.attempt))
            .item("lease_until", n(claim.lease_until.0))
            .item("expires_at", n(claim.expires_at.0))
            .condition_expression(
                "attribute_not_exists(pk) OR expires_at <= :now_s \
                 OR (#state = :pending AND (lease_until < :now OR attempt = :attempt))",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":pending", s(PENDING))
            .expression_attribute_values(":now", n(claim.now.0))
            .expression_attribute_values(":now_s", n(claim.now.secs().0))
            .expression_attribute_values(":attempt", s(&claim.attempt))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(ClaimOutcome::Claimed),
            Err(err) if condition_failed(&err) => {
                let old = match err.as_service_error() {
                    Some(PutItemError::ConditionalCheckFailedException(e)) => e.item(),
                    _ => None,
                };
                Ok(found(old, claim.now.0))
            }
            Err(err) => Err(PortError::new("claim push", describe(&err))),
        }
    }

    async fn hold_once(
        &self,
        key: &str,
        holder: &str,
        now: EpochMillis,
        expires_at: EpochSecs,
    ) -> Result<bool, PortError> {
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .item("pk", s(key))
            .item("sk", s("once"))
            .item("holder", s(holder))
            .item("expires_at", n(expires_at.0))
            .condition_expression(
                "attribute_not_exists(pk) OR holder = :holder OR expires_at <= :now_s",
            )
            .expression_attribute_values(":holder", s(holder))
            .expression_attribute_values(":now_s", n(now.secs().0))
            .send()
            .await;
        applied(result, "hold key")
    }

    async fn accept(&self, key: &str, attempt: &str, answer: Answer) -> Result<(), PortError> {
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .key("pk", s(key))
            .key("sk", s("push"))
            .update_expression("SET #state = :accepted, answer = :answer")
            .condition_expression("attempt = :attempt")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":accepted", s(ACCEPTED))
            .expression_attribute_values(":answer", s(answer_name(answer)))
            .expression_attribute_values(":attempt", s(attempt))
            .send()
            .await;
        // Not applied: not ours any more (taken over after our lease ran out, or done).
        applied(result, "accept push").map(|_| ())
    }

    async fn begin_send(&self, key: &str, attempt: &str) -> Result<bool, PortError> {
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .key("pk", s(key))
            .key("sk", s("push"))
            .update_expression("SET #state = :sending")
            // Our own repeat (the SDK repeating a write whose answer was lost) passes too.
            .condition_expression("attempt = :attempt AND #state IN (:pending, :sending)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":pending", s(PENDING))
            .expression_attribute_values(":sending", s(SENDING))
            .expression_attribute_values(":attempt", s(attempt))
            .send()
            .await;
        applied(result, "begin send")
    }

    async fn release(&self, key: &str, attempt: &str) -> Result<(), PortError> {
        let result = self
            .client()
            .delete_item()
            .table_name(self.table())
            .key("pk", s(key))
            .key("sk", s("push"))
            .condition_expression("#state IN (:pending, :sending) AND attempt = :attempt")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":pending", s(PENDING))
            .expression_attribute_values(":sending", s(SENDING))
            .expression_attribute_values(":attempt", s(attempt))
            .send()
            .await;
        // Not applied: not ours any more (taken over, or already done): nothing to release.
        applied(result, "release claim").map(|_| ())
    }

    async fn mark_done(&self, key: &str, expires_at: EpochSecs) -> Result<(), PortError> {
        self.client()
            .update_item()
            .table_name(self.table())
            .key("pk", s(key))
            .key("sk", s("push"))
            .update_expression("SET #state = :done, expires_at = :exp REMOVE attempt, lease_until")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":done", s(DONE))
            .expression_attribute_values(":exp", n(expires_at.0))
            .send()
            .await
            .map_err(|err| PortError::new("mark push done", describe(&err)))?;
        Ok(())
    }
}

/// What a failed claim found at `now` (ms): a claim still in progress, a send abandoned while
/// going out, or a handled entry's answer.
fn found(old: Option<&HashMap<String, AttributeValue>>, now: i64) -> ClaimOutcome {
    let text = |name: &str| {
        old.and_then(|item| item.get(name))
            .and_then(|v| v.as_s().ok())
            .map(String::as_str)
    };
    let lease_over = old
        .and_then(|item| number(item, "lease_until"))
        .is_some_and(|until| until < now);
    match text("state") {
        Some(PENDING) => ClaimOutcome::InProgress,
        Some(SENDING) if lease_over => ClaimOutcome::Abandoned,
        Some(SENDING) => ClaimOutcome::InProgress,
        _ => ClaimOutcome::Handled(match text("answer") {
            Some("transfer") => Answer::Transfer,
            _ => Answer::Success,
        }),
    }
}

fn answer_name(answer: Answer) -> &'static str {
    match answer {
        Answer::Success => "success",
        Answer::Transfer => "transfer",
    }
}
