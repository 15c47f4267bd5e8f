//! `HandoffRegistry` on DynamoDB: who a human agent holds. One item per user, holding `until`
//! (ms) and `at` (ms, the CreateTime of the push that decided it). Every write is a conditional
//! PutItem that only a decision at least as recent as the stored one passes, so events applied
//! out of order (a WeChat retry arriving late) never undo a newer one. Ending a hold stores
//! `until = at` (held until the agent closed): the item stays, to turn away older events. The
//! item outlives its `until` by an hour, so reading `until` is enough.

use async_trait::async_trait;

use super::table::{DynamoTable, applied, n, s};
use crate::ports::{HandoffRegistry, PortError};
use crate::protocol::OpenId;

/// How long an item outlives the hold it records (s): long enough for every WeChat retry of
/// an older event to meet it.
const KEPT_AFTER: i64 = 3600;

impl DynamoTable {
    async fn decide(
        &self,
        appid: &str,
        openid: &OpenId,
        at_ms: i64,
        until_ms: i64,
        operation: &'static str,
    ) -> Result<bool, PortError> {
        let result = self
            .client()
            .put_item()
            .table_name(self.table())
            .item("pk", s(format!("handoff#{appid}#{openid}")))
            .item("sk", s("handoff"))
            .item("until", n(until_ms))
            .item("at", n(at_ms))
            .item("expires_at", n(until_ms.max(at_ms) / 1000 + KEPT_AFTER))
            .condition_expression(
                "attribute_not_exists(pk) OR attribute_not_exists(#at) OR #at <= :at",
            )
            .expression_attribute_names("#at", "at")
            .expression_attribute_values(":at", n(at_ms))
            .send()
            .await;
        applied(result, operation)
    }
}

#[async_trait]
impl HandoffRegistry for DynamoTable {
    async fn record(
        &self,
        appid: &str,
        openid: &OpenId,
        at_ms: i64,
        until_ms: i64,
    ) -> Result<bool, PortError> {
        self.decide(appid, openid, at_ms, until_ms, "record hand-off")
            .await
    }

    async fn held_until(&self, appid: &str, openid: &OpenId) -> Result<Option<i64>, PortError> {
        let item = self
            .client()
            .get_item()
            .table_name(self.table())
            .key("pk", s(format!("handoff#{appid}#{openid}")))
            .key("sk", s("handoff"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| PortError::new("read hand-off", super::describe(&err)))?
            .item;
        Ok(item
            .and_then(|item| item.get("until").cloned())
            .and_then(|until| until.as_n().ok().and_then(|v| v.parse().ok())))
    }

    async fn end(&self, appid: &str, openid: &OpenId, at_ms: i64) -> Result<bool, PortError> {
        self.decide(appid, openid, at_ms, at_ms, "end hand-off")
            .await
    }
}
