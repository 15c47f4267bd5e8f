//! kefu — the library both functions and the `kefu` command share.
//!
//! The data path is push → ack (the `receive` function) and job → send (the `reply` function).
//! This crate holds everything they have in common; `protocol` is the pure WeChat core: no I/O,
//! no clock, no environment.

pub mod protocol;
pub mod secret;
