//! The composition root: where the parts are wired together, and the only module that knows
//! them all. `aws` builds the two functions on DynamoDB, SQS and SSM (as deployed); `memory`
//! builds the same on the in-memory adapters (`kefu dev`, fast tests). Both build the send core
//! with [`sender_on_table`], its WeChat API client with [`api_client`] and its image reader with
//! [`image_reader`], so the dev loop runs the deployed wiring; `kefu dev` builds its stacks here
//! too (`memory::MemoryStack::apps`, `aws::single_app`), adding only what is its own: the chat
//! window's hook recorder, its event printer, a watched rules file.

pub mod aws;
pub mod memory;

use std::sync::Arc;
use std::time::Duration;

pub use aws::StartupError;
pub use memory::MemoryStack;

use crate::assets::{AssetReader, Images};
use crate::events::UserForm;
use crate::learn::AskerKey;
use crate::policy::budget::CALL_TIMEOUT;
use crate::ports::{Clock, EventPublisher, MediaReader, PortError, SendTable, WeChatApi};
use crate::rule_cache::RuleCache;
use crate::secret::SecretString;
use crate::send::token::TokenProvider;
use crate::send::{Hooks, QUESTIONS_KEPT, SendDeps, Sender, WELCOME_INTERVAL};
use crate::wechat_api::WeChatClient;
use crate::wechat_types::{ApiError, TokenKind};

/// What the send core needs besides its stores.
#[derive(Debug, Clone)]
pub struct SenderParts {
    /// The app whose jobs it runs.
    pub appid: String,
    pub api: Arc<dyn WeChatApi>,
    /// Where images named by rules are read from.
    pub reader: Arc<dyn MediaReader>,
    pub rules: Arc<RuleCache>,
    pub clock: Arc<dyn Clock>,
    /// How access_tokens are fetched.
    pub token_kind: TokenKind,
    /// This instance's name as the owner of the token-refresh lease.
    pub owner: String,
}

/// How a sender behaves beyond its stores: the functions' from their configuration, `kefu dev`'s
/// and the tests' from the send core's defaults ([`SenderSettings::default`]).
#[derive(Debug, Clone)]
pub struct SenderSettings {
    /// A user is welcomed at most once per this interval.
    pub welcome_interval: Duration,
    /// How long unanswered and suggested questions are kept (zero: none are).
    pub questions_kept: Duration,
    /// The key of the hash that stands for the users of kept questions and of events (none: a
    /// random one, this process's own).
    pub asker_key: Option<AskerKey>,
    /// What hook actions call (none: they send their fallback).
    pub hooks: Option<Hooks>,
    /// Where events go and how they name the user (none: events are off).
    pub events: Option<(Arc<dyn EventPublisher>, UserForm)>,
}

impl Default for SenderSettings {
    fn default() -> Self {
        Self {
            welcome_interval: WELCOME_INTERVAL,
            questions_kept: QUESTIONS_KEPT,
            asker_key: None,
            hooks: None,
            events: None,
        }
    }
}

/// The send core as every stack builds it: on one table ([`sender_on_table`]), with `settings`.
/// The one place a sender is put together, for the functions and `kefu dev` alike.
pub fn sender<T>(table: Arc<T>, parts: SenderParts, settings: SenderSettings) -> Sender
where
    T: SendTable + 'static,
{
    let mut sender = sender_on_table(table, parts)
        .with_welcome_interval(settings.welcome_interval)
        .with_questions_kept(settings.questions_kept);
    if let Some(key) = settings.asker_key {
        sender = sender.with_asker_key(key);
    }
    if let Some(hooks) = settings.hooks {
        sender = sender.with_hooks(hooks);
    }
    if let Some((publisher, form)) = settings.events {
        sender = sender.with_events(publisher, form);
    }
    sender
}

/// The send core with every store on one table, as deployed: DynamoDB, or its in-memory twin;
/// the send core's defaults otherwise (no hooks, no events).
pub fn sender_on_table<T>(table: Arc<T>, parts: SenderParts) -> Sender
where
    T: SendTable + 'static,
{
    let tokens = Arc::new(TokenProvider::new(
        &parts.appid,
        parts.token_kind,
        table.clone(),
        parts.api.clone(),
        parts.clock.clone(),
        parts.owner,
    ));
    Sender::new(
        &parts.appid,
        SendDeps {
            ledger: table.clone(),
            handoffs: table.clone(),
            quota: table.clone(),
            media: table.clone(),
            suggestions: table.clone(),
            questions: table,
            reader: parts.reader,
            api: parts.api,
            tokens,
            rules: parts.rules,
            clock: parts.clock,
        },
    )
}

/// The WeChat API client of `appid` at `base` (the API, the sandbox, a stand-in), each call
/// within the send budget's [`CALL_TIMEOUT`].
pub fn api_client(
    base: &str,
    appid: &str,
    app_secret: SecretString,
) -> Result<Arc<WeChatClient>, ApiError> {
    Ok(Arc::new(WeChatClient::new(
        base,
        appid,
        app_secret,
        CALL_TIMEOUT,
    )?))
}

/// What the images that rules name are read with (fetched within [`CALL_TIMEOUT`]).
pub fn image_reader(images: Images) -> Result<Arc<dyn MediaReader>, PortError> {
    Ok(Arc::new(AssetReader::with_images(images, CALL_TIMEOUT)?))
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
