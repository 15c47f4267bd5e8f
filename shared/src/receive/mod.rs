//! The push path: verify → decrypt → parse → claim → transfer or enqueue → ack.
//!
//! This is `receive`'s whole behaviour, free of Lambda types: the Lambda function and
//! `kefu dev` both translate their HTTP request into a [`PushRequest`] and back from a
//! [`PushResponse`], so the two run the same code. WeChat waits 5 s for the answer and retries
//! three times; a fault before the ack means no `success`, so its retry delivers the push again.

mod error;
mod freshness;

use std::sync::Arc;
use std::time::Duration;

pub use error::ReceiveError;

use crate::clock::{EpochMillis, EpochSecs, millis, secs};
use crate::job::{HandoffChange, Job, Notice, ledger_key};
use crate::learn;
use crate::metrics;
use crate::ports::{Answer, Claim, ClaimOutcome, Clock, HandoffRegistry, JobQueue, PushLedger};
use crate::protocol::passive::{self, Seal};
use crate::protocol::{
    Credentials, Event, Format, Message, MessageKind, Mode, OpenedPush, PushError, PushQuery, push,
};
use crate::rule_cache::RuleCache;
use crate::rules::Route;

/// How often a duplicate looks again at an attempt in flight.
const IN_PROGRESS_POLL: Duration = Duration::from_millis(250);

/// How the deployment treats pushes. Defaults detect mode and format per request.
#[derive(Debug, Clone)]
pub struct ReceiveSettings {
    pub credentials: Credentials,
    /// Accept only this body format (数据格式), if set.
    pub format: Option<Format>,
    /// Refuse plaintext-mode pushes (a deployment with an EncodingAESKey does, unless told
    /// otherwise: a plaintext push is authenticated by nothing that covers its body).
    pub require_encryption: bool,
    /// How far a push's `timestamp` may be from the clock, either way. Zero turns the check
    /// off (only for replaying recorded events).
    pub freshness: Duration,
    /// Larger bodies are refused with 413; WeChat's are a few KB.
    pub max_body_bytes: usize,
    /// How long a claim protects an attempt in flight. Longer than the function's timeout, so a
    /// live attempt is never taken over; shorter than WeChat's 5 s retry interval, so the retry
    /// after a crash can take over.
    pub claim_lease: Duration,
    /// How long a duplicate waits for an attempt in flight to finish before it answers 503
    /// (no `success`, so WeChat retries). Well inside WeChat's 5 s.
    pub in_progress_wait: Duration,
    /// How long the ledger remembers a push (DynamoDB TTL).
    pub ledger_ttl: Duration,
    /// How long auto-replies stay off after a hand-off to a human agent.
    pub handoff_hold: Duration,
    /// Events are on (`KEFU_EVENT_BUS`): every push is claimed and reaches the reply side as a
    /// job, a transfer's and an unanswered one's too (`job::Notice`), so that its events are
    /// published there, after the ack.
    pub events: bool,
}

impl ReceiveSettings {
    pub fn new(credentials: Credentials) -> Self {
        Self {
            credentials,
            format: None,
            require_encryption: false,
            freshness: Duration::from_secs(5 * 60),
            max_body_bytes: 64 * 1024,
            claim_lease: Duration::from_secs(4),
            in_progress_wait: Duration::from_millis(1500),
            ledger_ttl: Duration::from_secs(3 * 24 * 3600),
            handoff_hold: Duration::from_secs(30 * 60),
            events: false,
        }
    }
}

/// The adapters the push path talks to.
#[derive(Debug, Clone)]
pub struct ReceiveDeps {
    pub ledger: Arc<dyn PushLedger>,
    pub handoffs: Arc<dyn HandoffRegistry>,
    pub queue: Arc<dyn JobQueue>,
    pub rules: Arc<RuleCache>,
    pub clock: Arc<dyn Clock>,
}

/// An HTTP request as far as the push path cares.
#[derive(Debug, Clone, Copy)]
pub struct PushRequest<'a> {
    pub method: &'a str,
    pub query: &'a PushQuery,
    pub body: &'a [u8],
}

/// The HTTP answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushResponse {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl PushResponse {
    fn text(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
        }
    }

    fn success() -> Self {
        Self::text(200, passive::SUCCESS)
    }

    /// 404: the URL names an app the deployment does not serve.
    pub fn not_served() -> Self {
        Self::text(404, "no such app here")
    }

    /// 503: the app could not be looked up now; WeChat retries.
    pub fn unavailable() -> Self {
        Self::text(503, "temporarily unavailable")
    }
}

/// What happened to an accepted push, for the log line and for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Verified,
    Enqueued,
    Transferred,
    Duplicate,
    Ignored,
}

#[derive(Debug)]
pub struct Receiver {
    settings: ReceiveSettings,
    deps: ReceiveDeps,
}

