//! The transfer keyword in a safe-mode JSON push gets an encrypted JSON
//! `transfer_customer_service` from the real `receive` handler, and `kefu decrypt` opens it
//! after checking its signature, as a developer would when debugging.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use kefu::clock::ManualClock;
use kefu::compose::MemoryStack;
use kefu::memory::StaticRules;
use kefu::receive::ReceiveSettings;
use kefu::sample;

/// The sample rules in memory, the clock at the events' timestamp.
fn sample_stack() -> MemoryStack {
    MemoryStack::new(
        StaticRules::new(sample::rules()),
        Arc::new(ManualClock::at(1_714_112_445_000)),
        Duration::from_secs(30),
    )
}

#[tokio::test]
async fn transfer_reply_in_safe_mode_json_opens_with_kefu_decrypt() {
    let stack = sample_stack();
    let receiver = stack.receiver(ReceiveSettings::new(sample::credentials()));
    let event = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../events/transfer-safe-json.json"
    ))
    .unwrap();
    let response = receive::respond(
        &kefu::apps::Apps::single(sample::APPID, Arc::new(receiver), stack.clock.clone()),
        lambda_http::request::from_str(&event).unwrap(),
    )
    .await;
    assert_eq!(response.status(), 200);
    let lambda_http::Body::Text(body) = response.body() else {
        panic!("text body expected")
    };
    let envelope: serde_json::Value = serde_json::from_str(body).unwrap();

    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args([
            "decrypt",
            "--aes-key",
            sample::ENCODING_AES_KEY,
            "--appid",
            sample::APPID,
            "--token",
            sample::TOKEN,
        ])
        .args([
            "--timestamp",
            &envelope["TimeStamp"].as_i64().unwrap().to_string(),
        ])
        .args(["--nonce", envelope["Nonce"].as_str().unwrap()])
        .args([
            "--msg-signature",
            envelope["MsgSignature"].as_str().unwrap(),
        ])
        .args(["--encrypt", envelope["Encrypt"].as_str().unwrap()])
        .env_remove("KEFU_AES_KEY")
        .env_remove("KEFU_APPID")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reply: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(reply["MsgType"], "transfer_customer_service");
    assert_eq!(reply["ToUserName"], sample::OPENID);
    assert_eq!(reply["FromUserName"], sample::ORIGINAL_ID);
}

/// `kefu event --path '/wechat/{appid}'` writes what API Gateway sends for an app of several:
/// the route's `appid` path parameter, which the real handler serves as that app's push.
#[tokio::test]
async fn an_event_for_an_apps_own_url_reaches_that_app() {
    let stack = sample_stack();
    let receiver = Arc::new(stack.receiver(ReceiveSettings::new(sample::credentials())));
    let apps = kefu::apps::Apps::new(stack.clock.clone()).with_app(sample::APPID, receiver);
    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args([
            "event",
            "--path",
            "/wechat/{appid}",
            "--timestamp",
            "1714112445",
        ])
        .args(["text", "你好"])
        .env_remove("KEFU_APPID")
        .env_remove("KEFU_TOKEN")
        .env_remove("KEFU_AES_KEY")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let event: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(event["routeKey"], "POST /wechat/{appid}");
    assert_eq!(event["rawPath"], format!("/wechat/{}", sample::APPID));
    assert_eq!(event["pathParameters"]["appid"], sample::APPID);

    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    let response = receive::respond(&apps, request).await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.body(),
        &lambda_http::Body::Text("success".to_owned())
    );
}
