//! Learning from the conversations, through the reply function's send core: each user
//! message's outcome counted (rule, FAQ entry, suggested, unanswered, held back), and the text
//! of the unanswered and suggested questions kept — one small write each, none for an answered
//! one, never the openid, for `KEFU_UNANSWERED_DAYS` — then read back as `kefu report` does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::sync::Arc;
use std::time::Duration;

use kefu::job::Job;
use kefu::memory::MemoryTable;
use kefu::ports::{HandoffRegistry, QuestionLog};
use kefu::protocol::Message;
use kefu::sample;
use kefu::send::Sender;
use kefu_tests::send_rig::{NOW, SendRig, job};
use serde_json::json;

fn text_reply(content: &str) -> serde_json::Value {
    json!({"reply": [{"type": "text", "content": content}]})
}

fn rules() -> serde_json::Value {
    json!({
        "rules": [{"name": "hours", "match": {"contains": "营业时间"}, "action": text_reply("9:00-18:00")}],
        "faq": {"entries": [
            {"id": "refund", "questions": ["怎么申请退款", "如何退款", "退款流程是什么"],
             "action": text_reply("退款：我的-订单-申请退款")},
            {"id": "coupon-use", "questions": ["优惠券怎么用", "下单时怎么选优惠券"],
             "action": text_reply("结算页选择优惠券即可")},
            {"id": "coupon-get", "questions": ["优惠券在哪里领", "怎么领优惠券"],
             "action": text_reply("首页-领券中心")}
        ]},
        "default": text_reply("收到，我们会尽快回复")
    })
}

async fn run(sender: &Arc<Sender>, rig: &SendRig<MemoryTable>, body: String) {
    let failures = sender
        .run_batch(vec![("m".to_owned(), body)], rig.deadline())
        .await;
    assert!(failures.is_empty(), "{failures:?}");
}

async fn kept(table: &MemoryTable, appid: Option<&str>) -> Vec<(String, String)> {
    table
        .asked(appid, NOW - 86_400_000, NOW + 86_400_000, NOW)
        .await
        .unwrap()
        .into_iter()
        .map(|q| (q.outcome, q.text))
        .collect()
}

#[tokio::test]
async fn an_unanswered_question_costs_one_write_and_an_answered_one_none() {
    let rig = SendRig::start(Arc::new(MemoryTable::new()), &rules()).await;
    rig.sandbox.user_message("o1");
    // Warm the access_token so that the jobs below differ only by what they keep.
    run(&rig.sender, &rig, job("o1", "营业时间是几点", 1, NOW)).await;

    let calls = rig.table.calls();
    run(&rig.sender, &rig, job("o1", "营业时间到几点", 2, NOW)).await;
    let answered_by_rule = rig.table.calls() - calls;
    let calls = rig.table.calls();
    run(&rig.sender, &rig, job("o1", "如何申请退款", 3, NOW)).await;
    let answered_by_faq = rig.table.calls() - calls;
    let calls = rig.table.calls();
    run(&rig.sender, &rig, job("o1", "你们的发票怎么开", 4, NOW)).await;
    let unanswered = rig.table.calls() - calls;

    assert_eq!(
        answered_by_faq, answered_by_rule,
        "an answer writes nothing more"
    );
    assert_eq!(
        unanswered,
        answered_by_rule + 1,
        "one write for the kept question"
    );
    assert_eq!(
        kept(&rig.table, None).await,
        [("unanswered".to_owned(), "你们的发票怎么开".to_owned())]
    );
}

#[tokio::test]
async fn suggested_questions_are_kept_small_talk_and_picks_are_not() {
    let rig = SendRig::start(Arc::new(MemoryTable::new()), &rules()).await;
    rig.sandbox.user_message("o1");
    run(&rig.sender, &rig, job("o1", "优惠券", 1, NOW)).await;
    run(&rig.sender, &rig, job("o1", "1", 2, NOW + 1000)).await;
    run(&rig.sender, &rig, job("o1", "你好", 3, NOW + 2000)).await;
    run(&rig.sender, &rig, job("o1", "在吗？", 4, NOW + 3000)).await;
    assert_eq!(
        kept(&rig.table, Some(sample::APPID)).await,
        [("suggested".to_owned(), "优惠券".to_owned())]
    );
}