impl Receiver {
    pub fn new(settings: ReceiveSettings, deps: ReceiveDeps) -> Self {
        Self { settings, deps }
    }

    pub fn settings(&self) -> &ReceiveSettings {
        &self.settings
    }

    /// Handles one request; every refusal and failure is logged once, here.
    pub async fn handle(&self, request: PushRequest<'_>) -> PushResponse {
        match self.try_handle(request).await {
            Ok((response, outcome)) => {
                tracing::info!(outcome = ?outcome, status = response.status, "push handled");
                response
            }
            Err(err) => {
                let status = err.status();
                if status >= 500 {
                    tracing::error!(status, reason = %err, method = request.method, "push failed");
                } else {
                    tracing::warn!(status, reason = %err, method = request.method, "push rejected");
                }
                PushResponse::text(status, err.public_reason())
            }
        }
    }

    async fn try_handle(
        &self,
        request: PushRequest<'_>,
    ) -> Result<(PushResponse, Outcome), ReceiveError> {
        match request.method {
            "GET" => {
                let echostr = push::verify_url(&self.settings.credentials.token, request.query)?;
                let now = self.deps.clock.now_millis();
                freshness::check(request.query, now, self.settings.freshness)?;
                // The pair now signs nothing else: a captured verification URL cannot sign a
                // forged plaintext push.
                let holder = format!(
                    "{}#{}",
                    freshness::URL_VERIFICATION,
                    self.settings.credentials.appid
                );
                self.use_nonce(request.query, &holder, now).await?;
                Ok((PushResponse::text(200, echostr), Outcome::Verified))
            }
            "POST" => self.handle_push(request.query, request.body).await,
            _ => Err(ReceiveError::MethodNotAllowed),
        }
    }

    async fn handle_push(
        &self,
        query: &PushQuery,
        body: &[u8],
    ) -> Result<(PushResponse, Outcome), ReceiveError> {
        if body.len() > self.settings.max_body_bytes {
            return Err(ReceiveError::TooLarge {
                limit: self.settings.max_body_bytes,
            });
        }
        let body = std::str::from_utf8(body).map_err(|_| ReceiveError::BodyNotUtf8)?;
        let format = Format::sniff(body).ok_or(PushError::UnknownFormat)?;
        if let Some(pinned) = self.settings.format
            && pinned != format
        {
            return Err(ReceiveError::FormatMismatch {
                found: format_name(format),
            });
        }
        let opened = push::open_as(&self.settings.credentials, query, body, format)?;
        if self.settings.require_encryption && opened.mode == Mode::Plaintext {
            return Err(ReceiveError::PlaintextRefused);
        }
        let now = self.deps.clock.now_millis();
        freshness::check(query, now, self.settings.freshness)?;
        if freshness::from_the_future(opened.message.create_time, now, self.settings.freshness) {
            return Err(ReceiveError::FromTheFuture);
        }

        // The (timestamp, nonce) pair is used up before anything else happens: a captured URL
        // signs no second message, whatever the first one was (answered, ignored or an agent's
        // session event). Every mode: an encrypted push's pair, unused, would sign a forged
        // plaintext one wherever plaintext is accepted (this app, or another sharing its Token).
        let appid = &self.settings.credentials.appid;
        let key = ledger_key(appid, &opened.message);
        self.use_nonce(query, &key, now).await?;

        let rules = self.deps.rules.get().await?;
        let route = rules.route(&opened.message, now);
        // WeChat's session events move the hold whatever the rules say about them, so they are
        // claimed even when no rule answers them: applied once, by their first delivery.
        let session = is_session_event(&opened.message);
        if route == Route::Ignore && !session {
            if !matches!(opened.message.kind, MessageKind::Event(_)) {
                // A user message nothing answers and nothing is sent for (no default, or
                // outside its schedule): no job, so it is counted here.
                let silent = learn::Outcome::Silent;
                metrics::outcome(appid, silent.name(), silent.id());
            }
            // With events on, the push is claimed and goes to the reply side all the same, for
            // its `message.received` (once, whatever WeChat retries).
            if !self.settings.events {
                return Ok((PushResponse::success(), Outcome::Ignored));
            }
        }

        let claim = Claim {
            key,
            attempt: random_id()?,
            now: EpochMillis(now),
            lease_until: EpochMillis(now) + self.settings.claim_lease,
            expires_at: EpochMillis(now).secs() + self.settings.ledger_ttl,
        };
        match self.claim(&claim).await? {
            ClaimOutcome::Claimed => {}
            // WeChat's retry of a push already answered: the same answer, no second job and no
            // second hand-off.
            ClaimOutcome::Handled(Answer::Success) => {
                return Ok((PushResponse::success(), Outcome::Duplicate));
            }
            ClaimOutcome::Handled(Answer::Transfer) => {
                return Ok((
                    self.transfer_reply(query, &opened, now)?,
                    Outcome::Duplicate,
                ));
            }
            // The first attempt has not finished: no `success`, or its failure would lose
            // the push. WeChat retries; by then the attempt has finished or its lease ran out.
            // (`Abandoned` is a send's state; a push claim never reaches it.)
            ClaimOutcome::InProgress | ClaimOutcome::Abandoned => {
                return Err(ReceiveError::InProgress);
            }
        }

        let result = self.act(query, opened, route, session, now).await;
        match &result {
            Ok((_, outcome)) => {
                if let (Outcome::Transferred, Route::Transfer { rule }) = (outcome, route) {
                    let transferred = learn::Outcome::Transferred(rule.to_owned());
                    metrics::outcome(appid, transferred.name(), transferred.id());
                }
                let answer = match outcome {
                    Outcome::Transferred => Answer::Transfer,
                    _ => Answer::Success,
                };
                // Recorded as soon as the push is accepted, so a retry at any spacing gets
                // this answer. If the write fails, the claim stays pending until its lease
                // runs out; a retry after that enqueues a second job for the same push key,
                // whose sends the sender's own claims turn away.
                if let Err(err) = self
                    .deps
                    .ledger
                    .accept(&claim.key, &claim.attempt, answer)
                    .await
                {
                    tracing::warn!(reason = %err, "recording the push's answer failed");
                }
            }
            Err(_) => {
                // Give the push back so WeChat's retry can claim it; if even this fails, the
                // lease runs out and the retry takes it over.
                if let Err(err) = self.deps.ledger.release(&claim.key, &claim.attempt).await {
                    tracing::error!(reason = %err, "releasing the claim failed; it expires with its lease");
                }
            }
        }
        result
    }

