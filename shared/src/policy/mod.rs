//! The send policy, pure: decisions the send core takes and the stores apply, with no I/O. The
//! adapters may import it (the DynamoDB and in-memory quota stores write `quota`'s rules), the
//! send core re-exports it as `send::{quota, errcode, render, budget}`.
//!
//! | file | concern |
//! | --- | --- |
//! | `quota.rs` | WeChat's send windows |
//! | `errcode.rs` | what a failed call means (refresh, retry, give up) |
//! | `render.rs` | a rule's reply message → WeChat's custom/send body |
//! | `budget.rs` | the time arithmetic: deadline, leases, timeouts, job age |
//! | `hook.rs` | a hook's request, answer, signature and the answer kept for redeliveries |

pub mod budget;
pub mod errcode;
pub mod hook;
pub mod quota;
pub mod render;
