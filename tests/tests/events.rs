//! kefu's events through the real SDK: pushes through the push path on DynamoDB and SQS (moto),
//! their jobs run by the send core against the WeChat sandbox, the events published to an
//! EventBridge bus whose rule sends them to an SQS queue, read back from that queue. Every kind
//! is told once per fact however often WeChat retries a push and SQS redelivers a job; a
//! publish that fails is retried, then counted, and never costs the ack or the reply.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use kefu::assets::AssetReader;
use kefu::aws::{DynamoTable, EventBus, SqsQueue};
use kefu::clock::ManualClock;
use kefu::compose::{SenderParts, sender_on_table};
use kefu::events::UserForm;
use kefu::memory::StaticRules;
use kefu::ports::Clock;
use kefu::protocol::simulate::SimulatedPush;
use kefu::protocol::{Format, Mode};
use kefu::receive::{PushRequest, PushResponse, ReceiveDeps, ReceiveSettings, Receiver};
use kefu::rule_cache::RuleCache;
use kefu::rules::RuleSet;
use kefu::sample;
use kefu::send::Sender;
use kefu::send::budget::CALL_TIMEOUT;
use kefu::wechat_types::TokenKind;
use kefu_sandbox::{Endpoint, Fault, Sandbox};
use kefu_tests::aws;
use kefu_tests::lossy_proxy::LossyProxy;
use kefu_tests::pushes::{self, Framing, text_push};
use kefu_tests::send_rig::{ASSETS, NOW, client};
use serde_json::{Value, json};

fn rules() -> Value {
    json!({
        "rules": [
            {"name": "human", "match": {"exact": ["人工"]}, "action": "transfer"},
            {"name": "hours", "match": {"contains": ["营业时间"]},
             "action": {"reply": [{"type": "text", "content": "每天 9:00–21:00"}]}},
            {"name": "agent", "match": {"event": "kf_create_session"},
             "action": {"reply": [{"type": "text", "content": "客服已接入"}]}}
        ],
        "default": {"reply": [{"type": "text", "content": "收到，我们会尽快回复。"}]}
    })
}

/// The push path and the send core on one table, events on, EventBridge behind a proxy.
struct Rig {
    /// In front of EventBridge only.
    events_proxy: LossyProxy,
    sqs: aws_sdk_sqs::Client,
    jobs_url: String,
    events_url: String,
    receiver: Receiver,
    sender: Sender,
    sandbox: Sandbox,
    clock: Arc<ManualClock>,
    _server: tokio::task::JoinHandle<()>,
}

async fn rig(form: UserForm) -> Rig {
    let sdk = aws::sdk_config().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let events_proxy = LossyProxy::start(&aws::endpoint()).await;
    let eventbridge =
        aws_sdk_eventbridge::Client::new(&aws::sdk_config_at(&events_proxy.url()).await);
    let table = Arc::new(DynamoTable::new(
        dynamodb.clone(),
        aws::create_table(&dynamodb).await,
    ));
    let jobs_url = aws::create_queue(&sqs, false).await;
    let (bus, events_url) = aws::create_event_bus_to_queue(&eventbridge, &sqs).await;

    let clock = Arc::new(ManualClock::at(NOW));
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let rule_set = RuleSet::from_json(&rules().to_string()).unwrap();
    let cache = || {
        Arc::new(RuleCache::new(
            Arc::new(StaticRules::new(rule_set.clone())),
            dyn_clock.clone(),
            Duration::from_secs(30),
        ))
    };
    let mut settings = ReceiveSettings::new(sample::credentials());
    settings.events = true;
    let receiver = Receiver::new(
        settings,
        ReceiveDeps {
            ledger: table.clone(),
            handoffs: table.clone(),
            queue: Arc::new(SqsQueue::new(sqs.clone(), &jobs_url)),
            rules: cache(),
            clock: dyn_clock.clone(),
        },
    );

    let sandbox = Sandbox::new(sample::APPID, sample::APP_SECRET, clock.clone());
    let (addr, server) = sandbox
        .clone()
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let sender = sender_on_table(
        table,
        SenderParts {
            appid: sample::APPID.to_owned(),
            api: client(&format!("http://{addr}"), sample::APP_SECRET, CALL_TIMEOUT),
            reader: Arc::new(AssetReader::new(ASSETS, Duration::from_secs(5)).unwrap()),
            rules: cache(),
            clock: dyn_clock,
            token_kind: TokenKind::Stable,
            owner: "instance-1".into(),
        },
    )
    .with_asker_key(kefu::learn::AskerKey::from_app_secret(sample::APP_SECRET))
    .with_events(Arc::new(EventBus::new(eventbridge, &bus)), form);
    Rig {
        events_proxy,
        sqs,
        jobs_url,
        events_url,
        receiver,
        sender,
        sandbox,
        clock,
        _server: server,
    }
}

impl Rig {
    async fn post(&self, push: &SimulatedPush) -> PushResponse {
        self.receiver
            .handle(PushRequest {
                method: "POST",
                query: &push.query,
                body: push.body.as_bytes(),
            })
            .await
    }

