//! `SuggestionStore` on DynamoDB: the FAQ suggestions last offered to a user, one item per
//! user, replaced by each new offer and ignored (then deleted by the TTL) once it expires.

use async_trait::async_trait;

use super::describe;
use super::table::{DynamoTable, n, number, s};
use crate::ports::{PortError, SuggestionStore};
use crate::protocol::OpenId;
use aws_sdk_dynamodb::types::AttributeValue;

fn key(appid: &str, openid: &OpenId) -> AttributeValue {
    s(format!("suggest#{appid}#{openid}"))
}

#[async_trait]
impl SuggestionStore for DynamoTable {
    async fn offer(
        &self,
        appid: &str,
        openid: &OpenId,
        entries: &[String],
        until_ms: i64,
    ) -> Result<(), PortError> {
        self.client()
            .put_item()
            .table_name(self.table())
            .item("pk", key(appid, openid))
            .item("sk", s("suggest"))
            .item(
                "entries",
                AttributeValue::L(entries.iter().map(|e| s(e.as_str())).collect()),
            )
            .item("until", n(until_ms))
            .item("expires_at", n(until_ms / 1000 + 60))
            .send()
            .await
            .map_err(|err| PortError::new("offer suggestions", describe(&err)))?;
        Ok(())
    }

    async fn offered(
        &self,
        appid: &str,
        openid: &OpenId,
        now_ms: i64,
    ) -> Result<Option<Vec<String>>, PortError> {
        let item = self
            .client()
            .get_item()
            .table_name(self.table())
            .key("pk", key(appid, openid))
            .key("sk", s("suggest"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| PortError::new("read suggestions", describe(&err)))?
            .item;
        let Some(item) = item else {
            return Ok(None);
        };
        if number(&item, "until").is_none_or(|until| until <= now_ms) {
            return Ok(None);
        }
        Ok(item
            .get("entries")
            .and_then(|v| v.as_l().ok())
            .map(|list| list.iter().filter_map(|v| v.as_s().ok().cloned()).collect()))
    }
}