    /// Records that the push's (timestamp, nonce) pair signs `message`; refuses a pair that
    /// already signed something else.
    async fn use_nonce(
        &self,
        query: &PushQuery,
        message: &str,
        now: i64,
    ) -> Result<(), ReceiveError> {
        if self.settings.freshness.is_zero() {
            return Ok(());
        }
        let key = freshness::nonce_key(query);
        // Kept as long as the pair could pass the freshness check, plus a margin.
        let kept = secs(self.settings.freshness) * 2 + 60;
        let expires_at = EpochSecs(EpochMillis(now).secs().0.saturating_add(kept));
        if self
            .deps
            .ledger
            .hold_once(&key, message, EpochMillis(now), expires_at)
            .await?
        {
            Ok(())
        } else {
            Err(ReceiveError::Replayed)
        }
    }

    /// Claims the push; while another attempt holds it, waits a little (polling) for that
    /// attempt's answer or for its lease to run out, within WeChat's 5 s.
    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, ReceiveError> {
        let started = tokio::time::Instant::now();
        let mut claim = claim.clone();
        loop {
            let outcome = self.deps.ledger.claim(&claim).await?;
            if outcome != ClaimOutcome::InProgress
                || started.elapsed() >= self.settings.in_progress_wait
            {
                return Ok(outcome);
            }
            tokio::time::sleep(IN_PROGRESS_POLL).await;
            claim.now = self.deps.clock.now();
        }
    }

    /// What a claimed push does: moves the hold (a session event), then hands the user to an
    /// agent, enqueues the job, or nothing.
    async fn act(
        &self,
        query: &PushQuery,
        opened: OpenedPush,
        route: Route<'_>,
        session: bool,
        now: i64,
    ) -> Result<(PushResponse, Outcome), ReceiveError> {
        let handoff = if session {
            self.follow_session(&opened.message, now).await?
        } else {
            None
        };
        // With events on, what receive answered itself goes to the reply side too, as a job
        // that sends nothing (`Notice::answered`).
        let events = self.settings.events;
        match route {
            Route::Ignore if events => {
                let notice = Notice {
                    answered: true,
                    handoff,
                };
                self.enqueue(opened, now, Some(notice)).await?;
                Ok((PushResponse::success(), Outcome::Ignored))
            }
            Route::Ignore => Ok((PushResponse::success(), Outcome::Ignored)),
            Route::Transfer { rule } => {
                let answer = self.transfer(query, &opened, now).await?;
                if events {
                    let notice = Notice {
                        answered: true,
                        handoff: Some(HandoffChange::Started {
                            by: rule.to_owned(),
                            kf_account: None,
                            until_ms: now.saturating_add(millis(self.settings.handoff_hold)),
                        }),
                    };
                    self.enqueue(opened, now, Some(notice)).await?;
                }
                Ok(answer)
            }
            _ => {
                let notice = handoff.filter(|_| events).map(|handoff| Notice {
                    answered: false,
                    handoff: Some(handoff),
                });
                self.enqueue(opened, now, notice).await
            }
        }
    }

