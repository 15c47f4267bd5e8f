//! A captured push URL must not let anyone act. In plaintext mode the URL's `signature` covers
//! the Token, timestamp and nonce, not the body: whoever sees one URL can pair it with a body of
//! their choice. So each (timestamp, nonce) pair is used up before anything else happens (an
//! agent's session event, a push no rule answers, a push to another app sharing the Token), and
//! session events act once, in the order WeChat stamped them, however their retries arrive.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::time::Duration;

use kefu::clock::ManualClock;
use kefu::compose::MemoryStack;
use kefu::memory::StaticRules;
use kefu::ports::HandoffRegistry;
use kefu::protocol::simulate::{self, Header, Payload, Signer, SimulatedPush};
use kefu::protocol::{Credentials, Format, Mode, Token};
use kefu::receive::{PushRequest, PushResponse, ReceiveSettings, Receiver};
use kefu::sample;
use std::sync::Arc;

const NOW: i64 = 1_714_112_445_000;
const HOLD: i64 = 30 * 60 * 1000;
const OTHER_APPID: &str = "wx0000000000000002";

fn stack() -> (MemoryStack, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::at(NOW));
    let stack = MemoryStack::new(
        StaticRules::new(sample::rules()),
        clock.clone(),
        Duration::from_secs(30),
    );
    (stack, clock)
}

/// The sample app, plaintext accepted (an app without an EncodingAESKey, or
/// RequireEncryption off).
fn receiver(stack: &MemoryStack, appid: &str) -> Receiver {
    let credentials = Credentials {
        appid: appid.to_owned(),
        ..sample::credentials()
    };
    stack.receiver(ReceiveSettings::new(credentials))
}

fn event(name: &str) -> Payload {
    Payload::Event {
        event: name.into(),
        fields: vec![("KfAccount".into(), "agent1@kefu".into())],
    }
}

fn text(content: &str, msg_id: u64) -> Payload {
    Payload::Text {
        content: content.into(),
        msg_id,
    }
}

/// A plaintext push as WeChat sends it: stamped `create_time` (s), its own `nonce`.
fn genuine(payload: &Payload, create_time: i64, nonce: &str) -> SimulatedPush {
    let token = Token::new(sample::TOKEN);
    let signer = Signer {
        token: &token,
        key: None,
        appid: sample::APPID,
    };
    let header = header(create_time);
    let plain = simulate::render(&header, payload, Format::Json);
    simulate::seal_push(
        &signer,
        &header,
        &plain,
        Format::Json,
        Mode::Plaintext,
        &(NOW / 1000).to_string(),
        nonce,
        &[7; 16],
    )
    .unwrap()
}

fn header(create_time: i64) -> Header {
    Header {
        to_user_name: sample::ORIGINAL_ID.into(),
        from_user_name: sample::OPENID.into(),
        create_time,
    }
}

/// The attacker's push: a captured URL with a body of their choice.
fn forged(captured: &SimulatedPush, payload: &Payload) -> SimulatedPush {
    SimulatedPush {
        query: captured.query.clone(),
        body: simulate::render(&header(NOW / 1000 + 1), payload, Format::Json),
    }
}

async fn post(receiver: &Receiver, push: &SimulatedPush) -> PushResponse {
    receiver
        .handle(PushRequest {
            method: "POST",
            query: &push.query,
            body: push.body.as_bytes(),
        })
        .await
}

async fn held_until(stack: &MemoryStack) -> Option<i64> {
    stack
        .table
        .held_until(
            sample::APPID,
            &kefu::protocol::OpenId::parse(sample::OPENID).unwrap(),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn a_captured_url_cannot_forge_an_agent_taking_the_user() {
    let (stack, _) = stack();
    let app = receiver(&stack, sample::APPID);
    let captured = genuine(&text("你好", 1), NOW / 1000, "n1");
    assert_eq!(post(&app, &captured).await.status, 200);

    let attack = post(&app, &forged(&captured, &event("kf_create_session"))).await;

    assert_eq!(attack.status, 403, "{attack:?}");
    assert_eq!(held_until(&stack).await, None, "the user is not silenced");
}

#[tokio::test]
async fn a_captured_url_cannot_forge_the_end_of_an_agents_hold() {
    let (stack, _) = stack();
    let app = receiver(&stack, sample::APPID);
    let captured = genuine(&text("人工", 2), NOW / 1000, "n2");
    assert_eq!(post(&app, &captured).await.status, 200);
    assert_eq!(held_until(&stack).await, Some(NOW + HOLD));

    let attack = post(&app, &forged(&captured, &event("kf_close_session"))).await;

    assert_eq!(attack.status, 403, "{attack:?}");
    assert_eq!(held_until(&stack).await, Some(NOW + HOLD), "still held");
}

#[tokio::test]
async fn the_pair_of_a_push_no_rule_answers_signs_nothing_else() {
    let (stack, _) = stack();
    let app = receiver(&stack, sample::APPID);
    let popup = Payload::Event {
        event: "subscribe_msg_popup_event".into(),
        fields: vec![],
    };
    let captured = genuine(&popup, NOW / 1000, "n3");
    assert_eq!(post(&app, &captured).await.status, 200);

    let attack = post(&app, &forged(&captured, &text("人工", 3))).await;

    assert_eq!(attack.status, 403, "{attack:?}");
    assert_eq!(held_until(&stack).await, None);
    assert!(stack.queue.pending().is_empty());
}

#[tokio::test]
async fn a_url_captured_from_one_app_is_refused_by_another_sharing_its_token() {
    let (stack, _) = stack();
    let first = receiver(&stack, sample::APPID);
    let second = receiver(&stack, OTHER_APPID);
    let captured = genuine(&text("你好", 4), NOW / 1000, "n4");
    assert_eq!(post(&first, &captured).await.status, 200);

    let attack = post(&second, &forged(&captured, &text("在吗", 5))).await;

    assert_eq!(attack.status, 403, "{attack:?}");
    assert_eq!(
        stack.queue.pending().len(),
        1,
        "only the genuine push's job"
    );
}

#[tokio::test]
async fn a_retried_session_event_acts_once_and_does_not_extend_the_hold() {
    let (stack, clock) = stack();
    let app = receiver(&stack, sample::APPID);
    let create = genuine(&event("kf_create_session"), NOW / 1000, "n6");
    assert_eq!(post(&app, &create).await.status, 200);
    assert_eq!(held_until(&stack).await, Some(NOW + HOLD));

    // WeChat's retry (the same URL and body) comes after the first answer was lost.
    clock.advance(10_000);
    let retry = post(&app, &create).await;

    assert_eq!((retry.status, retry.body.as_str()), (200, "success"));
    assert_eq!(held_until(&stack).await, Some(NOW + HOLD), "not extended");
}

#[tokio::test]
async fn a_late_retry_of_an_agents_take_does_not_undo_the_close_that_followed() {
    let (stack, clock) = stack();
    let app = receiver(&stack, sample::APPID);
    let t = NOW / 1000;
    // The agent takes the user at t; the first delivery fails before it is applied (WeChat
    // will retry it); the agent closes at t + 5, applied at once.
    let create = genuine(&event("kf_create_session"), t, "n7");
    let close = genuine(&event("kf_close_session"), t + 5, "n8");
    clock.advance(5_000);
    assert_eq!(post(&app, &close).await.status, 200);

    clock.advance(1_000);
    let late = post(&app, &create).await;

    assert_eq!(late.status, 200, "{late:?}");
    let held = held_until(&stack).await;
    assert!(
        held.is_none_or(|until| until <= NOW + 6_000),
        "the user is not held again: {held:?}"
    );
}
