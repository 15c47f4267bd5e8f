//! The fault-injection suite: each case through the real AWS SDK against moto (behind
//! `kefu_tests::lossy_proxy`, which can stop, restart, fail or lose answers) and the WeChat
//! sandbox. Every case shows what WeChat gets (an ack or not), what its retry does, and that
//! nothing is lost and nothing is sent twice. docs/reliability.md has the table.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::sync::Arc;
use std::time::Duration;

use kefu::aws::{Aws, DynamoTable, SqsQueue};
use kefu::clock::ManualClock;
use kefu::config::Config;
use kefu::memory::StaticRules;
use kefu::ports::{Clock, JobQueue as _, RuleSource as _};
use kefu::protocol::simulate::SimulatedPush;
use kefu::protocol::{Format, Mode};
use kefu::receive::{PushRequest, PushResponse, ReceiveDeps, ReceiveSettings, Receiver};
use kefu::rule_cache::RuleCache;
use kefu::sample;
use kefu::send::JobOutcome;
use kefu_sandbox::{Endpoint, Fault};
use kefu_tests::aws;
use kefu_tests::lossy_proxy::LossyProxy;
use kefu_tests::pushes::{Framing, text_push};
use kefu_tests::send_rig::{NOW, SendRig, job, text_rules};

/// DynamoDB and SQS through one proxy in front of moto.
struct Stack {
    proxy: LossyProxy,
    table: Arc<DynamoTable>,
    queue_url: String,
    sqs: aws_sdk_sqs::Client,
    receiver: Receiver,
}

async fn stack() -> Stack {
    let proxy = LossyProxy::start(&aws::endpoint()).await;
    let sdk = aws::sdk_config_at(&proxy.url()).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let table = Arc::new(DynamoTable::new(
        dynamodb.clone(),
        aws::create_table(&dynamodb).await,
    ));
    let queue_url = aws::create_queue(&sqs, false).await;
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::at(NOW));
    let mut settings = ReceiveSettings::new(sample::credentials());
    settings.in_progress_wait = Duration::from_millis(200);
    let receiver = Receiver::new(
        settings,
        ReceiveDeps {
            ledger: table.clone(),
            handoffs: table.clone(),
            queue: Arc::new(SqsQueue::new(sqs.clone(), &queue_url)),
            rules: Arc::new(RuleCache::new(
                Arc::new(StaticRules::new(sample::rules())),
                clock.clone(),
                Duration::from_secs(30),
            )),
            clock,
        },
    );
    Stack {
        proxy,
        table,
        queue_url,
        sqs,
        receiver,
    }
}

/// The jobs' bodies on the queue (received and deleted).
async fn jobs(stack: &Stack) -> Vec<String> {
    aws::take_jobs(&stack.sqs, &stack.queue_url)
        .await
        .into_iter()
        .map(|(_, body)| body)
        .collect()
}

fn push(content: &str, msg_id: u64) -> SimulatedPush {
    let framing = Framing {
        mode: Mode::Safe,
        format: Format::Json,
        timestamp: NOW / 1000,
        nonce: "2",
    };
    text_push(sample::OPENID, content, msg_id, framing)
}

async fn post(stack: &Stack, push: &SimulatedPush) -> PushResponse {
    stack
        .receiver
        .handle(PushRequest {
            method: "POST",
            query: &push.query,
            body: push.body.as_bytes(),
        })
        .await
}

#[tokio::test]
async fn aws_stopped_during_a_push_means_no_ack_and_the_retry_delivers_it_once() {
    let stack = stack().await;
    let push = push("你好", 101);
    stack.proxy.stop();
    let during = post(&stack, &push).await;
    assert_eq!(during.status, 500, "no success while the store is down");
    stack.proxy.restart().await;
    let retry = post(&stack, &push).await;
    assert_eq!((retry.status, retry.body.as_str()), (200, "success"));
    assert_eq!(post(&stack, &push).await.body, "success", "a later copy");
    assert_eq!(jobs(&stack).await.len(), 1);
}

#[tokio::test]
async fn sqs_failing_means_no_ack_the_claim_is_released_and_the_retry_delivers_once() {
    let stack = stack().await;
    let push = push("你好", 102);
    // Every attempt the SDK makes fails.
    stack.proxy.fail_requests("SendMessage", 3);
    assert_eq!(post(&stack, &push).await.status, 500);
    let retry = post(&stack, &push).await;
    assert_eq!((retry.status, retry.body.as_str()), (200, "success"));
    assert_eq!(jobs(&stack).await.len(), 1);
}

