//! Verify + decrypt + parse of one safe-mode push, for a ~300-byte and a ~4 KB text message in
//! XML and JSON: the work `receive` does on every push before it touches the network.
//!
//! Run: `cargo bench -p kefu --bench open_push`. Results and budgets: docs/benchmarks.md.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kefu::protocol::{AesKey, Format, PushQuery, Signature, Token, push};

const TOKEN: &str = "AAAAA";
const KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const APPID: &str = "wxba5fad812f8e6fb9";
const TS: &str = "1714112445";
const NONCE: &str = "415670741";

/// A text message of about `size` bytes in `format`, as WeChat would send it.
fn text_message(format: Format, size: usize) -> String {
    let frame = |content: &str| match format {
        Format::Json => format!(
            r#"{{"ToUserName":"gh_97417a04a28d","FromUserName":"o9AgO5Kd5ggOC-bXrbNODIiE3bGY","CreateTime":1714112445,"MsgType":"text","Content":"{content}","MsgId":23241477706429916}}"#
        ),
        Format::Xml => format!(
            "<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName><FromUserName><![CDATA[o9AgO5Kd5ggOC-bXrbNODIiE3bGY]]></FromUserName><CreateTime>1714112445</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content><MsgId>23241477706429916</MsgId></xml>"
        ),
    };
    let overhead = frame("").len();
    // Chinese text, as users type it: 3 bytes per character.
    let content: String = "你好请问人工客服在吗"
        .chars()
        .cycle()
        .take(size.saturating_sub(overhead) / 3)
        .collect();
    frame(&content)
}

fn safe_mode_push(format: Format, plain: &str) -> (PushQuery, String) {
    let key = AesKey::from_encoding_aes_key(KEY).expect("key");
    let encrypt = key
        .encrypt(APPID, plain.as_bytes(), b"0123456789abcdef")
        .expect("encrypt");
    let query = PushQuery {
        signature: Some(Signature::of_url(&Token::new(TOKEN), TS, NONCE).to_hex()),
        timestamp: Some(TS.into()),
        nonce: Some(NONCE.into()),
        msg_signature: Some(
            Signature::of_message(&Token::new(TOKEN), TS, NONCE, &encrypt).to_hex(),
        ),
        encrypt_type: Some("aes".into()),
        ..PushQuery::default()
    };
    let body = match format {
        Format::Json => format!(r#"{{"ToUserName":"gh_97417a04a28d","Encrypt":"{encrypt}"}}"#),
        Format::Xml => format!(
            "<xml><ToUserName><![CDATA[gh_97417a04a28d]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        ),
    };
    (query, body)
}

fn open_push(c: &mut Criterion) {
    let credentials = push::Credentials {
        token: Token::new(TOKEN),
        aes_key: Some(AesKey::from_encoding_aes_key(KEY).expect("key")),
        appid: APPID.into(),
    };
    let mut group = c.benchmark_group("open_push_safe_mode");
    for size in [300, 4096] {
        for format in [Format::Xml, Format::Json] {
            let plain = text_message(format, size);
            let (query, body) = safe_mode_push(format, &plain);
            assert!(push::open(&credentials, &query, &body).is_ok());
            group.throughput(Throughput::Bytes(plain.len() as u64));
            let id = BenchmarkId::new(format!("{format:?}").to_lowercase(), format!("{size}B"));
            group.bench_with_input(id, &(query, body), |b, (query, body)| {
                b.iter(|| push::open(black_box(&credentials), black_box(query), black_box(body)))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, open_push);
criterion_main!(benches);
