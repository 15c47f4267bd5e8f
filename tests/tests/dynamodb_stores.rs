//! The send core's stores on DynamoDB, through the real SDK against moto server (started by
//! `tests/run.sh`): the access_token lease under contention, quota windows as conditional
//! counters, the media cache, and a whole job on them against the WeChat sandbox. (The ledger
//! and hand-off tests on the same table are in `aws_adapters.rs`.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::sync::Arc;

use kefu::aws::DynamoTable;
use kefu::clock::{EpochMillis, EpochSecs};
use kefu::job::Job;
use kefu::memory::MemoryTable;
use kefu::ports::{MediaCache, QuotaStore, QuotaWindow, StoredToken, TokenStore};
use kefu::protocol::Message;
use kefu::sample;
use kefu::send::JobOutcome;
use kefu::wechat_types::AccessToken;
use kefu_tests::aws;
use kefu_tests::lossy_proxy::LossyProxy;
use kefu_tests::send_rig::{NOW, SendRig, text_rules};
use serde_json::json;

async fn table() -> DynamoTable {
    let client = aws_sdk_dynamodb::Client::new(&aws::sdk_config().await);
    let name = aws::create_table(&client).await;
    DynamoTable::new(client, name)
}

/// A table on moto reached through a proxy that forwards one request at a time: concurrent
/// clients meet each item as DynamoDB's atomic conditional writes would leave it, which moto
/// alone does not guarantee (`LossyProxy::serializing`). The proxy lives as long as the test.
async fn serialized_table() -> DynamoTable {
    let proxy = Box::leak(Box::new(LossyProxy::serializing(&aws::endpoint()).await));
    let client = aws_sdk_dynamodb::Client::new(&aws::sdk_config_at(&proxy.url()).await);
    let name = aws::create_table(&client).await;
    DynamoTable::new(client, name)
}

/// A hundred instances fetch the access_token at once, on DynamoDB's lease (one conditional
/// write each): one call to WeChat, one token. Through a proxy that forwards one request at a
/// time, as DynamoDB serialises writes to one item and moto does not (`LossyProxy::serializing`).
#[tokio::test]
async fn a_hundred_instances_on_dynamodb_make_one_token_call() {
    let rig = SendRig::start(Arc::new(serialized_table().await), &text_rules(1)).await;
    let tokens = rig.concurrent_token_gets(100).await;
    assert_eq!(rig.sandbox.token_calls(), 1);
    assert!(tokens.windows(2).all(|w| w[0] == w[1]));
}

#[tokio::test]
async fn the_token_lease_excludes_others_until_it_runs_out_and_stale_tokens_expire_only_if_current()
{
    let table = table().await;
    let at = EpochMillis;
    let stale = |now: i64| EpochMillis(now + 300_000);
    assert!(
        table
            .try_lease("wx1", "a", at(NOW), at(NOW + 10_000), stale(NOW))
            .await
            .unwrap()
    );
    assert!(
        !table
            .try_lease("wx1", "b", at(NOW + 1), at(NOW + 10_001), stale(NOW + 1))
            .await
            .unwrap(),
        "a holds it"
    );
    assert!(
        table
            .try_lease(
                "wx1",
                "b",
                at(NOW + 10_001),
                at(NOW + 20_000),
                stale(NOW + 10_001)
            )
            .await
            .unwrap(),
        "a's lease ran out"
    );
    let first = StoredToken {
        token: AccessToken::new("token-1"),
        expires_at: EpochMillis(NOW + 7_200_000),
    };
    table.store("wx1", &first).await.unwrap();
    assert!(
        !table
            .try_lease(
                "wx1",
                "c",
                at(NOW + 10_002),
                at(NOW + 20_000),
                stale(NOW + 10_002)
            )
            .await
            .unwrap(),
        "a fresh token needs no refresh: whoever read before it landed must not refresh again"
    );
    assert!(
        table
            .try_lease(
                "wx1",
                "c",
                at(NOW + 6_900_001),
                at(NOW + 6_910_000),
                stale(NOW + 6_900_001)
            )
            .await
            .unwrap(),
        "storing gave the lease back; near expiry a refresh is due"
    );
    assert_eq!(table.read("wx1").await.unwrap(), Some(first.clone()));

    assert!(
        !table
            .expire_if_current("wx1", &AccessToken::new("token-0"))
            .await
            .unwrap(),
        "not the stored one"
    );
    assert_eq!(
        table.read("wx1").await.unwrap().unwrap().expires_at,
        first.expires_at
    );
    assert!(
        table
            .expire_if_current("wx1", &AccessToken::new("token-1"))
            .await
            .unwrap()
    );
    assert_eq!(
        table.read("wx1").await.unwrap().unwrap().expires_at,
        EpochMillis(0)
    );
    assert_eq!(table.read("wx-unknown").await.unwrap(), None);
}