#[tokio::test]
async fn a_lost_enqueue_answer_makes_a_second_job_that_sends_nothing_twice() {
    let stack = stack().await;
    stack.proxy.drop_answers("SendMessage", 1);
    assert_eq!(post(&stack, &push("你好", 103)).await.body, "success");
    let bodies = jobs(&stack).await;
    assert_eq!(bodies.len(), 2, "the SDK repeated the send: two copies");
    let rig = SendRig::start(stack.table.clone(), &text_rules(1)).await;
    rig.sandbox.user_message(sample::OPENID);
    let records: Vec<(String, String)> = bodies
        .into_iter()
        .enumerate()
        .map(|(n, body)| (format!("m{n}"), body))
        .collect();
    assert!(
        rig.sender
            .run_batch(records, rig.deadline())
            .await
            .is_empty()
    );
    assert_eq!(rig.sandbox.messages().len(), 1, "one reply");
}

#[tokio::test]
async fn dynamodb_stopped_mid_batch_leaves_the_jobs_to_sqs_and_the_redelivery_sends_once() {
    let stack = stack().await;
    let rig = SendRig::start(stack.table.clone(), &text_rules(2)).await;
    for user in ["o1", "o2"] {
        rig.sandbox.user_message(user);
    }
    let records = vec![
        ("a".to_owned(), job("o1", "x", 1, NOW)),
        ("b".to_owned(), job("o2", "y", 2, NOW)),
    ];
    stack.proxy.stop();
    let mut failed = rig.sender.run_batch(records.clone(), rig.deadline()).await;
    failed.sort();
    assert_eq!(failed, vec!["a", "b"], "both left for SQS");
    assert!(rig.sandbox.messages().is_empty());
    stack.proxy.restart().await;
    assert!(
        rig.sender
            .run_batch(records.clone(), rig.deadline())
            .await
            .is_empty()
    );
    assert!(
        rig.sender
            .run_batch(records, rig.deadline())
            .await
            .is_empty()
    );
    assert_eq!(rig.sandbox.messages().len(), 4, "two replies each, once");
}

#[tokio::test]
async fn ssm_unavailable_at_cold_start_fails_the_start_with_a_reason() {
    let proxy = LossyProxy::start(&aws::endpoint()).await;
    let aws = Aws::from_config(&aws::sdk_config_at(&proxy.url()).await);
    proxy.stop();
    let config = Config::from_lookup(|name| {
        match name {
            "KEFU_APPID" => Some(sample::APPID),
            "KEFU_TABLE" => Some("t"),
            "KEFU_QUEUE_URL" => Some("http://q"),
            "KEFU_RULES_PATH" => Some("/kefu/rules"),
            "KEFU_PUSH_SECRETS_PARAMETER" => Some("/kefu/secrets/push"),
            _ => None,
        }
        .map(str::to_owned)
    })
    .unwrap();
    let err = kefu::compose::aws::receiver(&aws, &config)
        .await
        .expect_err("no start without the secrets");
    let reason = err.to_string();
    assert!(reason.starts_with("read secrets:"), "{reason}");
    // Lambda retries a failed init; nothing was acknowledged meanwhile.
}

#[tokio::test]
async fn ssm_unavailable_during_a_rules_reload_keeps_the_last_good_rules() {
    let proxy = LossyProxy::start(&aws::endpoint()).await;
    let sdk = aws::sdk_config_at(&proxy.url()).await;
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let path = aws::unique("/kefu-faults");
    aws::put_parameter(
        &ssm,
        &format!("{path}/000"),
        &serde_json::to_string(&sample::rules()).unwrap(),
    )
    .await;
    let rules = Arc::new(Aws::from_config(&sdk).rules(&path));
    assert_eq!(rules.load().await.unwrap().rules, sample::rules().rules);
    let clock = Arc::new(ManualClock::at(NOW));
    let cache = RuleCache::new(rules, clock.clone(), Duration::from_secs(30));
    let before = cache.get().await.unwrap();
    proxy.stop();
    clock.advance(60_000);
    let during = cache.get().await.expect("the last good set");
    assert_eq!(during, before);
}

#[tokio::test]
async fn wechat_faults_are_retried_by_sqs_and_reach_the_user_once() {
    let stack = stack().await;
    let rig = SendRig::start(stack.table.clone(), &text_rules(1)).await;
    let faults = [Fault::Errcode(-1), Fault::Errcode(45009), Fault::Http(500)];
    for (n, fault) in faults.into_iter().enumerate() {
        let user = format!("o{n}");
        rig.sandbox.user_message(&user);
        rig.sandbox.inject(Endpoint::Send, fault, 1);
        let record = vec![("r".to_owned(), job(&user, "x", 10 + n as u64, NOW))];
        assert_eq!(
            rig.sender.run_batch(record.clone(), rig.deadline()).await,
            vec!["r"],
            "{fault:?}: left for SQS"
        );
        assert!(
            rig.sender
                .run_batch(record, rig.deadline())
                .await
                .is_empty(),
            "{fault:?}: the redelivery"
        );
    }
    assert_eq!(rig.sandbox.messages().len(), 3, "each once");
}

