//! The outbox on moto and the WeChat sandbox: commands put on a real SQS queue by the
//! producer's adapter (`aws::SqsOutbox`, what `kefu send` and a business system do), taken off
//! it as the event source mapping takes them (batches of 10, with `SentTimestamp`), run by the
//! reply function's handler (`reply::handle_sources`) with every store on DynamoDB; sends are
//! counted in the sandbox, which keeps WeChat's own count of each user's window.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use kefu::aws::{Aws, DynamoTable};
use kefu::outbox::{Command, CommandOutcome, MessageOutcome, Settled};
use kefu::ports::{Clock as _, HandoffRegistry};
use kefu::rules::ReplyMessage;
use kefu::sample;
use kefu::send::OutboxSettings;
use kefu_tests::aws::{self, clients, create_queue, create_table};
use kefu_tests::lambda_events::{Record, sqs_event};
use kefu_tests::send_rig::{SendRig, job};
use reply::Sources;
use serde_json::json;

type Rig = SendRig<DynamoTable>;

const OUTBOX_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:kefu-outbox";
const JOBS_ARN: &str = "arn:aws:sqs:us-east-1:123456789012:kefu-jobs";

struct Stack {
    rig: Rig,
    aws: Aws,
    sqs: aws_sdk_sqs::Client,
    outbox_url: String,
    sources: Sources,
}

/// A table and an outbox queue on moto; rules that answer nothing (a user's message opens their
/// window and spends none of it).
async fn stack() -> Stack {
    let clients = clients().await;
    let table = create_table(&clients.dynamodb).await;
    let outbox_url = create_queue(&clients.sqs, false).await;
    let rig = SendRig::start(
        Arc::new(DynamoTable::new(clients.dynamodb.clone(), table)),
        &json!({"rules": []}),
    )
    .await;
    Stack {
        rig,
        aws: Aws::from_config(&aws::sdk_config().await),
        sqs: clients.sqs,
        outbox_url,
        sources: Sources {
            outbox_arn: Some(OUTBOX_ARN.into()),
            outbox: OutboxSettings::default(),
        },
    }
}

fn text_command(openid: &str, key: &str, text: &str) -> Command {
    Command::new(
        sample::APPID,
        &kefu::protocol::OpenId::parse(openid).unwrap(),
        vec![ReplyMessage::Text {
            content: text.into(),
        }],
        key,
    )
    .unwrap()
}

/// An SQS event of `records` (`(source ARN, message id, body, SentTimestamp)`).
fn event(records: &[(&str, String, String, String)]) -> SqsEvent {
    let records: Vec<Record<'_>> = records
        .iter()
        .map(|(arn, id, body, sent)| Record {
            id,
            body,
            source_arn: Some(arn),
            sent_at: sent.parse().ok(),
        })
        .collect();
    sqs_event(&records)
}

impl Stack {
    /// The users write: a job each (their windows open, at kefu and in the sandbox).
    async fn users_write(&self, openids: &[String]) {
        let now = self.rig.clock.now_millis();
        for (n, openid) in openids.iter().enumerate() {
            self.rig.sandbox.user_message(openid);
            let body = job(openid, "在吗", 1000 + n as u64, now);
            let records = [(JOBS_ARN, format!("job-{n}"), body, now.to_string())];
            let response = reply::handle_sources(
                &self.rig.apps(),
                &self.sources,
                event(&records),
                self.rig.deadline(),
            )
            .await;
            assert!(response.batch_item_failures.is_empty());
        }
    }

    /// Every command on the outbox queue, as the event source mapping would hand them over
    /// (batches of up to 10, deleted once taken), each `(id, body, SentTimestamp)`.
    async fn take(&self) -> Vec<Vec<(String, String, String)>> {
        let mut batches = Vec::new();
        loop {
            let messages = self
                .sqs
                .receive_message()
                .queue_url(&self.outbox_url)
                .max_number_of_messages(10)
                .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
                .send()
                .await
                .unwrap()
                .messages
                .unwrap_or_default();
            if messages.is_empty() {
                return batches;
            }
            let mut batch = Vec::new();
            for message in messages {
                self.sqs
                    .delete_message()
                    .queue_url(&self.outbox_url)
                    .receipt_handle(message.receipt_handle.clone().unwrap())
                    .send()
                    .await
                    .unwrap();
                let sent = message
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
                    .cloned()
                    .unwrap_or_default();
                batch.push((message.message_id.unwrap(), message.body.unwrap(), sent));
            }
            batches.push(batch);
        }
    }

