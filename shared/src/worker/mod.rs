//! The reply path: job → rules → access_token → custom/send, with quota and idempotency.
//!
//! Each job is the push `receive` accepted. The worker applies the rules again (they may have
//! changed), claims each send (`send#{job}#{n}`) before calling WeChat so that an SQS
//! redelivery never sends twice, skips what the user's quota would refuse, and classifies
//! failures: transient ones go back to SQS (batch item failure), everything else is settled
//! here with a log line and a metric so the DLQ only ever holds real trouble.

pub mod media;
pub mod quota;
pub mod token;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::job::Job;
use crate::metrics;
use crate::ports::{
    Claim, ClaimOutcome, Clock, HandoffRegistry, MediaCache, MediaReader, PortError, PushLedger,
    QuotaStore, QuotaWindow, WeChatApi, millis, secs,
};
use crate::protocol::{Event, MessageKind};
use crate::rules::{Action, MediaSource, ReplyMessage, RuleCache};
use crate::wechat_api::outbound::{self, Outbound, OutboundContent};
use crate::wechat_api::{AccessToken, ApiError, ErrorClass};
use token::{TokenError, TokenProvider};

/// How long a send claim protects a send in flight before a redelivery may retry it.
const SEND_LEASE: Duration = Duration::from_secs(60);
/// How long the ledger remembers a send.
const LEDGER_TTL: Duration = Duration::from_secs(3 * 24 * 3600);

#[derive(Debug, Clone)]
pub struct WorkerDeps {
    pub ledger: Arc<dyn PushLedger>,
    pub handoffs: Arc<dyn HandoffRegistry>,
    pub quota: Arc<dyn QuotaStore>,
    pub media: Arc<dyn MediaCache>,
    pub reader: Arc<dyn MediaReader>,
    pub api: Arc<dyn WeChatApi>,
    pub tokens: Arc<TokenProvider>,
    pub rules: Arc<RuleCache>,
    pub clock: Arc<dyn Clock>,
}

impl WorkerDeps {
    /// Every store on one table, as deployed: DynamoDB, or its in-memory twin.
    pub fn on_table<T>(
        table: Arc<T>,
        api: Arc<dyn WeChatApi>,
        tokens: Arc<TokenProvider>,
        reader: Arc<dyn MediaReader>,
        rules: Arc<RuleCache>,
        clock: Arc<dyn Clock>,
    ) -> Self
    where
        T: PushLedger + HandoffRegistry + QuotaStore + MediaCache + 'static,
    {
        Self {
            ledger: table.clone(),
            handoffs: table.clone(),
            quota: table.clone(),
            media: table,
            reader,
            api,
            tokens,
            rules,
            clock,
        }
    }
}

/// What became of a job that needs no retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobOutcome {
    /// `sent` messages went out now; `skipped` were over quota, already sent or refused for good.
    Done { sent: usize, skipped: usize },
    /// Nothing to send: no reply rule, or a human agent holds the session.
    Nothing(&'static str),
    /// Not a job this worker can run (malformed, unknown version, another appid).
    Dropped(String),
}

/// A failure SQS should retry.
#[derive(Debug, thiserror::Error)]
#[error("transient: {0}")]
pub struct Transient(pub String);

impl From<PortError> for Transient {
    fn from(err: PortError) -> Self {
        Self(err.to_string())
    }
}

impl From<TokenError> for Transient {
    fn from(err: TokenError) -> Self {
        Self(err.to_string())
    }
}

type Call<'a, T> = Pin<Box<dyn Future<Output = Result<T, ApiError>> + Send + 'a>>;

#[derive(Debug)]
pub struct Worker {
    appid: String,
    deps: WorkerDeps,
}

impl Worker {
    pub fn new(appid: &str, deps: WorkerDeps) -> Self {
        Self {
            appid: appid.to_owned(),
            deps,
        }
    }

