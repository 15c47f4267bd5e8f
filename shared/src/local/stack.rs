//! The in-process stack wired together: table, queue, rules and a clock, and the push path on
//! top of them. `kefu dev` and the tests build theirs here.

use std::sync::Arc;
use std::time::Duration;

use super::{MemoryQueue, MemoryTable, StaticRules};
use crate::ports::Clock;
use crate::receive::{ReceiveDeps, ReceiveSettings, Receiver};
use crate::rules::RuleCache;

#[derive(Debug, Clone)]
pub struct LocalStack {
    pub table: Arc<MemoryTable>,
    pub queue: Arc<MemoryQueue>,
    pub rules_source: Arc<StaticRules>,
    pub rules: Arc<RuleCache>,
    pub clock: Arc<dyn Clock>,
}

impl LocalStack {
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
        Receiver::new(
            settings,
            ReceiveDeps {
                ledger: self.table.clone(),
                handoffs: self.table.clone(),
                queue: self.queue.clone(),
                rules: self.rules.clone(),
                clock: self.clock.clone(),
            },
        )
    }
}
