//! The two functions as deployed: the push path and the send core on DynamoDB, SQS and SSM,
//! with the secrets read once per cold start from their SecureString parameters (each function
//! reads only its own: the push secrets, or the AppSecret). A deployment of several apps lists
//! its apps once per `KEFU_APPS_TTL_SECONDS` and reads each app's secrets (and own rules, if it
//! has any) on its first push or job (`aws::apps` has the layout); the apps without rules of
//! their own share one cache of the deployment's rules. Every Parameter Store request of an
//! instance takes a token of its budget (`aws::budget`).
//!
//! A cold start does its slow work at once and before the first invocation: the secrets, the
//! rules, the apps' listing and the connections to the services the first invocation uses are
//! fetched and opened concurrently (a 256 MB function has about a seventh of a vCPU; its first
//! push should cost what a warm one costs).

use std::sync::Arc;

use async_trait::async_trait;

use super::{SenderParts, SenderSettings, image_reader, instance_id};
use crate::apps::{AppSource, Apps, Listed, Listing};
use crate::assets::Images;
use crate::aws::{AppParameter, Aws, ParameterBudget, Secrets, SsmRules, app_parameter};
use crate::clock::SystemClock;
use crate::config::{Config, ConfigError};
use crate::hooks::HookClient;
use crate::learn::AskerKey;
use crate::memory::{MemoryTable, NoEvents};
use crate::policy::hook::{UserForm, user_key};
use crate::ports::{Clock, EventPublisher, HookAnswers, MediaReader, PortError};
use crate::protocol::{AesKey, Credentials, CryptoError, Token};
use crate::receive::{ReceiveDeps, ReceiveSettings, Receiver};
use crate::rule_cache::RuleCache;
use crate::send::{Hooks, Sender};
use crate::wechat_api::WeChatClient;
use crate::wechat_types::ApiError;

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

/// The apps `receive` serves: the one at `/wechat` (`KEFU_APPID`, its secrets read now) and
/// those under `KEFU_APPS_PATH` at `/wechat/{appid}`, each built on its first push.
pub async fn receivers(aws: &Aws, config: &Config) -> Result<Apps<Receiver>, StartupError> {
    let aws = &aws.with_parameter_budget(ParameterBudget::per_instance());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let queue_url = queue_url(config)?;
    let shared = rules(aws, config, &clock);
    let mut apps = Apps::new(clock.clone());
    if let Some(apps_path) = &config.apps_path {
        let source = AppReceivers {
            aws: aws.clone(),
            config: config.clone(),
            apps_path: apps_path.clone(),
            shared: shared.clone(),
        };
        apps = apps.with_source(Arc::new(source), config.apps_ttl);
    }
    match &config.appid {
        Some(appid) => {
            let (receiver, ()) = tokio::join!(
                receiver_with_rules(aws, config, shared, clock),
                apps.list_now()
            );
            Ok(apps.with_default(appid, Arc::new(receiver?)))
        }
        None => {
            tokio::join!(
                load_rules(&shared),
                apps.list_now(),
                aws.open_connections(&config.table, Some(queue_url)),
            );
            Ok(apps)
        }
    }
}

/// The push path of the single app (`KEFU_APPID`), as the `receive` function runs it.
pub async fn receiver(aws: &Aws, config: &Config) -> Result<Receiver, StartupError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let rules = rules(aws, config, &clock);
    receiver_with_rules(aws, config, rules, clock).await
}

/// The same, with `rules` (the deployment's shared rules, not yet loaded).
async fn receiver_with_rules(
    aws: &Aws,
    config: &Config,
    rules: Arc<RuleCache>,
    clock: Arc<dyn Clock>,
) -> Result<Receiver, StartupError> {
    let queue_url = queue_url(config)?;
    let appid = config
        .appid
        .as_deref()
        .ok_or(ConfigError::Missing("KEFU_APPID"))?;
    let parameter = config
        .push_secrets_parameter
        .as_deref()
        .ok_or(ConfigError::Missing("KEFU_PUSH_SECRETS_PARAMETER"))?;
    let (secrets, (), ()) = tokio::join!(
        aws.secrets(parameter),
        load_rules(&rules),
        aws.open_connections(&config.table, Some(queue_url)),
    );
    receiver_for(aws, config, appid, parameter, &secrets?, rules, clock)
}

