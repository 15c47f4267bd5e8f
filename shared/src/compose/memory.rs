//! The same parts on the in-memory adapters: one table, one queue, rules from memory or a file,
//! and a clock. `kefu dev` and the tests build their stacks here.

use std::sync::Arc;
use std::time::Duration;

use super::{SenderParts, sender_on_table};
use crate::local::{MemoryQueue, MemoryTable, StaticRules};
use crate::ports::{Clock, MediaReader, WeChatApi};
use crate::receive::{ReceiveDeps, ReceiveSettings, Receiver};
use crate::rule_cache::RuleCache;
use crate::send::Sender;
use crate::wechat_types::TokenKind;

/// The in-memory stack: what the push path and the send core share.
#[derive(Debug, Clone)]
pub struct MemoryStack {
    pub table: Arc<MemoryTable>,
    pub queue: Arc<MemoryQueue>,
    pub rules_source: Arc<StaticRules>,
    pub rules: Arc<RuleCache>,
    pub clock: Arc<dyn Clock>,
}

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
        }
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
        sender_on_table(
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
        )
    }
}