#[tokio::test]
async fn the_kept_question_names_no_user_and_a_redelivery_keeps_it_once() {
    let rig = SendRig::start(Arc::new(MemoryTable::new()), &rules()).await;
    rig.sandbox.user_message("oSecretUser");
    let body = job("oSecretUser", "发票抬头写错了能改吗", 1, NOW);
    run(&rig.sender, &rig, body.clone()).await;
    run(&rig.sender, &rig, body).await;
    run(
        &rig.sender,
        &rig,
        job("oSecretUser", "发票可以重开吗", 2, NOW + 1000),
    )
    .await;
    let asked = rig
        .table
        .asked(None, NOW - 1, NOW + 2000, NOW)
        .await
        .unwrap();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert_eq!(asked[0].asker, asked[1].asker, "the same user, one hash");
    assert_eq!(asked[0].asker.len(), 16);
    assert!(!format!("{asked:?}").contains("oSecretUser"));
    assert_eq!(asked[0].at_ms, NOW);
    assert_eq!(asked[0].appid, sample::APPID);
}

#[tokio::test]
async fn questions_expire_after_the_days_kept_and_zero_days_keeps_none() {
    let rig = SendRig::start(Arc::new(MemoryTable::new()), &rules()).await;
    rig.sandbox.user_message("o1");
    run(&rig.sender, &rig, job("o1", "你们的发票怎么开", 1, NOW)).await;
    let day = 86_400_000;
    let read_at = |now: i64| rig.table.asked(None, NOW - day, NOW + day, now);
    assert_eq!(read_at(NOW + 29 * day).await.unwrap().len(), 1);
    assert!(read_at(NOW + 30 * day + 1000).await.unwrap().is_empty());

    let none = Arc::new(MemoryTable::new());
    let sender = Arc::new(
        Arc::try_unwrap(rig.sender_on(none.clone(), &rules(), sample::APP_SECRET))
            .unwrap()
            .with_questions_kept(Duration::ZERO),
    );
    run(&sender, &rig, job("o1", "你们的发票怎么开", 2, NOW)).await;
    assert_eq!(rig.sandbox.messages().len(), 2, "answered all the same");
    assert!(kept(&none, None).await.is_empty());
}

fn job_of(appid: &str, openid: &str, content: &str, msg_id: u64) -> String {
    let message = Message::from_json(
        &json!({"ToUserName": sample::ORIGINAL_ID, "FromUserName": openid, "CreateTime": NOW / 1000,
                "MsgType": "text", "Content": content, "MsgId": msg_id})
        .to_string(),
    )
    .unwrap();
    Job::new(appid, message, NOW).to_json()
}

fn counted(appid: &str) -> Vec<(String, Option<String>, u64)> {
    kefu::metrics::tally()
        .into_iter()
        .filter(|(app, ..)| app == appid)
        .map(|(_, outcome, id, n)| (outcome, id, n))
        .collect()
}

#[tokio::test]
async fn every_user_message_is_counted_once_by_its_outcome() {
    kefu::metrics::set_enabled(false);
    // An app of its own: the tally is the process's.
    let appid = "wxlearn0000000001";
    let rig = SendRig::start(Arc::new(MemoryTable::new()), &rules()).await;
    let sender = Arc::new(kefu::compose::sender_on_table(
        rig.table.clone(),
        kefu::compose::SenderParts {
            appid: appid.to_owned(),
            ..parts(&rig)
        },
    ));
    for (n, (openid, text)) in [
        ("o1", "营业时间"),
        ("o1", "如何申请退款"),
        ("o1", "怎么退款"),
        ("o1", "优惠券"),
        ("o1", "2"),
        ("o1", "你们的发票怎么开"),
        ("o2", "你好"),
    ]
    .into_iter()
    .enumerate()
    {
        rig.sandbox.user_message(openid);
        run(&sender, &rig, job_of(appid, openid, text, n as u64)).await;
    }
    // WeChat refuses every reply to o3 (it never wrote, as far as the sandbox knows): the
    // answer is held back by the quota.
    run(&sender, &rig, job_of(appid, "o3", "营业时间", 50)).await;
    // o2 is with an agent: its message is held back.
    rig.table
        .record(
            appid,
            &kefu::protocol::OpenId::parse("o2").unwrap(),
            NOW,
            NOW + 3_600_000,
        )
        .await
        .unwrap();
    run(&sender, &rig, job_of(appid, "o2", "还在吗", 99)).await;
    let mut counts = counted(appid);
    counts.sort();
    assert_eq!(
        counts,
        [
            ("faq".to_owned(), Some("coupon-get".to_owned()), 1),
            ("faq".to_owned(), Some("refund".to_owned()), 2),
            ("held_handoff".to_owned(), None, 1),
            ("held_quota".to_owned(), None, 1),
            ("rule".to_owned(), Some("hours".to_owned()), 1),
            ("suggested".to_owned(), None, 1),
            ("unanswered".to_owned(), None, 2),
        ]
    );
}