    /// Runs the records of one SQS batch and returns the ids of those to retry. Records run
    /// concurrently, but one user's jobs run in order; after a user's job fails, that user's
    /// later jobs in the batch are left for the retry too, so their order holds.
    pub async fn run_batch(self: &Arc<Self>, records: Vec<(String, String)>) -> Vec<String> {
        let mut by_user: Vec<(String, Vec<(String, String)>)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for (id, body) in records {
            let user = Job::from_json(&body)
                .map(|j| j.openid)
                .unwrap_or_else(|_| format!("?{id}"));
            let slot = *index.entry(user.clone()).or_insert_with(|| {
                by_user.push((user, Vec::new()));
                by_user.len() - 1
            });
            if let Some((_, jobs)) = by_user.get_mut(slot) {
                jobs.push((id, body));
            }
        }
        let mut tasks = tokio::task::JoinSet::new();
        // Which records each task holds, so a task that panics has them all retried.
        let mut held = HashMap::new();
        for (_, jobs) in by_user {
            let worker = Arc::clone(self);
            let ids: Vec<String> = jobs.iter().map(|(id, _)| id.clone()).collect();
            let task = tasks.spawn(async move {
                let mut failed = Vec::new();
                for (id, body) in jobs {
                    if !failed.is_empty() {
                        failed.push(id);
                        continue;
                    }
                    if let Err(err) = worker.run(&body).await {
                        tracing::warn!(message_id = %id, reason = %err, "job will be retried");
                        metrics::count("job_retried");
                        failed.push(id);
                    }
                }
                failed
            });
            held.insert(task.id(), ids);
        }
        let mut failures = Vec::new();
        while let Some(result) = tasks.join_next_with_id().await {
            match result {
                Ok((_, failed)) => failures.extend(failed),
                Err(err) => {
                    tracing::error!(reason = %err, "a batch task panicked; its records will be retried");
                    failures.extend(held.remove(&err.id()).unwrap_or_default());
                }
            }
        }
        failures
    }

    /// Runs one job (an SQS message body).
    pub async fn run(&self, body: &str) -> Result<JobOutcome, Transient> {
        let job = match Job::from_json(body) {
            Ok(job) if job.appid == self.appid => job,
            Ok(job) => {
                return Ok(self.dropped(format!("job for appid {}, not {}", job.appid, self.appid)));
            }
            Err(err) => return Ok(self.dropped(err.to_string())),
        };
        let now = self.deps.clock.now_millis();

        // The window opens when the user acted, as WeChat stamped it: the same for every retry
        // and redelivery of this push, so none of them can reset the count.
        let acted_at = job.message.create_time.saturating_mul(1000);
        match &job.message.kind {
            MessageKind::Event(Event::UserEnterTempsession { .. }) => {
                self.deps
                    .quota
                    .open(&self.appid, &job.openid, QuotaWindow::Enter, acted_at)
                    .await?;
            }
            MessageKind::Event(_) => {}
            _ => {
                self.deps
                    .quota
                    .open(&self.appid, &job.openid, QuotaWindow::Message, acted_at)
                    .await?;
            }
        }

        if self
            .deps
            .handoffs
            .held_until(&self.appid, &job.openid)
            .await?
            .is_some_and(|until| until > now)
        {
            self.finish(&job.key, now).await?;
            return Ok(JobOutcome::Nothing("a human agent holds the session"));
        }

        let rules = self.deps.rules.get().await?;
        let messages = match rules.action_for(&job.message) {
            Some((_, Action::Reply(messages))) => messages.clone(),
            _ => {
                self.finish(&job.key, now).await?;
                return Ok(JobOutcome::Nothing("no reply rule"));
            }
        };

        let (mut sent, mut skipped) = (0, 0);
        for (n, message) in messages.iter().enumerate() {
            let send_key = format!("send#{}#{n}", job.key);
            let claim = Claim {
                key: send_key.clone(),
                attempt: format!("{}#{now}", job.key),
                now,
                lease_until: now.saturating_add(millis(SEND_LEASE)),
                expires_at: (now / 1000).saturating_add(secs(LEDGER_TTL)),
            };
            if self.deps.ledger.claim(&claim).await? == ClaimOutcome::Duplicate {
                skipped += 1;
                continue;
            }
            let window = match self.deps.quota.reserve(&self.appid, &job.openid, now).await {
                Ok(Some(window)) => window,
                Ok(None) => {
                    tracing::info!(send = %send_key, "send skipped: over the user's quota");
                    metrics::count("quota_skipped");
                    self.settle(&send_key, now).await;
                    skipped += 1;
                    continue;
                }
                Err(err) => {
                    // Nothing was sent: free the claim so the redelivery can send.
                    self.release(&claim).await;
                    return Err(err.into());
                }
            };
            match self.deliver(&job.openid, message).await {
                Ok(()) => {
                    self.settle(&send_key, now).await;
                    sent += 1;
                }
                Err(Delivery::Api(err)) => match err.class() {
                    ErrorClass::QuotaExhausted => {
                        tracing::info!(send = %send_key, reason = %err, "send refused: quota exhausted");
                        metrics::count("quota_refused");
                        self.settle(&send_key, now).await;
                        skipped += 1;
                    }
                    ErrorClass::Permanent => {
                        tracing::warn!(send = %send_key, reason = %err, "send refused for good");
                        metrics::count("send_refused");
                        if let Err(err) = self
                            .deps
                            .quota
                            .refund(&self.appid, &job.openid, window)
                            .await
                        {
                            tracing::warn!(reason = %err, "quota refund failed");
                        }
                        self.settle(&send_key, now).await;
                        skipped += 1;
                    }
                    ErrorClass::StaleToken | ErrorClass::StaleMedia | ErrorClass::Transient => {
                        self.give_back(&claim, &job.openid, window).await;
                        return Err(Transient(format!("{send_key}: {err}")));
                    }
                },
                Err(Delivery::Other(err)) => {
                    self.give_back(&claim, &job.openid, window).await;
                    return Err(Transient(format!("{send_key}: {err}")));
                }
            }
        }
        self.finish(&job.key, now).await?;
        Ok(JobOutcome::Done { sent, skipped })
    }

