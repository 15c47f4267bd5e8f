//! WeChat's backup API domain (通用异地容灾域名, api2.weixin.qq.com): a call that could not
//! connect — it never reached WeChat — is tried there once; a call that may have reached WeChat
//! never is (custom/send has no idempotency key). Real servers on loopback: a closed port, and
//! the project's sandbox as both domains.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::sync::Arc;
use std::time::Duration;

use kefu::clock::ManualClock;
use kefu::ports::WeChatApi;
use kefu::sample;
use kefu::wechat_api::WeChatClient;
use kefu::wechat_types::outbound::Text;
use kefu::wechat_types::{ApiError, Outbound, OutboundContent, TokenKind};
use kefu_sandbox::{Endpoint, Fault, Sandbox};
use kefu_tests::send_rig::NOW;

async fn sandbox(clock: &Arc<ManualClock>) -> (Sandbox, String) {
    let sandbox = Sandbox::new(sample::APPID, sample::APP_SECRET, clock.clone());
    let (addr, _server) = sandbox
        .clone()
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    (sandbox, format!("http://{addr}"))
}

/// A loopback address where nothing listens: every connection is refused.
fn closed_port() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

fn client(primary: &str, backup: &str) -> WeChatClient {
    WeChatClient::new(
        primary,
        sample::APPID,
        sample::APP_SECRET.into(),
        Duration::from_secs(2),
    )
    .unwrap()
    .with_backup(backup)
}

fn text(openid: &str) -> Outbound {
    Outbound {
        touser: openid.into(),
        content: OutboundContent::Text {
            text: Text {
                content: "你好".into(),
            },
        },
    }
}

#[tokio::test]
async fn calls_that_cannot_connect_go_to_the_backup_domain_once() {
    let clock = Arc::new(ManualClock::at(NOW));
    let (backup, backup_url) = sandbox(&clock).await;
    let client = client(&closed_port(), &backup_url);
    backup.user_message("o1");

    let token = client
        .fetch_token(TokenKind::Stable, false)
        .await
        .unwrap()
        .token;
    client.send(&token, &text("o1")).await.unwrap();

    assert_eq!(backup.messages().len(), 1);
}

#[tokio::test]
async fn a_send_that_may_have_reached_wechat_is_never_tried_at_the_backup() {
    let clock = Arc::new(ManualClock::at(NOW));
    let (primary, primary_url) = sandbox(&clock).await;
    let (backup, backup_url) = sandbox(&clock).await;
    let client = client(&primary_url, &backup_url);
    primary.user_message("o1");
    backup.user_message("o1");
    let token = client
        .fetch_token(TokenKind::Stable, false)
        .await
        .unwrap()
        .token;
    // WeChat takes the message and the answer breaks off.
    primary.inject(Endpoint::Send, Fault::AcceptThenDrop, 1);

    let err = client.send(&token, &text("o1")).await.unwrap_err();

    assert!(err.outcome_unknown(), "{err:?}");
    assert_eq!(primary.messages().len(), 1);
    assert!(backup.messages().is_empty(), "never sent twice");
    // Nor after a gateway's answer: it came from WeChat's side.
    primary.inject(Endpoint::Send, Fault::Http(502), 1);
    let err = client.send(&token, &text("o1")).await.unwrap_err();
    assert_eq!(err, ApiError::Http(502));
    assert!(backup.messages().is_empty());
}
