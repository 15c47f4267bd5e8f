//! Several mini programs in one deployment, through the two functions' own handlers
//! (`receive::respond`, `reply::handle`) as deployed (`compose::aws`) on moto, the WeChat API
//! being the sandbox with both apps: each app at `/wechat/{appid}` with its own secrets and
//! rules from Parameter Store, the same openid in both apps two users, a push signed with
//! another app's credentials refused, an app not served answered 404, and a job of an app
//! removed dropped without a send.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use kefu::apps::Apps;
use kefu::assets::Images;
use kefu::aws::Aws;
use kefu::clock::SystemClock;
use kefu::protocol::simulate::SimulatedPush;
use kefu::protocol::{Format, Mode};
use kefu::receive::Receiver;
use kefu::send::Sender;
use kefu_sandbox::Sandbox;
use kefu_tests::aws::{self, clients};
use kefu_tests::lambda_events;
use kefu_tests::pushes::{AppKeys, Framing, app_text_push, now_secs};
use kefu_tests::two_apps::{self, A, B, SECRET_A, SECRET_B};

/// One user who uses both mini programs: an openid is per app, so this is two users.
const USER: &str = "oSameOpenidInBothApps";

struct Stack {
    receivers: Apps<Receiver>,
    senders: Arc<Apps<Sender>>,
    sandbox: Sandbox,
    sqs: aws_sdk_sqs::Client,
    ssm: aws_sdk_ssm::Client,
    queue_url: String,
    apps_path: String,
    _server: tokio::task::JoinHandle<()>,
}

async fn stack() -> Stack {
    let clients = clients().await;
    // Written as `kefu apps add` writes them; app B has rules of its own, app A falls back to
    // the shared ones.
    let deployment = two_apps::deploy(&clients, "/kefu-apps").await;
    let aws = Aws::from_config(&aws::sdk_config().await);

    let sandbox =
        Sandbox::new(A.appid, SECRET_A, Arc::new(SystemClock)).with_app(B.appid, SECRET_B);
    let (addr, server) = sandbox
        .clone()
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    // No KEFU_APPID: a deployment of several apps only. Apps are looked up at every use
    // (ttl 0), so removing one shows at once.
    let env = deployment.env(0, &format!("http://{addr}"));
    let config = aws::function_config(&env);
    let receivers = kefu::compose::aws::receivers(&aws, &config).await.unwrap();
    let images = Images::Folder(kefu_tests::send_rig::ASSETS.into());
    let senders = Arc::new(
        kefu::compose::aws::senders(&aws, &config, images)
            .await
            .unwrap(),
    );
    Stack {
        receivers,
        senders,
        sandbox,
        sqs: clients.sqs,
        ssm: clients.ssm,
        queue_url: deployment.queue_url,
        apps_path: deployment.apps_path,
        _server: server,
    }
}

/// `content` from USER to `app`, message `msg_id`, signed with `app`'s credentials.
fn push(app: AppKeys<'_>, content: &str, msg_id: u64, nonce: &str) -> SimulatedPush {
    let framing = Framing {
        mode: Mode::Safe,
        format: Format::Json,
        timestamp: now_secs(),
        nonce,
    };
    app_text_push(app, USER, content, msg_id, framing)
}

/// `push` POSTed to `path` through receive's handler, as API Gateway sends it.
async fn post(stack: &Stack, path: &str, push: &SimulatedPush) -> (u16, String) {
    let response = receive::respond(&stack.receivers, lambda_events::push_post(path, push)).await;
    lambda_events::status_and_text(&response)
}

/// The jobs on the queue, deleted, as the event source mapping hands them to reply.
async fn take_jobs(stack: &Stack) -> SqsEvent {
    lambda_events::take_jobs(&stack.sqs, &stack.queue_url).await
}

fn deadline() -> i64 {
    (now_secs() + 60) * 1000
}

