//! What one push costs in AWS requests, end to end, counted where they leave the AWS SDK: the two
//! functions as deployed (`compose::aws`) against moto through a counting proxy, the WeChat API
//! being the sandbox. The cost table in docs/benchmarks.md rests on these counts; the test fails
//! when a change adds (or saves) a request, so the table is updated with it.
//!
//! `cargo nextest run -p kefu-tests --test request_counts --no-capture` prints the counts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::collections::BTreeMap;
use std::sync::Arc;

use kefu::aws::Aws;
use kefu::clock::SystemClock;
use kefu::config::Config;
use kefu::ports::Clock;
use kefu::protocol::{Format, Mode};
use kefu::receive::PushRequest;
use kefu::sample;
use kefu_sandbox::Sandbox;
use kefu_tests::aws::{self, clients, create_queue, create_table, put_parameter, unique};
use kefu_tests::lossy_proxy::LossyProxy;
use kefu_tests::pushes::{Framing, now_secs, text_push};

/// Requests by operation (`DynamoDB.PutItem`, …), from the proxy's record.
fn tally(targets: Vec<String>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for target in targets {
        let name = target
            .replace("DynamoDB_20120810.", "DynamoDB.")
            .replace("AmazonSQS.", "SQS.")
            .replace("AmazonSSM.", "SSM.")
            .replace("AWSEvents.", "EventBridge.");
        *counts.entry(name).or_insert(0) += 1;
    }
    counts
}

