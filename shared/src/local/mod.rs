//! In-process adapters with the same semantics as the AWS ones (conditional claims, leases,
//! TTL, ordered delivery): `kefu dev` runs on them, and fast tests use them. Each counts the
//! calls made to it, so tests can assert how many round trips a path would cost on AWS.

pub mod clock;
pub mod ledger;
pub mod queue;
pub mod rules;
pub mod stack;
mod stores;

pub use clock::ManualClock;
pub use ledger::MemoryTable;
pub use queue::MemoryQueue;
pub use rules::StaticRules;
pub use stack::LocalStack;