/// The push path of `appid` with its push secrets (read from `parameter`) and rules.
fn receiver_for(
    aws: &Aws,
    config: &Config,
    appid: &str,
    parameter: &str,
    secrets: &Secrets,
    rules: Arc<RuleCache>,
    clock: Arc<dyn Clock>,
) -> Result<Receiver, StartupError> {
    if secrets.app_secret.is_some() {
        return Err(StartupError::AppSecretExposed {
            parameter: parameter.to_owned(),
        });
    }
    let credentials = credentials(secrets, appid)?;
    // A deployment that holds an EncodingAESKey refuses plaintext (a downgrade) unless the
    // operator opted in; a plaintext-only one has nothing else to accept.
    let require_encryption = config.require_encryption && credentials.aes_key.is_some();
    let mut settings = ReceiveSettings::new(credentials);
    settings.format = config.format;
    settings.require_encryption = require_encryption;
    settings.freshness = config.timestamp_window;
    settings.events = config.event_bus.is_some();
    let table = Arc::new(aws.table(&config.table));
    let deps = ReceiveDeps {
        ledger: table.clone(),
        handoffs: table,
        queue: Arc::new(aws.queue(queue_url(config)?)),
        rules,
        clock,
    };
    Ok(Receiver::new(settings, deps))
}

/// The apps under `KEFU_APPS_PATH`, as `receive` builds them: `{appid}/push` holds the app's
/// Token and EncodingAESKey (no such parameter: the app is not served).
#[derive(Debug)]
struct AppReceivers {
    aws: Aws,
    config: Config,
    apps_path: String,
    /// The deployment's rules, for the apps without their own.
    shared: Arc<RuleCache>,
}

#[async_trait]
impl AppSource<Receiver> for AppReceivers {
    async fn list(&self) -> Result<Listing, PortError> {
        // Receive serves an app once its push secrets are there (`kefu apps add` writes them
        // last); an app without them is not served.
        listing(&self.aws, &self.apps_path, |has| {
            has.contains(&"push").then_some(true)
        })
        .await
    }

    async fn build(&self, appid: &str, listed: Listed) -> Result<Option<Receiver>, PortError> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let AppParts { secrets, rules } = match app_parts(
            &self.aws,
            &self.config,
            &self.apps_path,
            appid,
            listed,
            &self.shared,
            &clock,
            AppParameter::Push,
        )
        .await?
        {
            Some(parts) => parts,
            None => return Ok(None),
        };
        let parameter = app_parameter(&self.apps_path, appid, AppParameter::Push);
        receiver_for(
            &self.aws,
            &self.config,
            appid,
            &parameter,
            &secrets,
            rules,
            clock,
        )
        .map(Some)
        .map_err(|err| PortError::new("load app", err))
    }
}

/// The send core calling the WeChat API at `config.wechat_api_base`, with `{"file": …}` images
/// from the folder `config.assets_dir` (`kefu dev --aws`).
pub async fn sender(aws: &Aws, config: &Config) -> Result<Sender, StartupError> {
    let reader = image_reader(Images::Folder(config.assets_dir.clone()))?;
    sender_with_reader(aws, config, reader).await
}

/// The apps `reply` serves, as the function runs it (with the images built into it): the one
/// of `KEFU_APPID`, its AppSecret read now, and those under `KEFU_APPS_PATH`, each built on its
/// first job.
pub async fn senders(
    aws: &Aws,
    config: &Config,
    images: Images,
) -> Result<Apps<Sender>, StartupError> {
    let aws = &aws.with_parameter_budget(ParameterBudget::per_instance());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let reader = image_reader(images)?;
    let shared = rules(aws, config, &clock);
    let hooks = hook_client(aws, config).await?;
    let mut apps = Apps::new(clock);
    if let Some(apps_path) = &config.apps_path {
        let source = AppSenders {
            aws: aws.clone(),
            config: config.clone(),
            apps_path: apps_path.clone(),
            reader: reader.clone(),
            owner: instance_id(),
            shared: shared.clone(),
            hooks: hooks.clone(),
        };
        apps = apps.with_source(Arc::new(source), config.apps_ttl);
    }
    match &config.appid {
        Some(appid) => {
            let (sender, ()) = tokio::join!(
                sender_with_rules(aws, config, reader, shared, hooks, &Bookkeeping::Table),
                apps.list_now()
            );
            Ok(apps.with_default(appid, Arc::new(sender?)))
        }
        None => {
            tokio::join!(
                load_rules(&shared),
                apps.list_now(),
                aws.open_connections(&config.table, None),
            );
            Ok(apps)
        }
    }
}