fn expected(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

struct Stack {
    aws: Aws,
    proxy: LossyProxy,
    config: Config,
    queue_url: String,
    sqs: aws_sdk_sqs::Client,
    sandbox: Sandbox,
    _sandbox_server: tokio::task::JoinHandle<()>,
}

async fn stack() -> Stack {
    stack_with(&[]).await
}

/// The same, the functions' environment holding `extra` too.
async fn stack_with(extra: &[(&str, String)]) -> Stack {
    let clients = clients().await;
    let table = create_table(&clients.dynamodb).await;
    let queue_url = create_queue(&clients.sqs, false).await;
    let prefix = unique("/kefu-cost");
    let rules = serde_json::json!({
        "rules": [],
        "default": {"reply": [{"type": "text", "content": "收到"}]}
    });
    put_parameter(
        &clients.ssm,
        &format!("{prefix}/rules/000"),
        &rules.to_string(),
    )
    .await;
    let push =
        serde_json::json!({"token": sample::TOKEN, "encoding_aes_key": sample::ENCODING_AES_KEY});
    let api = serde_json::json!({"app_secret": sample::APP_SECRET});
    aws::put_secure_parameter(&clients.ssm, &format!("{prefix}/push"), &push.to_string()).await;
    aws::put_secure_parameter(&clients.ssm, &format!("{prefix}/api"), &api.to_string()).await;

    let sandbox = Sandbox::new(sample::APPID, sample::APP_SECRET, Arc::new(SystemClock));
    let (addr, server) = sandbox
        .clone()
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let env = [
        ("KEFU_APPID", sample::APPID.to_owned()),
        ("KEFU_TABLE", table),
        ("KEFU_QUEUE_URL", queue_url.clone()),
        ("KEFU_RULES_PATH", format!("{prefix}/rules")),
        ("KEFU_PUSH_SECRETS_PARAMETER", format!("{prefix}/push")),
        ("KEFU_API_SECRETS_PARAMETER", format!("{prefix}/api")),
        ("WECHAT_API_BASE", format!("http://{addr}")),
    ];
    let env: Vec<(&str, String)> = env.into_iter().chain(extra.iter().cloned()).collect();
    let config = aws::function_config(&env);
    let proxy = LossyProxy::start(&aws::endpoint()).await;
    let aws = Aws::from_config(&aws::sdk_config_at(&proxy.url()).await);
    Stack {
        aws,
        proxy,
        config,
        queue_url,
        sqs: clients.sqs,
        sandbox,
        _sandbox_server: server,
    }
}

/// The jobs on the queue, as the event source mapping would hand them to reply (read with a
/// client that does not go through the proxy: the event source's requests are not the
/// function's).
async fn take_jobs(stack: &Stack) -> Vec<(String, String)> {
    aws::take_jobs(&stack.sqs, &stack.queue_url).await
}

#[tokio::test]
async fn one_push_costs_these_aws_requests_end_to_end() {
    let stack = stack().await;

    // receive: cold start, then a first push, then a warm one (another user).
    let receiver = kefu::compose::aws::receiver(&stack.aws, &stack.config)
        .await
        .unwrap();
    let receive_init = tally(stack.proxy.take_seen());
    let push = |openid: &str, text: &str, msg_id: u64| {
        // Each push its own nonce, as WeChat sends them (a retry repeats its push's URL).
        let nonce = format!("n{msg_id}");
        let framing = Framing {
            mode: Mode::Safe,
            format: Format::Json,
            timestamp: now_secs(),
            nonce: &nonce,
        };
        text_push(openid, text, msg_id, framing)
    };
    let mut receive_pushes = Vec::new();
    // The third asks what no rule answers: the default replies, and the question is kept.
    for (openid, text, msg_id) in [
        ("oCost1", "你好", 1),
        ("oCost2", "你好", 2),
        ("oCost3", "发票怎么开", 3),
    ] {
        let push = push(openid, text, msg_id);
        stack.sandbox.user_message(openid);
        let answer = receiver
            .handle(PushRequest {
                method: "POST",
                query: &push.query,
                body: push.body.as_bytes(),
            })
            .await;
        assert_eq!((answer.status, answer.body.as_str()), (200, "success"));
        receive_pushes.push(tally(stack.proxy.take_seen()));
    }
    // WeChat's retry of the warm push: the stored answer.
    let retry = push("oCost2", "你好", 2);
    let answer = receiver
        .handle(PushRequest {
            method: "POST",
            query: &retry.query,
            body: retry.body.as_bytes(),
        })
        .await;
    assert_eq!(answer.status, 200);
    let receive_duplicate = tally(stack.proxy.take_seen());

    // reply: cold start, the first job (fetches the access_token), a warm job.
    let sender = Arc::new(
        kefu::compose::aws::sender(&stack.aws, &stack.config)
            .await
            .unwrap(),
    );
    let reply_init = tally(stack.proxy.take_seen());
    let mut jobs = take_jobs(&stack).await;
    assert_eq!(jobs.len(), 3, "one job per push, none for the retry");
    jobs.sort_by_key(|job| {
        ["oCost1", "oCost2", "oCost3"]
            .iter()
            .position(|o| job.1.contains(o))
    });
    let mut reply_jobs = Vec::new();
    let deadline = SystemClock.now_millis() + 30_000;
    for job in jobs {
        let failures = sender.run_batch(vec![job], deadline).await;
        assert!(failures.is_empty(), "{failures:?}");
        reply_jobs.push(tally(stack.proxy.take_seen()));
    }
    assert_eq!(stack.sandbox.messages().len(), 3, "one reply per push");

    println!("receive init:          {receive_init:?}");
    println!("receive 1st push:      {:?}", receive_pushes[0]);
    println!("receive warm push:     {:?}", receive_pushes[1]);
    println!("receive duplicate:     {receive_duplicate:?}");
    println!("reply init:            {reply_init:?}");
    println!("reply 1st job:         {:?}", reply_jobs[0]);
    println!("reply warm job:        {:?}", reply_jobs[1]);
    println!("reply unanswered job:  {:?}", reply_jobs[2]);

    assert_eq!(
        receive_init,
        expected(&[
            ("DynamoDB.GetItem", 1),
            ("SQS.GetQueueAttributes", 1),
            ("SSM.GetParameter", 1),
            ("SSM.GetParametersByPath", 1),
        ])
    );
    // Use the (timestamp, nonce) pair and claim the push (PutItem × 2), enqueue, record the
    // answer (UpdateItem).
    let receive_push = expected(&[
        ("DynamoDB.PutItem", 2),
        ("DynamoDB.UpdateItem", 1),
        ("SQS.SendMessage", 1),
    ]);
    assert_eq!(
        receive_pushes[0], receive_push,
        "no request the init could make"
    );
    assert_eq!(receive_pushes[1], receive_push);
    assert_eq!(receive_pushes[2], receive_push);
    // The pair (its own message again) and the claim, which finds the stored answer.
    assert_eq!(receive_duplicate, expected(&[("DynamoDB.PutItem", 2)]));
    assert_eq!(
        reply_init,
        expected(&[
            ("DynamoDB.GetItem", 1),
            ("SSM.GetParameter", 1),
            ("SSM.GetParametersByPath", 1),
        ])
    );
    // The first job fetches the access_token: read it, take the refresh lease, store it.
    assert_eq!(
        reply_jobs[0],
        expected(&[
            ("DynamoDB.GetItem", 2),
            ("DynamoDB.PutItem", 1),
            ("DynamoDB.UpdateItem", 6),
        ])
    );
    // A warm job with one text reply: the hold (GetItem), the send claim (PutItem), the quota
    // window opened by the message, the reservation, the send marked going out, then settled
    // (UpdateItem × 4).
    assert_eq!(
        reply_jobs[1],
        expected(&[
            ("DynamoDB.GetItem", 1),
            ("DynamoDB.PutItem", 1),
            ("DynamoDB.UpdateItem", 4),
        ])
    );
    // An unanswered question (the default replied): the same, and one small write keeping its
    // text for `kefu report` (PutItem `asked#…`). Small talk (「你好」 above) is not kept, and a
    // message a rule or the FAQ answers writes nothing more.
    assert_eq!(
        reply_jobs[2],
        expected(&[
            ("DynamoDB.GetItem", 1),
            ("DynamoDB.PutItem", 2),
            ("DynamoDB.UpdateItem", 4),
        ])
    );
}

/// What one outbox command costs (one text message, a user whose window is open): the
/// producer's request, and the reply function's for the command, a duplicate of it, and one
/// for a user whose window is closed. docs/benchmarks.md's outbox table rests on these.
#[tokio::test]
async fn one_outbox_send_costs_these_aws_requests() {
    use kefu::apps::Apps;
    use kefu::outbox::Command;
    use kefu::rules::ReplyMessage;
    use kefu::send::{OutboxRecord, OutboxSettings, run_outbox_batch};

    let stack = stack().await;
    let sender = Arc::new(
        kefu::compose::aws::sender(&stack.aws, &stack.config)
            .await
            .unwrap(),
    );
    let deadline = SystemClock.now_millis() + 30_000;
    // The user writes; their job fetches the access_token and opens their window.
    stack.sandbox.user_message("oOutbox1");
    let job = kefu_tests::send_rig::job("oOutbox1", "你好", 11, SystemClock.now_millis());
    assert!(
        sender
            .run_batch(vec![("j".into(), job)], deadline)
            .await
            .is_empty()
    );
    stack.proxy.take_seen();
    let apps = Arc::new(Apps::single(
        sample::APPID,
        sender.clone(),
        Arc::new(SystemClock),
    ));
    let command = |openid: &str, key: &str| {
        Command::new(
            sample::APPID,
            &kefu::protocol::OpenId::parse(openid).unwrap(),
            vec![ReplyMessage::Text {
                content: "您的退款已到账".into(),
            }],
            key,
        )
        .unwrap()
    };
    let run = |id: &str, command: &Command| {
        let records = vec![OutboxRecord {
            id: id.into(),
            body: command.to_json(),
            queued_at: Some(SystemClock.now_millis()),
        }];
        run_outbox_batch(&apps, records, deadline, OutboxSettings::default())
    };

    // The producer: one SendMessage (here to the job queue, as any queue).
    let first = command("oOutbox1", "refund-1");
    stack
        .aws
        .outbox(&stack.queue_url)
        .send(&first)
        .await
        .unwrap();
    let producer = tally(stack.proxy.take_seen());
    take_jobs(&stack).await;

    assert!(run("m1", &first).await.is_empty());
    let sent = tally(stack.proxy.take_seen());
    assert!(run("m2", &first).await.is_empty());
    let duplicate = tally(stack.proxy.take_seen());
    assert!(
        run("m3", &command("oOutboxClosed", "notice-1"))
            .await
            .is_empty()
    );
    let closed = tally(stack.proxy.take_seen());
    let texts: Vec<_> = stack
        .sandbox
        .messages()
        .iter()
        .filter(|m| m.body["touser"] == "oOutbox1")
        .map(|m| m.body["text"]["content"].clone())
        .collect();
    assert_eq!(
        texts,
        ["收到", "您的退款已到账"],
        "the reply, then the command, once"
    );

    println!("outbox producer:        {producer:?}");
    println!("outbox command sent:    {sent:?}");
    println!("outbox duplicate:       {duplicate:?}");
    println!("outbox window closed:   {closed:?}");

    assert_eq!(producer, expected(&[("SQS.SendMessage", 1)]));
    // The hand-off hold (GetItem), the send claim (PutItem), the reservation, the send marked
    // going out, then settled (UpdateItem × 3): a command opens no window.
    assert_eq!(
        sent,
        expected(&[
            ("DynamoDB.GetItem", 1),
            ("DynamoDB.PutItem", 1),
            ("DynamoDB.UpdateItem", 3),
        ])
    );
    // The hold, and the claim, which finds the send settled.
    assert_eq!(
        duplicate,
        expected(&[("DynamoDB.GetItem", 1), ("DynamoDB.PutItem", 1)])
    );
    // The hold, the claim, the reservation refused, the windows read to tell why (closed, not
    // spent), the claim settled.
    assert_eq!(
        closed,
        expected(&[
            ("DynamoDB.GetItem", 2),
            ("DynamoDB.PutItem", 1),
            ("DynamoDB.UpdateItem", 2),
        ])
    );
}

/// What kefu's events cost (`KEFU_EVENT_BUS` set): a push answered by the default, and one
/// nothing answers is told as `question.unanswered` too. docs/benchmarks.md's events table rests
/// on these.
#[tokio::test]
async fn events_cost_these_aws_requests() {
    let eventbridge = aws_sdk_eventbridge::Client::new(&aws::sdk_config().await);
    let (bus, _queue) = aws::create_event_bus_to_queue(&eventbridge, &clients().await.sqs).await;
    let stack = stack_with(&[("KEFU_EVENT_BUS", bus)]).await;
    let receiver = kefu::compose::aws::receiver(&stack.aws, &stack.config)
        .await
        .unwrap();
    let sender = Arc::new(
        kefu::compose::aws::sender(&stack.aws, &stack.config)
            .await
            .unwrap(),
    );
    let deadline = SystemClock.now_millis() + 30_000;
    let mut receive = Vec::new();
    let mut reply = Vec::new();
    // The first fetches the access_token (not counted below); 你好 is small talk, 发票怎么开 a
    // question nothing answers.
    for (openid, text, msg_id) in [
        ("oEvents0", "你好", 20),
        ("oEvents1", "你好", 21),
        ("oEvents2", "发票怎么开", 22),
    ] {
        let nonce = format!("e{msg_id}");
        let framing = Framing {
            mode: Mode::Safe,
            format: Format::Json,
            timestamp: now_secs(),
            nonce: &nonce,
        };
        let push = text_push(openid, text, msg_id, framing);
        stack.sandbox.user_message(openid);
        stack.proxy.take_seen();
        let answer = receiver
            .handle(PushRequest {
                method: "POST",
                query: &push.query,
                body: push.body.as_bytes(),
            })
            .await;
        assert_eq!((answer.status, answer.body.as_str()), (200, "success"));
        receive.push(tally(stack.proxy.take_seen()));
        let jobs = take_jobs(&stack).await;
        assert_eq!(jobs.len(), 1);
        assert!(sender.run_batch(jobs, deadline).await.is_empty());
        reply.push(tally(stack.proxy.take_seen()));
    }
    assert_eq!(sender.events_unpublished(), 0);
    println!("receive push (events on): {:?}", receive[1]);
    println!("reply warm job (events):  {:?}", reply[1]);
    println!("reply unanswered (events): {:?}", reply[2]);
    // receive: the same as without events (a push a rule answers).
    assert_eq!(
        receive[1],
        expected(&[
            ("DynamoDB.PutItem", 2),
            ("DynamoDB.UpdateItem", 1),
            ("SQS.SendMessage", 1),
        ])
    );
    // reply: the warm job's requests, and the job's events held once (PutItem `events#…`) and
    // published in one PutEvents (message.received, reply.sent).
    assert_eq!(
        reply[1],
        expected(&[
            ("DynamoDB.GetItem", 1),
            ("DynamoDB.PutItem", 2),
            ("DynamoDB.UpdateItem", 4),
            ("EventBridge.PutEvents", 1),
        ])
    );
    // The unanswered question: its kept text too, and still one PutEvents (three events).
    assert_eq!(
        reply[2],
        expected(&[
            ("DynamoDB.GetItem", 1),
            ("DynamoDB.PutItem", 3),
            ("DynamoDB.UpdateItem", 4),
            ("EventBridge.PutEvents", 1),
        ])
    );
}
