//! kefu — the library both functions and the `kefu` command share.
//!
//! The data path is push → ack (`receive`, behind API Gateway) and job → send (`send`, run by
//! the `reply` function behind SQS). The layers, each importing only those below it:
//!
//! | layer | modules |
//! | --- | --- |
//! | composition root | `compose` (AWS and in-memory wiring, side by side), `config` (the environment it composes from, adapters' defaults included) |
//! | adapters | `aws` (DynamoDB, SQS, SSM, EventBridge), `memory` (their in-memory twins, for `kefu dev` and the tests), `wechat_api` (reqwest), `assets` (images), `hooks` (rules' HTTPS hooks, reqwest) |
//! | core | `receive` (the push path), `send` (the send core), `apps` (the apps served), `rule_cache` |
//! | pure send policy | `policy` (send windows, error codes, rendering, the time budget: read by the core and the stores) |
//! | ports | `ports` (small async traits speaking domain types), `clock` |
//! | pure domain | `rules` (model, matching, Parameter Store layout), `knowledge` (the FAQ matcher), `learn` (outcomes, kept questions, grouping), `events` (what kefu publishes: kinds, ids, payloads), `job` (the queue's message), `outbox` (the outbox's command), `sample` (the documented sample deployment) |
//! | vocabulary | `protocol` (WeChat's push wire format, pure), `wechat_types` (the WeChat API's) |
//! | support | `secret`, `logging`, `metrics`, `tls` |
//!
//! `tests/tests/layering.rs` holds this table against the imports, with the rules beside it:
//! the adapters import no core (what they share with it is a port or pure policy), the AWS SDK
//! is named only in `aws/`, reqwest only in `wechat_api/`, `hooks/`, `assets` and `tls`.

pub mod apps;
pub mod assets;
pub mod aws;
pub mod clock;
pub mod compose;
pub mod config;
pub mod events;
pub mod hooks;
pub mod job;
pub mod knowledge;
pub mod learn;
pub mod logging;
pub mod memory;
pub mod metrics;
pub mod outbox;
pub mod policy;
pub mod ports;
pub mod protocol;
pub mod receive;
pub mod rule_cache;
pub mod rules;
pub mod sample;
pub mod secret;
pub mod send;
pub mod tls;
pub mod wechat_api;
pub mod wechat_types;
