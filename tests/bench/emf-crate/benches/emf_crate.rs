//! Per message: kefu's hand-written EMF line (`outcome_line`, one line with the three dimension
//! sets) beside the `metrics` facade with the EMF exporter, which keeps one counter per label set
//! and writes one document per label set when flushed (once per invocation by its Lambda
//! runner). The same three rollups — by outcome, by app and outcome, by app, outcome and
//! rule/entry — take three counters there. Both write into memory, not stdout.
//!
//! Run: `cargo bench --bench emf_crate` in tests/bench/emf-crate. Results: docs/dependencies.md.

use std::hint::black_box;
use std::io::Write as _;

use criterion::{Criterion, criterion_group, criterion_main};

fn count(app: &str) {
    metrics::counter!("messages", "outcome" => "faq").increment(1);
    metrics::counter!("messages", "app" => app.to_owned(), "outcome" => "faq").increment(1);
    metrics::counter!("messages", "app" => app.to_owned(), "outcome" => "faq", "id" => "refund")
        .increment(1);
}

fn bench(c: &mut Criterion) {
    let mut out: Vec<u8> = Vec::with_capacity(1 << 16);
    c.bench_function("hand-written: one message, one line", |b| {
        b.iter(|| {
            out.clear();
            let line = emf_crate::outcome_line(black_box("wx5ea1c0de5ea1c0de"), "faq", Some("refund"), 1_765_000_000_000);
            let _ = writeln!(out, "{line}");
        })
    });
    c.bench_function("hand-written: a batch of 10 messages", |b| {
        b.iter(|| {
            out.clear();
            for _ in 0..10 {
                let line = emf_crate::outcome_line(black_box("wx5ea1c0de5ea1c0de"), "faq", Some("refund"), 1_765_000_000_000);
                let _ = writeln!(out, "{line}");
            }
        })
    });

    let collector = metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace("kefu")
        .init()
        .expect("the exporter");
    c.bench_function("exporter: one message (3 counters), flushed", |b| {
        b.iter(|| {
            out.clear();
            count(black_box("wx5ea1c0de5ea1c0de"));
            collector.flush(&mut out).expect("flush");
        })
    });
    c.bench_function("exporter: a batch of 10 messages, one flush", |b| {
        b.iter(|| {
            out.clear();
            for _ in 0..10 {
                count(black_box("wx5ea1c0de5ea1c0de"));
            }
            collector.flush(&mut out).expect("flush");
        })
    });
    c.bench_function("exporter: counters only (3 per message)", |b| {
        b.iter(|| count(black_box("wx5ea1c0de5ea1c0de")))
    });
    // What one flush writes for one message: three documents.
    out.clear();
    count("wx5ea1c0de5ea1c0de");
    collector.flush(&mut out).expect("flush");
    let hand = emf_crate::outcome_line("wx5ea1c0de5ea1c0de", "faq", Some("refund"), 1_765_000_000_000);
    println!(
        "log bytes per message: hand-written {} (1 line), exporter {} ({} lines)",
        hand.len() + 1,
        out.len(),
        out.iter().filter(|b| **b == b'\n').count()
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
