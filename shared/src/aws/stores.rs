//! The reply worker's items in the DynamoDB table: the shared access_token and its refresh
//! lease, per-user quota windows, cached media ids. Every check-and-set is one conditional
//! write, so concurrent instances cannot double-spend a quota slot or refresh twice.
//!
//! | item | pk | sk |
//! | --- | --- | --- |
//! | access_token | `token#{appid}` | `token` |
//! | quota | `quota#{appid}#{openid}` | `quota` |
//! | media id | `media#{appid}#{content hash}` | `media` |

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::table::DynamoTable;
use super::{condition_failed, describe, n, s};
use crate::ports::{MediaCache, PortError, QuotaStore, QuotaWindow, StoredToken, TokenStore};
use crate::wechat_api::AccessToken;
use crate::worker::quota::{
    ENTER_WINDOW_MS, ENTER_WINDOW_SENDS, MESSAGE_WINDOW_MS, MESSAGE_WINDOW_SENDS,
};

fn number(item: &std::collections::HashMap<String, AttributeValue>, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

/// Quota items live as long as the longest window, plus a day.
const QUOTA_TTL_SECS: i64 = 3 * 24 * 3600;

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
                expires_at: number(&item, "token_expires")?,
            })
        }))
    }

    async fn try_lease(
        &self,
        appid: &str,
        owner: &str,
        now: i64,
        until: i64,
        stale_at: i64,
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
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":stale_at", n(stale_at))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if condition_failed(&err) => Ok(false),
            Err(err) => Err(PortError::new("lease token refresh", describe(&err))),
        }
    }

    async fn store(&self, appid: &str, _owner: &str, token: &StoredToken) -> Result<(), PortError> {
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
            .expression_attribute_values(":expires", n(token.expires_at))
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
        match result {
            Ok(_) => Ok(true),
            Err(err) if condition_failed(&err) => Ok(false),
            Err(err) => Err(PortError::new("expire token", describe(&err))),
        }
    }
}

#[async_trait]
impl QuotaStore for DynamoTable {
    async fn open(
        &self,
        appid: &str,
        openid: &str,
        window: QuotaWindow,
        at: i64,
    ) -> Result<(), PortError> {
        let (opened, sent) = names(window);
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .key("pk", s(format!("quota#{appid}#{openid}")))
            .key("sk", s("quota"))
            .update_expression(format!(
                "SET {opened} = :at, {sent} = :zero, expires_at = :ttl"
            ))
            .condition_expression(format!("attribute_not_exists({opened}) OR {opened} < :at"))
            .expression_attribute_values(":at", n(at))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":ttl", n(at / 1000 + QUOTA_TTL_SECS))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Opened at this time or later already: a redelivered job.
            Err(err) if condition_failed(&err) => Ok(()),
            Err(err) => Err(PortError::new("open quota window", describe(&err))),
        }
    }

    async fn reserve(
        &self,
        appid: &str,
        openid: &str,
        now: i64,
    ) -> Result<Option<QuotaWindow>, PortError> {
        for window in [QuotaWindow::Enter, QuotaWindow::Message] {
            let (opened, sent) = names(window);
            let (length, limit) = match window {
                QuotaWindow::Message => (MESSAGE_WINDOW_MS, MESSAGE_WINDOW_SENDS),
                QuotaWindow::Enter => (ENTER_WINDOW_MS, ENTER_WINDOW_SENDS),
            };
            let result = self
                .client()
                .update_item()
                .table_name(self.table())
                .key("pk", s(format!("quota#{appid}#{openid}")))
                .key("sk", s("quota"))
                .update_expression(format!("ADD {sent} :one"))
                .condition_expression(format!("{opened} > :since AND {sent} < :limit"))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":since", n(now.saturating_sub(length)))
                .expression_attribute_values(":limit", n(i64::from(limit)))
                .send()
                .await;
            match result {
                Ok(_) => return Ok(Some(window)),
                Err(err) if condition_failed(&err) => continue,
                Err(err) => return Err(PortError::new("reserve quota", describe(&err))),
            }
        }
        Ok(None)
    }

    async fn refund(
        &self,
        appid: &str,
        openid: &str,
        window: QuotaWindow,
    ) -> Result<(), PortError> {
        let (_, sent) = names(window);
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .key("pk", s(format!("quota#{appid}#{openid}")))
            .key("sk", s("quota"))
            .update_expression(format!("ADD {sent} :minus"))
            .condition_expression(format!("{sent} > :zero"))
            .expression_attribute_values(":minus", n(-1))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(err) if condition_failed(&err) => Ok(()),
            Err(err) => Err(PortError::new("refund quota", describe(&err))),
        }
    }
}

fn names(window: QuotaWindow) -> (&'static str, &'static str) {
    match window {
        QuotaWindow::Message => ("message_at", "message_sent"),
        QuotaWindow::Enter => ("enter_at", "enter_sent"),
    }
}

#[async_trait]
impl MediaCache for DynamoTable {
    async fn get(&self, appid: &str, hash: &str, now: i64) -> Result<Option<String>, PortError> {
        let item = self
            .client()
            .get_item()
            .table_name(self.table())
            .key("pk", s(format!("media#{appid}#{hash}")))
            .key("sk", s("media"))
            .send()
            .await
            .map_err(|err| PortError::new("read media id", describe(&err)))?
            .item;
        Ok(item.and_then(|item| {
            let expires = number(&item, "media_expires")?;
            (expires > now).then(|| item.get("media_id")?.as_s().ok().cloned())?
        }))
    }

    async fn put(
        &self,
        appid: &str,
        hash: &str,
        media_id: &str,
        expires_at: i64,
    ) -> Result<(), PortError> {
        self.client()
            .put_item()
            .table_name(self.table())
            .item("pk", s(format!("media#{appid}#{hash}")))
            .item("sk", s("media"))
            .item("media_id", s(media_id))
            .item("media_expires", n(expires_at))
            .item("expires_at", n(expires_at / 1000))
            .send()
            .await
            .map_err(|err| PortError::new("store media id", describe(&err)))?;
        Ok(())
    }

    async fn forget(&self, appid: &str, hash: &str) -> Result<(), PortError> {
        self.client()
            .delete_item()
            .table_name(self.table())
            .key("pk", s(format!("media#{appid}#{hash}")))
            .key("sk", s("media"))
            .send()
            .await
            .map_err(|err| PortError::new("forget media id", describe(&err)))?;
        Ok(())
    }
}
