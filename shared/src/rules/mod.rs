//! Keyword rules: what to do with each message. Pure: the model, its validation and matching;
//! `explain` says which rule answers a message and why; `checks` finds what a valid set still
//! gets wrong (missing images, transfers on events, shadowed rules); `schedule` says when a
//! rule applies, `template` which placeholders a text reply may use. Rules live in Parameter
//! Store as JSON (see `aws::rules`), or in a local file for `kefu dev`; `fragments` is how a
//! large set spans several parameters. (`rule_cache` keeps the last good set in memory.)
//!
//! ```json
//! {
//!   "rules": [
//!     {"name": "human", "match": {"exact": ["人工", "转人工"]}, "action": "transfer"},
//!     {"name": "hours", "match": {"contains": "营业时间"},
//!      "action": {"reply": [{"type": "text", "content": "每天 9:00–21:00"}]}},
//!     {"name": "welcome", "match": {"event": "user_enter_tempsession"},
//!      "action": {"reply": [{"type": "text", "content": "你好，有什么可以帮你？"}]}}
//!   ],
//!   "default": {"reply": [{"type": "text", "content": "收到，我们会尽快回复"}]}
//! }
//! ```

pub mod checks;
pub mod explain;
pub mod fragments;
pub mod matching;
pub mod model;
pub mod schedule;
pub mod template;

pub use checks::{Finding, Severity};
pub use explain::Explanation;
pub use matching::Route;
pub use model::{Action, Match, MediaSource, ReplyMessage, Rule, RuleError, RuleSet};
