//! What finding an app costs Parameter Store, and what a Parameter Store fault costs the apps,
//! in a deployment of several apps: the two functions' own handlers (`receive::respond`,
//! `reply::handle`) as deployed (`compose::aws`) on moto, every AWS request of theirs through a
//! proxy that counts them (and injects Parameter Store's faults), the WeChat API being the
//! sandbox.
//!
//! `cargo nextest run -p kefu-tests --test app_lookups --no-capture` prints the counts.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Instant;

use aws_lambda_events::event::sqs::SqsEvent;
use kefu::apps::Apps;
use kefu::assets::Images;
use kefu::aws::{Aws, ParameterBudget};
use kefu::clock::SystemClock;
use kefu::protocol::simulate::SimulatedPush;
use kefu::protocol::{Format, Mode};
use kefu::receive::Receiver;
use kefu::send::Sender;
use kefu_sandbox::Sandbox;
use kefu_tests::aws::{self, clients, put_secure_parameter, unique};
use kefu_tests::lambda_events;
use kefu_tests::lossy_proxy::{LossyProxy, THROTTLED};
use kefu_tests::pushes::{AppKeys, Framing, app_text_push, now_secs};
use kefu_tests::two_apps::{self, A, B, SECRET_A, SECRET_B, new_app};
use serde_json::json;

/// An app the tests add (or half add) while the functions run.
const C: AppKeys<'static> = AppKeys {
    appid: "wxc3c3c3c3c3c3c3c3",
    token: "token-of-app-c",
    encoding_aes_key: kefu::sample::ENCODING_AES_KEY,
};
const SECRET_C: &str = "secret-of-app-c-0123456789abcdef";
const USER: &str = "oLookupUser";

struct Stack {
    receivers: Apps<Receiver>,
    senders: Arc<Apps<Sender>>,
    /// In front of moto for the functions' requests (setup and checks go around it).
    proxy: LossyProxy,
    /// Through the proxy: as `kefu apps add` would write.
    aws_via_proxy: Aws,
    sandbox: Sandbox,
    sqs: aws_sdk_sqs::Client,
    ssm: aws_sdk_ssm::Client,
    queue_url: String,
    apps_path: String,
    _server: tokio::task::JoinHandle<()>,
}

/// Apps A (the shared rules) and B (rules of its own), looked up again after `ttl_seconds`.
async fn stack(ttl_seconds: u64) -> Stack {
    let clients = clients().await;
    let deployment = two_apps::deploy(&clients, "/kefu-lookups").await;

    let sandbox = Sandbox::new(A.appid, SECRET_A, Arc::new(SystemClock))
        .with_app(B.appid, SECRET_B)
        .with_app(C.appid, SECRET_C);
    let (addr, server) = sandbox
        .clone()
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let env = deployment.env(ttl_seconds, &format!("http://{addr}"));
    let config = aws::function_config(&env);
    let proxy = LossyProxy::start(&aws::endpoint()).await;
    let aws_via_proxy = Aws::from_config(&aws::sdk_config_at(&proxy.url()).await);
    let receivers = kefu::compose::aws::receivers(&aws_via_proxy, &config)
        .await
        .unwrap();
    let images = Images::Folder(kefu_tests::send_rig::ASSETS.into());
    let senders = Arc::new(
        kefu::compose::aws::senders(&aws_via_proxy, &config, images)
            .await
            .unwrap(),
    );
    Stack {
        receivers,
        senders,
        proxy,
        aws_via_proxy,
        sandbox,
        sqs: clients.sqs,
        ssm: clients.ssm,
        queue_url: deployment.queue_url,
        apps_path: deployment.apps_path,
        _server: server,
    }
}

fn push(app: AppKeys<'_>, content: &str, msg_id: u64) -> SimulatedPush {
    let nonce = format!("nonce-{msg_id}");
    let framing = Framing {
        mode: Mode::Safe,
        format: Format::Json,
        timestamp: now_secs(),
        nonce: &nonce,
    };
    app_text_push(app, USER, content, msg_id, framing)
}