/// The send core of the single app (`KEFU_APPID`).
async fn sender_with_reader(
    aws: &Aws,
    config: &Config,
    reader: Arc<dyn MediaReader>,
) -> Result<Sender, StartupError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let rules = rules(aws, config, &clock);
    let hooks = hook_client(aws, config).await?;
    sender_with_rules(aws, config, reader, rules, hooks, &Bookkeeping::Table).await
}

/// One app with both sides in one process (`kefu dev --aws`): the push path and the send core
/// of `KEFU_APPID`, built as the two functions build theirs, on one cache of the deployment's
/// rules.
#[derive(Debug)]
pub struct SingleApp {
    pub receiver: Receiver,
    pub sender: Sender,
    pub rules: Arc<RuleCache>,
}

/// [`SingleApp`] on DynamoDB, SQS and SSM, its sender keeping its bookkeeping on `bookkeeping`
/// and reading `{"file": …}` images from the folder `config.assets_dir`.
pub async fn single_app(
    aws: &Aws,
    config: &Config,
    bookkeeping: Bookkeeping,
) -> Result<SingleApp, StartupError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let rules = rules(aws, config, &clock);
    let receiver = receiver_with_rules(aws, config, rules.clone(), clock).await?;
    let reader = image_reader(Images::Folder(config.assets_dir.clone()))?;
    let hooks = hook_client(aws, config).await?;
    let sender = sender_with_rules(aws, config, reader, rules.clone(), hooks, &bookkeeping).await?;
    Ok(SingleApp {
        receiver,
        sender,
        rules,
    })
}

/// The same, with `rules` (the deployment's shared rules, not yet loaded).
async fn sender_with_rules(
    aws: &Aws,
    config: &Config,
    reader: Arc<dyn MediaReader>,
    rules: Arc<RuleCache>,
    hooks: Arc<HookClient>,
    bookkeeping: &Bookkeeping,
) -> Result<Sender, StartupError> {
    let appid = config
        .appid
        .as_deref()
        .ok_or(ConfigError::Missing("KEFU_APPID"))?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let parameter = config
        .api_secrets_parameter
        .as_deref()
        .ok_or(ConfigError::Missing("KEFU_API_SECRETS_PARAMETER"))?;
    let (secrets, (), ()) = tokio::join!(
        aws.secrets(parameter),
        load_rules(&rules),
        aws.open_connections(&config.table, None),
    );
    let secrets = secrets?;
    let parts = SenderParts {
        appid: appid.to_owned(),
        api: api_client(config, appid, &secrets)?,
        reader,
        rules,
        clock,
        token_kind: config.token_kind,
        owner: instance_id(),
    };
    Ok(app_sender(
        aws,
        config,
        parts,
        &hooks,
        &secrets,
        bookkeeping,
    ))
}

/// Where a sender keeps its bookkeeping: send claims, access_tokens, quota windows, media ids,
/// kept questions and hook answers.
#[derive(Debug, Clone, Default)]
pub enum Bookkeeping {
    /// On the deployment's table, as the function keeps it.
    #[default]
    Table,
    /// In memory, with events off: nothing of its sends reaches the account (`kefu dev --aws`
    /// against a real account, replying to the sandbox: the sandbox's fake access_token and
    /// sends never reach the real table or bus).
    Memory(Arc<MemoryTable>),
}

/// The send core of one app, as both the single app and the apps of `KEFU_APPS_PATH` have it:
/// on its `bookkeeping`, calling hooks with `hooks`, with the [`settings`] of the deployment.
fn app_sender(
    aws: &Aws,
    config: &Config,
    parts: SenderParts,
    hooks: &Arc<HookClient>,
    secrets: &Secrets,
    bookkeeping: &Bookkeeping,
) -> Sender {
    match bookkeeping {
        Bookkeeping::Table => {
            let table = Arc::new(aws.table(&config.table));
            let events = events(aws, config);
            let settings = settings(config, hooks, table.clone(), events, secrets);
            super::sender(table, parts, settings)
        }
        Bookkeeping::Memory(table) => {
            let settings = settings(config, hooks, table.clone(), Arc::new(NoEvents), secrets);
            super::sender(table.clone(), parts, settings)
        }
    }
}

