//! The knowledge base end to end: what users ask in their own words answered by the FAQ entry,
//! 「您是不是想问」 suggestions when unsure and the numbered reply that picks one, small talk left
//! to the default, and an entry that hands the user to an agent — through the reply function's
//! send core into the WeChat sandbox, and through receive's push path.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::sync::Arc;
use std::time::Duration;

use kefu::clock::ManualClock;
use kefu::compose::MemoryStack;
use kefu::memory::{MemoryTable, StaticRules};
use kefu::protocol::{Format, Mode};
use kefu::receive::{PushRequest, ReceiveSettings};
use kefu::rules::RuleSet;
use kefu::sample;
use kefu_tests::pushes::{Framing, text_push};
use kefu_tests::send_rig::{NOW, SendRig, job};
use serde_json::json;

fn text_reply(content: &str) -> serde_json::Value {
    json!({"reply": [{"type": "text", "content": content}]})
}

fn rules() -> serde_json::Value {
    json!({
        "rules": [{"name": "human", "match": {"exact": "人工"}, "action": "transfer"}],
        "faq": {"entries": [
            {"id": "refund", "questions": ["怎么申请退款", "如何退款", "退款流程是什么"],
             "action": text_reply("退款：我的-订单-申请退款")},
            {"id": "coupon-use", "questions": ["优惠券怎么用", "下单时怎么选优惠券"],
             "action": text_reply("结算页选择优惠券即可")},
            {"id": "coupon-get", "questions": ["优惠券在哪里领", "怎么领优惠券"],
             "action": text_reply("首页-领券中心")},
            {"id": "complaint", "questions": ["我要投诉", "服务太差了要投诉"],
             "action": "transfer"}
        ]},
        "default": text_reply("收到，我们会尽快回复")
    })
}

async fn reply_to(rig: &SendRig<MemoryTable>, content: &str, msg_id: u64) -> Vec<String> {
    let before = rig.sandbox.messages().len();
    let failures = rig
        .sender
        .run_batch(
            vec![("m".to_owned(), job("o1", content, msg_id, NOW))],
            rig.deadline(),
        )
        .await;
    assert!(failures.is_empty(), "{content}: {failures:?}");
    rig.sandbox.messages()[before..]
        .iter()
        .map(|m| m.body["text"]["content"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn a_question_in_the_users_own_words_gets_the_entrys_answer() {
    let rig = SendRig::start(Arc::new(MemoryTable::new()), &rules()).await;
    rig.sandbox.user_message("o1");
    assert_eq!(
        reply_to(&rig, "东西不想要了，钱能退吗", 1).await,
        ["退款：我的-订单-申请退款"]
    );
}

#[tokio::test]
async fn small_talk_gets_the_default_not_a_confident_wrong_answer() {
    let rig = SendRig::start(Arc::new(MemoryTable::new()), &rules()).await;
    rig.sandbox.user_message("o1");
    for (n, chatter) in ["在吗", "你好", "谢谢", "今天天气怎么样"]
        .iter()
        .enumerate()
    {
        assert_eq!(
            reply_to(&rig, chatter, 10 + n as u64).await,
            ["收到，我们会尽快回复"],
            "{chatter}"
        );
    }
}

#[tokio::test]
async fn an_unsure_match_suggests_and_the_numbered_reply_gets_the_pick() {
    let rig = SendRig::start(Arc::new(MemoryTable::new()), &rules()).await;
    rig.sandbox.user_message("o1");
    let suggestion = reply_to(&rig, "优惠券", 20).await;
    assert_eq!(suggestion.len(), 1, "{suggestion:?}");
    let lines: Vec<&str> = suggestion[0].lines().collect();
    assert_eq!(lines.first(), Some(&"您是不是想问："), "{suggestion:?}");
    assert_eq!(lines.last(), Some(&"回复数字即可"));
    let picked = lines
        .iter()
        .position(|l| l.ends_with("优惠券在哪里领"))
        .expect("coupon-get suggested");
    // The user answers with that line's number (「1」 is the first suggestion).
    let number = lines[picked].split('.').next().unwrap().to_owned();
    rig.sandbox.user_message("o1");
    assert_eq!(reply_to(&rig, &number, 21).await, ["首页-领券中心"]);
}

#[tokio::test]
async fn a_number_with_no_suggestion_offered_gets_the_default() {
    let rig = SendRig::start(Arc::new(MemoryTable::new()), &rules()).await;
    rig.sandbox.user_message("o1");
    assert_eq!(reply_to(&rig, "2", 30).await, ["收到，我们会尽快回复"]);
}

#[tokio::test]
async fn rules_come_first_and_an_entry_may_hand_the_user_to_an_agent() {
    let clock = Arc::new(ManualClock::at(NOW));
    let set = RuleSet::from_json(&rules().to_string()).unwrap();
    let stack = MemoryStack::new(
        StaticRules::new(set),
        clock.clone(),
        Duration::from_secs(30),
    );
    let receiver = stack.receiver(ReceiveSettings::new(sample::credentials()));
    let push = |content: &str, msg_id: u64| {
        let nonce = format!("n{msg_id}");
        let framing = Framing {
            mode: Mode::Safe,
            format: Format::Json,
            timestamp: NOW / 1000,
            nonce: &nonce,
        };
        text_push(sample::OPENID, content, msg_id, framing)
    };
    for (content, msg_id) in [("你们服务太差了，我要投诉！", 40), ("人工", 41)] {
        let push = push(content, msg_id);
        let answer = receiver
            .handle(PushRequest {
                method: "POST",
                query: &push.query,
                body: push.body.as_bytes(),
            })
            .await;
        assert_eq!(answer.status, 200, "{content}");
        assert!(
            answer.body.contains("Encrypt"),
            "{content}: a sealed transfer, not success"
        );
    }
    assert!(stack.queue.pending().is_empty(), "transfers: no job");
}
