//! Outbox commands through the function's own handler (`reply::handle_sources`): records from
//! the outbox queue's ARN, the send core on the in-memory table, custom/send into the project's
//! WeChat sandbox (which keeps its own count of each user's window and refuses what WeChat
//! refuses).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use kefu::memory::MemoryTable;
use kefu::outbox::{CommandOutcome, DuringHandoff, MessageOutcome, Settled};
use kefu::ports::HandoffRegistry;
use kefu::sample;
use kefu::send::OutboxSettings;
use kefu_tests::lambda_events::{Record, sqs_event};
use kefu_tests::send_rig::{NOW, SendRig, job};
use reply::Sources;
use serde_json::json;

type Rig = SendRig<MemoryTable>;

const OUTBOX_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:kefu-OutboxQueue";
const JOBS_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:kefu-JobQueue";

/// Rules that answer nothing: a user's message opens their window and spends none of it.
async fn rig() -> Rig {
    SendRig::start(Arc::new(MemoryTable::new()), &json!({"rules": []})).await
}

fn sources(during_handoff: DuringHandoff) -> Sources {
    Sources {
        outbox_arn: Some(OUTBOX_ARN.into()),
        outbox: OutboxSettings { during_handoff },
    }
}

/// A command to `openid`, keyed `key`, of `texts`.
fn command(openid: &str, key: &str, texts: &[&str]) -> serde_json::Value {
    let messages: Vec<_> = texts
        .iter()
        .map(|t| json!({"type": "text", "content": t}))
        .collect();
    json!({"appid": sample::APPID, "openid": openid, "idempotency_key": key, "messages": messages})
}

fn event(records: &[(&str, &str, &str)]) -> SqsEvent {
    let records: Vec<Record<'_>> = records
        .iter()
        .map(|(arn, id, body)| Record {
            id,
            body,
            source_arn: Some(arn),
            sent_at: Some(NOW),
        })
        .collect();
    sqs_event(&records)
}

/// Runs outbox records (`(message id, body)`) through the handler; returns the ids to retry.
async fn run(rig: &Rig, sources: &Sources, records: &[(&str, &str)]) -> Vec<String> {
    let records: Vec<_> = records
        .iter()
        .map(|(id, body)| (OUTBOX_ARN, *id, *body))
        .collect();
    reply::handle_sources(&rig.apps(), sources, event(&records), rig.deadline())
        .await
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect()
}

/// The user writes (their window opens, at WeChat and at kefu): the job of their message.
async fn user_writes(rig: &Rig, openid: &str, msg_id: u64) {
    rig.sandbox.user_message(openid);
    let body = job(openid, "在吗", msg_id, rig.clock.now_millis());
    let records = [(JOBS_ARN, "job", body.as_str())];
    let failures = reply::handle_sources(
        &rig.apps(),
        &sources(DuringHandoff::Hold),
        event(&records),
        rig.deadline(),
    )
    .await;
    assert!(failures.batch_item_failures.is_empty());
}

fn sent_to(rig: &Rig, openid: &str) -> Vec<String> {
    rig.sandbox
        .messages()
        .iter()
        .filter(|m| m.body["touser"] == openid)
        .map(|m| m.body["text"]["content"].as_str().unwrap_or("").to_owned())
        .collect()
}

use kefu::ports::Clock as _;

#[tokio::test]
async fn a_command_twice_sends_once_and_a_redelivery_after_its_send_sends_nothing() {
    let rig = rig().await;
    let sources = sources(DuringHandoff::Hold);
    user_writes(&rig, "o-refund", 1).await;
    let body = command("o-refund", "refund-8812", &["您的退款已到账"]).to_string();

    // Two SQS messages with the same key (the producer sent it twice), in one batch.
    assert!(
        run(&rig, &sources, &[("m1", &body), ("m2", &body)])
            .await
            .is_empty()
    );
    assert_eq!(sent_to(&rig, "o-refund"), ["您的退款已到账"]);
    // The first message delivered again after its send (its delete was lost).
    assert!(run(&rig, &sources, &[("m1", &body)]).await.is_empty());
    // And the key in another command, a day later.
    rig.clock.advance(24 * 3600 * 1000);
    let again = command("o-refund", "refund-8812", &["再发一次"]).to_string();
    assert!(run(&rig, &sources, &[("m3", &again)]).await.is_empty());
    assert_eq!(sent_to(&rig, "o-refund"), ["您的退款已到账"], "one send");

    let outcome = rig
        .sender
        .run_command(&body, Some(NOW), rig.deadline(), OutboxSettings::default())
        .await
        .unwrap();
    assert_eq!(
        outcome,
        CommandOutcome::Ran(vec![MessageOutcome::Settled(Settled::Duplicate)])
    );
}

