//! The two functions as deployed: the push path and the send core on DynamoDB, SQS and SSM,
//! with the secrets read once per cold start from their SecureString parameter.

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
    #[error("WeChat API client: {0}")]
    Client(#[from] ApiError),
}

/// The push path, as the `receive` function runs it: rules through the in-memory cache.
pub async fn receiver(aws: &Aws, config: &Config) -> Result<Receiver, StartupError> {
    let queue_url = config
        .queue_url
        .as_deref()
        .ok_or(ConfigError::Missing("KEFU_QUEUE_URL"))?;
    let secrets = aws.secrets(&config.secrets_parameter).await?;
    let mut settings = ReceiveSettings::new(credentials(&secrets, config)?);
    settings.format = config.format;
    settings.require_encryption = config.require_encryption;
    let table = Arc::new(aws.table(&config.table));
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let deps = ReceiveDeps {
        ledger: table.clone(),
        handoffs: table,
        queue: Arc::new(aws.queue(queue_url)),
        rules: rules(aws, config, &clock),
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
    let secrets = aws.secrets(&config.secrets_parameter).await?;
    let app_secret = secrets
        .app_secret
        .ok_or(StartupError::MissingSecret("app_secret"))?;
    let api = Arc::new(WeChatClient::new(
        &config.wechat_api_base,
        &config.appid,
        app_secret,
        CALL_TIMEOUT,
    )?);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let parts = SenderParts {
        appid: config.appid.clone(),
        api,
        reader: Arc::new(AssetReader::with_images(images, CALL_TIMEOUT)?),
        rules: rules(aws, config, &clock),
        clock,
        token_kind: config.token_kind,
        owner: instance_id(),
    };
    Ok(sender_on_table(Arc::new(aws.table(&config.table)), parts))
}

/// What verifying and opening a push needs, from the secrets.
fn credentials(secrets: &Secrets, config: &Config) -> Result<Credentials, StartupError> {
    let aes_key = secrets
        .encoding_aes_key
        .as_ref()
        .map(|key| AesKey::from_encoding_aes_key(key.expose()))
        .transpose()?;
    Ok(Credentials {
        token: Token::new(secrets.token.clone()),
        aes_key,
        appid: config.appid.clone(),
    })
}

fn rules(aws: &Aws, config: &Config, clock: &Arc<dyn Clock>) -> Arc<RuleCache> {
    Arc::new(RuleCache::new(
        Arc::new(aws.rules(&config.rules_path)),
        clock.clone(),
        config.rules_ttl,
    ))
}
