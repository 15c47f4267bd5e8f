//! The same parts on the in-memory adapters: one table, one queue, rules from memory or a file,
//! and a clock. `kefu dev` and the tests build their stacks here: a push path or a sender at a
//! time, or a whole set of apps from their specs ([`MemoryStack::apps`]).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{
    SenderParts, SenderSettings, StartupError, api_client, image_reader, instance_id, sender,
};
use crate::apps::Apps;
use crate::assets::Images;
use crate::clock::SystemClock;
use crate::events::UserForm as EventUserForm;
use crate::hooks::HookClient;
use crate::memory::{MemoryQueue, MemoryTable, StaticRules};
use crate::policy::hook::UserForm;
use crate::ports::{Clock, EventPublisher, HookCaller, MediaReader, PortError, WeChatApi};
use crate::protocol::Credentials;
use crate::receive::{ReceiveDeps, ReceiveSettings, Receiver};
use crate::rule_cache::RuleCache;
use crate::secret::SecretString;
use crate::send::{Hooks, Sender};
use crate::wechat_types::TokenKind;

/// The in-memory stack: what the push path and the send core share.
#[derive(Debug, Clone)]
pub struct MemoryStack {
    pub table: Arc<MemoryTable>,
    pub queue: Arc<MemoryQueue>,
    pub rules_source: Arc<StaticRules>,
    pub rules: Arc<RuleCache>,
    pub clock: Arc<dyn Clock>,
    /// How long rules are served from memory before they are read from their source again.
    pub rules_ttl: Duration,
    /// What the senders call hooks with (the HTTP client, unsigned, by default; none if it
    /// cannot be built).
    pub hooks: Option<Arc<dyn HookCaller>>,
}

/// One app of a stack: its push credentials, its AppSecret, and its own rules if it has any.
#[derive(Debug)]
pub struct AppSpec {
    pub credentials: Credentials,
    pub app_secret: SecretString,
    /// Its own rules (none: the stack's).
    pub rules: Option<StaticRules>,
}

/// How a stack's senders call hooks: signed or not, where the rules say or all at one URL.
#[derive(Debug, Clone, Default)]
pub struct HookSpec {
    /// The key HTTPS hook calls are signed with, as a deployment's `KEFU_HOOK_SECRET_PARAMETER`
    /// holds it (none: unsigned).
    pub secret: Option<SecretString>,
    /// Every hook call goes to this URL instead of the rule's (`kefu dev --hook-url`).
    pub redirect_to: Option<String>,
}

/// The apps a stack serves, and what they share (`kefu dev`).
#[derive(Debug)]
pub struct AppsSpec {
    pub apps: Vec<AppSpec>,
    /// Where the senders call the WeChat API (the sandbox, or a stand-in).
    pub wechat_api_base: String,
    /// The folder the images named by rules are read from.
    pub assets_dir: PathBuf,
    /// Whether an app with an EncodingAESKey refuses plaintext pushes, as a deployment with
    /// `KEFU_REQUIRE_ENCRYPTION=true` does (an app without one takes plaintext regardless).
    pub require_encryption: bool,
    /// Where the senders' events go, and how they name the user; none: events are off.
    pub events: Option<(Arc<dyn EventPublisher>, EventUserForm)>,
}

/// An app as [`MemoryStack::apps`] built it: its push path and its rules. Its sender is in the
/// [`Apps`] built beside it.
#[derive(Debug, Clone)]
pub struct BuiltApp {
    pub receiver: Arc<Receiver>,
    pub rules: Arc<RuleCache>,
    /// Where its rules are read from: each version set here is served within the stack's
    /// `rules_ttl` (a watched file's, say). The stack's own source for an app without rules of
    /// its own.
    pub rules_source: Arc<StaticRules>,
}

/// The label `kefu dev` adds under machine-generated hook answers (the template's default).
pub const DEV_GENERATED_LABEL: &str = "以上内容由 AI 生成";

impl MemoryStack {
    pub fn new(rules_source: StaticRules, clock: Arc<dyn Clock>, rules_ttl: Duration) -> Self {
        let rules_source = Arc::new(rules_source);
        Self {
            table: Arc::new(MemoryTable::new()),
            queue: Arc::new(MemoryQueue::new()),
            rules: Arc::new(RuleCache::new(
                rules_source.clone(),
                clock.clone(),
                rules_ttl,
            )),
            rules_source,
            clock,
            rules_ttl,
            hooks: HookClient::new(None, Arc::new(SystemClock))
                .ok()
                .map(|client| Arc::new(client) as Arc<dyn HookCaller>),
        }
    }