    /// WeChat delivers `push` from `openid` (the user's window opens), and retries it as if the
    /// answer had been lost.
    async fn post_twice(&self, openid: &str, push: &SimulatedPush) {
        self.sandbox.user_message(openid);
        for _ in 0..2 {
            assert_eq!(self.post(push).await.status, 200);
        }
    }

    /// Every job on the queue, each run twice (SQS redelivers it).
    async fn run_jobs_twice(&self) -> usize {
        let jobs = aws::take_jobs(&self.sqs, &self.jobs_url).await;
        let deadline = self.clock.now_millis() + 30_000;
        for _ in 0..2 {
            for (_, body) in &jobs {
                self.sender.run(body, deadline).await.unwrap();
            }
        }
        jobs.len()
    }

    async fn events(&self) -> Vec<Value> {
        aws::take_events(&self.sqs, &self.events_url).await
    }
}

fn framing(nonce: &str) -> Framing<'_> {
    Framing {
        mode: Mode::Safe,
        format: Format::Json,
        timestamp: NOW / 1000,
        nonce,
    }
}

/// An event push from `openid`, created `later` seconds after the rig's clock.
fn event_push(
    openid: &str,
    event: &str,
    fields: &[(&str, &str)],
    later: i64,
    nonce: &str,
) -> SimulatedPush {
    pushes::event_push(openid, event, fields, NOW / 1000 + later, framing(nonce))
}

