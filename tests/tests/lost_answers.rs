//! Lost answers: DynamoDB writes whose answer never arrives, through a real loopback proxy in
//! front of moto (`kefu_tests::lossy_proxy`). The write takes effect, the AWS SDK repeats it,
//! and the repeat must recognise the first as its own: a claim stays ours (the push is neither
//! lost nor answered `success` without a job), a reservation or refund counts once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::sync::Arc;
use std::time::Duration;

use kefu::aws::DynamoTable;
use kefu::clock::{EpochMillis, EpochSecs, ManualClock};
use kefu::memory::{MemoryQueue, StaticRules};
use kefu::ports::{Answer, Claim, ClaimOutcome, Clock, PushLedger, QuotaStore, QuotaWindow};
use kefu::protocol::{Format, Mode};
use kefu::receive::{PushRequest, ReceiveDeps, ReceiveSettings, Receiver};
use kefu::rule_cache::RuleCache;
use kefu::sample;
use kefu_tests::aws;
use kefu_tests::lossy_proxy::LossyProxy;
use kefu_tests::pushes::{Framing, text_push};

const NOW: i64 = 1_714_112_445_000;

/// A table whose every request goes through a proxy that can lose answers.
async fn lossy_table() -> (LossyProxy, DynamoTable) {
    let proxy = LossyProxy::start(&aws::endpoint()).await;
    let client = aws_sdk_dynamodb::Client::new(&aws::sdk_config_at(&proxy.url()).await);
    let name = aws::create_table(&client).await;
    (proxy, DynamoTable::new(client, name))
}

fn claim(key: &str, attempt: &str) -> Claim {
    Claim {
        key: key.to_owned(),
        attempt: attempt.to_owned(),
        now: EpochMillis(NOW),
        lease_until: EpochMillis(NOW + 4_000),
        expires_at: EpochSecs(NOW / 1000 + 3600),
    }
}

#[tokio::test]
async fn a_claim_whose_answer_was_lost_is_still_ours() {
    let (proxy, table) = lossy_table().await;
    proxy.drop_answers("PutItem", 1);
    let outcome = table.claim(&claim("push#wx#1", "a1")).await.unwrap();
    assert_eq!(proxy.dropped(), 1, "the first answer was lost");
    assert_eq!(proxy.seen("PutItem"), 2, "and the SDK repeated the write");
    assert_eq!(outcome, ClaimOutcome::Claimed);
    assert_eq!(
        table.claim(&claim("push#wx#1", "a2")).await.unwrap(),
        ClaimOutcome::InProgress,
        "another attempt is still kept out"
    );
}

#[tokio::test]
async fn an_accept_whose_answer_was_lost_records_the_answer() {
    let (proxy, table) = lossy_table().await;
    table.claim(&claim("push#wx#2", "a1")).await.unwrap();
    proxy.drop_answers("UpdateItem", 1);
    table
        .accept("push#wx#2", "a1", Answer::Transfer)
        .await
        .unwrap();
    assert_eq!(proxy.dropped(), 1);
    assert_eq!(
        table.claim(&claim("push#wx#2", "a2")).await.unwrap(),
        ClaimOutcome::Handled(Answer::Transfer)
    );
}

#[tokio::test]
async fn a_reservation_whose_answer_was_lost_takes_one_send() {
    let (proxy, table) = lossy_table().await;
    // Both windows open: 5 sends in all (the allowance does not accumulate), each held by the
    // message window (it stays open longest).
    for window in [QuotaWindow::Enter, QuotaWindow::Message] {
        table
            .open("wx", &kefu_tests::openid("o1"), window, NOW, "push-1", NOW)
            .await
            .unwrap();
    }
    proxy.drop_answers("UpdateItem", 1);
    assert_eq!(
        table
            .reserve("wx", &kefu_tests::openid("o1"), NOW, "s0")
            .await
            .unwrap(),
        Some(QuotaWindow::Message),
        "the repeat finds its own reservation"
    );
    assert_eq!(proxy.dropped(), 1);
    let expected = [
        ("s1", Some(QuotaWindow::Message)),
        ("s2", Some(QuotaWindow::Message)),
        ("s3", Some(QuotaWindow::Message)),
        ("s4", Some(QuotaWindow::Message)),
        ("s5", None),
    ];
    for (name, window) in expected {
        assert_eq!(
            table
                .reserve("wx", &kefu_tests::openid("o1"), NOW, name)
                .await
                .unwrap(),
            window,
            "{name}: the lost answer's repeat took no second send"
        );
    }

    // A refund whose answer is lost gives back one send, not two.
    proxy.drop_answers("UpdateItem", 1);
    table
        .refund("wx", &kefu_tests::openid("o1"), "s2")
        .await
        .unwrap();
    assert_eq!(proxy.dropped(), 2);
    assert_eq!(
        table
            .reserve("wx", &kefu_tests::openid("o1"), NOW, "s8")
            .await
            .unwrap(),
        Some(QuotaWindow::Message)
    );
    assert_eq!(
        table
            .reserve("wx", &kefu_tests::openid("o1"), NOW, "s9")
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn a_push_whose_claim_answer_was_lost_is_enqueued_once() {
    let (proxy, table) = lossy_table().await;
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::at(NOW));
    let queue = Arc::new(MemoryQueue::new());
    let table = Arc::new(table);
    let receiver = Receiver::new(
        ReceiveSettings::new(sample::credentials()),
        ReceiveDeps {
            ledger: table.clone(),
            handoffs: table,
            queue: queue.clone(),
            rules: Arc::new(RuleCache::new(
                Arc::new(StaticRules::new(sample::rules())),
                clock.clone(),
                Duration::from_secs(30),
            )),
            clock,
        },
    );
    let framing = Framing {
        mode: Mode::Safe,
        format: Format::Json,
        timestamp: NOW / 1000,
        nonce: "1",
    };
    let push = text_push(sample::OPENID, "你好", 77, framing);

    proxy.drop_answers("PutItem", 1);
    let response = receiver
        .handle(PushRequest {
            method: "POST",
            query: &push.query,
            body: push.body.as_bytes(),
        })
        .await;
    assert_eq!(proxy.dropped(), 1);
    assert_eq!((response.status, response.body.as_str()), (200, "success"));
    assert_eq!(
        queue.pending().len(),
        1,
        "a success without a job would be a lost push"
    );
}
