//! What a hook adds to a reply: one job run end to end by the send core (rules, the ledger's
//! claims, the quota, custom/send to the WeChat sandbox on loopback, the in-memory table),
//! answered by a rule's `reply`, and the same answered by a `hook` on a loopback HTTP server
//! (signed, its decision kept in the ledger before the send). The difference is the hook's
//! cost: the request built and signed, the HTTP round trip, the answer read and checked, the
//! decision kept. Besides criterion's estimate, each case prints p50 / p99 over 2 000 runs.
//!
//! Run: `cargo bench -p kefu-tests --bench hooks`. Results: docs/benchmarks.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use kefu::memory::MemoryTable;
use kefu::send::Sender;
use kefu_tests::send_rig::{NOW, SendRig, job};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const ANSWER: &str = r#"{"reply":[{"type":"text","content":"订单 A1024 已发货，顺丰 SF123456"}]}"#;

/// A keep-alive HTTP/1.1 hook on loopback answering every request with [`ANSWER`].
async fn hook_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                loop {
                    // One request: the head, then content-length bytes of body.
                    let head_end = loop {
                        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break at + 4;
                        }
                        let n = stream.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + length {
                        let n = stream.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                    }
                    buf.drain(..head_end + length);
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{ANSWER}",
                        ANSWER.len()
                    );
                    if stream.write_all(response.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

/// Runs one fresh job (a new user, who has just written) and returns how long `run` took.
async fn one(rig: &SendRig<MemoryTable>, sender: &Sender, n: u64) -> Duration {
    let openid = format!("o-bench-{n}");
    rig.sandbox.user_message(&openid);
    let body = job(&openid, "我的订单到哪了", n, NOW);
    let started = Instant::now();
    let outcome = sender.run(&body, rig.deadline()).await.unwrap();
    let took = started.elapsed();
    assert!(
        matches!(outcome, kefu::send::JobOutcome::Done { sent: 1, .. }),
        "{outcome:?}"
    );
    took
}

fn percentiles(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    (at(0.50), at(0.99))
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (rig, direct, hooked) = runtime.block_on(async {
        let rig = SendRig::start(Arc::new(MemoryTable::new()), &json!({"rules": []})).await;
        let url = hook_server().await;
        let direct = rig.hook_sender(
            &json!({"rules": [{"name": "order", "match": {"contains": "订单"},
                "action": {"reply": [{"type": "text", "content": "订单 A1024 已发货，顺丰 SF123456"}]}}]}),
            "bench-secret",
            "",
        );
        let hooked = rig.hook_sender(
            &json!({"rules": [{"name": "order", "match": {"contains": "订单"},
                "action": {"hook": {"url": url, "timeout_ms": 4000,
                    "fallback": [{"type": "text", "content": "稍后再试"}]}}}]}),
            "bench-secret",
            "",
        );
        (rig, direct, hooked)
    });
    let counter = AtomicU64::new(1);
    let next = || counter.fetch_add(1, Ordering::SeqCst);

    // Warm both (access_token fetched, connections open), then the distributions.
    for (name, sender) in [("direct reply", &direct), ("hook reply", &hooked)] {
        let samples: Vec<Duration> = runtime.block_on(async {
            for _ in 0..50 {
                one(&rig, sender, next()).await;
            }
            let mut samples = Vec::new();
            for _ in 0..2000 {
                samples.push(one(&rig, sender, next()).await);
            }
            samples
        });
        let (p50, p99) = percentiles(samples);
        println!("{name}: p50 {p50:?}, p99 {p99:?} (2000 jobs)");
    }

    let mut group = c.benchmark_group("job");
    for (name, sender) in [("direct_reply", &direct), ("hook_reply", &hooked)] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        total += one(&rig, sender, next()).await;
                    }
                    total
                })
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