#[tokio::test]
async fn quota_windows_are_conditional_counters() {
    quota_scenario(&table().await).await;
}

/// The in-memory store applies `send::quota` as is, DynamoDB as condition expressions: the same
/// scenario holds them to one definition.
#[tokio::test]
async fn quota_windows_in_memory_follow_the_same_rules() {
    quota_scenario(&MemoryTable::new()).await;
}

#[tokio::test]
async fn the_allowance_does_not_accumulate_on_dynamodb() {
    not_accumulated(&table().await).await;
}

#[tokio::test]
async fn the_allowance_does_not_accumulate_in_memory() {
    not_accumulated(&MemoryTable::new()).await;
}

/// WeChat's rule (「可发送客服消息条数不累加」): each action restores the count to its own
/// maximum; a message and an enter-session together allow 5 sends, not 5 + 2.
async fn not_accumulated(table: &dyn QuotaStore) {
    let user = &kefu_tests::openid("o-acc");
    let reserve = |now: i64, name: String| async move {
        table.reserve("wx1", user, now, &name).await.unwrap()
    };
    let open =
        |window, at: i64, opener: &'static str| table.open("wx1", user, window, at, opener, at);
    open(QuotaWindow::Message, NOW, "push-1").await.unwrap();
    open(QuotaWindow::Enter, NOW + 1_000, "push-2")
        .await
        .unwrap();
    let mut granted = 0;
    for n in 0..8 {
        if reserve(NOW + 2_000, format!("a{n}")).await.is_some() {
            granted += 1;
        }
    }
    assert_eq!(granted, 5, "a message and an enter-session: 5 sends, not 7");

    // After the fifth send, entering again restores 2 for its minute, no more.
    open(QuotaWindow::Enter, NOW + 10_000, "push-3")
        .await
        .unwrap();
    assert_eq!(
        reserve(NOW + 10_000, "b1".into()).await,
        Some(QuotaWindow::Enter)
    );
    assert_eq!(
        reserve(NOW + 10_001, "b2".into()).await,
        Some(QuotaWindow::Enter)
    );
    assert_eq!(reserve(NOW + 10_002, "b3".into()).await, None);
    // A refund gives the send back to every window that counted it.
    table.refund("wx1", user, "b2").await.unwrap();
    assert_eq!(
        reserve(NOW + 10_003, "b4".into()).await,
        Some(QuotaWindow::Enter)
    );
    assert_eq!(
        reserve(NOW + 10_000 + 60_000, "b5".into()).await,
        None,
        "the minute is over and the message's 5 are spent"
    );
}

