//! The one DynamoDB table (`pk`, `sk`, `expires_at` TTL) behind every store port, one file per
//! port beside this one. DynamoDB deletes expired items lazily, so the stores check
//! `expires_at` themselves.
//!
//! | item | pk | sk | port (file) |
//! | --- | --- | --- | --- |
//! | push claim | `push#{appid}#{dedup key}` | `push` | `PushLedger` (`ledger.rs`) |
//! | (timestamp, nonce) pair | `nonce#{timestamp}#{nonce}` | `once` | `PushLedger` (`ledger.rs`) |
//! | last welcome | `welcome#{appid}#{openid}` | `once` | `PushLedger` (`ledger.rs`) |
//! | send claim | `send#{push key}#{n}` | `push` | `PushLedger` (`ledger.rs`) |
//! | a job's events told (its first run to finish holds it) | `events#{push key}` | `once` | `PushLedger` (`ledger.rs`) |
//! | hand-off | `handoff#{appid}#{openid}` | `handoff` | `HandoffRegistry` (`handoffs.rs`) |
//! | access_token | `token#{appid}` | `token` | `TokenStore` (`tokens.rs`) |
//! | quota | `quota#{appid}#{openid}` | `quota` | `QuotaStore` (`quota.rs`) |
//! | media id | `media#{appid}#{content hash}` | `media` | `MediaCache` (`media.rs`) |
//! | a job's hook decision (its answer, or the fallback) | `hook#{push key}` | `hook` | `HookAnswers` (`hook_answers.rs`) |
//! | FAQ suggestions offered | `suggest#{appid}#{openid}` | `suggest` | `SuggestionStore` (`suggestions.rs`) |
//! | question kept for the report (unanswered or suggested; text, outcome, keyed hash of the user) | `asked#{YYYY-MM-DD}` | `{appid}#{at ms}#{asker}` | `QuestionLog` (`questions.rs`) |
//! | (never written) | `connect` | `connect` | the cold start's first request (`Aws::open_connections`) |
//!
//! Each function's IAM grant is limited to the prefixes it uses (`dynamodb:LeadingKeys` in
//! template.yaml; tests/tests/template.rs holds the two together).

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;

use crate::ports::PortError;

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

/// A DynamoDB string attribute.
pub(super) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A DynamoDB number attribute.
pub(super) fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A number attribute of an item, if present and numeric.
pub(super) fn number(item: &HashMap<String, AttributeValue>, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

/// Whether a DynamoDB call failed only its condition: someone else got there first, the
/// expected outcome of a lost race rather than an error.
pub(super) fn condition_failed<E>(err: &aws_sdk_dynamodb::error::SdkError<E>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    err.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

/// Whether a conditional write was applied: `false` when only its condition failed (someone
/// else got there first, or the item is already as the write would leave it), an error for any
/// other failure, naming `operation`.
pub(super) fn applied<T, E>(
    result: Result<T, aws_sdk_dynamodb::error::SdkError<E>>,
    operation: &'static str,
) -> Result<bool, PortError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(err) if condition_failed(&err) => Ok(false),
        Err(err) => Err(PortError::new(operation, super::describe(&err))),
    }
}