/// `push` POSTed to `/wechat/{appid}` through receive's handler, as API Gateway sends it.
async fn post(stack: &Stack, appid: &str, push: &SimulatedPush) -> (u16, String) {
    let path = format!("/wechat/{appid}");
    let response = receive::respond(&stack.receivers, lambda_events::push_post(&path, push)).await;
    lambda_events::status_and_text(&response)
}

/// The jobs on the queue, deleted, as the event source mapping hands them to reply.
async fn take_jobs(stack: &Stack) -> SqsEvent {
    lambda_events::take_jobs(&stack.sqs, &stack.queue_url).await
}

fn deadline() -> i64 {
    (now_secs() + 60) * 1000
}

/// The replies the sandbox took, as (appid, text).
fn sent(stack: &Stack) -> Vec<(String, String)> {
    let mut sent: Vec<(String, String)> = stack
        .sandbox
        .messages()
        .into_iter()
        .map(|m| {
            let content = m.body["text"]["content"].as_str().unwrap().to_owned();
            (m.appid, content)
        })
        .collect();
    sent.sort();
    sent
}

/// The Parameter Store requests among the proxy's record since the last call.
fn ssm_requests(stack: &Stack) -> Vec<String> {
    stack
        .proxy
        .take_seen()
        .into_iter()
        .filter(|target| target.starts_with("AmazonSSM."))
        .collect()
}

/// `n` appids as anyone may put in the push URL: half WeChat-like (`wx` and 16 hex digits),
/// half not (short, long, odd characters), all distinct and none served.
fn random_appids(n: usize) -> Vec<String> {
    let state = RandomState::new();
    (0..n)
        .map(|i| {
            let mut hasher = state.build_hasher();
            hasher.write_usize(i);
            let bits = hasher.finish();
            match i % 4 {
                0 | 1 => format!("wx{bits:016x}"),
                2 => format!("app_{bits:x}"),
                _ => format!("wx{bits:x}%2F..{i}"),
            }
        })
        .collect()
}

#[tokio::test]
async fn a_thousand_pushes_to_random_appids_cost_one_listing_per_ttl_not_a_read_each() {
    let stack = stack(300).await;
    let init = ssm_requests(&stack);
    // A known app's first push: the listing and the app's secrets.
    assert_eq!(post(&stack, A.appid, &push(A, "你好", 1)).await.0, 200);
    let first = ssm_requests(&stack);

    let started = Instant::now();
    let appids = random_appids(1000);
    let mut statuses = std::collections::BTreeMap::new();
    for (n, appid) in appids.iter().enumerate() {
        let (status, _) = post(&stack, appid, &push(A, "你好", 100 + n as u64)).await;
        *statuses.entry(status).or_insert(0) += 1;
    }
    let random = ssm_requests(&stack);
    let elapsed = started.elapsed();
    // The known app still answers, without a read.
    assert_eq!(post(&stack, A.appid, &push(A, "还在吗", 2)).await.0, 200);
    let after = ssm_requests(&stack);

    println!("Parameter Store requests at init:              {init:?}");
    println!("Parameter Store requests, a known app's 1st push: {first:?}");
    println!(
        "Parameter Store requests, 1000 random appids:  {} ({:?}…) in {elapsed:?}",
        random.len(),
        random.iter().take(5).collect::<Vec<_>>()
    );
    println!("statuses: {statuses:?}");
    assert_eq!(
        statuses,
        [(404, 1000)].into_iter().collect(),
        "all not served"
    );
    // The listing of the cold start answers them all; were it 30 s old, one listing again.
    assert!(
        random.len() <= 1 && random.iter().all(|r| r == "AmazonSSM.DescribeParameters"),
        "no read for an appid not in the listing, at most one listing: {} requests",
        random.len()
    );
    assert!(after.is_empty(), "{after:?}");
    // Each function's cold start: the listing and the shared rules (a path, then the single
    // parameter it names); a known app's first push: its push secrets.
    assert!(init.len() <= 6, "{init:?}");
    assert_eq!(first, ["AmazonSSM.GetParameter"]);
}

