//! The DynamoDB table (`pk`, `sk`, `expires_at` TTL) behind the push ledger and the hand-off
//! registry. Claims are conditional writes, so exactly one attempt wins; DynamoDB deletes
//! expired items lazily, so the claim condition checks `expires_at` itself (a hand-off entry
//! outlives its `until` by an hour, so reading `until` is enough there).

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;

use super::{condition_failed, describe, n, s};
use crate::ports::{Claim, ClaimOutcome, HandoffRegistry, PortError, PushLedger};

const PENDING: &str = "pending";
const DONE: &str = "done";

#[derive(Debug, Clone)]
pub struct DynamoTable {
    client: Client,
    table: String,
}

impl DynamoTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

#[async_trait]
impl PushLedger for DynamoTable {
    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, PortError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(&claim.key))
            .item("sk", s("push"))
            .item("state", s(PENDING))
            .item("attempt", s(&claim.attempt))
            .item("lease_until", n(claim.lease_until))
            .item("expires_at", n(claim.expires_at))
            .condition_expression(
                "attribute_not_exists(pk) OR expires_at <= :now_s \
                 OR (#state = :pending AND lease_until < :now)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":pending", s(PENDING))
            .expression_attribute_values(":now", n(claim.now))
            .expression_attribute_values(":now_s", n(claim.now / 1000))
            .send()
            .await;
        match result {
            Ok(_) => Ok(ClaimOutcome::Claimed),
            Err(err) if condition_failed(&err) => Ok(ClaimOutcome::Duplicate),
            Err(err) => Err(PortError::new("claim push", describe(&err))),
        }
    }

    async fn release(&self, key: &str, attempt: &str) -> Result<(), PortError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .key("sk", s("push"))
            .condition_expression("#state = :pending AND attempt = :attempt")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":pending", s(PENDING))
            .expression_attribute_values(":attempt", s(attempt))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Not ours any more (taken over, or already done): nothing to release.
            Err(err) if condition_failed(&err) => Ok(()),
            Err(err) => Err(PortError::new("release claim", describe(&err))),
        }
    }

    async fn mark_done(&self, key: &str, expires_at: i64) -> Result<(), PortError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(key))
            .key("sk", s("push"))
            .update_expression("SET #state = :done, expires_at = :exp REMOVE attempt, lease_until")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":done", s(DONE))
            .expression_attribute_values(":exp", n(expires_at))
            .send()
            .await
            .map_err(|err| PortError::new("mark push done", describe(&err)))?;
        Ok(())
    }
}

#[async_trait]
impl HandoffRegistry for DynamoTable {
    async fn record(&self, appid: &str, openid: &str, until_ms: i64) -> Result<(), PortError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("handoff#{appid}#{openid}")))
            .item("sk", s("handoff"))
            .item("until", n(until_ms))
            .item("expires_at", n(until_ms / 1000 + 3600))
            .send()
            .await
            .map_err(|err| PortError::new("record hand-off", describe(&err)))?;
        Ok(())
    }

    async fn held_until(&self, appid: &str, openid: &str) -> Result<Option<i64>, PortError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(format!("handoff#{appid}#{openid}")))
            .key("sk", s("handoff"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| PortError::new("read hand-off", describe(&err)))?
            .item;
        Ok(item
            .and_then(|item| item.get("until").cloned())
            .and_then(|until| until.as_n().ok().and_then(|v| v.parse().ok())))
    }
}
