//! kefu — the library both functions and the `kefu` command share.
//!
//! The data path is push → ack (`receive`, behind API Gateway) and job → send (`send`, run by
//! the `reply` function behind SQS). The layers, each importing only those below it:
//!
//! | layer | modules |
//! | --- | --- |
//! | composition root | `compose` (AWS and in-memory wiring, side by side) |
//! | adapters | `aws` (DynamoDB, SQS, SSM), `local` (in memory), `wechat_api` (reqwest), `assets` (images) |
//! | core | `receive` (the push path), `send` (the send core), `apps` (the apps served), `rule_cache` |
//! | ports | `ports` (small async traits speaking domain types), `clock` |
//! | pure domain | `rules` (model, matching, Parameter Store layout), `knowledge` (the FAQ matcher), `learn` (outcomes, kept questions, grouping), `job` (the queue's message) |
//! | vocabulary | `protocol` (WeChat's push wire format, pure), `wechat_types` (the WeChat API's) |
//! | support | `config`, `secret`, `logging`, `metrics`, `tls`, `sample` |

pub mod apps;
pub mod assets;
pub mod aws;
pub mod clock;
pub mod compose;
pub mod config;
pub mod job;
pub mod knowledge;
pub mod learn;
pub mod local;
pub mod logging;
pub mod metrics;
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
