//! Push → custom/send latency through `kefu dev` (receive → queue → reply → the WeChat sandbox),
//! the time a chat user waits for an auto-reply, minus the networks of the real deployment.
//!
//! ```sh
//! cargo bench -p kefu-cli --bench push_to_send            # PUSHES=1000 by default
//! ```
//!
//! `kefu dev` (built with the bench profile) runs as a process on its in-memory stores. Each of
//! `PUSHES` pushes is a fresh user's text message (safe mode, JSON), signed now and sent one at
//! a time, so no push waits behind another; its latency is from just before the POST to the
//! moment the sandbox accepted the reply's `custom/send` (`arrived_us`, the machine's wall
//! clock, as the bench reads it). Beside it, in the same run against the same server: the push
//! → `success` acknowledgement alone, and the floor — a loopback HTTP round trip to the same
//! server that does nothing (a 404). Figures go to docs/benchmarks.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a benchmark may panic

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kefu::protocol::{Format, Mode};
use kefu_tests::dev_process::DevProcess;
use kefu_tests::pushes::{Framing, text_push};

fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as i64
}

/// p50, p90, p99 and max of `samples` (µs), as milliseconds.
fn summary(name: &str, samples: &mut [i64]) {
    samples.sort_unstable();
    let at = |q: f64| {
        let index = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[index] as f64 / 1000.0
    };
    println!(
        "{name:<34} n={:<5} p50 {:>7.3} ms   p90 {:>7.3} ms   p99 {:>7.3} ms   max {:>7.3} ms",
        samples.len(),
        at(0.50),
        at(0.90),
        at(0.99),
        samples[samples.len() - 1] as f64 / 1000.0,
    );
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let pushes: usize = std::env::var("PUSHES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let dev = DevProcess::start(env!("CARGO_BIN_EXE_kefu"), &["dev"], &[], false);
    let base = dev.base.clone();
    let client = kefu::tls::http_client_builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    let run = now_micros();

    // Warm-up: the first push fetches the sandbox's access_token, as a cold reply does.
    let mut sent_at: HashMap<String, i64> = HashMap::new();
    let mut acks = Vec::with_capacity(pushes);
    let mut floor = Vec::with_capacity(pushes);
    for n in 0..=pushes {
        let openid = format!("oBench{run}x{n}");
        let framing = Framing {
            mode: Mode::Safe,
            format: Format::Json,
            timestamp: now_micros() / 1_000_000,
            nonce: &n.to_string(),
        };
        let push = text_push(&openid, "latency", 1_000_000 + n as u64, framing);
        let url = format!("{base}/wechat?{}", push.query.to_query_string());

        let started = Instant::now();
        let _ = client
            .get(format!("{base}/nothing-here"))
            .send()
            .await
            .unwrap();
        let round_trip = started.elapsed();

        let sent = now_micros();
        let started = Instant::now();
        let answer = client
            .post(&url)
            .header("content-type", "application/json")
            .body(push.body)
            .send()
            .await
            .unwrap();
        let ack = started.elapsed();
        assert!(
            answer.status().is_success(),
            "push {n}: {}",
            answer.status()
        );
        if n == 0 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        sent_at.insert(openid, sent);
        acks.push(ack.as_micros() as i64);
        floor.push(round_trip.as_micros() as i64);
        // The previous reply has gone out before the next push (one at a time); waiting a
        // little more than it takes keeps the pushes from queueing behind each other.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    // Every reply, by the user it went to.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut latencies = loop {
        let messages: Vec<serde_json::Value> = client
            .get(format!("{base}/sandbox/messages"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let latencies: Vec<i64> = messages
            .iter()
            .filter_map(|m| {
                let sent = sent_at.get(m["openid"].as_str()?)?;
                Some(m["arrived_us"].as_i64()? - sent)
            })
            .collect();
        if latencies.len() == pushes || Instant::now() > deadline {
            break latencies;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(latencies.len(), pushes, "every push got its one reply");

    println!("kefu dev, in-memory stores, {pushes} pushes one at a time (safe mode, JSON):");
    summary("push → custom/send at the sandbox", &mut latencies);
    summary("push → success (the ack alone)", &mut acks);
    summary("loopback HTTP round trip (404)", &mut floor);
}