#[tokio::test]
async fn wechat_hanging_past_the_client_timeout_reaches_the_user_at_most_once() {
    let stack = stack().await;
    let rig = SendRig::start_with_timeout(
        stack.table.clone(),
        &text_rules(1),
        Duration::from_millis(300),
    )
    .await;
    rig.sandbox.user_message("o1");
    // The sandbox sits on the request past the client's timeout (and, as the client hangs up,
    // never acts on it): the sender cannot know, so it counts the send as maybe sent and does
    // not repeat it. At most once: here the user gets no auto-reply, and the metric says so.
    rig.sandbox
        .inject(Endpoint::Send, Fault::Delay(Duration::from_millis(600)), 1);
    let body = job("o1", "x", 20, NOW);
    let outcome = rig.sender.run(&body, rig.deadline()).await.unwrap();
    assert_eq!(
        outcome,
        JobOutcome::Done {
            sent: 0,
            skipped: 0,
            maybe_sent: 1
        }
    );
    assert!(rig.sender.run(&body, rig.deadline()).await.is_ok());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        rig.sandbox.messages().len(),
        0,
        "never twice; here never at all"
    );
    // And one that accepts, then hangs: the user has it, once.
    rig.sandbox.user_message("o2");
    rig.sandbox.inject(
        Endpoint::Send,
        Fault::AcceptThenHang(Duration::from_millis(600)),
        1,
    );
    let body = job("o2", "y", 21, NOW);
    assert!(rig.sender.run(&body, rig.deadline()).await.is_ok());
    assert!(rig.sender.run(&body, rig.deadline()).await.is_ok());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rig.sandbox.messages().len(), 1, "once");
}

#[tokio::test]
async fn a_send_whose_done_mark_is_lost_is_not_sent_again_by_the_redelivery() {
    let stack = stack().await;
    let rig = SendRig::start(stack.table.clone(), &text_rules(1)).await;
    rig.sandbox.user_message("o1");
    // WeChat takes the message at once and answers a moment later; meanwhile DynamoDB stops,
    // so the send's "done" mark cannot be written (as after a crash between the call and the
    // mark).
    rig.sandbox.inject(
        Endpoint::Send,
        Fault::AcceptThenHang(Duration::from_millis(1_000)),
        1,
    );
    let body = job("o1", "x", 30, NOW);
    let first = {
        let (sender, body, deadline) = (rig.sender.clone(), body.clone(), rig.deadline());
        tokio::spawn(async move { sender.run(&body, deadline).await })
    };
    while rig.sandbox.messages().is_empty() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stack.proxy.stop();
    let first = first.await.unwrap();
    assert!(first.is_ok(), "the send went out: {first:?}");
    stack.proxy.restart().await;

    // SQS redelivers after the visibility timeout, long after the send's lease ran out.
    rig.clock
        .advance(kefu::clock::millis(kefu::send::budget::VISIBILITY_TIMEOUT));
    let again = rig.sender.run(&body, rig.deadline()).await.unwrap();

    assert_eq!(
        again,
        JobOutcome::Done {
            sent: 0,
            skipped: 0,
            maybe_sent: 1
        }
    );
    assert_eq!(rig.sandbox.messages().len(), 1, "never twice");
}

#[tokio::test]
async fn a_send_answered_by_a_failing_gateway_is_settled_as_maybe_sent() {
    let stack = stack().await;
    let rig = SendRig::start(stack.table.clone(), &text_rules(1)).await;
    for (n, status) in [502u16, 504].into_iter().enumerate() {
        let user = format!("o-gateway-{n}");
        rig.sandbox.user_message(&user);
        rig.sandbox.inject(Endpoint::Send, Fault::Http(status), 1);
        let body = job(&user, "x", 40 + n as u64, NOW);
        let outcome = rig.sender.run(&body, rig.deadline()).await.unwrap();
        assert_eq!(
            outcome,
            JobOutcome::Done {
                sent: 0,
                skipped: 0,
                maybe_sent: 1
            },
            "HTTP {status}: not retried"
        );
        let again = rig.sender.run(&body, rig.deadline()).await;
        assert!(
            matches!(again, Ok(JobOutcome::Done { sent: 0, .. })),
            "HTTP {status}: the redelivery sends nothing: {again:?}"
        );
    }
}

#[tokio::test]
async fn the_job_queue_adapter_reports_an_sqs_outage() {
    let stack = stack().await;
    stack.proxy.stop();
    let queue = SqsQueue::new(stack.sqs.clone(), &stack.queue_url);
    let job = kefu::job::Job::new(
        sample::APPID,
        kefu::protocol::Message::from_json(
            r#"{"ToUserName":"gh","FromUserName":"o1","CreateTime":1,"MsgType":"text","Content":"x","MsgId":1}"#,
        )
        .unwrap(),
        NOW,
    );
    let err = queue.enqueue(&job).await.expect_err("queue down");
    assert!(err.to_string().starts_with("enqueue job:"), "{err}");
}
