//! The small async interfaces between the core and the outside world. They speak domain types
//! only (`wechat_types` for the WeChat API): SDK types (`AttributeValue`, `SdkError`) never
//! cross them. `aws/` implements the stores, queue and rules on DynamoDB, SQS and SSM, and
//! `local/` the same in memory with the same semantics, one file per port at the same path in
//! both; `wechat_api/` implements `WeChatApi` with reqwest and `assets.rs` `MediaReader`.

use std::fmt;

use async_trait::async_trait;

use crate::clock::{EpochMillis, EpochSecs};
use crate::events::Event;
use crate::job::Job;
use crate::protocol::OpenId;
use crate::rules::{HookTarget, MediaSource, RuleSet};
use crate::wechat_types::{AccessToken, ApiError, FetchedToken, Outbound, TokenKind};

/// A failed call to a store, queue or parameter source. The message names the operation and the
/// cause; it never carries a secret or a message body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation}: {message}")]
pub struct PortError {
    pub operation: &'static str,
    pub message: String,
}

impl PortError {
    pub fn new(operation: &'static str, message: impl fmt::Display) -> Self {
        Self {
            operation,
            message: message.to_string(),
        }
    }
}

/// A request to claim one push in the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// `push#{appid}#{dedup key}`.
    pub key: String,
    /// Who claims: a random id per attempt, so only the owner can release.
    pub attempt: String,
    /// Now.
    pub now: EpochMillis,
    /// The claim may be taken over after this: the attempt crashed.
    pub lease_until: EpochMillis,
    /// When the store may forget the entry (a DynamoDB TTL).
    pub expires_at: EpochSecs,
}

/// What `receive` answered a push with, kept on its claim so that WeChat's retry of the same
/// push, at any spacing within the ledger's TTL, gets the same answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// `success`: the job is on the queue (or nothing was to be done).
    Success,
    /// The passive `transfer_customer_service` reply: the user was handed to an agent.
    Transfer,
}

/// The outcome of a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// Ours: process the push. Also what an attempt gets for its own earlier write (the SDK
    /// repeats a write whose answer was lost).
    Claimed,
    /// Another attempt holds a live claim and has not finished: its outcome is not known yet.
    InProgress,
    /// Handled already (accepted, or done), with the answer given then.
    Handled(Answer),
    /// A send that was marked as going out (`begin_send`) by an attempt whose lease ran out
    /// before it settled: it may have reached the user. Settle it as maybe sent; never send it
    /// again.
    Abandoned,
}

/// The dedup ledger: one entry per push (and per send), claimed before any side effect.
/// States: `pending` (a lease, while one attempt works) → `accepted` (the outcome is known:
/// the job is on the queue or the transfer answered) → `done` (the sender finished).
#[async_trait]
pub trait PushLedger: Send + Sync + fmt::Debug {
    /// Claims the entry if nobody has, if the previous claim is `pending` and its lease has
    /// run out (that attempt crashed before it could finish or release), or if the pending
    /// claim is this very attempt's.
    async fn claim(&self, claim: &Claim) -> Result<ClaimOutcome, PortError>;
    /// Records our pending claim's outcome (`pending` → `accepted`), so that every later
    /// duplicate gets `answer` instead of a second job. Does nothing if the claim is no longer
    /// ours.
    async fn accept(&self, key: &str, attempt: &str, answer: Answer) -> Result<(), PortError>;
    /// Gives up our pending claim (after a failure) so that WeChat's retry can take it.
    async fn release(&self, key: &str, attempt: &str) -> Result<(), PortError>;
    /// Marks our pending send claim as going out (`pending` → `sending`), just before the call
    /// that may deliver it: from then on no other attempt sends it, even after the lease runs
    /// out (the claim then reads `Abandoned`). Returns false, and marks nothing, if the claim
    /// is no longer ours. Our own `release` still undoes it (the call is known not to have
    /// reached the user).
    async fn begin_send(&self, key: &str, attempt: &str) -> Result<bool, PortError>;
    /// Marks the entry handled for good (the sender, once it has sent), keeping its answer.
    async fn mark_done(&self, key: &str, expires_at: EpochSecs) -> Result<(), PortError>;
    /// Records that `key` belongs to `holder` until `expires_at`, unless it still belongs to
    /// another: returns false then. The same holder again is fine (a retry or a redelivery).
    /// Serves two rules: a (timestamp, nonce) pair, `nonce#{appid}#{timestamp}#{nonce}`, signs
    /// one message (the holder: the push's ledger key); a user is welcomed once per interval,
    /// `welcome#{appid}#{openid}` (the holder: the enter-session push's key).
    async fn hold_once(
        &self,
        key: &str,
        holder: &str,
        now: EpochMillis,
        expires_at: EpochSecs,
    ) -> Result<bool, PortError>;
}