    async fn enqueue(
        &self,
        opened: OpenedPush,
        now: i64,
        notice: Option<Notice>,
    ) -> Result<(PushResponse, Outcome), ReceiveError> {
        let job =
            Job::new(&self.settings.credentials.appid, opened.message, now).with_notice(notice);
        if !job.fits_the_queue() {
            return Err(ReceiveError::JobTooLarge);
        }
        self.deps.queue.enqueue(&job).await?;
        Ok((PushResponse::success(), Outcome::Enqueued))
    }

    /// Starts, extends or ends the hold on the user as an agent session event says:
    /// `kf_create_session` and `kf_switch_session` hold the user for the hand-off time from
    /// now, `kf_close_session` ends the hold at once (automatic replies resume). Each decision
    /// carries the event's CreateTime: one older than the stored decision is not applied.
    /// Returns the change made, if one was.
    async fn follow_session(
        &self,
        message: &Message,
        now: i64,
    ) -> Result<Option<HandoffChange>, ReceiveError> {
        let MessageKind::Event(event) = &message.kind else {
            return Ok(None);
        };
        let appid = &self.settings.credentials.appid;
        let openid = message.openid();
        let at = message.create_time.saturating_mul(1000);
        let (applied, change) = match event {
            Event::KfCreateSession { kf_account }
            | Event::KfSwitchSession {
                to_kf_account: kf_account,
                ..
            } => {
                let until = now.saturating_add(millis(self.settings.handoff_hold));
                let change = HandoffChange::Started {
                    by: event.name().to_owned(),
                    kf_account: Some(kf_account.clone()),
                    until_ms: until,
                };
                (
                    self.deps.handoffs.record(appid, openid, at, until).await?,
                    change,
                )
            }
            Event::KfCloseSession { kf_account, .. } => (
                self.deps.handoffs.end(appid, openid, at).await?,
                HandoffChange::Ended {
                    kf_account: kf_account.clone(),
                },
            ),
            _ => return Ok(None),
        };
        if applied {
            tracing::info!(
                event = event.name(),
                "hand-off hold moved by an agent's session event"
            );
        } else {
            tracing::info!(
                event = event.name(),
                "session event older than the hold's last change: not applied"
            );
        }
        Ok(applied.then_some(change))
    }

    async fn transfer(
        &self,
        query: &PushQuery,
        opened: &OpenedPush,
        now: i64,
    ) -> Result<(PushResponse, Outcome), ReceiveError> {
        let credentials = &self.settings.credentials;
        self.deps
            .handoffs
            .record(
                &credentials.appid,
                opened.message.openid(),
                opened.message.create_time.saturating_mul(1000),
                now.saturating_add(millis(self.settings.handoff_hold)),
            )
            .await?;
        Ok((
            self.transfer_reply(query, opened, now)?,
            Outcome::Transferred,
        ))
    }

    /// The passive `transfer_customer_service` answer to `opened`, in its format, sealed in
    /// safe mode.
    fn transfer_reply(
        &self,
        query: &PushQuery,
        opened: &OpenedPush,
        now: i64,
    ) -> Result<PushResponse, ReceiveError> {
        let credentials = &self.settings.credentials;
        let plain = passive::transfer_customer_service(&opened.message, opened.format, now / 1000);
        let body = match (opened.mode, &credentials.aes_key) {
            (Mode::Safe, Some(key)) => {
                let mut random = [0u8; 16];
                getrandom::fill(&mut random)
                    .map_err(|e| ReceiveError::Randomness(e.to_string()))?;
                let seal = Seal {
                    token: &credentials.token,
                    key,
                    appid: &credentials.appid,
                    timestamp: now / 1000,
                    nonce: query.nonce.as_deref().unwrap_or_default(),
                    random: &random,
                };
                passive::seal(&plain, opened.format, &seal).map_err(ReceiveError::Seal)?
            }
            _ => plain,
        };
        let content_type = match opened.format {
            Format::Xml => "application/xml; charset=utf-8",
            Format::Json => "application/json; charset=utf-8",
        };
        Ok(PushResponse {
            status: 200,
            content_type,
            body,
        })
    }
}

/// Whether `message` is one of WeChat's agent session events, which move the hold.
fn is_session_event(message: &Message) -> bool {
    matches!(
        &message.kind,
        MessageKind::Event(
            Event::KfCreateSession { .. }
                | Event::KfSwitchSession { .. }
                | Event::KfCloseSession { .. }
        )
    )
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Xml => "xml",
        Format::Json => "json",
    }
}

/// A random attempt id (16 hex digits) for claim ownership.
fn random_id() -> Result<String, ReceiveError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| ReceiveError::Randomness(e.to_string()))?;
    Ok(hex::encode(bytes))
}
