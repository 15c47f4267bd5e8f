//! The send core against the WeChat sandbox: one rig for every test and bench of the reply
//! path, on the in-memory table or on DynamoDB (moto). The sandbox serves on a loopback port
//! with the sample AppID and AppSecret; the clock is manual, starting at [`NOW`].

use std::sync::Arc;
use std::time::Duration;

use kefu::apps::Apps;
use kefu::assets::AssetReader;
use kefu::clock::{ManualClock, SystemClock};
use kefu::compose::{SenderParts, sender_on_table};
use kefu::hooks::HookClient;
use kefu::job::Job;
use kefu::memory::StaticRules;
use kefu::policy::hook::UserForm;
use kefu::ports::{Clock, HookAnswers};
use kefu::protocol::Message;
use kefu::rule_cache::RuleCache;
use kefu::rules::RuleSet;
use kefu::sample;
use kefu::secret::SecretString;
use kefu::send::budget::CALL_TIMEOUT;
use kefu::send::token::TokenProvider;
use kefu::send::{Hooks, Sender};
use kefu::wechat_api::WeChatClient;
use kefu::wechat_types::{AccessToken, TokenKind};
use kefu_sandbox::Sandbox;
use serde_json::json;

/// The rig's clock starts here (ms since the epoch; 2024-04-26).
pub const NOW: i64 = 1_714_112_445_000;

/// The images the reply function ships.
pub const ASSETS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../functions/reply/assets");

/// Every store port, as one table provides them.
pub use kefu::ports::SendTable as Table;

/// A sandbox, a clock and a sender on `table`.
#[derive(Debug)]
pub struct SendRig<T> {
    pub clock: Arc<ManualClock>,
    pub sandbox: Sandbox,
    /// The sandbox's base URL.
    pub base: String,
    pub table: Arc<T>,
    /// The sender built by [`SendRig::start`] (sample AppSecret, instance `instance-1`).
    pub sender: Arc<Sender>,
    _server: tokio::task::JoinHandle<()>,
}

impl<T: Table + 'static> SendRig<T> {
    /// Starts the sandbox and builds a sender on `table` with `rules` (a rules document).
    pub async fn start(table: Arc<T>, rules: &serde_json::Value) -> Self {
        Self::start_with_timeout(table, rules, CALL_TIMEOUT).await
    }

    /// The same, with the WeChat client giving up on a call after `call_timeout`.
    pub async fn start_with_timeout(
        table: Arc<T>,
        rules: &serde_json::Value,
        call_timeout: Duration,
    ) -> Self {
        let clock = Arc::new(ManualClock::at(NOW));
        let sandbox = Sandbox::new(sample::APPID, sample::APP_SECRET, clock.clone());
        let (addr, server) = sandbox
            .clone()
            .serve("127.0.0.1:0".parse().expect("loopback address"))
            .await
            .expect("the sandbox serves on loopback");
        let base = format!("http://{addr}");
        let sender = Arc::new(sender(
            &base,
            table.clone(),
            clock.clone(),
            rules,
            sample::APP_SECRET,
            call_timeout,
        ));
        Self {
            clock,
            sandbox,
            base,
            table,
            sender,
            _server: server,
        }
    }

    /// Another sender calling this rig's sandbox, on `table`, with `app_secret`.
    pub fn sender_on<U: Table + 'static>(
        &self,
        table: Arc<U>,
        rules: &serde_json::Value,
        app_secret: &str,
    ) -> Arc<Sender> {
        Arc::new(sender(
            &self.base,
            table,
            self.clock.clone(),
            rules,
            app_secret,
            CALL_TIMEOUT,
        ))
    }

    /// A sender calling the WeChat API at `base` instead of this rig's sandbox.
    pub fn sender_on_base<U: Table + 'static>(
        &self,
        base: &str,
        table: Arc<U>,
        rules: &serde_json::Value,
    ) -> Arc<Sender> {
        Arc::new(sender(
            base,
            table,
            self.clock.clone(),
            rules,
            sample::APP_SECRET,
            CALL_TIMEOUT,
        ))
    }

    /// The rig's sender as the deployment's only app (what `reply::handle` runs a batch with).
    pub fn apps(&self) -> Arc<Apps<Sender>> {
        Arc::new(Apps::single(
            sample::APPID,
            self.sender.clone(),
            self.clock.clone(),
        ))
    }

    /// An invocation's deadline starting now: the reply function's timeout from the rig's clock.
    pub fn deadline(&self) -> i64 {
        self.clock
            .now_millis()
            .saturating_add(kefu::clock::millis(kefu::send::budget::FUNCTION_TIMEOUT))
    }

    /// `n` instances ask for the access_token at once, each with its own client and lease
    /// owner; returns the tokens they got.
    pub async fn concurrent_token_gets(&self, n: usize) -> Vec<AccessToken> {
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..n {
            let provider = TokenProvider::new(
                sample::APPID,
                TokenKind::Stable,
                self.table.clone(),
                client(&self.base, sample::APP_SECRET, CALL_TIMEOUT),
                self.clock.clone(),
                format!("instance-{i}"),
            );
            tasks.spawn(async move { provider.get().await.expect("an access_token") });
        }
        let mut tokens = Vec::new();
        while let Some(token) = tasks.join_next().await {
            tokens.push(token.expect("the task finished"));
        }
        tokens
    }
}