/// Who is being served by a human agent: after a transfer, auto-replies stop for a while.
///
/// Each write carries the time of the push that decided it (`at_ms`, the message's
/// CreateTime): a write older than the one stored is not applied, so a WeChat retry of
/// `kf_create_session` arriving after `kf_close_session` cannot hold the user again.
#[async_trait]
pub trait HandoffRegistry: Send + Sync + fmt::Debug {
    /// Records that `openid` was handed to an agent until `until_ms`, as decided at `at_ms`.
    /// Returns false (and changes nothing) if a later decision is already stored.
    async fn record(
        &self,
        appid: &str,
        openid: &OpenId,
        at_ms: i64,
        until_ms: i64,
    ) -> Result<bool, PortError>;
    /// Until when (ms since the epoch) an agent holds `openid`, if at all.
    async fn held_until(&self, appid: &str, openid: &OpenId) -> Result<Option<i64>, PortError>;
    /// Ends the hold on `openid` at `at_ms` (the agent closed the session), unless a later
    /// decision is stored; returns whether it applied.
    async fn end(&self, appid: &str, openid: &OpenId, at_ms: i64) -> Result<bool, PortError>;
}

/// The knowledge base's suggestions offered to a user (「您是不是想问：1. … 2. …」), kept a few
/// minutes so that their numbered reply gets the entry it picks.
#[async_trait]
pub trait SuggestionStore: Send + Sync + fmt::Debug {
    /// Records that `openid` was offered `entries` (FAQ entry ids, in the order numbered),
    /// until `until_ms`; replaces an earlier offer.
    async fn offer(
        &self,
        appid: &str,
        openid: &OpenId,
        entries: &[String],
        until_ms: i64,
    ) -> Result<(), PortError>;
    /// The entries last offered to `openid`, if the offer still stands at `now_ms`.
    async fn offered(
        &self,
        appid: &str,
        openid: &OpenId,
        now_ms: i64,
    ) -> Result<Option<Vec<String>>, PortError>;
}

/// A user's question kept for the operator's report: one the rules and the knowledge base
/// could not answer, or answered only with suggestions. Nothing else about the user is kept:
/// `asker` is a keyed hash of the openid (`learn::asker`), never the openid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AskedQuestion {
    pub appid: String,
    /// When the push arrived, ms since the epoch.
    pub at_ms: i64,
    /// `learn::asker` of the openid.
    pub asker: String,
    /// `unanswered`, `silent` or `suggested` (`learn::Outcome::name`).
    pub outcome: String,
    /// What the user wrote (`learn::kept_text`).
    pub text: String,
}

/// Where unanswered and suggested questions are kept, each until `expires_at` (a TTL on every
/// item). One small write per kept question; answered ones write
/// nothing. Keeping the same question again (a redelivered job: same app, time and asker)
/// replaces it.
#[async_trait]
pub trait QuestionLog: Send + Sync + fmt::Debug {
    async fn keep(&self, question: &AskedQuestion, expires_at: EpochSecs) -> Result<(), PortError>;
    /// The questions kept from `from_ms` to `to_ms` (of `appid`, or of every app), oldest
    /// first, as read at `now_ms` (expired ones left out).
    async fn asked(
        &self,
        appid: Option<&str>,
        from_ms: i64,
        to_ms: i64,
        now_ms: i64,
    ) -> Result<Vec<AskedQuestion>, PortError>;
}

/// Every store the send core keeps its state in, as one table provides them (DynamoDB's, or
/// its in-memory twin): what `compose::sender` builds a sender on.
pub trait SendTable:
    PushLedger + HandoffRegistry + QuotaStore + MediaCache + TokenStore + SuggestionStore + QuestionLog
{
}

impl<T> SendTable for T where
    T: PushLedger
        + HandoffRegistry
        + QuotaStore
        + MediaCache
        + TokenStore
        + SuggestionStore
        + QuestionLog
{
}

