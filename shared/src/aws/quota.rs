//! `QuotaStore` on DynamoDB: per-user send windows. The rules are `send::quota`'s, written as
//! condition expressions (DynamoDB runs no Rust): a reservation is one conditional `ADD`, so
//! concurrent instances cannot double-spend a slot.

use async_trait::async_trait;

use super::describe;
use super::table::{DynamoTable, condition_failed, n, s};
use crate::ports::{PortError, QuotaStore, QuotaWindow};
use crate::send::quota;

/// Quota items live as long as the longest window, plus a day.
const QUOTA_TTL_SECS: i64 = 3 * 24 * 3600;

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
        for window in quota::SPEND_ORDER {
            let (opened, sent) = names(window);
            let result = self
                .client()
                .update_item()
                .table_name(self.table())
                .key("pk", s(format!("quota#{appid}#{openid}")))
                .key("sk", s("quota"))
                .update_expression(format!("ADD {sent} :one"))
                .condition_expression(format!("{opened} > :since AND {sent} < :limit"))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":since", n(now.saturating_sub(quota::length(window))))
                .expression_attribute_values(":limit", n(i64::from(quota::limit(window))))
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