    fn dropped(&self, reason: String) -> JobOutcome {
        tracing::warn!(reason = %reason, "job dropped");
        metrics::count("job_dropped");
        JobOutcome::Dropped(reason)
    }

    /// Marks a send settled (sent, or refused for good). If even that fails, the send is not
    /// undone and the job not retried: its claim stays pending, and a redelivery within the
    /// lease skips it rather than sending twice.
    async fn settle(&self, send_key: &str, now: i64) {
        if let Err(err) = self.finish(send_key, now).await {
            tracing::warn!(send = %send_key, reason = %err, "marking the send done failed");
        }
    }

    async fn release(&self, claim: &Claim) {
        if let Err(err) = self.deps.ledger.release(&claim.key, &claim.attempt).await {
            tracing::warn!(reason = %err, "send claim release failed; it expires with its lease");
        }
    }

    async fn finish(&self, key: &str, now: i64) -> Result<(), PortError> {
        self.deps
            .ledger
            .mark_done(key, (now / 1000).saturating_add(secs(LEDGER_TTL)))
            .await
    }

    /// Undoes a send's claim and quota after a failure that SQS will retry.
    async fn give_back(&self, claim: &Claim, openid: &str, window: QuotaWindow) {
        if let Err(err) = self.deps.quota.refund(&self.appid, openid, window).await {
            tracing::warn!(reason = %err, "quota refund failed");
        }
        self.release(claim).await;
    }

