//! `TokenStore` on DynamoDB: the shared access_token and its refresh lease, each check-and-set
//! one conditional write, so concurrent instances never refresh twice.

use async_trait::async_trait;

use super::describe;
use super::table::{DynamoTable, applied, n, number, s};
use crate::clock::EpochMillis;
use crate::ports::{PortError, StoredToken, TokenStore};
use crate::wechat_types::AccessToken;

#[async_trait]
impl TokenStore for DynamoTable {
    async fn read(&self, appid: &str) -> Result<Option<StoredToken>, PortError> {
        let item = self
            .client()
            .get_item()
            .table_name(self.table())
            .key("pk", s(format!("token#{appid}")))
            .key("sk", s("token"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| PortError::new("read token", describe(&err)))?
            .item;
        Ok(item.and_then(|item| {
            let token = item.get("token")?.as_s().ok()?.clone();
            Some(StoredToken {
                token: AccessToken::new(token),
                expires_at: EpochMillis(number(&item, "token_expires")?),
            })
        }))
    }

    async fn try_lease(
        &self,
        appid: &str,
        owner: &str,
        now: EpochMillis,
        until: EpochMillis,
        stale_at: EpochMillis,
    ) -> Result<bool, PortError> {
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .key("pk", s(format!("token#{appid}")))
            .key("sk", s("token"))
            .update_expression("SET lease_owner = :owner, lease_until = :until")
            .condition_expression(
                "(attribute_not_exists(token_expires) OR token_expires <= :stale_at) \
                 AND (attribute_not_exists(lease_until) OR lease_until < :now OR lease_owner = :owner)",
            )
            .expression_attribute_values(":owner", s(owner))
            .expression_attribute_values(":until", n(until.0))
            .expression_attribute_values(":now", n(now.0))
            .expression_attribute_values(":stale_at", n(stale_at.0))
            .send()
            .await;
        applied(result, "lease token refresh")
    }

    async fn store(&self, appid: &str, token: &StoredToken) -> Result<(), PortError> {
        self.client()
            .update_item()
            .table_name(self.table())
            .key("pk", s(format!("token#{appid}")))
            .key("sk", s("token"))
            .update_expression(
                "SET #token = :token, token_expires = :expires REMOVE lease_owner, lease_until",
            )
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":token", s(token.token.expose()))
            .expression_attribute_values(":expires", n(token.expires_at.0))
            .send()
            .await
            .map_err(|err| PortError::new("store token", describe(&err)))?;
        Ok(())
    }

    async fn expire_if_current(
        &self,
        appid: &str,
        failed: &AccessToken,
    ) -> Result<bool, PortError> {
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .key("pk", s(format!("token#{appid}")))
            .key("sk", s("token"))
            .update_expression("SET token_expires = :zero")
            .condition_expression("#token = :failed")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":failed", s(failed.expose()))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        applied(result, "expire token")
    }
}
