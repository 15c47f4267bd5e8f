//! The `kefu` developer tools as a library: what tests and other commands reuse.
//!
//! [`sandbox`] is a local stand-in for the WeChat server API (tokens, `custom/send`,
//! `custom/typing`, `media/upload`) that enforces WeChat's rules, records what was sent and
//! injects faults.

pub mod sandbox;
