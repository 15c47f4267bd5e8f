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
use kefu::memory::MemoryTable;
use kefu::ports::Clock;
use kefu_sandbox::{Endpoint, Fault};
use kefu_tests::lambda_events::{Record, sqs_event};
use kefu_tests::send_rig::{SendRig, job};
use serde_json::json;

const SEND_LATENCY: Duration = Duration::from_millis(40);
const ROUNDS: usize = 20;

fn event(records: &[(String, String)]) -> SqsEvent {
    let records: Vec<Record<'_>> = records
        .iter()
        .map(|(id, body)| Record::new(id, body))
        .collect();
    sqs_event(&records)
}

#[tokio::main]
async fn main() {
    let rules = json!({"default": {"reply": [{"type": "text", "content": "收到"}]}});
    let rig = SendRig::start(Arc::new(MemoryTable::new()), &rules).await;
    let (clock, sandbox, worker) = (&rig.clock, &rig.sandbox, &rig.apps());

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
                (format!("m{next_id}"), job(&openid, "你好", next_id, at))
            })
            .collect()
    };
    // Warm up: token, connections.
    reply::handle(worker, event(&batch(10)), rig.deadline()).await;

    let mut single = Vec::new();
    let mut ten = Vec::new();
    for _ in 0..ROUNDS {
        let records = batch(1);
        sandbox.inject(Endpoint::Send, Fault::Delay(SEND_LATENCY), 1);
        let start = Instant::now();
        let response = reply::handle(worker, event(&records), rig.deadline()).await;
        single.push(start.elapsed());
        assert!(response.batch_item_failures.is_empty());

        let records = batch(10);
        sandbox.inject(Endpoint::Send, Fault::Http(500), 1);
        sandbox.inject(Endpoint::Send, Fault::Delay(SEND_LATENCY), 9);
        let start = Instant::now();
        let response = reply::handle(worker, event(&records), rig.deadline()).await;
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
