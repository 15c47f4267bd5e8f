//! `QuotaStore` on DynamoDB: per-user send windows. The rules are `send::quota`'s, written as
//! condition expressions (DynamoDB runs no Rust): a reservation is one conditional `ADD` of its
//! name to the window's set, so concurrent instances cannot double-spend a slot, and a repeated
//! reservation (the SDK repeats a write whose answer was lost) finds its own name and takes
//! nothing more; a refund deletes exactly that name.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure};

use super::describe;
use super::table::{DynamoTable, applied, condition_failed, n, s};
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
        opener: &str,
        now: i64,
    ) -> Result<(), PortError> {
        let (opened, sends) = names(window);
        let openers = openers_name(window);
        // A later push: a fresh window, this push its only opener.
        let later = self
            .client()
            .update_item()
            .table_name(self.table())
            .key("pk", s(format!("quota#{appid}#{openid}")))
            .key("sk", s("quota"))
            .update_expression(format!(
                "SET {opened} = :at, {openers} = :opener, expires_at = :ttl REMOVE {sends}"
            ))
            .condition_expression(format!(
                "attribute_not_exists({opened}) OR {opened} < :at OR {opened} > :impossible"
            ))
            .expression_attribute_values(":at", n(at))
            .expression_attribute_values(":impossible", n(now.saturating_add(quota::MAX_AHEAD)))
            .expression_attribute_values(":opener", names_set(opener))
            .expression_attribute_values(":ttl", n(at / 1000 + QUOTA_TTL_SECS))
            .send()
            .await;
        if applied(later, "open quota window")? {
            return Ok(());
        }
        // Another push of the same second: the count is reset too, once per push.
        let same_second = self
            .client()
            .update_item()
            .table_name(self.table())
            .key("pk", s(format!("quota#{appid}#{openid}")))
            .key("sk", s("quota"))
            .update_expression(format!("ADD {openers} :opener REMOVE {sends}"))
            .condition_expression(format!("{opened} = :at AND NOT contains({openers}, :name)"))
            .expression_attribute_values(":at", n(at))
            .expression_attribute_values(":opener", names_set(opener))
            .expression_attribute_values(":name", s(opener))
            .send()
            .await;
        // Not applied: opened later, or by this very push already: a redelivered job (or
        // this write, repeated by the SDK) resets nothing.
        applied(same_second, "open quota window").map(|_| ())
    }

    async fn reserve(
        &self,
        appid: &str,
        openid: &str,
        now: i64,
        reservation: &str,
    ) -> Result<Option<QuotaWindow>, PortError> {
        for window in quota::SPEND_ORDER {
            let (opened, sends) = names(window);
            let result = self
                .client()
                .update_item()
                .table_name(self.table())
                .key("pk", s(format!("quota#{appid}#{openid}")))
                .key("sk", s("quota"))
                .update_expression(format!("ADD {sends} :reservation"))
                .condition_expression(format!(
                    "{opened} > :since AND (attribute_not_exists({sends}) OR size({sends}) < :limit) \
                     AND NOT contains({sends}, :name)"
                ))
                .expression_attribute_values(":reservation", names_set(reservation))
                .expression_attribute_values(":name", s(reservation))
                .expression_attribute_values(":since", n(now.saturating_sub(quota::length(window))))
                .expression_attribute_values(":limit", n(i64::from(quota::limit(window))))
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send()
                .await;
            match result {
                Ok(_) => return Ok(Some(window)),
                Err(err) if condition_failed(&err) => {
                    let old = match err.as_service_error() {
                        Some(UpdateItemError::ConditionalCheckFailedException(e)) => e.item(),
                        _ => None,
                    };
                    if let Some(window) = holding(old, reservation) {
                        // Our own earlier attempt took it (its answer was lost).
                        return Ok(Some(window));
                    }
                }
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
        reservation: &str,
    ) -> Result<(), PortError> {
        let (_, sends) = names(window);
        self.client()
            .update_item()
            .table_name(self.table())
            .key("pk", s(format!("quota#{appid}#{openid}")))
            .key("sk", s("quota"))
            .update_expression(format!("DELETE {sends} :reservation"))
            .expression_attribute_values(":reservation", names_set(reservation))
            .send()
            .await
            .map_err(|err| PortError::new("refund quota", describe(&err)))?;
        Ok(())
    }
}

/// The attributes of a window: when it opened, and its reservations (a string set).
fn names(window: QuotaWindow) -> (&'static str, &'static str) {
    match window {
        QuotaWindow::Message => ("message_at", "message_sends"),
        QuotaWindow::Enter => ("enter_at", "enter_sends"),
    }
}

/// The attribute holding the pushes that opened a window at its time (a string set).
fn openers_name(window: QuotaWindow) -> &'static str {
    match window {
        QuotaWindow::Message => "message_openers",
        QuotaWindow::Enter => "enter_openers",
    }
}

fn names_set(reservation: &str) -> AttributeValue {
    AttributeValue::Ss(vec![reservation.to_owned()])
}

/// The window whose reservations in `item` include `reservation`.
fn holding(
    item: Option<&HashMap<String, AttributeValue>>,
    reservation: &str,
) -> Option<QuotaWindow> {
    let item = item?;
    quota::SPEND_ORDER.into_iter().find(|&window| {
        item.get(names(window).1)
            .and_then(|v| v.as_ss().ok())
            .is_some_and(|set| set.iter().any(|r| r == reservation))
    })
}
