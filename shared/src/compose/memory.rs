//! The same parts on the in-memory adapters: one table, one queue, rules from memory or a file,
//! and a clock. `kefu dev` and the tests build their stacks here.

use std::sync::Arc;
use std::time::Duration;

use super::{SenderParts, sender_on_table};
use crate::clock::SystemClock;
use crate::hooks::HookClient;
use crate::local::{MemoryQueue, MemoryTable, StaticRules};
use crate::policy::hook::UserForm;
use crate::ports::{Clock, HookCaller, MediaReader, WeChatApi};
use crate::receive::{ReceiveDeps, ReceiveSettings, Receiver};
use crate::rule_cache::RuleCache;
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
    /// What the senders call hooks with (the HTTP client, unsigned, by default; none if it
    /// cannot be built).
    pub hooks: Option<Arc<dyn HookCaller>>,
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
            hooks: HookClient::new(None, Arc::new(SystemClock))
                .ok()
                .map(|client| Arc::new(client) as Arc<dyn HookCaller>),
        }
    }

    /// Hooks are called with `caller` (`kefu dev --hook-url`, `--hook-secret`).
    pub fn with_hook_caller(mut self, caller: Arc<dyn HookCaller>) -> Self {
        self.hooks = Some(caller);
        self
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
        let sender = sender_on_table(
            self.table.clone(),
            SenderParts {
                appid: appid.to_owned(),
                api,
                reader,
                rules,
                clock: self.clock.clone(),
                token_kind: TokenKind::Stable,
                owner: owner.to_owned(),
            },
        );
        match &self.hooks {
            Some(caller) => sender.with_hooks(Hooks {
                caller: caller.clone(),
                answers: self.table.clone(),
                users: UserForm::Openid,
                generated_label: DEV_GENERATED_LABEL.to_owned(),
            }),
            None => sender,
        }
    }
}