async fn quota_scenario(table: &dyn QuotaStore) {
    let user = &kefu_tests::openid("o1");
    let reserve = |now: i64, name: &'static str| table.reserve("wx1", user, now, name);
    assert_eq!(reserve(NOW, "before").await.unwrap(), None, "no window yet");
    table
        .open("wx1", user, QuotaWindow::Message, NOW, "push-1", NOW)
        .await
        .unwrap();
    for name in ["m1", "m2", "m3", "m4", "m5"] {
        assert_eq!(
            reserve(NOW + 1, name).await.unwrap(),
            Some(QuotaWindow::Message)
        );
    }
    assert_eq!(reserve(NOW + 2, "m6").await.unwrap(), None, "a sixth send");
    table
        .open("wx1", user, QuotaWindow::Message, NOW, "push-1", NOW)
        .await
        .unwrap();
    assert_eq!(
        reserve(NOW + 3, "m7").await.unwrap(),
        None,
        "a redelivered job resets nothing"
    );
    table.refund("wx1", user, "never-made").await.unwrap();
    assert_eq!(
        reserve(NOW + 3, "m8").await.unwrap(),
        None,
        "a refund of a reservation never made gives nothing back"
    );
    for _ in 0..2 {
        // The SDK repeating the refund gives back one send, not two.
        table.refund("wx1", user, "m2").await.unwrap();
    }
    assert_eq!(
        reserve(NOW + 4, "m9").await.unwrap(),
        Some(QuotaWindow::Message),
        "refunded"
    );
    assert_eq!(
        reserve(NOW + 4, "m9").await.unwrap(),
        Some(QuotaWindow::Message),
        "the same reservation repeated (the SDK's retry) is granted again"
    );
    assert_eq!(
        reserve(NOW + 4, "m10").await.unwrap(),
        None,
        "and took only one send"
    );

    table
        .open("wx1", user, QuotaWindow::Enter, NOW + 5, "push-1", NOW)
        .await
        .unwrap();
    assert_eq!(
        reserve(NOW + 6, "e1").await.unwrap(),
        Some(QuotaWindow::Enter)
    );
    assert_eq!(
        reserve(NOW + 7, "e2").await.unwrap(),
        Some(QuotaWindow::Enter)
    );
    assert_eq!(reserve(NOW + 8, "e3").await.unwrap(), None);
    assert_eq!(
        reserve(NOW + 60_000 + 5, "e4").await.unwrap(),
        None,
        "the minute is over"
    );

    table
        .open("wx1", user, QuotaWindow::Message, NOW + 100, "push-1", NOW)
        .await
        .unwrap();
    assert_eq!(
        reserve(NOW + 48 * 3600 * 1000, "n1").await.unwrap(),
        Some(QuotaWindow::Message)
    );
    assert_eq!(
        reserve(NOW + 48 * 3600 * 1000 + 100, "n2").await.unwrap(),
        None,
        "48 h are over"
    );

    // Two messages in the same second (CreateTime has seconds): each restores the five.
    let at = NOW + 50 * 3600 * 1000;
    let open = |opener: &'static str| table.open("wx1", user, QuotaWindow::Message, at, opener, at);
    open("push-x").await.unwrap();
    for name in ["x1", "x2", "x3", "x4", "x5"] {
        assert!(reserve(at, name).await.unwrap().is_some());
    }
    assert_eq!(reserve(at, "x6").await.unwrap(), None);
    open("push-y").await.unwrap();
    assert_eq!(
        reserve(at, "y1").await.unwrap(),
        Some(QuotaWindow::Message),
        "the second message of the second reset the count"
    );
    open("push-x").await.unwrap();
    open("push-y").await.unwrap();
    for name in ["y2", "y3", "y4", "y5"] {
        assert!(reserve(at, name).await.unwrap().is_some(), "{name}");
    }
    assert_eq!(
        reserve(at, "y6").await.unwrap(),
        None,
        "their redeliveries reset nothing"
    );
}

/// Twelve concurrent reservations, through the serializing proxy (moto alone granted 6 or 7 of
/// 5 in 2 runs of 4: it does not make a conditional write atomic, DynamoDB does).
#[tokio::test]
async fn concurrent_reservations_never_exceed_the_quota() {
    let table = Arc::new(serialized_table().await);
    table
        .open(
            "wx1",
            &kefu_tests::openid("o1"),
            QuotaWindow::Message,
            NOW,
            "push-1",
            NOW,
        )
        .await
        .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..12 {
        let table = table.clone();
        tasks.spawn(async move {
            table
                .reserve("wx1", &kefu_tests::openid("o1"), NOW + 1, &format!("r{n}"))
                .await
                .unwrap()
        });
    }
    let mut granted = 0;
    while let Some(result) = tasks.join_next().await {
        granted += usize::from(result.unwrap().is_some());
    }
    assert_eq!(granted, 5);
}