#[tokio::test]
async fn two_apps_side_by_side_through_both_handlers() {
    let stack = stack().await;

    // The same user, the same MsgId, in two apps: two pushes, two jobs (keys carry the appid).
    let to_a = push(A, "你好 A", 42, "nonce-a");
    let to_b = push(B, "你好 B", 42, "nonce-b");
    assert_eq!(
        post(&stack, &format!("/wechat/{}", A.appid), &to_a).await,
        (200, "success".to_owned())
    );
    assert_eq!(
        post(&stack, &format!("/wechat/{}", B.appid), &to_b).await,
        (200, "success".to_owned())
    );

    // A push signed with app A's credentials, at app B's URL: refused, nothing enqueued.
    let forged = push(A, "not for B", 43, "nonce-x");
    let (status, reason) = post(&stack, &format!("/wechat/{}", B.appid), &forged).await;
    assert!((400..500).contains(&status), "{status} {reason}");
    // An app the deployment does not serve, and /wechat without a single app: 404.
    let (status, _) = post(&stack, "/wechat/wxc3c3c3c3c3c3c3c3", &to_a).await;
    assert_eq!(status, 404);
    let (status, _) = post(&stack, "/wechat", &to_a).await;
    assert_eq!(status, 404);

    let jobs = take_jobs(&stack).await;
    assert_eq!(jobs.records.len(), 2, "one job per app");
    stack.sandbox.user_message_in(A.appid, USER);
    stack.sandbox.user_message_in(B.appid, USER);
    let response = reply::handle(&stack.senders, jobs, deadline()).await;
    assert!(response.batch_item_failures.is_empty());

    let mut sent: Vec<(String, String, String)> = stack
        .sandbox
        .messages()
        .into_iter()
        .map(|m| {
            let content = m.body["text"]["content"].as_str().unwrap().to_owned();
            (m.appid, m.openid, content)
        })
        .collect();
    sent.sort();
    assert_eq!(
        sent,
        [
            (A.appid.to_owned(), USER.to_owned(), "收到".to_owned()),
            (B.appid.to_owned(), USER.to_owned(), "B 收到".to_owned()),
        ],
        "each app's reply, with its own rules, through its own access_token"
    );
}

#[tokio::test]
async fn an_app_removed_is_no_longer_served_and_its_jobs_are_dropped() {
    let stack = stack().await;
    let before = push(B, "你好", 7, "nonce-1");
    assert_eq!(
        post(&stack, &format!("/wechat/{}", B.appid), &before)
            .await
            .0,
        200
    );
    let jobs = take_jobs(&stack).await;
    assert_eq!(jobs.records.len(), 1);

    // Removed while its job waits on the queue.
    for leaf in ["push", "api"] {
        stack
            .ssm
            .delete_parameter()
            .name(format!("{}/{}/{leaf}", stack.apps_path, B.appid))
            .send()
            .await
            .unwrap();
    }
    stack.sandbox.user_message_in(B.appid, USER);
    let response = reply::handle(&stack.senders, jobs, deadline()).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "dropped, not retried into the DLQ"
    );
    assert!(stack.sandbox.messages().is_empty(), "nothing sent");

    let after = push(B, "还在吗", 8, "nonce-2");
    let (status, _) = post(&stack, &format!("/wechat/{}", B.appid), &after).await;
    assert_eq!(status, 404);
    // App A is untouched.
    let to_a = push(A, "你好", 9, "nonce-3");
    assert_eq!(
        post(&stack, &format!("/wechat/{}", A.appid), &to_a).await.0,
        200
    );
}

#[tokio::test]
async fn a_hand_off_in_one_app_does_not_hold_the_same_openid_in_the_other() {
    let stack = stack().await;
    // The user asks app A for a human: A holds them; B's user of the same openid is not held.
    let (status, answer) = post(
        &stack,
        &format!("/wechat/{}", A.appid),
        &push(A, "人工", 1, "nonce-h"),
    )
    .await;
    assert_eq!(status, 200);
    assert_ne!(answer, "success", "the passive transfer answer");

    for (app, n, nonce) in [(A, 2, "nonce-a2"), (B, 2, "nonce-b2")] {
        let (status, _) = post(
            &stack,
            &format!("/wechat/{}", app.appid),
            &push(app, "还在吗", n, nonce),
        )
        .await;
        assert_eq!(status, 200);
        stack.sandbox.user_message_in(app.appid, USER);
    }
    let jobs = take_jobs(&stack).await;
    assert_eq!(jobs.records.len(), 2);
    let response = reply::handle(&stack.senders, jobs, deadline()).await;
    assert!(response.batch_item_failures.is_empty());
    let sent: Vec<String> = stack
        .sandbox
        .messages()
        .into_iter()
        .map(|m| m.appid)
        .collect();
    assert_eq!(sent, [B.appid], "A's agent holds A's user only");
}