    /// Runs one batch of outbox records through the handler; the ids to retry.
    async fn run(&self, batch: &[(String, String, String)]) -> Vec<String> {
        let records: Vec<_> = batch
            .iter()
            .map(|(id, body, sent)| (OUTBOX_ARN, id.clone(), body.clone(), sent.clone()))
            .collect();
        reply::handle_sources(
            &self.rig.apps(),
            &self.sources,
            event(&records),
            self.rig.deadline(),
        )
        .await
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect()
    }

    /// Messages the sandbox received, by user.
    fn sends(&self) -> BTreeMap<String, usize> {
        let mut sends = BTreeMap::new();
        for message in self.rig.sandbox.messages() {
            let openid = message.body["touser"].as_str().unwrap_or("").to_owned();
            *sends.entry(openid).or_insert(0) += 1;
        }
        sends
    }
}

#[tokio::test]
async fn a_command_twice_and_its_redelivery_send_once() {
    let stack = stack().await;
    let openid = "o-outbox-twice".to_owned();
    stack.users_write(std::slice::from_ref(&openid)).await;
    let outbox = stack.aws.outbox(&stack.outbox_url);
    let command = text_command(&openid, "refund-8812", "您的退款已到账");
    outbox.send(&command).await.unwrap();
    outbox.send(&command).await.unwrap();
    let batches = stack.take().await;
    let records: Vec<_> = batches.into_iter().flatten().collect();
    assert_eq!(records.len(), 2, "two SQS messages");
    // Each in a batch of its own, the second while the first is still running.
    let (a, b) = tokio::join!(stack.run(&records[..1]), stack.run(&records[1..]));
    assert!(a.is_empty() && b.is_empty());
    assert_eq!(stack.sends().get(&openid), Some(&1));
    // The first delivered again after its send (its delete was lost).
    assert!(stack.run(&records[..1]).await.is_empty());
    assert_eq!(stack.sends().get(&openid), Some(&1), "one send");
    assert!(
        stack.rig.sandbox.counts().keys().all(|code| *code == 0),
        "{:?}",
        stack.rig.sandbox.counts()
    );
}

#[tokio::test]
async fn a_command_for_a_closed_window_is_settled_unsent_with_the_reason() {
    let stack = stack().await;
    let command = text_command("o-outbox-never-wrote", "notice-1", "您的订单已发货");
    let outcome = stack
        .rig
        .sender
        .run_command(
            &command.to_json(),
            None,
            stack.rig.deadline(),
            OutboxSettings::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        outcome,
        CommandOutcome::Ran(vec![MessageOutcome::Settled(Settled::WindowClosed)])
    );
    assert!(stack.rig.sandbox.messages().is_empty());
    assert!(stack.rig.sandbox.counts().is_empty(), "WeChat never asked");
}