#[tokio::test]
async fn random_appids_over_several_ttls_cost_one_listing_per_ttl() {
    let stack = stack(1).await;
    ssm_requests(&stack);
    let started = Instant::now();
    let mut pushes = 0;
    for appid in random_appids(100_000) {
        if started.elapsed() >= std::time::Duration::from_millis(3500) {
            break;
        }
        post(&stack, &appid, &push(A, "你好", 7)).await;
        pushes += 1;
    }
    let requests = ssm_requests(&stack);
    println!(
        "{pushes} pushes to random appids in 3.5 s, TTL 1 s: {} Parameter Store requests",
        requests.len()
    );
    assert!(pushes > 100, "{pushes}");
    assert!(
        requests.iter().all(|r| r == "AmazonSSM.DescribeParameters") && requests.len() <= 5,
        "one listing per TTL: {requests:?}"
    );
}

#[tokio::test]
async fn parameter_store_throttling_keeps_known_apps_answering_and_sending() {
    // Looked up at every use: every push and job meets the throttling.
    let stack = stack(0).await;
    for (app, n) in [(A, 1), (B, 2)] {
        assert_eq!(post(&stack, app.appid, &push(app, "你好", n)).await.0, 200);
        stack.sandbox.user_message_in(app.appid, USER);
    }
    let response = reply::handle(&stack.senders, take_jobs(&stack).await, deadline()).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(sent(&stack).len(), 2);

    // From now on every Parameter Store request is throttled.
    stack
        .proxy
        .answer_requests("AmazonSSM.", "", 400, THROTTLED, usize::MAX);
    for (app, n) in [(A, 3), (B, 4), (A, 5), (B, 6)] {
        let started = Instant::now();
        let (status, body) = post(&stack, app.appid, &push(app, "还在吗", n)).await;
        let took = started.elapsed();
        assert_eq!((status, body.as_str()), (200, "success"), "{}", app.appid);
        assert!(
            took < std::time::Duration::from_millis(2500),
            "answered within receive's 3 s timeout: {took:?}"
        );
        stack.sandbox.user_message_in(app.appid, USER);
    }
    let (status, _) = post(&stack, "wxd4d4d4d4d4d4d4d4", &push(A, "x", 9)).await;
    assert!(
        status == 404 || status == 503,
        "an unknown app: not served or unavailable, {status}"
    );
    let jobs = take_jobs(&stack).await;
    assert_eq!(jobs.records.len(), 4);
    let response = reply::handle(&stack.senders, jobs, deadline()).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "{:?}",
        response.batch_item_failures
    );
    assert_eq!(
        sent(&stack),
        [
            (A.appid.to_owned(), "收到".to_owned()),
            (A.appid.to_owned(), "收到".to_owned()),
            (A.appid.to_owned(), "收到".to_owned()),
            (B.appid.to_owned(), "B 收到".to_owned()),
            (B.appid.to_owned(), "B 收到".to_owned()),
            (B.appid.to_owned(), "B 收到".to_owned()),
        ]
    );
}

#[tokio::test]
async fn a_re_lookup_whose_rules_read_fails_keeps_the_last_good_app() {
    let stack = stack(0).await;
    assert_eq!(post(&stack, B.appid, &push(B, "你好", 1)).await.0, 200);
    stack.sandbox.user_message_in(B.appid, USER);
    let response = reply::handle(&stack.senders, take_jobs(&stack).await, deadline()).await;
    assert!(response.batch_item_failures.is_empty());

    // B's secrets still read; its rules do not.
    let rules = format!("{}/rules", B.appid);
    stack.proxy.answer_requests(
        "AmazonSSM.",
        &rules,
        400,
        r#"{"__type":"AccessDeniedException","message":"injected by the test"}"#,
        usize::MAX,
    );
    let (status, body) = post(&stack, B.appid, &push(B, "还在吗", 2)).await;
    assert_eq!((status, body.as_str()), (200, "success"));
    stack.sandbox.user_message_in(B.appid, USER);
    let response = reply::handle(&stack.senders, take_jobs(&stack).await, deadline()).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "{:?}",
        response.batch_item_failures
    );
    assert_eq!(
        sent(&stack),
        [
            (B.appid.to_owned(), "B 收到".to_owned()),
            (B.appid.to_owned(), "B 收到".to_owned()),
        ],
        "B's own rules, the last good ones"
    );
}