impl<T: Table + HookAnswers + 'static> SendRig<T> {
    /// A sender on the rig's table and sandbox that calls the rules' hooks with the real
    /// client, signing each request with `secret` (its timestamp from the wall clock, which the
    /// hook compares with its own) and keeping the hooks' answers in the table; `label` marks a
    /// hook's answers it says were generated.
    pub fn hook_sender(&self, rules: &serde_json::Value, secret: &str, label: &str) -> Sender {
        let wall: Arc<dyn Clock> = Arc::new(SystemClock);
        sender(
            &self.base,
            self.table.clone(),
            self.clock.clone(),
            rules,
            sample::APP_SECRET,
            CALL_TIMEOUT,
        )
        .with_hooks(Hooks {
            caller: Arc::new(
                HookClient::new(Some(SecretString::new(secret)), wall).expect("a hook client"),
            ),
            answers: self.table.clone(),
            users: UserForm::Openid,
            generated_label: label.to_owned(),
        })
    }
}

/// A WeChat API client for the sandbox at `base`.
pub fn client(base: &str, app_secret: &str, call_timeout: Duration) -> Arc<WeChatClient> {
    Arc::new(
        WeChatClient::new(base, sample::APPID, app_secret.into(), call_timeout)
            .expect("a WeChat client"),
    )
}

fn sender<U: Table + 'static>(
    base: &str,
    table: Arc<U>,
    clock: Arc<ManualClock>,
    rules: &serde_json::Value,
    app_secret: &str,
    call_timeout: Duration,
) -> Sender {
    let clock: Arc<dyn Clock> = clock;
    let rules = RuleSet::from_json(&rules.to_string()).expect("valid rules");
    sender_on_table(
        table,
        SenderParts {
            appid: sample::APPID.to_owned(),
            api: client(base, app_secret, call_timeout),
            reader: Arc::new(
                AssetReader::new(ASSETS, Duration::from_secs(5)).expect("an asset reader"),
            ),
            rules: Arc::new(RuleCache::new(
                Arc::new(StaticRules::new(rules)),
                clock.clone(),
                Duration::from_secs(30),
            )),
            clock,
            token_kind: TokenKind::Stable,
            owner: "instance-1".into(),
        },
    )
}

/// Rules whose default answers every message with `replies` texts (`reply 1`, `reply 2`, …).
pub fn text_rules(replies: usize) -> serde_json::Value {
    let messages: Vec<_> = (1..=replies)
        .map(|n| json!({"type": "text", "content": format!("reply {n}")}))
        .collect();
    json!({"rules": [], "default": {"reply": messages}})
}

/// A job for a text message from `openid`, as `receive` enqueues it.
pub fn job(openid: &str, content: &str, msg_id: u64, received_at: i64) -> String {
    let message = Message::from_json(
        &json!({"ToUserName": sample::ORIGINAL_ID, "FromUserName": openid, "CreateTime": received_at / 1000,
                "MsgType": "text", "Content": content, "MsgId": msg_id})
        .to_string(),
    )
    .expect("a text message");
    Job::new(sample::APPID, message, received_at).to_json()
}

/// A job for an event from `openid`, as `receive` enqueues it.
pub fn event_job(openid: &str, event: &str, received_at: i64) -> String {
    let message = Message::from_json(
        &json!({"ToUserName": sample::ORIGINAL_ID, "FromUserName": openid, "CreateTime": received_at / 1000,
                "MsgType": "event", "Event": event})
        .to_string(),
    )
    .expect("an event");
    Job::new(sample::APPID, message, received_at).to_json()
}
