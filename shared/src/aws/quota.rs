//! `QuotaStore` on DynamoDB: per-user send windows. The rules are `policy::quota`'s, written as
//! condition expressions (DynamoDB runs no Rust): a reservation is one conditional `ADD` of its
//! name to both windows' sets (a send counts in each), so concurrent instances cannot
//! double-spend a slot, and a repeated
//! reservation (the SDK repeats a write whose answer was lost) finds its own name and takes
//! nothing more; a refund deletes exactly that name.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::describe;
use super::table::{DynamoTable, applied, condition_failed, n, s};
use crate::policy::quota;
use crate::ports::{PortError, QuotaStore, QuotaWindow, QuotaWindows};
use crate::protocol::OpenId;

/// Quota items live as long as the longest window, plus a day.
const QUOTA_TTL_SECS: i64 = 3 * 24 * 3600;

#[async_trait]
impl QuotaStore for DynamoTable {
    async fn open(
        &self,
        appid: &str,
        openid: &OpenId,
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
        openid: &OpenId,
        now: i64,
        reservation: &str,
    ) -> Result<Option<QuotaWindow>, PortError> {
        // One conditional write: allowed while some open window has counted fewer sends than
        // its limit; counted in every window (the allowance does not accumulate).
        let (message_at, message_sends) = names(QuotaWindow::Message);
        let (enter_at, enter_sends) = names(QuotaWindow::Enter);
        let room = |opened: &str, sends: &str, window: &str| {
            format!(
                "({opened} > :since_{window} AND (attribute_not_exists({sends}) \
                 OR size({sends}) < :limit_{window}))"
            )
        };
        let result = self
            .client()
            .update_item()
            .table_name(self.table())
            .key("pk", s(format!("quota#{appid}#{openid}")))
            .key("sk", s("quota"))
            .update_expression(format!(
                "ADD {message_sends} :reservation, {enter_sends} :reservation"
            ))
            .condition_expression(format!(
                "NOT contains({message_sends}, :name) AND NOT contains({enter_sends}, :name) \
                 AND ({} OR {})",
                room(message_at, message_sends, "message"),
                room(enter_at, enter_sends, "enter"),
            ))
            .expression_attribute_values(":reservation", names_set(reservation))
            .expression_attribute_values(":name", s(reservation))
            .expression_attribute_values(
                ":since_message",
                n(now.saturating_sub(quota::length(QuotaWindow::Message))),
            )
            .expression_attribute_values(
                ":limit_message",
                n(i64::from(quota::limit(QuotaWindow::Message))),
            )
            .expression_attribute_values(
                ":since_enter",
                n(now.saturating_sub(quota::length(QuotaWindow::Enter))),
            )
            .expression_attribute_values(
                ":limit_enter",
                n(i64::from(quota::limit(QuotaWindow::Enter))),
            )
            // The item before the write, on success and on failure alike (no extra read).
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            // The window that allowed it, by the same rule, from the item it was allowed on.
            Ok(output) => Ok(state(output.attributes()).available(now)),
            Err(err) if condition_failed(&err) => {
                let old = match err.as_service_error() {
                    Some(UpdateItemError::ConditionalCheckFailedException(e)) => e.item(),
                    _ => None,
                };
                // Held already: our own earlier attempt took it (its answer was lost).
                Ok(state(old).holding(reservation))
            }
            Err(err) => Err(PortError::new("reserve quota", describe(&err))),
        }
    }

    async fn refund(
        &self,
        appid: &str,
        openid: &OpenId,
        reservation: &str,
    ) -> Result<(), PortError> {
        let (_, message_sends) = names(QuotaWindow::Message);
        let (_, enter_sends) = names(QuotaWindow::Enter);
        self.client()
            .update_item()
            .table_name(self.table())
            .key("pk", s(format!("quota#{appid}#{openid}")))
            .key("sk", s("quota"))
            .update_expression(format!(
                "DELETE {message_sends} :reservation, {enter_sends} :reservation"
            ))
            .expression_attribute_values(":reservation", names_set(reservation))
            .send()
            .await
            .map_err(|err| PortError::new("refund quota", describe(&err)))?;
        Ok(())
    }

    async fn windows(&self, appid: &str, openid: &OpenId) -> Result<QuotaWindows, PortError> {
        let item = self
            .client()
            .get_item()
            .table_name(self.table())
            .key("pk", s(format!("quota#{appid}#{openid}")))
            .key("sk", s("quota"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|err| PortError::new("read quota", describe(&err)))?;
        Ok(state(item.item()).windows())
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

/// The windows as `item` holds them (what `policy::quota` decides on): when each opened and the
/// reservations it counts.
fn state(item: Option<&HashMap<String, AttributeValue>>) -> quota::QuotaState {
    let number = |name: &str| {
        item.and_then(|item| item.get(name))
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<i64>().ok())
    };
    let set = |name: &str| {
        item.and_then(|item| item.get(name))
            .and_then(|v| v.as_ss().ok())
            .cloned()
            .unwrap_or_default()
    };
    let (message_at, message_sends) = names(QuotaWindow::Message);
    let (enter_at, enter_sends) = names(QuotaWindow::Enter);
    quota::QuotaState {
        message_at: number(message_at),
        message_sends: set(message_sends),
        enter_at: number(enter_at),
        enter_sends: set(enter_sends),
        ..Default::default()
    }
}
