//! `HookAnswers` on DynamoDB: what was decided for a job's hook (its answer, or the fallback),
//! one small item per job beside its send claims (`hook#{push key}`, with the ledger's TTL).
//! Written once, conditionally: the first delivery's decision is the one every delivery sends.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

use super::describe;
use super::table::{DynamoTable, condition_failed, n, number, s};
use crate::clock::{EpochMillis, EpochSecs};
use crate::ports::{HookAnswers, PortError};

const SK: &str = "hook";

fn decision_of(item: &std::collections::HashMap<String, AttributeValue>) -> Option<String> {
    item.get("decision")?.as_s().ok().cloned()
}

#[async_trait]
impl HookAnswers for DynamoTable {
    async fn kept(&self, key: &str, now: EpochMillis) -> Result<Option<String>, PortError> {
        let item = self
            .client()
            .get_item()
            .table_name(self.table())
            .key("pk", s(key))
            .key("sk", s(SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| PortError::new("read hook answer", describe(&err)))?
            .item;
        Ok(item
            .filter(|item| number(item, "expires_at").is_some_and(|at| at > now.secs().0))
            .as_ref()
            .and_then(decision_of))
    }

    async fn keep(
        &self,
        key: &str,
        decision: &str,
        now: EpochMillis,
        expires_at: EpochSecs,
    ) -> Result<String, PortError> {
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .item("pk", s(key))
            .item("sk", s(SK))
            .item("decision", s(decision))
            .item("expires_at", n(expires_at.0))
            .condition_expression("attribute_not_exists(pk) OR expires_at <= :now_s")
            .expression_attribute_values(":now_s", n(now.secs().0))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(decision.to_owned()),
            Err(err) if condition_failed(&err) => {
                let kept = match err.as_service_error() {
                    Some(PutItemError::ConditionalCheckFailedException(e)) => {
                        e.item().and_then(decision_of)
                    }
                    _ => None,
                };
                match kept {
                    Some(kept) => Ok(kept),
                    // Moto and older endpoints may not return the item: read it.
                    None => self
                        .kept(key, now)
                        .await?
                        .ok_or_else(|| PortError::new("keep hook answer", "kept, then not found")),
                }
            }
            Err(err) => Err(PortError::new("keep hook answer", describe(&err))),
        }
    }
}