#[tokio::test]
async fn a_command_for_a_closed_window_is_settled_with_the_reason_not_sent() {
    let rig = rig().await;
    let body = command("o-silent", "notice-1", &["您的订单已发货"]).to_string();
    let outcome = rig
        .sender
        .run_command(&body, Some(NOW), rig.deadline(), OutboxSettings::default())
        .await
        .unwrap();
    assert_eq!(
        outcome,
        CommandOutcome::Ran(vec![MessageOutcome::Settled(Settled::WindowClosed)])
    );
    assert_eq!(Settled::WindowClosed.errcode(), Some(45015));
    assert!(rig.sandbox.messages().is_empty());
    assert!(
        rig.sandbox.counts().is_empty(),
        "WeChat was never asked: {:?}",
        rig.sandbox.counts()
    );

    // The window that closed 48 h after the user's last message, through the handler.
    user_writes(&rig, "o-gone", 1).await;
    rig.clock.advance(48 * 3600 * 1000 + 1);
    let late = command("o-gone", "notice-2", &["太迟了"]).to_string();
    assert!(
        run(&rig, &sources(DuringHandoff::Hold), &[("m1", &late)])
            .await
            .is_empty(),
        "settled, not retried"
    );
    assert!(sent_to(&rig, "o-gone").is_empty());
}

#[tokio::test]
async fn an_outbox_send_spends_the_allowance_replies_spend() {
    let rig = SendRig::start(
        Arc::new(MemoryTable::new()),
        &kefu_tests::send_rig::text_rules(2),
    )
    .await;
    let openid = "o-busy";
    // The user's message: two replies (3 of 5 left).
    rig.sandbox.user_message(openid);
    let body = job(openid, "在吗", 1, NOW);
    assert!(
        reply::handle(
            &rig.apps(),
            event(&[(JOBS_ARN, "j", &body)]),
            rig.deadline()
        )
        .await
        .batch_item_failures
        .is_empty()
    );
    let body = command(openid, "k", &["1", "2", "3", "4"]).to_string();
    let outcome = rig
        .sender
        .run_command(&body, Some(NOW), rig.deadline(), OutboxSettings::default())
        .await
        .unwrap();
    assert_eq!(
        outcome,
        CommandOutcome::Ran(vec![
            MessageOutcome::Sent,
            MessageOutcome::Sent,
            MessageOutcome::Sent,
            MessageOutcome::Settled(Settled::AllowanceSpent),
        ])
    );
    assert_eq!(sent_to(&rig, openid).len(), 5, "WeChat's five, no more");
    assert!(
        rig.sandbox.counts().keys().all(|code| *code == 0),
        "nothing WeChat refused: {:?}",
        rig.sandbox.counts()
    );
}

