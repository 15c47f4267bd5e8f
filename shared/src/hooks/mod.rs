//! The `HookCaller` adapter: calls a rule's hook. An HTTPS endpoint is POSTed the request with
//! reqwest (rustls, certificates verified against the web's roots, redirects never followed,
//! the answer read up to `MAX_ANSWER_BYTES` and no further), signed with the deployment's hook
//! secret (Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,…`);
//! a Lambda function is invoked synchronously (`lambda.rs`, the Invoke API signed with SigV4).
//! `kefu dev --hook-url` sends every hook to one URL ([`HookClient::redirected_to`]).
//!
//! | file | concern |
//! | --- | --- |
//! | `mod.rs` | the client: which target, the HTTPS call, the bounded read |
//! | `lambda.rs` | a Lambda hook: the Invoke call, signed |

pub mod lambda;

pub use lambda::LambdaInvoker;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::policy::hook::{
    ID_HEADER, MAX_ANSWER_BYTES, SIGNATURE_HEADER, TIMESTAMP_HEADER, signature,
};
use crate::ports::{Clock, HookCaller, HookFailure};
use crate::rules::HookTarget;
use crate::secret::SecretString;

/// Calls hooks over HTTPS, and Lambda hooks with a [`LambdaInvoker`] if one is given.
#[derive(Debug, Clone)]
pub struct HookClient {
    http: reqwest::Client,
    /// The key of the HTTPS calls' signature (none: unsigned, `kefu dev` without one).
    secret: Option<SecretString>,
    lambda: Option<Arc<LambdaInvoker>>,
    /// Every hook goes here instead (`kefu dev --hook-url`).
    redirect: Option<String>,
    clock: Arc<dyn Clock>,
}

impl HookClient {
    pub fn new(secret: Option<SecretString>, clock: Arc<dyn Clock>) -> Result<Self, String> {
        let http = crate::tls::http_client_builder()
            // A redirect is an answer kefu does not follow: a signed request is not replayed
            // to wherever the endpoint points.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("kefu/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("hook client: {e}"))?;
        Ok(Self {
            http,
            secret: secret.filter(|s| !s.is_empty()),
            lambda: None,
            redirect: None,
            clock,
        })
    }

    /// Invokes Lambda hooks with `invoker` (without one they fail, and get their fallback).
    pub fn with_lambda(mut self, invoker: LambdaInvoker) -> Self {
        self.lambda = Some(Arc::new(invoker));
        self
    }

    /// Sends every hook, HTTPS or Lambda, to `url` (`kefu dev --hook-url`).
    pub fn redirected_to(mut self, url: impl Into<String>) -> Self {
        self.redirect = Some(url.into());
        self
    }

    async fn post(
        &self,
        url: &str,
        id: &str,
        body: &[u8],
        wait: Duration,
    ) -> Result<Vec<u8>, HookFailure> {
        let timestamp = self.clock.now().secs().0;
        let mut request = self
            .http
            .post(url)
            .timeout(wait)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(ID_HEADER, id)
            .header(TIMESTAMP_HEADER, timestamp.to_string());
        if let Some(secret) = &self.secret {
            request = request.header(
                SIGNATURE_HEADER,
                signature(secret.expose().as_bytes(), id, timestamp, body),
            );
        }
        let response = request
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| failure(&e, wait))?;
        let status = response.status();
        if !status.is_success() {
            return Err(HookFailure::Status(status.as_u16()));
        }
        read_bounded(response, wait).await
    }
}

/// A reqwest error as a hook failure; never the URL's query (reqwest prints the URL).
fn failure(err: &reqwest::Error, wait: Duration) -> HookFailure {
    if err.is_timeout() {
        return HookFailure::Timeout(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX));
    }
    let kind = if err.is_connect() {
        "could not connect"
    } else if err.is_body() || err.is_decode() {
        "the answer broke off"
    } else {
        "the call failed"
    };
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(err);
    let mut cause = String::new();
    while let Some(err) = source {
        cause = err.to_string();
        source = err.source();
    }
    HookFailure::Call(if cause.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {cause}")
    })
}

/// The answer's body, up to [`MAX_ANSWER_BYTES`]: a longer one fails as soon as it passes the
/// limit (or at once, if its length says so), without reading the rest.
async fn read_bounded(
    mut response: reqwest::Response,
    wait: Duration,
) -> Result<Vec<u8>, HookFailure> {
    if response
        .content_length()
        .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
    {
        return Err(HookFailure::TooLarge(MAX_ANSWER_BYTES));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| failure(&e, wait))? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(HookFailure::TooLarge(MAX_ANSWER_BYTES));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[async_trait]
impl HookCaller for HookClient {
    async fn call(
        &self,
        target: HookTarget<'_>,
        id: &str,
        body: &[u8],
        wait: Duration,
    ) -> Result<Vec<u8>, HookFailure> {
        if let Some(url) = &self.redirect {
            return self.post(url, id, body, wait).await;
        }
        match target {
            HookTarget::Url(url) => self.post(url, id, body, wait).await,
            HookTarget::Lambda(arn) => match &self.lambda {
                Some(lambda) => lambda.invoke(&self.http, arn, body, wait).await,
                None => Err(HookFailure::Call(
                    "Lambda hooks are not invoked here (no AWS credentials configured)".into(),
                )),
            },
        }
    }
}
