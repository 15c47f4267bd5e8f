//! The duplicate storm: 1 000 pushes from 100 users, 30 % of them repeated as WeChat repeats
//! them (at once, 5.5 s later and 11 s later, some while the WeChat API is failing), all
//! concurrent, through `kefu dev` as a process — on its in-memory stores and on DynamoDB + SQS
//! (moto; 300 pushes there by default, see `AWS_USERS`). Exactly one reply per unique push,
//! counted at the sandbox. The figures are printed
//! (`--nocapture`) and recorded in docs/reliability.md.
//!
//! Each user writes every 1.2 s, all users at once: WeChat's allowance does not accumulate
//! (each message resets it to 5), so a user who sent ten messages before any reply went out
//! could be answered five times at most — by WeChat's rule, not kefu's.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kefu::protocol::{Format, Mode};
use kefu_tests::dev_process::DevProcess;
use kefu_tests::pushes::{Framing, text_push};

const USERS: usize = 100;
const PER_USER: usize = 10;
/// Users in the run on moto, whose throughput (one Python process) bounds it: 30 in the test
/// command (about 45 s); `KEFU_STORM_AWS_USERS=100` for the full 1 000 pushes (about 150 s).
const AWS_USERS: usize = 30;

/// One push as WeChat sends it (safe mode, JSON), signed now: its query string and body.
fn push(openid: &str, msg_id: u64) -> (String, String) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let framing = Framing {
        mode: Mode::Safe,
        format: Format::Json,
        timestamp: now,
        nonce: &msg_id.to_string(),
    };
    let push = text_push(openid, &format!("storm {msg_id}"), msg_id, framing);
    (push.query.to_query_string(), push.body)
}

/// Delivers one push as WeChat does: until it gets 200, retrying 5 s apart, 3 retries.
async fn deliver(client: &reqwest::Client, url: &str, query: &str, body: &str) -> bool {
    for attempt in 0..4 {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        let sent = client
            .post(format!("{url}?{query}"))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await;
        if sent.is_ok_and(|r| r.status().is_success()) {
            return true;
        }
    }
    false
}

#[derive(Debug, Default)]
struct Figures {
    pushes: usize,
    copies: usize,
    acked: usize,
    replies: usize,
    seconds: f64,
}

/// Runs the storm of `users` × 10 pushes (30 % copied) against `base` and returns what the
/// sandbox recorded, per user.
async fn storm(base: &str, users: usize) -> Figures {
    let client = kefu::tls::http_client_builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let url = format!("{base}/wechat");
    let started = Instant::now();
    let mut pushes = Vec::new();
    for user in 0..users {
        for n in 0..PER_USER {
            let msg_id = 7_000_000 + (user * PER_USER + n) as u64;
            pushes.push(Arc::new((format!("o-storm-{user:03}"), msg_id)));
        }
    }
    let acked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let limit = Arc::new(tokio::sync::Semaphore::new(64));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, item) in pushes.iter().enumerate() {
        // User `i / PER_USER` writes message `i % PER_USER` at that many 1.2 s steps.
        let at = Duration::from_millis((i % PER_USER) as u64 * 1_200 + (i / PER_USER) as u64 * 5);
        // Every tenth push, in turn, is copied: at once, 5.5 s later or 11 s later.
        // Three of every ten pushes are copied.
        let copies: Vec<Duration> = if i % 10 < 3 {
            vec![
                [
                    Duration::ZERO,
                    Duration::from_millis(5_500),
                    Duration::from_millis(11_000),
                ][i % 3],
            ]
        } else {
            Vec::new()
        };
        let (openid, msg_id) = (item.0.clone(), item.1);
        let (query, body) = push(&openid, msg_id);
        for delay in std::iter::once(at).chain(copies) {
            let (client, url, query, body, acked, limit) = (
                client.clone(),
                url.clone(),
                query.clone(),
                body.clone(),
                acked.clone(),
                limit.clone(),
            );
            tasks.spawn(async move {
                tokio::time::sleep(delay).await;
                let _permit = limit.acquire().await.unwrap();
                if deliver(&client, &url, &query, &body).await {
                    acked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            });
        }
    }
    // Three seconds in, the WeChat API fails ten sends (-1, "system busy").
    tokio::time::sleep(Duration::from_secs(3)).await;
    client
        .post(format!("{base}/sandbox/faults"))
        .body(r#"{"endpoint":"send","errcode":-1,"times":10}"#)
        .send()
        .await
        .unwrap();
    let total = tasks.len();
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    // Let the reply side drain (failed sends come back after the dev queue's 5 s pause).
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut replies: Vec<serde_json::Value>;
    loop {
        replies = client
            .get(format!("{base}/sandbox/messages"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if replies.len() >= users * PER_USER || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Anything sent twice would arrive now.
    tokio::time::sleep(Duration::from_secs(6)).await;
    replies = client
        .get(format!("{base}/sandbox/messages"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut per_user: HashMap<String, usize> = HashMap::new();
    for reply in &replies {
        *per_user
            .entry(reply["openid"].as_str().unwrap_or_default().to_owned())
            .or_default() += 1;
    }
    assert_eq!(per_user.len(), users, "every user got replies");
    for (user, count) in &per_user {
        assert_eq!(*count, PER_USER, "{user}: one reply per unique push");
    }
    Figures {
        pushes: users * PER_USER,
        copies: total - users * PER_USER,
        acked: acked.load(std::sync::atomic::Ordering::SeqCst),
        replies: replies.len(),
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// Prints the figures of the storm on `stack` and checks them: one reply per push, a copy of
/// every third push, everything acknowledged.
fn check(stack: &str, figures: &Figures, users: usize) {
    println!("storm, {stack}: {figures:?} in {:.1} s", figures.seconds);
    assert_eq!(figures.replies, users * PER_USER);
    assert_eq!(figures.copies, users * 3);
    assert_eq!(
        figures.acked,
        figures.pushes + figures.copies,
        "every copy acknowledged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_storm_through_kefu_dev_gets_exactly_one_reply_per_push() {
    let dev = DevProcess::start(env!("CARGO_BIN_EXE_kefu"), &["dev"], &[], false);
    let base = dev.base.clone();
    check("in-memory stores", &storm(&base, USERS).await, USERS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_storm_through_kefu_dev_on_aws_gets_exactly_one_reply_per_push() {
    let rules =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../rules/sample.json"))
            .unwrap();
    let env = kefu_tests::aws::dev_stack_env(&rules).await;
    let dev = DevProcess::start(env!("CARGO_BIN_EXE_kefu"), &["dev", "--aws"], &env, false);
    let base = dev.base.clone();
    let users = std::env::var("KEFU_STORM_AWS_USERS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(AWS_USERS);
    check("DynamoDB + SQS on moto", &storm(&base, users).await, users);
}
