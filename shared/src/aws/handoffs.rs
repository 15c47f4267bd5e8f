//! `HandoffRegistry` on DynamoDB: who a human agent holds. The item outlives its `until` by an
//! hour, so reading `until` is enough.

use async_trait::async_trait;

use super::describe;
use super::table::{DynamoTable, n, s};
use crate::ports::{HandoffRegistry, PortError};

#[async_trait]
impl HandoffRegistry for DynamoTable {
    async fn record(&self, appid: &str, openid: &str, until_ms: i64) -> Result<(), PortError> {
        self.client()
            .put_item()
            .table_name(self.table())
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
            .client()
            .get_item()
            .table_name(self.table())
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

    async fn end(&self, appid: &str, openid: &str) -> Result<(), PortError> {
        self.client()
            .delete_item()
            .table_name(self.table())
            .key("pk", s(format!("handoff#{appid}#{openid}")))
            .key("sk", s("handoff"))
            .send()
            .await
            .map_err(|err| PortError::new("end hand-off", describe(&err)))?;
        Ok(())
    }
}