/// How many events of each kind, and the detail of each by (kind, openid).
fn by_kind(events: &[Value]) -> BTreeMap<String, usize> {
    let mut kinds = BTreeMap::new();
    for event in events {
        *kinds
            .entry(event["detail-type"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    kinds
}

fn find<'a>(events: &'a [Value], kind: &str, openid: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["detail-type"] == kind && e["detail"]["openid"] == openid)
        .map(|e| &e["detail"])
        .collect()
}

#[tokio::test]
async fn every_kind_is_told_once_per_fact_under_retries_and_redeliveries() {
    let rig = rig(UserForm::Clear).await;
    // A rule answers; the default answers (a question nothing answered); a transfer; an agent
    // takes a user (a rule greets) and closes later; WeChat refuses a reply for the window.
    rig.post_twice(
        "o-rule",
        &text_push("o-rule", "营业时间是几点", 9001, framing("n1")),
    )
    .await;
    rig.post_twice(
        "o-default",
        &text_push("o-default", "退款多久能到账", 9002, framing("n2")),
    )
    .await;
    rig.post_twice(
        "o-transfer",
        &text_push("o-transfer", "人工", 9003, framing("n3")),
    )
    .await;
    rig.post_twice(
        "o-agent",
        &event_push(
            "o-agent",
            "kf_create_session",
            &[("KfAccount", "kf1@gh")],
            0,
            "n4",
        ),
    )
    .await;
    rig.post_twice(
        "o-agent",
        &event_push(
            "o-agent",
            "kf_close_session",
            &[("KfAccount", "kf1@gh")],
            60,
            "n5",
        ),
    )
    .await;
    rig.post_twice(
        "o-refused",
        &text_push("o-refused", "发票怎么开具", 9006, framing("n6")),
    )
    .await;

    // Jobs in the order WeChat pushed: the refused user's reply is the last send.
    let jobs = aws::take_jobs(&rig.sqs, &rig.jobs_url).await;
    assert_eq!(
        jobs.len(),
        6,
        "one job per push, the transfer's and the close's too"
    );
    let deadline = rig.clock.now_millis() + 30_000;
    for round in 0..2 {
        for (_, body) in &jobs {
            if round == 0 && body.contains("o-refused") {
                rig.sandbox.inject(Endpoint::Send, Fault::Errcode(45015), 1);
            }
            rig.sender.run(body, deadline).await.unwrap();
        }
    }
    let events = rig.events().await;
    // The agent's greeting answers an event, which opens no window of kefu's quota: settled
    // over quota, unsent.
    assert_eq!(
        rig.sandbox.messages().len(),
        2,
        "the rule's and the default's"
    );
    let ids: BTreeSet<&str> = events
        .iter()
        .map(|e| e["detail"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), events.len(), "no id twice: {events:#?}");
    assert_eq!(
        by_kind(&events),
        BTreeMap::from([
            ("message.received".to_owned(), 6),
            ("reply.sent".to_owned(), 2),
            ("reply.settled".to_owned(), 2),
            ("handoff.started".to_owned(), 2),
            ("handoff.ended".to_owned(), 1),
            ("question.unanswered".to_owned(), 2),
        ]),
        "{events:#?}"
    );
    for event in &events {
        assert_eq!(event["source"], format!("kefu.{}", sample::APPID));
        assert_eq!(event["detail"]["app"], sample::APPID);
        assert_eq!(event["detail"]["kind"], event["detail-type"]);
    }

    let received = find(&events, "message.received", "o-default");
    assert_eq!(received[0]["message"]["kind"]["content"], "退款多久能到账");
    let sent = find(&events, "reply.sent", "o-default");
    assert_eq!(sent[0]["in_reply_to"], received[0]["id"]);
    assert_eq!(sent[0]["msgtype"], "text");
    let question = find(&events, "question.unanswered", "o-default");
    assert_eq!(question[0]["text"], "退款多久能到账");
    assert_eq!(question[0]["outcome"], "unanswered");
    let settled = find(&events, "reply.settled", "o-refused");
    assert_eq!(settled[0]["reason"], "refused_quota");
    assert_eq!(settled[0]["errcode"], 45015);
    let transfer = find(&events, "handoff.started", "o-transfer");
    assert_eq!(
        (&transfer[0]["by"], &transfer[0]["rule"]),
        (&json!("rule"), &json!("human"))
    );
    let agent = find(&events, "handoff.started", "o-agent");
    assert_eq!(agent[0]["by"], "kf_create_session");
    assert_eq!(agent[0]["kf_account"], "kf1@gh");
    assert_eq!(find(&events, "handoff.ended", "o-agent").len(), 1);
    let greeting = find(&events, "reply.settled", "o-agent");
    assert_eq!(greeting[0]["reason"], "over_quota");
    assert_eq!(greeting[0]["n"], 0);
    assert!(find(&events, "question.unanswered", "o-rule").is_empty());
    assert_eq!(rig.sender.events_unpublished(), 0);

    // A third delivery of everything tells nothing new.
    rig.post_twice(
        "o-default",
        &text_push("o-default", "退款多久能到账", 9002, framing("n2")),
    )
    .await;
    assert_eq!(
        rig.run_jobs_twice().await,
        0,
        "WeChat's later retry makes no job"
    );
    for (_, body) in &jobs {
        rig.sender.run(body, deadline).await.unwrap();
    }
    assert!(rig.events().await.is_empty());
}

#[tokio::test]
async fn the_openid_is_hashed_unless_the_operator_says_clear() {
    let rig = rig(UserForm::Hashed).await;
    rig.sandbox.user_message("o-private");
    rig.post(&text_push(
        "o-private",
        "退款多久能到账",
        9101,
        framing("h1"),
    ))
    .await;
    rig.run_jobs_twice().await;
    let events = rig.events().await;
    assert_eq!(events.len(), 3, "{events:#?}");
    let text = serde_json::to_string(&events).unwrap();
    assert!(!text.contains("o-private"), "{text}");
    let hash = kefu::learn::asker(
        &kefu::learn::AskerKey::from_app_secret(sample::APP_SECRET),
        &kefu::protocol::OpenId::parse("o-private").unwrap(),
    );
    for event in &events {
        assert_eq!(event["detail"]["user_hash"], hash.as_str());
    }
    assert!(!text.contains(sample::APP_SECRET) && !text.contains(sample::TOKEN));
}

#[tokio::test]
async fn a_publish_that_fails_is_counted_and_costs_neither_the_ack_nor_the_reply() {
    let rig = rig(UserForm::Clear).await;
    rig.events_proxy.stop();
    let push = text_push("o-down", "退款多久能到账", 9201, framing("f1"));
    rig.sandbox.user_message("o-down");
    let ack = rig.post(&push).await;
    assert_eq!((ack.status, ack.body.as_str()), (200, "success"));
    rig.run_jobs_twice().await;
    assert_eq!(rig.sandbox.messages().len(), 1, "the reply went out, once");
    assert_eq!(
        rig.sender.events_unpublished(),
        3,
        "message.received, reply.sent, question.unanswered"
    );
    rig.events_proxy.restart().await;
    assert!(rig.events().await.is_empty(), "lost, counted and logged");
}

#[tokio::test]
async fn entries_eventbridge_fails_are_sent_again() {
    let rig = rig(UserForm::Clear).await;
    // EventBridge fails every entry of the first request (three: received, sent, question).
    let failed = json!({"FailedEntryCount": 3, "Entries": [
        {"ErrorCode": "InternalFailure", "ErrorMessage": "busy"},
        {"ErrorCode": "InternalFailure", "ErrorMessage": "busy"},
        {"ErrorCode": "InternalFailure", "ErrorMessage": "busy"}
    ]});
    rig.events_proxy
        .answer_requests("AWSEvents.PutEvents", "", 200, &failed.to_string(), 1);
    rig.sandbox.user_message("o-flaky");
    rig.post(&text_push("o-flaky", "退款多久能到账", 9301, framing("e1")))
        .await;
    rig.run_jobs_twice().await;
    let events = rig.events().await;
    assert_eq!(by_kind(&events).values().sum::<usize>(), 3, "{events:#?}");
    assert_eq!(rig.sender.events_unpublished(), 0);
    assert_eq!(
        rig.events_proxy.seen("PutEvents"),
        1,
        "the retry reached EventBridge"
    );
}
