//! The two reproduced attacks, end to end against `kefu dev` as a process: a captured push URL
//! replayed with a forged plaintext body, and a push stamped 1970. Both are refused with 403
//! and a reason; the genuine push still gets its reply.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::time::{SystemTime, UNIX_EPOCH};

use kefu::protocol::simulate::SimulatedPush;
use kefu::protocol::{Format, Mode};
use kefu::sample;
use kefu_tests::dev_process::DevProcess;
use kefu_tests::pushes::{Framing, text_push};

fn plaintext(openid: &str, content: &str, msg_id: u64, timestamp: i64) -> SimulatedPush {
    let framing = Framing {
        mode: Mode::Plaintext,
        format: Format::Xml,
        timestamp,
        nonce: "314159",
    };
    text_push(openid, content, msg_id, framing)
}

async fn post(base: &str, push: &SimulatedPush) -> (u16, String) {
    let url = format!("{base}/wechat?{}", push.query.to_query_string());
    let response = kefu::tls::http_client_builder()
        .build()
        .unwrap()
        .post(url)
        .header("content-type", "text/xml")
        .body(push.body.clone())
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.text().await.unwrap_or_default(),
    )
}

#[tokio::test]
async fn kefu_dev_refuses_a_replayed_signature_and_a_push_from_1970() {
    // Plaintext (the mode whose body no signature covers), as a deployment with
    // KEFU_REQUIRE_ENCRYPTION=false takes it.
    let dev = DevProcess::start(
        env!("CARGO_BIN_EXE_kefu"),
        &["dev", "--allow-plaintext"],
        &[],
        false,
    );
    let base = dev.base.clone();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let genuine = plaintext(sample::OPENID, "你好", 9_100_001, now);
    assert_eq!(post(&base, &genuine).await, (200, "success".to_owned()));

    let forged = SimulatedPush {
        body: plaintext("o-victim", "人工", 9_100_002, now).body,
        query: genuine.query.clone(),
    };
    assert_eq!(
        post(&base, &forged).await,
        (
            403,
            "timestamp and nonce already used for another message".to_owned()
        )
    );

    let ancient = plaintext(sample::OPENID, "你好", 9_100_003, 1);
    assert_eq!(
        post(&base, &ancient).await,
        (403, "timestamp outside the allowed window".to_owned())
    );
}
