//! In-process adapters with the same semantics as the AWS ones (conditional claims, leases,
//! TTL, ordered delivery): `kefu dev` runs on them, and fast tests use them. One file per port,
//! at the same path as its DynamoDB, SQS or SSM version in `aws/`; each counts the calls made
//! to it, so tests can assert how many round trips a path would cost on AWS. Wiring them
//! together is `compose::memory`'s job.

pub mod events;
pub mod handoffs;
pub mod hook_answers;
pub mod ledger;
pub mod media;
pub mod questions;
pub mod queue;
pub mod quota;
pub mod rules;
pub mod suggestions;
pub mod table;
pub mod tokens;

pub use events::{MemoryEvents, NoEvents};
pub use queue::MemoryQueue;
pub use rules::StaticRules;
pub use table::MemoryTable;