fn parts(rig: &SendRig<MemoryTable>) -> kefu::compose::SenderParts {
    use kefu::ports::Clock;
    let clock: Arc<dyn Clock> = rig.clock.clone();
    kefu::compose::SenderParts {
        appid: sample::APPID.to_owned(),
        api: kefu_tests::send_rig::client(
            &rig.base,
            sample::APP_SECRET,
            kefu::send::budget::CALL_TIMEOUT,
        ),
        reader: Arc::new(
            kefu::assets::AssetReader::new(kefu_tests::send_rig::ASSETS, Duration::from_secs(5))
                .unwrap(),
        ),
        rules: Arc::new(kefu::rule_cache::RuleCache::new(
            Arc::new(kefu::memory::StaticRules::new(
                kefu::rules::RuleSet::from_json(&rules().to_string()).unwrap(),
            )),
            clock.clone(),
            Duration::from_secs(30),
        )),
        clock,
        token_kind: kefu::wechat_types::TokenKind::Stable,
        owner: "instance-1".into(),
    }
}

/// receive counts what never reaches the reply function: a transfer (by its rule) and a user
/// message nothing answers when there is no default (silent).
#[tokio::test]
async fn receive_counts_transfers_and_silent_messages() {
    use kefu::clock::ManualClock;
    use kefu::compose::MemoryStack;
    use kefu::memory::StaticRules;
    use kefu::protocol::{AesKey, Credentials, Format, Mode, Token};
    use kefu::receive::{PushRequest, ReceiveSettings};
    use kefu::rules::RuleSet;
    use kefu_tests::pushes::{AppKeys, Framing, app_text_push};

    kefu::metrics::set_enabled(false);
    let appid = "wxlearn0000000002";
    let rules =
        json!({"rules": [{"name": "human", "match": {"exact": "人工"}, "action": "transfer"}]});
    let stack = MemoryStack::new(
        StaticRules::new(RuleSet::from_json(&rules.to_string()).unwrap()),
        Arc::new(ManualClock::at(NOW)),
        Duration::from_secs(30),
    );
    let credentials = Credentials {
        token: Token::new(sample::TOKEN),
        aes_key: AesKey::from_encoding_aes_key(sample::ENCODING_AES_KEY).ok(),
        appid: appid.to_owned(),
    };
    let receiver = stack.receiver(ReceiveSettings::new(credentials.clone()));
    for (content, msg_id) in [("人工", 1), ("随便说说", 2), ("人工", 3)] {
        let app = AppKeys {
            appid,
            token: sample::TOKEN,
            encoding_aes_key: sample::ENCODING_AES_KEY,
        };
        let framing = Framing {
            mode: Mode::Safe,
            format: Format::Json,
            timestamp: NOW / 1000,
            nonce: &format!("n{msg_id}"),
        };
        let push = app_text_push(app, &format!("o{msg_id}"), content, msg_id, framing);
        let answer = receiver
            .handle(PushRequest {
                method: "POST",
                query: &push.query,
                body: push.body.as_bytes(),
            })
            .await;
        assert_eq!(answer.status, 200, "{content}: {}", answer.body);
    }
    let mut counts = counted(appid);
    counts.sort();
    assert_eq!(
        counts,
        [
            ("silent".to_owned(), None, 1),
            ("transferred".to_owned(), Some("human".to_owned()), 2),
        ]
    );
}