/// The sender's settings from the configuration: the welcome interval, how long questions are
/// kept, and the key of the hash that stands for their users — derived from the app's
/// AppSecret, which only this function can read: the same on every instance (a redelivered
/// job replaces its question), and without it the table does not tell whose question it is.
/// The same key hashes the user in events, which go to `events` (`KEFU_EVENT_BUS`, if set).
/// Hooks are called with `hooks`, their decisions kept in `answers`, beside the send claims,
/// the user named as `KEFU_HOOK_OPENID` says (hashed with a key derived from the AppSecret),
/// `KEFU_HOOK_GENERATED_LABEL` under machine-generated answers.
fn settings(
    config: &Config,
    hooks: &Arc<HookClient>,
    answers: Arc<dyn HookAnswers>,
    events: Arc<dyn EventPublisher>,
    secrets: &Secrets,
) -> SenderSettings {
    let users = match (&secrets.app_secret, config.hook_openid_hashed) {
        (Some(secret), true) => UserForm::Hashed(user_key(secret.expose())),
        _ => UserForm::Openid,
    };
    SenderSettings {
        welcome_interval: config.welcome_interval,
        questions_kept: config.questions_kept,
        asker_key: secrets
            .app_secret
            .as_ref()
            .map(|secret| AskerKey::from_app_secret(secret.expose())),
        hooks: Some(Hooks {
            caller: hooks.clone(),
            answers,
            users,
            generated_label: config.hook_generated_label.clone(),
        }),
        events: Some((events, config.event_openid)),
    }
}

/// The WeChat API client of `appid`, with the AppSecret from its API secrets.
fn api_client(
    config: &Config,
    appid: &str,
    secrets: &Secrets,
) -> Result<Arc<WeChatClient>, StartupError> {
    let app_secret = secrets
        .app_secret
        .clone()
        .ok_or(StartupError::MissingSecret("app_secret"))?;
    Ok(super::api_client(
        &config.wechat_api_base,
        appid,
        app_secret,
    )?)
}

/// The apps under `KEFU_APPS_PATH`, as `reply` builds them: `{appid}/api` holds the app's
/// AppSecret (no such parameter: the app is not served).
#[derive(Debug)]
struct AppSenders {
    aws: Aws,
    config: Config,
    apps_path: String,
    reader: Arc<dyn MediaReader>,
    owner: String,
    /// The deployment's rules, for the apps without their own.
    shared: Arc<RuleCache>,
    /// What every app's hooks are called with.
    hooks: Arc<HookClient>,
}

#[async_trait]
impl AppSource<Sender> for AppSenders {
    async fn list(&self) -> Result<Listing, PortError> {
        // Reply serves an app once its AppSecret is there. An app with its push secrets and no
        // AppSecret yet is being added (or was, by an older `kefu apps add`, push first): its
        // jobs are retried, not dropped. With neither, it is not served: its jobs are dropped.
        listing(&self.aws, &self.apps_path, |has| {
            if has.contains(&"api") {
                Some(true)
            } else {
                has.contains(&"push").then_some(false)
            }
        })
        .await
    }

    async fn build(&self, appid: &str, listed: Listed) -> Result<Option<Sender>, PortError> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let AppParts { secrets, rules } = match app_parts(
            &self.aws,
            &self.config,
            &self.apps_path,
            appid,
            listed,
            &self.shared,
            &clock,
            AppParameter::Api,
        )
        .await?
        {
            Some(parts) => parts,
            None => return Ok(None),
        };
        let api = api_client(&self.config, appid, &secrets)
            .map_err(|err| PortError::new("load app", err))?;
        let parts = SenderParts {
            appid: appid.to_owned(),
            api,
            reader: self.reader.clone(),
            rules,
            clock,
            token_kind: self.config.token_kind,
            owner: self.owner.clone(),
        };
        Ok(Some(app_sender(
            &self.aws,
            &self.config,
            parts,
            &self.hooks,
            &secrets,
            &Bookkeeping::Table,
        )))
    }
}