    /// Hooks are called by the HTTP client of `spec` (`kefu dev --hook-secret`, `--hook-url`),
    /// through `wrap` (`kefu dev`'s recorder of each call, say).
    pub fn with_hooks(
        mut self,
        spec: HookSpec,
        wrap: impl FnOnce(Arc<dyn HookCaller>) -> Arc<dyn HookCaller>,
    ) -> Result<Self, StartupError> {
        let client = HookClient::new(spec.secret, Arc::new(SystemClock))
            .map_err(|err| PortError::new("building the hooks' HTTP client", err))?;
        let client = match spec.redirect_to {
            Some(url) => client.redirected_to(url),
            None => client,
        };
        self.hooks = Some(wrap(Arc::new(client)));
        Ok(self)
    }

    /// Every app of `spec` on this stack: its push path, its sender (in the [`Apps`] returned,
    /// by AppID) and its rules, in one cache that both use: its own, or the stack's.
    pub fn apps(&self, spec: AppsSpec) -> Result<(Vec<BuiltApp>, Apps<Sender>), StartupError> {
        let reader = image_reader(Images::Folder(spec.assets_dir))?;
        let owner = instance_id();
        let mut built = Vec::with_capacity(spec.apps.len());
        let mut senders = Apps::new(self.clock.clone());
        for app in spec.apps {
            let appid = app.credentials.appid.clone();
            let (rules, rules_source) = match app.rules {
                Some(own) => {
                    let source = Arc::new(own);
                    let cache = RuleCache::new(source.clone(), self.clock.clone(), self.rules_ttl);
                    (Arc::new(cache), source)
                }
                None => (self.rules.clone(), self.rules_source.clone()),
            };
            let mut receive = ReceiveSettings::new(app.credentials);
            receive.require_encryption =
                spec.require_encryption && receive.credentials.aes_key.is_some();
            receive.events = spec.events.is_some();
            let receiver = Arc::new(self.receiver_with_rules(receive, rules.clone()));
            let api = api_client(&spec.wechat_api_base, &appid, app.app_secret)?;
            let app_sender = self.app_sender(
                &appid,
                api,
                reader.clone(),
                &owner,
                rules.clone(),
                spec.events.clone(),
            );
            senders = senders.with_app(&appid, Arc::new(app_sender));
            built.push(BuiltApp {
                receiver,
                rules,
                rules_source,
            });
        }
        Ok((built, senders))
    }

    /// The push path on this stack.
    pub fn receiver(&self, settings: ReceiveSettings) -> Receiver {
        self.receiver_with_rules(settings, self.rules.clone())
    }

    /// The push path on this stack with rules of its own (one app of several).
    pub fn receiver_with_rules(
        &self,
        settings: ReceiveSettings,
        rules: Arc<RuleCache>,
    ) -> Receiver {
        Receiver::new(
            settings,
            ReceiveDeps {
                ledger: self.table.clone(),
                handoffs: self.table.clone(),
                queue: self.queue.clone(),
                rules,
                clock: self.clock.clone(),
            },
        )
    }

    /// The send core on this stack, for `appid`, calling `api`, reading images with `reader`;
    /// `owner` names this instance in the token-refresh lease.
    pub fn sender(
        &self,
        appid: &str,
        api: Arc<dyn WeChatApi>,
        reader: Arc<dyn MediaReader>,
        owner: &str,
    ) -> Sender {
        self.sender_with_rules(appid, api, reader, owner, self.rules.clone())
    }

    /// The send core on this stack with rules of its own (one app of several).
    pub fn sender_with_rules(
        &self,
        appid: &str,
        api: Arc<dyn WeChatApi>,
        reader: Arc<dyn MediaReader>,
        owner: &str,
        rules: Arc<RuleCache>,
    ) -> Sender {
        self.app_sender(appid, api, reader, owner, rules, None)
    }

    /// The send core of `appid` on this stack: on its table, with its hooks, and `events`.
    fn app_sender(
        &self,
        appid: &str,
        api: Arc<dyn WeChatApi>,
        reader: Arc<dyn MediaReader>,
        owner: &str,
        rules: Arc<RuleCache>,
        events: Option<(Arc<dyn EventPublisher>, EventUserForm)>,
    ) -> Sender {
        let parts = SenderParts {
            appid: appid.to_owned(),
            api,
            reader,
            rules,
            clock: self.clock.clone(),
            token_kind: TokenKind::Stable,
            owner: owner.to_owned(),
        };
        sender(self.table.clone(), parts, self.sender_settings(events))
    }

    /// The send core's defaults, with this stack's hooks (their answers on its table, the user
    /// named by openid, [`DEV_GENERATED_LABEL`] under machine-generated answers) and `events`.
    fn sender_settings(
        &self,
        events: Option<(Arc<dyn EventPublisher>, EventUserForm)>,
    ) -> SenderSettings {
        SenderSettings {
            hooks: self.hooks.as_ref().map(|caller| Hooks {
                caller: caller.clone(),
                answers: self.table.clone(),
                users: UserForm::Openid,
                generated_label: DEV_GENERATED_LABEL.to_owned(),
            }),
            events,
            ..SenderSettings::default()
        }
    }
}