#[tokio::test]
async fn a_hand_off_holds_a_command_back_unless_it_or_the_deployment_says_send() {
    let rig = rig().await;
    let openid = "o-held";
    user_writes(&rig, openid, 1).await;
    let now = rig.clock.now_millis();
    rig.table
        .record(
            sample::APPID,
            &kefu::protocol::OpenId::parse(openid).unwrap(),
            now,
            now + 30 * 60 * 1000,
        )
        .await
        .unwrap();

    let held = command(openid, "held-1", &["held"]).to_string();
    assert!(
        run(&rig, &sources(DuringHandoff::Hold), &[("m1", &held)])
            .await
            .is_empty()
    );
    assert!(sent_to(&rig, openid).is_empty(), "held back by default");
    let outcome = rig
        .sender
        .run_command(&held, Some(NOW), rig.deadline(), OutboxSettings::default())
        .await
        .unwrap();
    assert_eq!(
        outcome,
        CommandOutcome::Ran(vec![MessageOutcome::Settled(Settled::Duplicate)]),
        "the key keeps its outcome: held, not sent later"
    );

    let mut notice = command(openid, "notice-1", &["退款已到账"]);
    notice["during_handoff"] = json!("send");
    let notice = notice.to_string();
    assert!(
        run(&rig, &sources(DuringHandoff::Hold), &[("m2", &notice)])
            .await
            .is_empty()
    );
    assert_eq!(
        sent_to(&rig, openid),
        ["退款已到账"],
        "the command says send"
    );

    let plain = command(openid, "notice-2", &["发货了"]).to_string();
    assert!(
        run(&rig, &sources(DuringHandoff::Send), &[("m3", &plain)])
            .await
            .is_empty()
    );
    assert_eq!(
        sent_to(&rig, openid),
        ["退款已到账", "发货了"],
        "the deployment says send"
    );
}

#[tokio::test]
async fn bad_commands_are_dropped_not_retried_and_jobs_still_run_beside_them() {
    let rig = SendRig::start(
        Arc::new(MemoryTable::new()),
        &kefu_tests::send_rig::text_rules(1),
    )
    .await;
    rig.sandbox.user_message("o1");
    let job_body = job("o1", "在吗", 1, NOW);
    let unknown_app = json!({"appid": "wx00000000000000ff", "openid": "o1", "idempotency_key": "k",
                             "messages": [{"type": "text", "content": "x"}]})
    .to_string();
    let expired = {
        let mut c = command("o1", "late", &["x"]);
        c["not_after"] = json!(NOW / 1000 - 1);
        c.to_string()
    };
    let no_key = json!({"appid": sample::APPID, "openid": "o1",
                        "messages": [{"type": "text", "content": "x"}]})
    .to_string();
    let records = [
        (OUTBOX_ARN, "bad-json", "{"),
        (OUTBOX_ARN, "no-key", no_key.as_str()),
        (OUTBOX_ARN, "empty", &command("o1", "e", &[]).to_string()),
        (OUTBOX_ARN, "unknown-app", unknown_app.as_str()),
        (OUTBOX_ARN, "expired", expired.as_str()),
        (JOBS_ARN, "job", job_body.as_str()),
    ]
    .map(|(a, i, b)| (a, i, b.to_owned()));
    let records: Vec<_> = records
        .iter()
        .map(|(a, i, b)| (*a, *i, b.as_str()))
        .collect();
    let response = reply::handle_sources(
        &rig.apps(),
        &sources(DuringHandoff::Hold),
        event(&records),
        rig.deadline(),
    )
    .await;
    assert!(response.batch_item_failures.is_empty(), "nothing retried");
    assert_eq!(
        sent_to(&rig, "o1"),
        ["reply 1"],
        "the job's reply, and no command's"
    );
    let outcome = rig
        .sender
        .run_command(
            &expired,
            Some(NOW),
            rig.deadline(),
            OutboxSettings::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        outcome,
        CommandOutcome::Ran(vec![MessageOutcome::Settled(Settled::Duplicate)]),
        "settled as not_after the first time; its key keeps that"
    );
}

#[tokio::test]
async fn without_the_outbox_arn_every_record_is_a_job() {
    let rig = rig().await;
    user_writes(&rig, "o1", 1).await;
    let body = command("o1", "k", &["x"]).to_string();
    // A deployment without an outbox: the command is no job, dropped as one.
    let response = reply::handle(
        &rig.apps(),
        event(&[(OUTBOX_ARN, "m1", &body)]),
        rig.deadline(),
    )
    .await;
    assert!(response.batch_item_failures.is_empty());
    assert!(sent_to(&rig, "o1").is_empty());
}