/// The queue of reply jobs.
#[async_trait]
pub trait JobQueue: Send + Sync + fmt::Debug {
    async fn enqueue(&self, job: &Job) -> Result<(), PortError>;
}

/// Where kefu's events go (`events.rs`): an EventBridge bus, memory (`kefu dev`, tests), or
/// nowhere (events off).
#[async_trait]
pub trait EventPublisher: Send + Sync + fmt::Debug {
    /// Publishes `events` (any number: the adapter batches them as its service takes them),
    /// retrying the entries the service did not accept a bounded number of times. An error says
    /// how many were not published; those already accepted stay published.
    async fn publish(&self, events: &[Event]) -> Result<(), PortError>;
    /// Whether events go anywhere: false for the publisher that is off, so that nothing is
    /// built (nor claimed) for it.
    fn is_on(&self) -> bool {
        true
    }
}

/// Where the rules come from.
#[async_trait]
pub trait RuleSource: Send + Sync + fmt::Debug {
    async fn load(&self) -> Result<RuleSet, PortError>;
}

/// The access_token cached for all instances, one item per appid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredToken {
    pub token: AccessToken,
    pub expires_at: EpochMillis,
}

/// Where instances share the access_token, and the lease that lets exactly one of them refresh it.
#[async_trait]
pub trait TokenStore: Send + Sync + fmt::Debug {
    async fn read(&self, appid: &str) -> Result<Option<StoredToken>, PortError>;
    /// Takes the refresh lease until `until`, but only while the stored token needs a
    /// refresh (none, or it expires at or before `stale_at`) and no other owner holds a live
    /// lease: an instance that read before another's refresh landed must not refresh again.
    async fn try_lease(
        &self,
        appid: &str,
        owner: &str,
        now: EpochMillis,
        until: EpochMillis,
        stale_at: EpochMillis,
    ) -> Result<bool, PortError>;
    /// Stores a fresh token and clears the refresh lease.
    async fn store(&self, appid: &str, token: &StoredToken) -> Result<(), PortError>;
    /// Marks the stored token expired, but only if it is still `failed` (another instance may
    /// already have replaced it). Returns whether it did.
    async fn expire_if_current(&self, appid: &str, failed: &AccessToken)
    -> Result<bool, PortError>;
}

/// The two send windows WeChat opens for a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuotaWindow {
    /// After each user message: 5 sends within 48 h; the next message resets it.
    Message,
    /// After user_enter_tempsession: 2 sends within a minute.
    Enter,
}

/// Per-user send quota, shared by all instances.
#[async_trait]
pub trait QuotaStore: Send + Sync + fmt::Debug {
    /// Opens a fresh window at `at` (ms) for the push `opener` (its ledger key), as
    /// `send::quota::QuotaState::open` defines: a later push resets the count, another push of
    /// the same second too; the same push again (a redelivered job) never does.
    async fn open(
        &self,
        appid: &str,
        openid: &OpenId,
        window: QuotaWindow,
        at: i64,
        opener: &str,
        now: i64,
    ) -> Result<(), PortError>;
    /// Reserves one send at `now` if a window has room; says which. `reservation` names this
    /// reservation: repeating the call with the same name (the SDK repeats a write whose
    /// answer was lost) takes no second send.
    async fn reserve(
        &self,
        appid: &str,
        openid: &OpenId,
        now: i64,
        reservation: &str,
    ) -> Result<Option<QuotaWindow>, PortError>;
    /// Gives back a reservation whose send failed before reaching the user, in every window
    /// that counted it; repeating it gives back nothing more.
    async fn refund(
        &self,
        appid: &str,
        openid: &OpenId,
        reservation: &str,
    ) -> Result<(), PortError>;
    /// The user's windows as stored (one read): what `send::quota::standing` tells the window
    /// and the allowance left from (an outbox send refused says why; `kefu user` shows it).
    async fn windows(&self, appid: &str, openid: &OpenId) -> Result<QuotaWindows, PortError>;
}

/// A user's send windows as stored: when each opened (ms since the epoch, if ever) and how many
/// sends it has counted since.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuotaWindows {
    pub message_at: Option<i64>,
    pub message_sends: usize,
    pub enter_at: Option<i64>,
    pub enter_sends: usize,
}

