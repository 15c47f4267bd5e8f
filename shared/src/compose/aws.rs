//! The two functions as deployed: the push path and the send core on DynamoDB, SQS and SSM,
//! with the secrets read once per cold start from their SecureString parameters (each function
//! reads only its own: the push secrets, or the AppSecret).
//!
//! A cold start does its slow work at once and before the first invocation: the secrets, the
//! rules and the connections to the services the first invocation uses are fetched and opened
//! concurrently (a 256 MB function has about a seventh of a vCPU; its first push should cost
//! what a warm one costs).

use std::sync::Arc;
use std::time::Duration;

use super::{SenderParts, instance_id, sender_on_table};
use crate::assets::{AssetReader, Images};
use crate::aws::{Aws, Secrets};
use crate::clock::SystemClock;
use crate::config::{Config, ConfigError};
use crate::ports::{Clock, PortError};
use crate::protocol::{AesKey, Credentials, CryptoError, Token};
use crate::receive::{ReceiveDeps, ReceiveSettings, Receiver};
use crate::rule_cache::RuleCache;
use crate::send::Sender;
use crate::wechat_api::WeChatClient;
use crate::wechat_types::ApiError;

/// How long one WeChat API call (or image download) may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a function could not start: reported once, at cold start, with no secret in it.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] PortError),
    #[error("secrets: {0}")]
    Secrets(#[from] CryptoError),
    #[error("secrets: {0} is missing")]
    MissingSecret(&'static str),
    /// The AppSecret in the push secrets parameter, which the internet-facing function reads.
    #[error(
        "secrets: {parameter} holds app_secret; the receive function must not be able to read it: \
         keep it in the reply function's parameter (KEFU_API_SECRETS_PARAMETER) only"
    )]
    AppSecretExposed { parameter: String },
    #[error("WeChat API client: {0}")]
    Client(#[from] ApiError),
}

/// The push path, as the `receive` function runs it: rules through the in-memory cache.
pub async fn receiver(aws: &Aws, config: &Config) -> Result<Receiver, StartupError> {
    let queue_url = config
        .queue_url
        .as_deref()
        .ok_or(ConfigError::Missing("KEFU_QUEUE_URL"))?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let parameter = config
        .push_secrets_parameter
        .as_deref()
        .ok_or(ConfigError::Missing("KEFU_PUSH_SECRETS_PARAMETER"))?;
    let rules = rules(aws, config, &clock);
    let (secrets, (), ()) = tokio::join!(
        aws.secrets(parameter),
        load_rules(&rules),
        aws.open_connections(&config.table, Some(queue_url)),
    );
    let secrets = secrets?;
    if secrets.app_secret.is_some() {
        return Err(StartupError::AppSecretExposed {
            parameter: parameter.to_owned(),
        });
    }
    let credentials = credentials(&secrets, config)?;
    // A deployment that holds an EncodingAESKey refuses plaintext (a downgrade) unless the
    // operator opted in; a plaintext-only one has nothing else to accept.
    let require_encryption = config.require_encryption && credentials.aes_key.is_some();
    let mut settings = ReceiveSettings::new(credentials);
    settings.format = config.format;
    settings.require_encryption = require_encryption;
    settings.freshness = config.timestamp_window;
    let table = Arc::new(aws.table(&config.table));
    let deps = ReceiveDeps {
        ledger: table.clone(),
        handoffs: table,
        queue: Arc::new(aws.queue(queue_url)),
        rules,
        clock,
    };
    Ok(Receiver::new(settings, deps))
}

/// The send core calling the WeChat API at `config.wechat_api_base`, with `{"file": …}` images
/// from the folder `config.assets_dir` (`kefu dev --aws`).
pub async fn sender(aws: &Aws, config: &Config) -> Result<Sender, StartupError> {
    sender_with_images(aws, config, Images::Folder(config.assets_dir.clone())).await
}

/// The send core, as the `reply` function runs it (with the images built into it).
pub async fn sender_with_images(
    aws: &Aws,
    config: &Config,
    images: Images,
) -> Result<Sender, StartupError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let parameter = config
        .api_secrets_parameter
        .as_deref()
        .ok_or(ConfigError::Missing("KEFU_API_SECRETS_PARAMETER"))?;
    let rules = rules(aws, config, &clock);
    let (secrets, (), ()) = tokio::join!(
        aws.secrets(parameter),
        load_rules(&rules),
        aws.open_connections(&config.table, None),
    );
    let secrets = secrets?;
    let app_secret = secrets
        .app_secret
        .ok_or(StartupError::MissingSecret("app_secret"))?;
    let api = Arc::new(WeChatClient::new(
        &config.wechat_api_base,
        &config.appid,
        app_secret,
        CALL_TIMEOUT,
    )?);
    let parts = SenderParts {
        appid: config.appid.clone(),
        api,
        reader: Arc::new(AssetReader::with_images(images, CALL_TIMEOUT)?),
        rules,
        clock,
        token_kind: config.token_kind,
        owner: instance_id(),
    };
    Ok(sender_on_table(Arc::new(aws.table(&config.table)), parts)
        .with_welcome_interval(config.welcome_interval))
}

/// What verifying and opening a push needs, from the secrets.
fn credentials(secrets: &Secrets, config: &Config) -> Result<Credentials, StartupError> {
    let aes_key = secrets
        .encoding_aes_key
        .as_ref()
        .map(|key| AesKey::from_encoding_aes_key(key.expose()))
        .transpose()?;
    let token = secrets
        .token
        .clone()
        .ok_or(StartupError::MissingSecret("token"))?;
    Ok(Credentials {
        token: Token::new(token),
        aes_key,
        appid: config.appid.clone(),
    })
}

/// Fills the rule cache during the cold start. A failure is only logged: the first invocation
/// tries again, as it would have without this.
async fn load_rules(rules: &RuleCache) {
    if let Err(err) = rules.get().await {
        tracing::warn!(reason = %err, "rules not loaded at start");
    }
}

fn rules(aws: &Aws, config: &Config, clock: &Arc<dyn Clock>) -> Arc<RuleCache> {
    Arc::new(RuleCache::new(
        Arc::new(aws.rules_or_starter(&config.rules_path, config.starter_rules.as_deref())),
        clock.clone(),
        config.rules_ttl,
    ))
}
