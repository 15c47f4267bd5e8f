//! How long the reply function takes for a batch of 10 jobs for 10 users, one of which hits a
//! sandbox fault, against the latency of a single job: records run concurrently, so the batch
//! should cost about one send, not ten. Each send to the sandbox is slowed to a fixed latency
//! (as a real WeChat round trip would be) so that the comparison measures concurrency, not the
//! loopback.
//!
//! Run: `cargo bench -p reply --bench batch_latency`. Budget: batch ≤ 1.5 × single.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a bench may panic

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::event::sqs::SqsEvent;
use kefu::job::Job;
use kefu::local::{ManualClock, MemoryTable, StaticRules};
use kefu::ports::Clock;
use kefu::protocol::Message;
use kefu::rules::{RuleCache, RuleSet};
use kefu::sample;
use kefu::wechat_api::{TokenKind, WeChatClient};
use kefu::worker::media::AssetReader;
use kefu::worker::token::TokenProvider;
use kefu::worker::{Worker, WorkerDeps};
use kefu_cli::sandbox::{Endpoint, Fault, Sandbox};
use serde_json::json;

const SEND_LATENCY: Duration = Duration::from_millis(40);
const ROUNDS: usize = 20;

fn job(openid: &str, msg_id: u64, at: i64) -> String {
    let message = Message::from_json(
        &json!({"ToUserName": sample::ORIGINAL_ID, "FromUserName": openid, "CreateTime": at / 1000,
                "MsgType": "text", "Content": "你好", "MsgId": msg_id})
        .to_string(),
    )
    .unwrap();
    Job::new(sample::APPID, message, at).to_json()
}

fn event(records: &[(String, String)]) -> SqsEvent {
    let records: Vec<_> = records
        .iter()
        .map(|(id, body)| json!({"messageId": id, "body": body}))
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

#[tokio::main]
async fn main() {
    let clock = Arc::new(ManualClock::at(1_714_112_445_000));
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let sandbox = Sandbox::new(sample::APPID, sample::APP_SECRET, dyn_clock.clone());
    let (addr, _server) = sandbox
        .clone()
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let api = Arc::new(
        WeChatClient::new(
            &format!("http://{addr}"),
            sample::APPID,
            sample::APP_SECRET.into(),
            Duration::from_secs(5),
        )
        .unwrap(),
    );
    let table = Arc::new(MemoryTable::new());
    let rules =
        RuleSet::from_json(r#"{"default":{"reply":[{"type":"text","content":"收到"}]}}"#).unwrap();
    let worker = Arc::new(Worker::new(
        sample::APPID,
        WorkerDeps::on_table(
            table.clone(),
            api.clone(),
            Arc::new(TokenProvider::new(
                sample::APPID,
                TokenKind::Stable,
                table,
                api,
                dyn_clock.clone(),
                "bench".into(),
            )),
            Arc::new(AssetReader::new("assets", Duration::from_secs(5)).unwrap()),
            Arc::new(RuleCache::new(
                Arc::new(StaticRules::new(rules)),
                dyn_clock.clone(),
                Duration::from_secs(3600),
            )),
            dyn_clock,
        ),
    ));

    let mut next_id = 0u64;
    let mut batch = |size: usize| -> Vec<(String, String)> {
        // Each round is a new user message: it opens a fresh quota window.
        clock.advance(1_000);
        let at = clock.now_millis();
        (0..size)
            .map(|n| {
                next_id += 1;
                let openid = format!("user-{n}");
                sandbox.user_message(&openid);
                (format!("m{next_id}"), job(&openid, next_id, at))
            })
            .collect()
    };
    // Warm up: token, connections.
    reply::handle(&worker, event(&batch(10))).await;

    let mut single = Vec::new();
    let mut ten = Vec::new();
    for _ in 0..ROUNDS {
        let records = batch(1);
        sandbox.inject(Endpoint::Send, Fault::Delay(SEND_LATENCY), 1);
        let start = Instant::now();
        let response = reply::handle(&worker, event(&records)).await;
        single.push(start.elapsed());
        assert!(response.batch_item_failures.is_empty());

        let records = batch(10);
        sandbox.inject(Endpoint::Send, Fault::Http(500), 1);
        sandbox.inject(Endpoint::Send, Fault::Delay(SEND_LATENCY), 9);
        let start = Instant::now();
        let response = reply::handle(&worker, event(&records)).await;
        ten.push(start.elapsed());
        assert_eq!(
            response.batch_item_failures.len(),
            1,
            "one record reported; sandbox answers: {:?}, sent: {}",
            sandbox.counts(),
            sandbox.messages().len()
        );
    }
    single.sort();
    ten.sort();
    let median = |v: &[Duration]| v[v.len() / 2];
    let (one, batch) = (median(&single), median(&ten));
    println!("send latency (sandbox delay): {SEND_LATENCY:?}, rounds: {ROUNDS}");
    println!("single job, median: {one:?}");
    println!("10 jobs / 10 users / 1 fault, median: {batch:?}");
    println!(
        "ratio: {:.2} (budget ≤ 1.50)",
        batch.as_secs_f64() / one.as_secs_f64()
    );
}
