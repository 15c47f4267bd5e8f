//! Keyword rules: what to do with each message. Pure: the model, its validation and matching
//! (against an instant passed in, never the wall clock); `schedule` says when a rule applies,
//! in `calendar`'s time zones, dates and weekdays; `template` which placeholders a text reply
//! may use; `explain` says which rule answers a message and why (and which condition or
//! schedule part failed for the rules passed over); `checks` finds what a valid set still
//! gets wrong (missing images, transfers on events, shadowed rules). Rules live in Parameter
//! Store as JSON (see `aws::rules`), or in a local file for `kefu dev`; `fragments` is how a
//! large set spans several parameters. (`rule_cache` keeps the last good set in memory.)
//!
//! ```json
//! {
//!   "schedules": {"business": {"days": ["mon", "tue", "wed", "thu", "fri"], "hours": ["09:00-21:00"]}},
//!   "rules": [
//!     {"name": "human", "match": {"exact": ["人工", "转人工"]}, "schedule": "business",
//!      "action": "transfer",
//!      "otherwise": {"reply": [{"type": "text", "content": "客服下班了，明天 9 点见"}]}},
//!     {"name": "hours", "match": {"contains": "营业时间"},
//!      "action": {"reply": [{"type": "text", "content": "每天 9:00–21:00"}]}},
//!     {"name": "welcome", "match": {"event": "user_enter_tempsession"},
//!      "action": {"reply": [{"type": "text", "content": "你好，有什么可以帮你？"}]}}
//!   ],
//!   "default": {"reply": [{"type": "text", "content": "收到，我们会尽快回复"}]}
//! }
//! ```

pub mod calendar;
pub mod checks;
pub mod explain;
pub mod faq;
pub mod fragments;
pub mod hook;
pub mod matching;
pub mod model;
pub mod schedule;
pub mod template;

pub use calendar::TimeZone;
pub use checks::{Finding, Severity};
pub use explain::{Explanation, PassedOver};
pub use faq::{Faq, FaqDecision, FaqEntry};
pub use hook::{Hook, HookTarget};
pub use matching::Route;
pub use model::{
    Action, Condition, Match, MediaSource, ReplyMessage, Rule, RuleError, RuleSet, ScheduleRef,
};
pub use schedule::Schedule;