/// The hooks' client, built once per cold start: HTTPS calls signed with the key at
/// `KEFU_HOOK_SECRET_PARAMETER` (read now; unsigned without one), Lambda hooks invoked with the
/// function's credentials.
async fn hook_client(aws: &Aws, config: &Config) -> Result<Arc<HookClient>, StartupError> {
    let secret = match &config.hook_secret_parameter {
        Some(parameter) => Some(aws.hook_secret(parameter).await?),
        None => None,
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let client = HookClient::new(secret, clock).map_err(|e| PortError::new("hook client", e))?;
    Ok(Arc::new(
        match aws.lambda_invoker(config.lambda_endpoint.clone()) {
            Some(invoker) => client.with_lambda(invoker),
            None => client,
        },
    ))
}

/// Where the events go: the bus `KEFU_EVENT_BUS` names, or nowhere.
fn events(aws: &Aws, config: &Config) -> Arc<dyn EventPublisher> {
    match &config.event_bus {
        Some(bus) => Arc::new(aws.event_bus(bus)),
        None => Arc::new(NoEvents),
    }
}

fn queue_url(config: &Config) -> Result<&str, ConfigError> {
    config
        .queue_url
        .as_deref()
        .ok_or(ConfigError::Missing("KEFU_QUEUE_URL"))
}

/// What verifying and opening a push needs, from the secrets.
fn credentials(secrets: &Secrets, appid: &str) -> Result<Credentials, StartupError> {
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
        appid: appid.to_owned(),
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
        Arc::new(shared_rules(aws, config)),
        clock.clone(),
        config.rules_ttl,
    ))
}

/// The deployment's shared rules: `KEFU_RULES_PATH`, or the stack's starting set.
fn shared_rules(aws: &Aws, config: &Config) -> SsmRules {
    aws.rules_or_starter(&config.rules_path, config.starter_rules.as_deref())
}

/// An app's own rules (`{apps_path}/{appid}/rules`) if the listing shows it has them, else the
/// deployment's shared rules, one cache for all the apps that use them.
fn app_rules(
    aws: &Aws,
    config: &Config,
    apps_path: &str,
    appid: &str,
    listed: Listed,
    shared: &Arc<RuleCache>,
    clock: &Arc<dyn Clock>,
) -> Arc<RuleCache> {
    if !listed.own_rules {
        return shared.clone();
    }
    let own = aws.rules(&app_parameter(apps_path, appid, AppParameter::Rules));
    Arc::new(RuleCache::new(
        Arc::new(own),
        clock.clone(),
        config.rules_ttl,
    ))
}

/// What either function builds an app of: its secrets (`which` of them) and its rules, loaded.
struct AppParts {
    secrets: Secrets,
    rules: Arc<RuleCache>,
}

/// Reads an app's `which` secrets and loads its rules at once; none if the secrets parameter
/// is not there (the app is not served), an error if the rules cannot be loaded: never an app
/// without its rules (the caller keeps the last good one).
#[allow(clippy::too_many_arguments)]
async fn app_parts(
    aws: &Aws,
    config: &Config,
    apps_path: &str,
    appid: &str,
    listed: Listed,
    shared: &Arc<RuleCache>,
    clock: &Arc<dyn Clock>,
    which: AppParameter,
) -> Result<Option<AppParts>, PortError> {
    let rules = app_rules(aws, config, apps_path, appid, listed, shared, clock);
    let (secrets, loaded) = tokio::join!(aws.app_secrets(apps_path, appid, which), rules.get());
    let Some(secrets) = secrets? else {
        return Ok(None);
    };
    loaded?;
    Ok(Some(AppParts { secrets, rules }))
}

/// The apps under `apps_path` (names only), each listed if `ready` says so from the leaves it
/// has (`push`, `api`, `rules`): `Some(ready)`, or none if the function does not serve it.
async fn listing(
    aws: &Aws,
    apps_path: &str,
    ready: impl Fn(&[&str]) -> Option<bool>,
) -> Result<Listing, PortError> {
    let apps = aws.list_apps(apps_path).await?;
    Ok(apps
        .into_iter()
        .filter_map(|(appid, has)| {
            let listed = Listed {
                ready: ready(&has)?,
                own_rules: has.contains(&"rules"),
            };
            Some((appid, listed))
        })
        .collect())
}
