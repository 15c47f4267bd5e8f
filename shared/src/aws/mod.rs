//! The AWS adapters: the only place `aws_sdk_*` types appear. Each implements ports from
//! `ports.rs` on one service; SDK errors become `PortError`s with the service's own message.
//!
//! Clients come from the standard configuration chain (environment, Lambda role), so
//! `AWS_ENDPOINT_URL` points them at a local server such as moto.

pub mod queue;
pub mod rules;
pub mod secrets;
pub mod table;

pub use queue::SqsQueue;
pub use rules::SsmRules;
pub use secrets::load_secrets;
pub use table::DynamoTable;

/// Loads the shared SDK configuration once per cold start.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

/// The full error text, service message included (the SDK's `Display` alone says only
/// "service error").
fn describe(err: &(impl std::error::Error + 'static)) -> String {
    aws_sdk_dynamodb::error::DisplayErrorContext(err).to_string()
}