#[tokio::test]
async fn a_hand_off_holds_a_command_back_by_default() {
    let stack = stack().await;
    let openid = "o-outbox-held".to_owned();
    stack.users_write(std::slice::from_ref(&openid)).await;
    let now = stack.rig.clock.now_millis();
    stack
        .rig
        .table
        .record(
            sample::APPID,
            &kefu::protocol::OpenId::parse(&openid).unwrap(),
            now,
            now + 30 * 60 * 1000,
        )
        .await
        .unwrap();
    let outbox = stack.aws.outbox(&stack.outbox_url);
    outbox
        .send(&text_command(&openid, "held-1", "held"))
        .await
        .unwrap();
    let mut notice = text_command(&openid, "notice-1", "退款已到账");
    notice.during_handoff = Some(kefu::outbox::DuringHandoff::Send);
    outbox.send(&notice).await.unwrap();
    for batch in stack.take().await {
        assert!(stack.run(&batch).await.is_empty());
    }
    let texts: Vec<String> = stack
        .rig
        .sandbox
        .messages()
        .iter()
        .map(|m| m.body["text"]["content"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        texts,
        ["退款已到账"],
        "held back, but the notice that says send"
    );
}

#[tokio::test]
async fn a_burst_of_500_commands_for_50_users_honours_each_users_allowance_exactly() {
    let stack = Arc::new(stack().await);
    let users: Vec<String> = (0..50).map(|n| format!("o-outbox-burst-{n:02}")).collect();
    stack.users_write(&users).await;
    let outbox = stack.aws.outbox(&stack.outbox_url);
    for round in 0..10 {
        for openid in &users {
            let command = text_command(openid, &format!("burst-{openid}-{round}"), "通知");
            outbox.send(&command).await.unwrap();
        }
    }
    let batches = stack.take().await;
    assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), 500);
    // Four invocations at a time, as concurrent batches of the event source: one user's
    // commands in several batches race for the same allowance.
    let mut failures = Vec::new();
    for group in batches.chunks(4) {
        let mut runs = tokio::task::JoinSet::new();
        for batch in group {
            let (stack, batch) = (Arc::clone(&stack), batch.clone());
            runs.spawn(async move { stack.run(&batch).await });
        }
        while let Some(failed) = runs.join_next().await {
            failures.extend(failed.unwrap());
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
    let sends = stack.sends();
    assert_eq!(sends.len(), 50, "every user got some");
    for openid in &users {
        assert_eq!(
            sends.get(openid),
            Some(&5),
            "{openid}: WeChat's five, exactly"
        );
    }
    assert!(
        stack.rig.sandbox.counts().keys().all(|code| *code == 0),
        "WeChat refused nothing (kefu settled the rest itself): {:?}",
        stack.rig.sandbox.counts()
    );
}

#[tokio::test]
async fn each_outbox_message_is_told_once_on_the_event_bus() {
    use kefu::assets::AssetReader;
    use kefu::aws::EventBus;
    use kefu::compose::{SenderParts, sender_on_table};
    use kefu::events::UserForm;
    use kefu::memory::StaticRules;
    use kefu::rule_cache::RuleCache;
    use kefu::rules::RuleSet;
    use kefu::send::budget::CALL_TIMEOUT;
    use kefu::wechat_types::TokenKind;
    use kefu_tests::send_rig::{ASSETS, client};
    use std::time::Duration;

    let stack = stack().await;
    let eventbridge = aws_sdk_eventbridge::Client::new(&aws::sdk_config().await);
    let (bus, events_url) = aws::create_event_bus_to_queue(&eventbridge, &stack.sqs).await;
    let clock: Arc<dyn kefu::ports::Clock> = stack.rig.clock.clone();
    let rules = RuleSet::from_json(r#"{"rules": []}"#).unwrap();
    let sender = sender_on_table(
        stack.rig.table.clone(),
        SenderParts {
            appid: sample::APPID.to_owned(),
            api: client(&stack.rig.base, sample::APP_SECRET, CALL_TIMEOUT),
            reader: Arc::new(AssetReader::new(ASSETS, Duration::from_secs(5)).unwrap()),
            rules: Arc::new(RuleCache::new(
                Arc::new(StaticRules::new(rules)),
                clock.clone(),
                Duration::from_secs(30),
            )),
            clock: clock.clone(),
            token_kind: TokenKind::Stable,
            owner: "instance-events".into(),
        },
    )
    .with_events(Arc::new(EventBus::new(eventbridge, &bus)), UserForm::Clear);
    let apps = Arc::new(kefu::apps::Apps::single(
        sample::APPID,
        Arc::new(sender),
        clock,
    ));

    let openid = "o-outbox-events".to_owned();
    stack.users_write(std::slice::from_ref(&openid)).await;
    let sent = text_command(&openid, "refund-9", "您的退款已到账").to_json();
    let closed = text_command("o-outbox-events-silent", "notice-9", "已发货").to_json();
    let now = stack.rig.clock.now_millis().to_string();
    // The command, its duplicate, a command for a closed window; then the first delivered again.
    for records in [
        vec![
            (OUTBOX_ARN, "e1".to_owned(), sent.clone(), now.clone()),
            (OUTBOX_ARN, "e2".to_owned(), sent.clone(), now.clone()),
            (OUTBOX_ARN, "e3".to_owned(), closed, now.clone()),
        ],
        vec![(OUTBOX_ARN, "e1".to_owned(), sent, now)],
    ] {
        let response =
            reply::handle_sources(&apps, &stack.sources, event(&records), stack.rig.deadline())
                .await;
        assert!(response.batch_item_failures.is_empty());
    }
    assert_eq!(stack.sends().get(&openid), Some(&1));

    let mut told = aws::take_events(&stack.sqs, &events_url).await;
    told.sort_by_key(|e| e["detail-type"].as_str().unwrap_or("").to_owned());
    let kinds: Vec<&str> = told
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds, ["reply.sent", "reply.settled"], "{told:#?}");
    let sent = &told[0]["detail"];
    assert_eq!(told[0]["source"], format!("kefu.{}", sample::APPID));
    assert_eq!(sent["origin"], "outbox");
    assert_eq!(sent["idempotency_key"], "refund-9");
    assert_eq!(sent["openid"], openid.as_str());
    assert_eq!(sent["msgtype"], "text");
    let settled = &told[1]["detail"];
    assert_eq!(settled["reason"], "window_closed");
    assert_eq!(settled["errcode"], 45015);
    assert_eq!(settled["idempotency_key"], "notice-9");
}