/// media_ids of uploaded images, by content hash, valid for less than WeChat's 3 days.
#[async_trait]
pub trait MediaCache: Send + Sync + fmt::Debug {
    async fn get(
        &self,
        appid: &str,
        hash: &str,
        now: EpochMillis,
    ) -> Result<Option<String>, PortError>;
    async fn put(
        &self,
        appid: &str,
        hash: &str,
        media_id: &str,
        expires_at: EpochMillis,
    ) -> Result<(), PortError>;
    async fn forget(&self, appid: &str, hash: &str) -> Result<(), PortError>;
}

/// Why an image a rule names could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// Not there or not usable (not shipped, not a path inside the assets, refused by its
    /// server, empty or too large): no retry can help.
    #[error("image: {0}")]
    Unusable(String),
    /// Not readable now (a download or file system failure): a retry may help.
    #[error(transparent)]
    Unavailable(#[from] PortError),
}

/// Reads the bytes of an image a rule names (a file shipped with the deployment, or a URL).
#[async_trait]
pub trait MediaReader: Send + Sync + fmt::Debug {
    /// The file name to upload under, and the bytes.
    async fn read(&self, source: &MediaSource) -> Result<(String, Vec<u8>), MediaError>;
}

/// The WeChat server API (api.weixin.qq.com, or the sandbox).
#[async_trait]
pub trait WeChatApi: Send + Sync + fmt::Debug {
    async fn fetch_token(
        &self,
        kind: TokenKind,
        force_refresh: bool,
    ) -> Result<FetchedToken, ApiError>;
    async fn send(&self, token: &AccessToken, message: &Outbound) -> Result<(), ApiError>;
    /// Shows "typing…" to the user (before a reply that needs an upload).
    async fn typing(&self, token: &AccessToken, openid: &OpenId) -> Result<(), ApiError>;
    /// Uploads a temporary image (valid 3 days) and returns its media_id.
    async fn upload_image(
        &self,
        token: &AccessToken,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<String, ApiError>;
}

/// Why a hook gave no answer kefu could read. The message never carries the answer's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HookFailure {
    /// The endpoint answered a status other than 2xx (a redirect included: never followed).
    #[error("answered HTTP {0}")]
    Status(u16),
    /// No answer within the wait.
    #[error("no answer within {0} ms")]
    Timeout(u64),
    /// The answer weighed more than kefu reads (it stopped reading there).
    #[error("answer over {0} bytes")]
    TooLarge(usize),
    /// The call failed (connection, TLS, the function's own error, no such hook configured).
    #[error("{0}")]
    Call(String),
}

/// Calls a rule's hook: an HTTPS endpoint (signed) or a Lambda function (synchronous invoke).
#[async_trait]
pub trait HookCaller: Send + Sync + fmt::Debug {
    /// Sends `body` (the request JSON, whose id is `id`) to `target` and returns the answer's
    /// bytes (at most `policy::hook::MAX_ANSWER_BYTES`), waiting at most `wait`.
    async fn call(
        &self,
        target: HookTarget<'_>,
        id: &str,
        body: &[u8],
        wait: std::time::Duration,
    ) -> Result<Vec<u8>, HookFailure>;
}

/// What was decided for a job's hook (`policy::hook::Kept`, as JSON), kept beside its send
/// claims until `expires_at` so that a redelivery does not call the hook again.
#[async_trait]
pub trait HookAnswers: Send + Sync + fmt::Debug {
    /// The decision kept under `key`, if one is (and has not expired at `now`).
    async fn kept(&self, key: &str, now: EpochMillis) -> Result<Option<String>, PortError>;
    /// Keeps `decision` under `key` unless one is kept already; returns the one kept (the
    /// first write wins, so two deliveries running at once send the same answer).
    async fn keep(
        &self,
        key: &str,
        decision: &str,
        now: EpochMillis,
        expires_at: EpochSecs,
    ) -> Result<String, PortError>;
}

/// The wall clock, injected so that leases, TTLs and quotas can be tested (`clock.rs` has the
/// system's and a manual one).
pub trait Clock: Send + Sync + fmt::Debug {
    /// Milliseconds since the Unix epoch.
    fn now_millis(&self) -> i64;

    /// Now, as an instant that carries its unit.
    fn now(&self) -> EpochMillis {
        EpochMillis(self.now_millis())
    }
}