    /// Sends one reply message, uploading its image first if needed.
    async fn deliver(&self, openid: &str, message: &ReplyMessage) -> Result<(), Delivery> {
        let mut media_hash = None;
        let content = match message {
            ReplyMessage::Text { content } => OutboundContent::Text {
                text: outbound::Text {
                    content: content.clone(),
                },
            },
            ReplyMessage::Link {
                title,
                description,
                url,
                thumb_url,
            } => OutboundContent::Link {
                link: outbound::Link {
                    title: title.clone(),
                    description: description.clone(),
                    url: url.clone(),
                    thumb_url: thumb_url.clone(),
                },
            },
            ReplyMessage::Image { source } => {
                let (media_id, hash) = self.media_id(openid, source).await?;
                media_hash = Some(hash);
                OutboundContent::Image {
                    image: outbound::Image { media_id },
                }
            }
            ReplyMessage::MiniProgramPage {
                title,
                pagepath,
                thumb,
            } => {
                let (thumb_media_id, hash) = self.media_id(openid, thumb).await?;
                media_hash = Some(hash);
                OutboundContent::MiniProgramPage {
                    miniprogrampage: outbound::MiniProgramPage {
                        title: title.clone(),
                        pagepath: pagepath.clone(),
                        thumb_media_id,
                    },
                }
            }
        };
        let message = Outbound {
            touser: openid.to_owned(),
            content,
        };
        let api = &self.deps.api;
        let message = &message;
        let result = self
            .with_token(|token| Box::pin(async move { api.send(&token, message).await }))
            .await;
        if let (Err(Delivery::Api(err)), Some(hash)) = (&result, &media_hash)
            && err.class() == ErrorClass::StaleMedia
        {
            // Forget the media id so that the retry uploads the image again.
            self.deps
                .media
                .forget(&self.appid, hash)
                .await
                .map_err(Delivery::from)?;
        }
        result
    }

    /// The media_id of an image: cached by content hash, else uploaded (after showing the user
    /// "typing…", since an upload takes a moment).
    async fn media_id(
        &self,
        openid: &str,
        source: &MediaSource,
    ) -> Result<(String, String), Delivery> {
        let (file_name, bytes) = self
            .deps
            .reader
            .read(source)
            .await
            .map_err(Delivery::from)?;
        let hash = media::content_hash(&bytes);
        let now = self.deps.clock.now_millis();
        if let Some(media_id) = self
            .deps
            .media
            .get(&self.appid, &hash, now)
            .await
            .map_err(Delivery::from)?
        {
            return Ok((media_id, hash));
        }
        let api = &self.deps.api;
        let typing = self
            .with_token(|token| Box::pin(async move { api.typing(&token, openid).await }))
            .await;
        if let Err(err) = typing {
            // Cosmetic: the reply matters, the indicator does not.
            tracing::info!(reason = %err, "typing indicator not shown");
        }
        let (file_name, bytes) = (&file_name, &bytes);
        let media_id = self
            .with_token(|token| {
                Box::pin(async move { api.upload_image(&token, file_name, bytes.clone()).await })
            })
            .await?;
        self.deps
            .media
            .put(
                &self.appid,
                &hash,
                &media_id,
                now.saturating_add(millis(media::MEDIA_REUSE)),
            )
            .await
            .map_err(Delivery::from)?;
        Ok((media_id, hash))
    }

    /// Calls WeChat with the current token; if WeChat calls it stale, replaces it (once) and
    /// retries once. A second stale answer is returned as is: no loop.
    async fn with_token<'a, T>(
        &self,
        call: impl Fn(AccessToken) -> Call<'a, T> + Send + Sync,
    ) -> Result<T, Delivery> {
        let token = self.deps.tokens.get().await.map_err(Delivery::from)?;
        match call(token.clone()).await {
            Err(err) if err.class() == ErrorClass::StaleToken => {
                tracing::info!(reason = %err, "access_token stale; refreshing once");
                let fresh = self
                    .deps
                    .tokens
                    .replace_stale(&token)
                    .await
                    .map_err(Delivery::from)?;
                call(fresh).await.map_err(Delivery::Api)
            }
            other => other.map_err(Delivery::Api),
        }
    }
}

/// Why a delivery failed.
#[derive(Debug, thiserror::Error)]
enum Delivery {
    #[error(transparent)]
    Api(ApiError),
    #[error("{0}")]
    Other(String),
}

impl From<PortError> for Delivery {
    fn from(err: PortError) -> Self {
        Self::Other(err.to_string())
    }
}

impl From<TokenError> for Delivery {
    /// Not getting a token is never WeChat refusing the send: whatever the errcode (a wrong
    /// AppSecret, an IP whitelist), it is retried and, if it persists, ends in the DLQ and its
    /// alarm instead of silently dropping replies.
    fn from(err: TokenError) -> Self {
        Self::Other(err.to_string())
    }
}