#[tokio::test]
async fn media_ids_are_cached_until_they_expire() {
    let table = table().await;
    assert_eq!(
        table.get("wx1", "hash", EpochMillis(NOW)).await.unwrap(),
        None
    );
    table
        .put("wx1", "hash", "media-1", EpochMillis(NOW + 1_000))
        .await
        .unwrap();
    assert_eq!(
        table.get("wx1", "hash", EpochMillis(NOW)).await.unwrap(),
        Some("media-1".into())
    );
    assert_eq!(
        table
            .get("wx1", "hash", EpochMillis(NOW + 1_000))
            .await
            .unwrap(),
        None,
        "expired"
    );
    table.forget("wx1", "hash").await.unwrap();
    table
        .put("wx1", "hash", "media-2", EpochMillis(NOW + 1_000))
        .await
        .unwrap();
    table.forget("wx1", "hash").await.unwrap();
    assert_eq!(
        table.get("wx1", "hash", EpochMillis(NOW)).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_job_on_dynamodb_is_sent_once_however_often_it_is_delivered() {
    let rules = json!({"default": {"reply": [{"type": "text", "content": "收到"},
        {"type": "image", "source": {"file": "welcome.png"}}]}});
    let rig = SendRig::start(Arc::new(table().await), &rules).await;
    let (sandbox, worker) = (&rig.sandbox, &rig.sender);
    sandbox.user_message("o1");
    let message = Message::from_json(
        r#"{"ToUserName":"gh_1","FromUserName":"o1","CreateTime":1714112445,"MsgType":"text","Content":"你好","MsgId":42}"#,
    )
    .unwrap();
    let body = Job::new(sample::APPID, message, NOW).to_json();
    assert_eq!(
        worker.run(&body, NOW + 30_000).await.unwrap(),
        JobOutcome::Done {
            sent: 2,
            skipped: 0,
            maybe_sent: 0
        }
    );
    assert_eq!(
        worker.run(&body, NOW + 30_000).await.unwrap(),
        JobOutcome::Done {
            sent: 0,
            skipped: 2,
            maybe_sent: 0
        }
    );
    assert_eq!(sandbox.messages().len(), 2);
}

/// The questions kept for `kefu report`, on DynamoDB as in memory: one item per question under
/// its day's partition, read back by a Query per day (by app, or all apps), expired ones left
/// out, and keeping the same question again (a redelivered job) replaces it.
#[tokio::test]
async fn kept_questions_read_back_by_day_and_app_on_dynamodb_as_in_memory() {
    use kefu::ports::{AskedQuestion, QuestionLog};
    let dynamo = table().await;
    let memory = MemoryTable::new();
    let day = 86_400_000;
    let question = |appid: &str, at_ms: i64, text: &str| AskedQuestion {
        appid: appid.to_owned(),
        at_ms,
        asker: "0123456789abcdef".to_owned(),
        outcome: "unanswered".to_owned(),
        text: text.to_owned(),
    };
    let kept = [
        (
            question("wx1", NOW - 2 * day, "发票怎么开"),
            EpochSecs(NOW / 1000 + 86_400),
        ),
        (
            question("wx1", NOW, "钱能退吗"),
            EpochSecs(NOW / 1000 + 86_400),
        ),
        (
            question("wx2", NOW + 1, "我要退钱"),
            EpochSecs(NOW / 1000 + 86_400),
        ),
        // Already expired, not yet deleted by the TTL.
        (
            question("wx1", NOW + 2, "过期了"),
            EpochSecs(NOW / 1000 - 1),
        ),
    ];
    let stores: [&dyn QuestionLog; 2] = [&dynamo, &memory];
    for store in stores {
        for (q, expires_at) in &kept {
            store.keep(q, *expires_at).await.unwrap();
        }
        // Again: the same item.
        store.keep(&kept[1].0, kept[1].1).await.unwrap();
        let texts =
            |found: Vec<AskedQuestion>| found.into_iter().map(|q| q.text).collect::<Vec<_>>();
        assert_eq!(
            texts(
                store
                    .asked(None, NOW - 3 * day, NOW + day, NOW)
                    .await
                    .unwrap()
            ),
            ["发票怎么开", "钱能退吗", "我要退钱"]
        );
        assert_eq!(
            texts(
                store
                    .asked(Some("wx1"), NOW - day, NOW + day, NOW)
                    .await
                    .unwrap()
            ),
            ["钱能退吗"]
        );
        let read = store.asked(Some("wx2"), NOW, NOW + day, NOW).await.unwrap();
        assert_eq!(read, [kept[2].0.clone()]);
    }
}
