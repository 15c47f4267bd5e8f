//! The AWS adapters: the only place `aws_sdk_*` types appear. Each implements ports from
//! `ports.rs` on one service; SDK errors become `PortError`s with the service's own message.
//!
//! Clients come from the standard configuration chain (environment, Lambda role), so
//! `AWS_ENDPOINT_URL` points them at a local server such as moto.

pub mod queue;
pub mod rules;
pub mod secrets;
pub mod stores;
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

/// A DynamoDB string attribute.
fn s(value: impl Into<String>) -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::S(value.into())
}

/// A DynamoDB number attribute.
fn n(value: i64) -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::N(value.to_string())
}

/// Whether a DynamoDB call failed only its condition: someone else got there first, the
/// expected outcome of a lost race rather than an error.
fn condition_failed<E>(err: &aws_sdk_dynamodb::error::SdkError<E>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    err.as_service_error()
        .and_then(|e| e.code())
        .is_some_and(|code| code == "ConditionalCheckFailedException")
}

/// The full error text, service message included (the SDK's `Display` alone says only
/// "service error").
fn describe(err: &(impl std::error::Error + 'static)) -> String {
    aws_sdk_dynamodb::error::DisplayErrorContext(err).to_string()
}

/// Why a function could not start: reported once, at cold start, with no secret in it.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Store(#[from] crate::ports::PortError),
    #[error("secrets: {0}")]
    Secrets(#[from] crate::protocol::CryptoError),
    #[error("secrets: {0} is missing")]
    MissingSecret(&'static str),
    #[error("WeChat API client: {0}")]
    Client(#[from] crate::wechat_api::ApiError),
}

/// The push path on DynamoDB, SQS and SSM, as the `receive` function runs it: secrets read from
/// their SecureString, rules through the in-memory cache.
pub async fn receiver(
    sdk: &aws_config::SdkConfig,
    config: &crate::config::Config,
) -> Result<crate::receive::Receiver, StartupError> {
    use std::sync::Arc;

    use crate::ports::{Clock, SystemClock};
    use crate::protocol::{AesKey, Credentials, Token};
    use crate::receive::{ReceiveDeps, ReceiveSettings, Receiver};
    use crate::rules::RuleCache;

    let queue_url = config
        .queue_url
        .as_deref()
        .ok_or(crate::config::ConfigError::Missing("KEFU_QUEUE_URL"))?;
    let ssm = aws_sdk_ssm::Client::new(sdk);
    let secrets = load_secrets(&ssm, &config.secrets_parameter).await?;
    let aes_key = secrets
        .encoding_aes_key
        .as_ref()
        .map(|key| AesKey::from_encoding_aes_key(key.expose()))
        .transpose()?;
    let credentials = Credentials {
        token: Token::new(secrets.token.clone()),
        aes_key,
        appid: config.appid.clone(),
    };
    let mut settings = ReceiveSettings::new(credentials);
    settings.format = config.format;
    settings.require_encryption = config.require_encryption;

    let table = Arc::new(DynamoTable::new(
        aws_sdk_dynamodb::Client::new(sdk),
        &config.table,
    ));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let deps = ReceiveDeps {
        ledger: table.clone(),
        handoffs: table,
        queue: Arc::new(SqsQueue::new(aws_sdk_sqs::Client::new(sdk), queue_url)),
        rules: Arc::new(RuleCache::new(
            Arc::new(SsmRules::new(ssm, &config.rules_path)),
            clock.clone(),
            config.rules_ttl,
        )),
        clock,
    };
    Ok(Receiver::new(settings, deps))
}

/// The reply path on DynamoDB and SSM, calling the WeChat API at `config.wechat_api_base`.
pub async fn worker(
    sdk: &aws_config::SdkConfig,
    config: &crate::config::Config,
) -> Result<crate::worker::Worker, StartupError> {
    use std::sync::Arc;
    use std::time::Duration;

    use crate::ports::{Clock, SystemClock};
    use crate::rules::RuleCache;
    use crate::wechat_api::WeChatClient;
    use crate::worker::media::AssetReader;
    use crate::worker::token::TokenProvider;
    use crate::worker::{Worker, WorkerDeps};

    let ssm = aws_sdk_ssm::Client::new(sdk);
    let secrets = load_secrets(&ssm, &config.secrets_parameter).await?;
    let app_secret = secrets
        .app_secret
        .ok_or(StartupError::MissingSecret("app_secret"))?;
    let api = Arc::new(WeChatClient::new(
        &config.wechat_api_base,
        &config.appid,
        app_secret,
        Duration::from_secs(5),
    )?);
    let table = Arc::new(DynamoTable::new(
        aws_sdk_dynamodb::Client::new(sdk),
        &config.table,
    ));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let tokens = Arc::new(TokenProvider::new(
        &config.appid,
        config.token_kind,
        table.clone(),
        api.clone(),
        clock.clone(),
        instance_id(),
    ));
    let deps = WorkerDeps::on_table(
        table,
        api,
        tokens,
        Arc::new(AssetReader::new(
            &config.assets_dir,
            Duration::from_secs(5),
        )?),
        Arc::new(RuleCache::new(
            Arc::new(SsmRules::new(ssm, &config.rules_path)),
            clock.clone(),
            config.rules_ttl,
        )),
        clock,
    );
    Ok(Worker::new(&config.appid, deps))
}

/// A random id for this instance (the owner of its token-refresh lease).
pub fn instance_id() -> String {
    let mut bytes = [0u8; 8];
    // Without OS randomness the id is still unique enough per process.
    if getrandom::fill(&mut bytes).is_err() {
        bytes = u64::from(std::process::id()).to_le_bytes();
    }
    hex::encode(bytes)
}
