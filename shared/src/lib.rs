//! kefu — the library both functions and the `kefu` command share.
//!
//! The data path is push → ack (`receive`, behind API Gateway) and job → send (`reply`,
//! behind SQS). The pure core is `protocol` (WeChat's wire format) and `rules`; `receive` is the
//! push path written against the small interfaces in `ports`, which `aws` implements on
//! DynamoDB, SQS and SSM and `local` implements in memory.

pub mod aws;
pub mod config;
pub mod job;
pub mod local;
pub mod logging;
pub mod metrics;
pub mod ports;
pub mod protocol;
pub mod receive;
pub mod rules;
pub mod sample;
pub mod secret;
pub mod tls;
pub mod wechat_api;
pub mod worker;