/// The parameter names `PutParameter` wrote through the proxy, in order.
fn written(stack: &Stack) -> Vec<String> {
    stack
        .proxy
        .bodies("PutParameter")
        .iter()
        .map(|body| {
            let body: serde_json::Value = serde_json::from_str(body).unwrap();
            body["Name"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn apps_add_writes_push_last_so_an_interrupted_add_is_not_served() {
    let stack = stack(0).await;
    let refused = r#"{"__type":"AccessDeniedException","message":"injected by the test"}"#;
    let name = |leaf: &str| format!("{}/{}/{leaf}", stack.apps_path, C.appid);

    // Interrupted at either write: receive does not serve the app (its jobs would be dropped).
    for leaf in ["api", "push"] {
        stack.proxy.clear_answers();
        stack
            .proxy
            .answer_requests("PutParameter", &name(leaf), 400, refused, usize::MAX);
        let added = stack
            .aws_via_proxy
            .add_app(&stack.apps_path, &new_app(C, SECRET_C), None)
            .await;
        assert!(added.is_err(), "the write of {leaf} failed");
        let (status, _) = post(&stack, C.appid, &push(C, "你好", 1)).await;
        assert_eq!(status, 404, "interrupted at {leaf}: not served yet");
    }
    stack.proxy.clear_answers();
    let before = written(&stack).len();
    stack
        .aws_via_proxy
        .add_app(&stack.apps_path, &new_app(C, SECRET_C), None)
        .await
        .unwrap();
    assert_eq!(
        written(&stack)[before..],
        [name("api"), name("push")],
        "api first, push (what makes receive serve it) last"
    );
    assert_eq!(post(&stack, C.appid, &push(C, "你好", 2)).await.0, 200);
    stack.sandbox.user_message_in(C.appid, USER);
    let response = reply::handle(&stack.senders, take_jobs(&stack).await, deadline()).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(sent(&stack), [(C.appid.to_owned(), "收到".to_owned())]);
}

#[tokio::test]
async fn a_job_of_an_app_with_push_but_no_api_secrets_yet_is_retried_not_dropped() {
    let stack = stack(0).await;
    // Half added, push first (as an older `kefu apps add` wrote, interrupted).
    let push_secrets = json!({"token": C.token, "encoding_aes_key": C.encoding_aes_key});
    put_secure_parameter(
        &stack.ssm,
        &format!("{}/{}/push", stack.apps_path, C.appid),
        &push_secrets.to_string(),
    )
    .await;
    assert_eq!(post(&stack, C.appid, &push(C, "你好", 1)).await.0, 200);
    let jobs = take_jobs(&stack).await;
    assert_eq!(jobs.records.len(), 1);
    let id = jobs.records[0].message_id.clone().unwrap();
    stack.sandbox.user_message_in(C.appid, USER);
    let response = reply::handle(&stack.senders, jobs.clone(), deadline()).await;
    let failures: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(failures, [id], "retried (a transient failure), not dropped");
    assert!(sent(&stack).is_empty());

    // The add completes; SQS's redelivery is sent.
    put_secure_parameter(
        &stack.ssm,
        &format!("{}/{}/api", stack.apps_path, C.appid),
        &json!({"app_secret": SECRET_C}).to_string(),
    )
    .await;
    let response = reply::handle(&stack.senders, jobs, deadline()).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(sent(&stack), [(C.appid.to_owned(), "收到".to_owned())]);
}

#[tokio::test]
async fn a_spent_parameter_store_budget_fails_requests_without_sending_them() {
    let proxy = LossyProxy::start(&aws::endpoint()).await;
    let aws = Aws::from_config(&aws::sdk_config_at(&proxy.url()).await)
        .with_parameter_budget(ParameterBudget::new(3, 0));
    let path = unique("/kefu-budget");
    for _ in 0..3 {
        aws.list_apps(&path).await.unwrap();
    }
    let err = aws.list_apps(&path).await.unwrap_err();
    assert!(err.to_string().contains("budget"), "{err}");
    assert_eq!(proxy.take_seen().len(), 3, "the fourth never left");
}
