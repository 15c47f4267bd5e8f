//! `QuestionLog` on DynamoDB: one item per kept question, partitioned by UTC day so that a
//! report reads a period with one Query per day (no Scan): pk `asked#{YYYY-MM-DD}`, sk
//! `{appid}#{at_ms, 13 digits}#{asker}` (one app's questions of a day are one range of the
//! sort key). Nothing but the text, the outcome and the TTL is stored beside the key.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::describe;
use super::table::{DynamoTable, n, number, s};
use crate::clock::{EpochMillis, EpochSecs};
use crate::learn::{day_of, days_between};
use crate::ports::{AskedQuestion, PortError, QuestionLog};

fn sort_key(appid: &str, at_ms: i64, asker: &str) -> String {
    format!("{appid}#{at_ms:013}#{asker}")
}

fn question(item: &HashMap<String, AttributeValue>, now: EpochSecs) -> Option<AskedQuestion> {
    if number(item, "expires_at").is_some_and(|at| EpochSecs(at) <= now) {
        return None;
    }
    let sk = item.get("sk")?.as_s().ok()?;
    let mut parts = sk.splitn(3, '#');
    let appid = parts.next()?.to_owned();
    let at_ms = parts.next()?.parse().ok()?;
    let asker = parts.next()?.to_owned();
    let text = |name: &str| item.get(name)?.as_s().ok().cloned();
    Some(AskedQuestion {
        appid,
        at_ms,
        asker,
        outcome: text("outcome")?,
        text: text("text")?,
    })
}

#[async_trait]
impl QuestionLog for DynamoTable {
    async fn keep(&self, question: &AskedQuestion, expires_at: EpochSecs) -> Result<(), PortError> {
        self.client()
            .put_item()
            .table_name(self.table())
            .item("pk", s(format!("asked#{}", day_of(question.at_ms))))
            .item(
                "sk",
                s(sort_key(&question.appid, question.at_ms, &question.asker)),
            )
            .item("outcome", s(question.outcome.as_str()))
            .item("text", s(question.text.as_str()))
            .item("expires_at", n(expires_at.0))
            .send()
            .await
            .map_err(|err| PortError::new("keep question", describe(&err)))?;
        Ok(())
    }

    async fn asked(
        &self,
        appid: Option<&str>,
        from_ms: i64,
        to_ms: i64,
        now_ms: i64,
    ) -> Result<Vec<AskedQuestion>, PortError> {
        let mut found = Vec::new();
        for day in days_between(from_ms, to_ms) {
            let mut start = None;
            loop {
                let mut query = self
                    .client()
                    .query()
                    .table_name(self.table())
                    .expression_attribute_names("#pk", "pk")
                    .expression_attribute_values(":pk", s(format!("asked#{day}")))
                    .set_exclusive_start_key(start.take());
                query = match appid {
                    Some(appid) => query
                        .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
                        .expression_attribute_names("#sk", "sk")
                        .expression_attribute_values(":from", s(format!("{appid}#{from_ms:013}")))
                        .expression_attribute_values(":to", s(format!("{appid}#{to_ms:013}~"))),
                    None => query.key_condition_expression("#pk = :pk"),
                };
                let page = query
                    .send()
                    .await
                    .map_err(|err| PortError::new("read questions", describe(&err)))?;
                found.extend(
                    page.items()
                        .iter()
                        .filter_map(|item| question(item, EpochMillis(now_ms).secs()))
                        .filter(|q| q.at_ms >= from_ms && q.at_ms <= to_ms),
                );
                match page.last_evaluated_key {
                    Some(key) if !key.is_empty() => start = Some(key),
                    _ => break,
                }
            }
        }
        found.sort_by(|a, b| a.at_ms.cmp(&b.at_ms).then(a.appid.cmp(&b.appid)));
        Ok(found)
    }
}
