//! The reply path end to end through the function's own handler (`reply::handle`): jobs in an
//! SQS event, rules, the shared access_token, custom/send into the project's WeChat sandbox,
//! which enforces WeChat's token, quota and body rules.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use kefu::memory::MemoryTable;
use kefu::ports::HandoffRegistry;
use kefu::protocol::OpenId;
use kefu::sample;
use kefu::send::{JobOutcome, Silence};
use kefu_sandbox::{Endpoint, Fault};
use kefu_tests::lambda_events::{Record, sqs_event};
use kefu_tests::send_rig::{NOW, SendRig, event_job, job, text_rules};
use serde_json::json;

type Rig = SendRig<MemoryTable>;

async fn rig(rules: serde_json::Value) -> Rig {
    SendRig::start(Arc::new(MemoryTable::new()), &rules).await
}

fn sqs(records: &[(&str, &str)]) -> SqsEvent {
    let records: Vec<Record<'_>> = records
        .iter()
        .map(|(id, body)| Record::new(id, body))
        .collect();
    sqs_event(&records)
}

async fn failures(rig: &Rig, records: &[(&str, &str)]) -> Vec<String> {
    reply::handle(&rig.apps(), sqs(records), rig.deadline())
        .await
        .batch_item_failures
        .into_iter()
        .map(|f| f.item_identifier)
        .collect()
}

#[tokio::test]
async fn every_reply_type_reaches_wechat_with_the_documented_body() {
    let rig = rig(json!({"rules": [{"name": "all", "match": {"exact": "all"}, "action": {"reply": [
        {"type": "text", "content": "你好"},
        {"type": "image", "source": {"file": "welcome.png"}},
        {"type": "link", "title": "帮助中心", "description": "常见问题", "url": "https://example.com/help", "thumb_url": "https://example.com/t.png"},
        {"type": "miniprogrampage", "title": "商品", "pagepath": "pages/item/item?id=1", "thumb": {"file": "card-thumb.png"}}
    ]}}]}))
    .await;
    let openid = "o-all-types";
    rig.sandbox.user_message(openid);
    assert!(
        failures(&rig, &[("m1", &job(openid, "all", 1, NOW))])
            .await
            .is_empty()
    );

    let sent = rig.sandbox.messages();
    let bodies: Vec<_> = sent.iter().map(|m| m.body.clone()).collect();
    assert_eq!(bodies.len(), 4, "{bodies:#?}");
    assert_eq!(
        bodies[0],
        json!({"touser": openid, "msgtype": "text", "text": {"content": "你好"}})
    );
    let image_id = bodies[1]["image"]["media_id"].as_str().unwrap();
    assert!(rig.sandbox.media_exists(image_id));
    assert_eq!(
        bodies[1],
        json!({"touser": openid, "msgtype": "image", "image": {"media_id": image_id}})
    );
    assert_eq!(
        bodies[2],
        json!({"touser": openid, "msgtype": "link", "link": {"title": "帮助中心", "description": "常见问题",
               "url": "https://example.com/help", "thumb_url": "https://example.com/t.png"}})
    );
    let thumb_id = bodies[3]["miniprogrampage"]["thumb_media_id"]
        .as_str()
        .unwrap();
    assert!(rig.sandbox.media_exists(thumb_id));
    assert_ne!(thumb_id, image_id);
    assert_eq!(
        bodies[3],
        json!({"touser": openid, "msgtype": "miniprogrampage", "miniprogrampage": {"title": "商品",
               "pagepath": "pages/item/item?id=1", "thumb_media_id": thumb_id}})
    );
    assert!(
        rig.sandbox.counts().keys().all(|code| *code == 0),
        "no WeChat error: {:?}",
        rig.sandbox.counts()
    );
}

#[tokio::test]
async fn uploaded_images_are_reused_across_jobs() {
    let rig = rig(json!({"rules": [], "default": {"reply": [{"type": "image", "source": {"file": "welcome.png"}}]}})).await;
    rig.sandbox.user_message("o1");
    failures(&rig, &[("a", &job("o1", "x", 1, NOW))]).await;
    rig.sandbox.user_message("o2");
    failures(&rig, &[("b", &job("o2", "y", 2, NOW))]).await;
    let ids: Vec<_> = rig
        .sandbox
        .messages()
        .iter()
        .map(|m| m.body["image"]["media_id"].clone())
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0], ids[1], "one upload, reused");
}

#[tokio::test]
async fn a_hundred_concurrent_workers_make_one_token_call() {
    let rig = rig(text_rules(1)).await;
    let tokens = rig.concurrent_token_gets(100).await;
    assert_eq!(rig.sandbox.token_calls(), 1);
    assert!(
        tokens.windows(2).all(|w| w[0] == w[1]),
        "everyone uses the same token"
    );
}

#[tokio::test]
async fn stale_token_is_refreshed_once_and_the_send_retried() {
    let rig = rig(text_rules(1)).await;
    rig.sandbox.user_message("o1");
    assert!(
        failures(&rig, &[("a", &job("o1", "x", 1, NOW))])
            .await
            .is_empty()
    );
    assert_eq!(rig.sandbox.token_calls(), 1);

    rig.sandbox.revoke_tokens();
    rig.sandbox.user_message("o1");
    assert!(
        failures(&rig, &[("b", &job("o1", "y", 2, NOW + 1))])
            .await
            .is_empty()
    );
    assert_eq!(rig.sandbox.token_calls(), 2, "one refresh");
    assert_eq!(
        rig.sandbox.messages().len(),
        2,
        "the send was retried with the new token"
    );
    assert_eq!(rig.sandbox.counts().get(&40001), Some(&1));
}

#[tokio::test]
async fn a_second_stale_token_answer_is_a_transient_failure_not_a_loop() {
    let rig = rig(text_rules(1)).await;
    rig.sandbox.user_message("o1");
    rig.sandbox.inject(Endpoint::Send, Fault::Errcode(40001), 5);
    assert_eq!(
        failures(&rig, &[("a", &job("o1", "x", 1, NOW))]).await,
        vec!["a"]
    );
    assert_eq!(
        rig.sandbox.counts().get(&40001),
        Some(&2),
        "first try and one retry, no more"
    );
    assert_eq!(rig.sandbox.token_calls(), 2);
    assert!(rig.sandbox.messages().is_empty());
}

#[tokio::test]
async fn the_same_sqs_message_delivered_twice_sends_once() {
    let rig = rig(text_rules(2)).await;
    rig.sandbox.user_message("o1");
    let body = job("o1", "x", 1, NOW);
    assert!(failures(&rig, &[("a", &body)]).await.is_empty());
    assert!(failures(&rig, &[("a", &body)]).await.is_empty());
    assert_eq!(
        rig.sandbox.messages().len(),
        2,
        "two replies, each sent once"
    );
}

#[tokio::test]
async fn a_sixth_reply_in_a_window_is_not_sent_and_is_counted() {
    let rig = rig(json!({
        "rules": [{"name": "closed", "match": {"event": "kf_close_session"}, "action": {"reply": [{"type": "text", "content": "谢谢"}]}}],
        "default": {"reply": [
            {"type": "text", "content": "1"}, {"type": "text", "content": "2"}, {"type": "text", "content": "3"},
            {"type": "text", "content": "4"}, {"type": "text", "content": "5"}]}
    }))
    .await;
    rig.sandbox.user_message("o1");
    assert!(
        failures(&rig, &[("a", &job("o1", "x", 1, NOW))])
            .await
            .is_empty()
    );
    assert_eq!(rig.sandbox.messages().len(), 5);
    // An event opens no window: its reply would be the sixth.
    let outcome = rig
        .sender
        .run(
            &event_job("o1", "kf_close_session", NOW + 1_000),
            rig.deadline(),
        )
        .await
        .unwrap();
    assert_eq!(
        outcome,
        JobOutcome::Done {
            sent: 0,
            skipped: 1,
            maybe_sent: 0
        }
    );
    assert_eq!(rig.sandbox.messages().len(), 5, "not sent");
    assert!(
        !rig.sandbox.counts().contains_key(&45047),
        "skipped before WeChat had to refuse it"
    );
}

#[tokio::test]
async fn quota_refusals_from_wechat_are_terminal() {
    let rig = rig(text_rules(1)).await;
    // The user never wrote to the sandbox's WeChat: 45015, outside the window.
    let body = job("o-silent", "x", 1, NOW);
    assert!(
        failures(&rig, &[("a", &body)]).await.is_empty(),
        "not retried"
    );
    assert_eq!(rig.sandbox.counts().get(&45015), Some(&1));
    assert!(failures(&rig, &[("a", &body)]).await.is_empty());
    assert_eq!(
        rig.sandbox.counts().get(&45015),
        Some(&1),
        "a redelivery does not call WeChat again"
    );
}

#[tokio::test]
async fn a_rule_answering_an_agent_event_is_sent_during_the_hold_it_starts() {
    // 「客服已接入」 when an agent joins: the hold silences the answers to the user's own
    // messages, not a rule that names the agent's event.
    let rules = serde_json::json!({
        "rules": [{"name": "joined", "match": {"event": "kf_create_session"},
                   "action": {"reply": [{"type": "text", "content": "客服已接入"}]}}],
        "default": {"reply": [{"type": "text", "content": "auto"}]}
    });
    let rig = rig(rules).await;
    rig.sandbox.user_message("o1");
    rig.table
        .record(
            sample::APPID,
            &OpenId::parse("o1").unwrap(),
            NOW,
            NOW + 30 * 60 * 1000,
        )
        .await
        .unwrap();
    // The user's own message during the hold: silenced (it still opens their quota window).
    let text = rig
        .sender
        .run(&job("o1", "x", 1, NOW), rig.deadline())
        .await
        .unwrap();
    assert_eq!(text, JobOutcome::Nothing(Silence::AgentHoldsSession));
    let joined = rig
        .sender
        .run(
            &event_job("o1", "kf_create_session", NOW + 1_000),
            rig.deadline(),
        )
        .await
        .unwrap();
    assert_eq!(
        joined,
        JobOutcome::Done {
            sent: 1,
            skipped: 0,
            maybe_sent: 0
        }
    );
    let sent: Vec<_> = rig
        .sandbox
        .messages()
        .iter()
        .map(|m| m.body["text"]["content"].clone())
        .collect();
    assert_eq!(sent, ["客服已接入"]);
}

#[tokio::test]
async fn nothing_automatic_is_sent_while_an_agent_holds_the_session() {
    let rig = rig(text_rules(1)).await;
    rig.sandbox.user_message("o1");
    rig.table
        .record(
            sample::APPID,
            &OpenId::parse("o1").unwrap(),
            NOW,
            NOW + 30 * 60 * 1000,
        )
        .await
        .unwrap();
    let outcome = rig
        .sender
        .run(&job("o1", "x", 1, NOW), rig.deadline())
        .await
        .unwrap();
    assert_eq!(outcome, JobOutcome::Nothing(Silence::AgentHoldsSession));
    rig.clock.advance(31 * 60 * 1000);
    rig.sandbox.user_message("o1");
    let outcome = rig
        .sender
        .run(&job("o1", "y", 2, NOW + 31 * 60 * 1000), rig.deadline())
        .await
        .unwrap();
    assert_eq!(
        outcome,
        JobOutcome::Done {
            sent: 1,
            skipped: 0,
            maybe_sent: 0
        }
    );
}

#[tokio::test]
async fn a_batch_of_ten_users_with_one_fault_sends_nine_and_reports_one() {
    let rig = rig(text_rules(1)).await;
    let bodies: Vec<(String, String)> = (0..10)
        .map(|n| {
            let openid = format!("o{n}");
            rig.sandbox.user_message(&openid);
            (format!("m{n}"), job(&openid, "x", n, NOW))
        })
        .collect();
    // Warm the token so the fault lands on a send.
    rig.sender
        .run(&job("o0", "warm", 100, NOW), rig.deadline())
        .await
        .unwrap();
    let before = rig.sandbox.messages().len();
    rig.sandbox.inject(Endpoint::Send, Fault::Http(500), 1);
    let records: Vec<(&str, &str)> = bodies
        .iter()
        .map(|(id, body)| (id.as_str(), body.as_str()))
        .collect();
    let failed = failures(&rig, &records).await;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(rig.sandbox.messages().len() - before, 9);

    // The retry of the failed one goes through.
    let retry: Vec<(&str, &str)> = records
        .iter()
        .filter(|(id, _)| failed.contains(&id.to_string()))
        .copied()
        .collect();
    assert!(failures(&rig, &retry).await.is_empty());
    assert_eq!(rig.sandbox.messages().len() - before, 10);
}

#[tokio::test]
async fn transient_wechat_errors_are_retried_and_permanent_ones_are_not() {
    let rig = rig(text_rules(1)).await;
    rig.sandbox.user_message("o1");
    for code in [-1, 45009] {
        rig.sandbox.inject(Endpoint::Send, Fault::Errcode(code), 1);
        let body = job("o1", "x", u64::try_from(code.abs()).unwrap(), NOW);
        assert_eq!(
            failures(&rig, &[("a", &body)]).await,
            vec!["a"],
            "errcode {code}"
        );
        assert!(
            failures(&rig, &[("a", &body)]).await.is_empty(),
            "errcode {code}: the retry sends"
        );
    }
    rig.sandbox.inject(Endpoint::Send, Fault::Errcode(48001), 1);
    assert!(
        failures(&rig, &[("p", &job("o1", "y", 3, NOW))])
            .await
            .is_empty(),
        "48001 is not retried"
    );
}

#[tokio::test]
async fn one_users_jobs_keep_their_order_and_stop_behind_a_failure() {
    let rig = rig(text_rules(1)).await;
    rig.sandbox.user_message("o1");
    rig.sender
        .run(&job("o1", "warm", 100, NOW), rig.deadline())
        .await
        .unwrap();
    let before = rig.sandbox.messages().len();
    rig.sandbox.inject(Endpoint::Send, Fault::Errcode(-1), 1);
    let (first, second) = (
        job("o1", "first", 1, NOW + 1),
        job("o1", "second", 2, NOW + 2),
    );
    let failed = failures(&rig, &[("1", &first), ("2", &second)]).await;
    assert_eq!(failed, vec!["1", "2"], "the second waits for the first");
    assert_eq!(rig.sandbox.messages().len(), before);
}

#[tokio::test]
async fn unknown_job_versions_and_malformed_bodies_are_dropped_not_retried() {
    let rig = rig(text_rules(1)).await;
    let mut future: serde_json::Value = serde_json::from_str(&job("o1", "x", 1, NOW)).unwrap();
    future["v"] = json!(99);
    let future = future.to_string();
    assert!(
        failures(&rig, &[("f", &future), ("g", "not json")])
            .await
            .is_empty()
    );
    assert!(
        matches!(rig.sender.run(&future, rig.deadline()).await.unwrap(), JobOutcome::Dropped(reason) if reason.to_string().contains("99"))
    );
    assert!(rig.sandbox.messages().is_empty());
}

#[tokio::test]
async fn the_sqs_events_in_events_send_what_the_sample_rules_say() {
    let sample_rules: serde_json::Value = serde_json::from_str(sample::RULES_JSON).unwrap();
    let rig = rig(sample_rules.clone()).await;
    rig.sandbox.user_message(sample::OPENID);
    rig.sandbox.user_entered(sample::OPENID);
    let welcome = sample_rules["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "welcome")
        .unwrap();
    let cases = [
        (
            "sqs-reply-text.json",
            sample_rules["default"]["reply"][0]["content"].clone(),
        ),
        (
            "sqs-reply-welcome.json",
            welcome["action"]["reply"][0]["content"].clone(),
        ),
    ];
    for (file, expected) in cases {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/").to_owned() + file;
        let event: SqsEvent =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let response = reply::handle(&rig.apps(), event, rig.deadline()).await;
        assert!(response.batch_item_failures.is_empty(), "{file}");
        let last = rig.sandbox.messages().last().cloned().unwrap();
        assert_eq!(last.openid, sample::OPENID, "{file}");
        assert_eq!(last.body["text"]["content"], expected, "{file}");
    }
    assert_eq!(rig.sandbox.messages().len(), 2);
}

/// Log lines written while a test runs.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_never_contain_the_access_token_or_app_secret() {
    let rig = rig(text_rules(1)).await;
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    rig.sandbox.user_message("o1");
    assert!(
        failures(&rig, &[("a", &job("o1", "x", 1, NOW))])
            .await
            .is_empty()
    );
    rig.sandbox.revoke_tokens(); // a stale token: refreshed and logged about
    rig.sandbox.inject(Endpoint::Send, Fault::Http(500), 1); // a transient failure, logged
    rig.sandbox.user_message("o1");
    assert_eq!(
        failures(&rig, &[("b", &job("o1", "y", 2, NOW + 1))]).await,
        vec!["b"]
    );
    assert!(
        failures(&rig, &[("b", &job("o1", "y", 2, NOW + 1))])
            .await
            .is_empty()
    );

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("access_token stale"),
        "the scenario was logged: {logs}"
    );
    let tokens: std::collections::HashSet<String> = rig
        .sandbox
        .messages()
        .into_iter()
        .map(|m| m.access_token)
        .collect();
    assert_eq!(tokens.len(), 2, "two tokens were used");
    for token in tokens {
        assert!(!logs.contains(&token), "an access_token reached the logs");
    }
    assert!(
        !logs.contains(sample::APP_SECRET),
        "the AppSecret reached the logs"
    );
}

#[tokio::test]
async fn a_token_refused_by_wechat_is_retried_not_dropped() {
    let rig = rig(text_rules(1)).await;
    // The deployment's AppSecret is wrong: stable_token answers 40125 for every job.
    let worker = rig.sender_on(
        Arc::new(MemoryTable::new()),
        &text_rules(1),
        "not-the-secret",
    );
    rig.sandbox.user_message("o1");
    let result = worker.run(&job("o1", "x", 1, NOW), rig.deadline()).await;
    assert!(
        result.is_err(),
        "a job that cannot get a token is retried (and ends in the DLQ), got {result:?}"
    );
    assert_eq!(rig.sandbox.counts().get(&40125), Some(&1));
}

#[tokio::test]
async fn a_duplicate_job_for_the_same_push_does_not_reset_the_quota() {
    let rig = rig(text_rules(5)).await;
    rig.sandbox.user_message("o1");
    assert!(
        failures(&rig, &[("a", &job("o1", "x", 1, NOW))])
            .await
            .is_empty()
    );
    // receive enqueued the same push again later (a WeChat retry after a lost answer): same
    // CreateTime, a later received_at. Its replies are already sent; a new message is not.
    let mut again: serde_json::Value = serde_json::from_str(&job("o1", "x", 1, NOW)).unwrap();
    again["received_at"] = json!(NOW + 60_000);
    again["key"] = json!("push#other-key");
    let outcome = rig
        .sender
        .run(&again.to_string(), rig.deadline())
        .await
        .unwrap();
    assert_eq!(
        outcome,
        JobOutcome::Done {
            sent: 0,
            skipped: 5,
            maybe_sent: 0
        },
        "the window was not reopened"
    );
    assert_eq!(rig.sandbox.messages().len(), 5);
}

#[tokio::test]
async fn a_send_whose_answer_broke_off_is_counted_as_maybe_sent_and_never_sent_again() {
    let rig = rig(text_rules(1)).await;
    rig.sandbox.user_message("o1");
    rig.sandbox.inject(Endpoint::Send, Fault::AcceptThenDrop, 1);
    let body = job("o1", "x", 1, NOW);
    let first = rig.sender.run(&body, rig.deadline()).await.unwrap();
    assert_eq!(
        first,
        JobOutcome::Done {
            sent: 0,
            skipped: 0,
            maybe_sent: 1
        }
    );
    assert_eq!(rig.sandbox.messages().len(), 1, "it did reach the user");
    // SQS delivers the job again (a redelivery, or a duplicate job): nothing is resent.
    let again = rig.sender.run(&body, rig.deadline()).await.unwrap();
    assert_eq!(
        again,
        JobOutcome::Done {
            sent: 0,
            skipped: 1,
            maybe_sent: 0
        }
    );
    assert_eq!(rig.sandbox.messages().len(), 1, "never twice");
}

#[tokio::test]
async fn a_send_whose_answer_came_too_late_is_not_sent_again() {
    let rig = SendRig::start_with_timeout(
        Arc::new(MemoryTable::new()),
        &text_rules(1),
        std::time::Duration::from_millis(300),
    )
    .await;
    rig.sandbox.user_message("o1");
    rig.sandbox.inject(
        Endpoint::Send,
        Fault::AcceptThenHang(std::time::Duration::from_millis(900)),
        1,
    );
    let body = job("o1", "x", 1, NOW);
    assert!(
        failures(&rig, &[("a", &body)]).await.is_empty(),
        "not retried"
    );
    assert!(failures(&rig, &[("a", &body)]).await.is_empty());
    // Let the hanging answer finish, then count what reached the user.
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(rig.sandbox.messages().len(), 1, "never twice");
}

#[tokio::test]
async fn a_send_that_never_reached_wechat_is_retried() {
    let rig = rig(text_rules(1)).await;
    rig.sandbox.user_message("o1");
    // A server that is not there: the connection is refused, nothing was sent.
    let unreachable = rig.sender_on_base(
        "http://127.0.0.1:9",
        Arc::new(MemoryTable::new()),
        &text_rules(1),
    );
    let result = unreachable
        .run(&job("o1", "x", 1, NOW), rig.deadline())
        .await;
    assert!(result.is_err(), "retried by SQS, got {result:?}");
}

#[tokio::test]
async fn no_send_starts_that_could_not_finish_before_the_deadline() {
    let rig = rig(text_rules(2)).await;
    rig.sandbox.user_message("o1");
    let body = job("o1", "x", 1, NOW);
    let near = NOW + 10_000; // 10 s left: less than a message's worst case
    let result = rig.sender.run(&body, near).await;
    assert!(
        matches!(result, Err(kefu::send::Retry::Deadline { left: 2 })),
        "{result:?}"
    );
    assert!(rig.sandbox.messages().is_empty());
    // The redelivery, in a fresh invocation, sends both.
    let outcome = rig.sender.run(&body, rig.deadline()).await.unwrap();
    assert_eq!(
        outcome,
        JobOutcome::Done {
            sent: 2,
            skipped: 0,
            maybe_sent: 0
        }
    );
}

#[tokio::test]
async fn a_user_is_welcomed_once_per_interval_and_a_redelivery_still_sends() {
    let welcome_rules = json!({"rules": [{"name": "welcome", "match": {"event": "user_enter_tempsession"},
        "action": {"reply": [{"type": "text", "content": "你好"}]}}]});
    let rig = rig(welcome_rules).await;
    let enter = |at: i64| event_job("o1", "user_enter_tempsession", at);
    rig.sandbox.user_entered("o1");
    let done = JobOutcome::Done {
        sent: 1,
        skipped: 0,
        maybe_sent: 0,
    };
    assert_eq!(
        rig.sender.run(&enter(NOW), rig.deadline()).await.unwrap(),
        done
    );
    // Out and back in 3 minutes later: not welcomed again.
    rig.clock.advance(3 * 60 * 1000);
    rig.sandbox.user_entered("o1");
    assert_eq!(
        rig.sender
            .run(&enter(NOW + 3 * 60 * 1000), rig.deadline())
            .await
            .unwrap(),
        JobOutcome::Nothing(Silence::WelcomedRecently)
    );
    // The first job redelivered (SQS) keeps its slot; its send is already settled.
    assert_eq!(
        rig.sender.run(&enter(NOW), rig.deadline()).await.unwrap(),
        JobOutcome::Done {
            sent: 0,
            skipped: 1,
            maybe_sent: 0
        }
    );
    // 10 minutes after the welcome: welcomed again.
    rig.clock.advance(8 * 60 * 1000);
    rig.sandbox.user_entered("o1");
    assert_eq!(
        rig.sender
            .run(&enter(NOW + 11 * 60 * 1000), rig.deadline())
            .await
            .unwrap(),
        done
    );
    assert_eq!(rig.sandbox.messages().len(), 2);
}

#[tokio::test]
async fn a_failed_welcome_is_retried_at_once_inside_its_minute() {
    let rig = rig(
        json!({"rules": [{"name": "welcome", "match": {"event": "user_enter_tempsession"},
        "action": {"reply": [{"type": "text", "content": "欢迎"}]}}]}),
    )
    .await;
    rig.sandbox.user_entered("o1");
    rig.sandbox.inject(Endpoint::Send, Fault::Errcode(-1), 1);
    let outcome = rig
        .sender
        .run(
            &event_job("o1", "user_enter_tempsession", NOW),
            rig.deadline(),
        )
        .await
        .unwrap();
    assert_eq!(
        outcome,
        JobOutcome::Done {
            sent: 1,
            skipped: 0,
            maybe_sent: 0
        },
        "a redelivery would come after the minute and be refused"
    );
    assert_eq!(rig.sandbox.messages().len(), 1);
}

#[tokio::test]
async fn a_welcome_that_keeps_failing_is_settled_not_left_to_a_late_redelivery() {
    let rig = rig(
        json!({"rules": [{"name": "welcome", "match": {"event": "user_enter_tempsession"},
        "action": {"reply": [{"type": "text", "content": "欢迎"}]}}]}),
    )
    .await;
    rig.sandbox.user_entered("o1");
    rig.sandbox.inject(Endpoint::Send, Fault::Errcode(-1), 3);
    let outcome = rig
        .sender
        .run(
            &event_job("o1", "user_enter_tempsession", NOW),
            rig.deadline(),
        )
        .await
        .unwrap();
    assert_eq!(
        outcome,
        JobOutcome::Done {
            sent: 0,
            skipped: 1,
            maybe_sent: 0
        }
    );
    assert_eq!(rig.sandbox.counts().get(&-1), Some(&3), "tried three times");
}

#[tokio::test]
async fn a_job_older_than_the_send_window_is_dropped_not_sent() {
    let rig = rig(text_rules(1)).await;
    rig.sandbox.user_message("o1");
    // Redriven from the DLQ days later: the ledger may have forgotten it.
    rig.clock.advance(49 * 3600 * 1000);
    let outcome = rig
        .sender
        .run(&job("o1", "x", 1, NOW), rig.deadline())
        .await
        .unwrap();
    assert!(
        matches!(
            outcome,
            JobOutcome::Dropped(kefu::send::DropReason::Expired { .. })
        ),
        "{outcome:?}"
    );
    assert!(rig.sandbox.messages().is_empty());
}

/// Reads every image by panicking: a bug in one job's path.
#[derive(Debug)]
struct PanickingReader;

#[async_trait::async_trait]
impl kefu::ports::MediaReader for PanickingReader {
    async fn read(
        &self,
        _source: &kefu::rules::MediaSource,
    ) -> Result<(String, Vec<u8>), kefu::ports::MediaError> {
        panic!("a bug while reading an image");
    }
}

#[tokio::test]
async fn a_job_that_panics_fails_only_its_own_records() {
    let rig = rig(text_rules(1)).await;
    let rules = kefu::rules::RuleSet::from_json(
        &json!({"rules": [{"name": "photo", "match": {"exact": "图"},
            "action": {"reply": [{"type": "image", "source": {"file": "welcome.png"}}]}}],
            "default": {"reply": [{"type": "text", "content": "收到"}]}})
        .to_string(),
    )
    .unwrap();
    let clock: Arc<dyn kefu::ports::Clock> = rig.clock.clone();
    let sender = Arc::new(kefu::compose::sender_on_table(
        rig.table.clone(),
        kefu::compose::SenderParts {
            appid: sample::APPID.to_owned(),
            api: kefu_tests::send_rig::client(
                &rig.base,
                sample::APP_SECRET,
                kefu::send::budget::CALL_TIMEOUT,
            ),
            reader: Arc::new(PanickingReader),
            rules: Arc::new(kefu::rule_cache::RuleCache::new(
                Arc::new(kefu::memory::StaticRules::new(rules)),
                clock.clone(),
                std::time::Duration::from_secs(30),
            )),
            clock,
            token_kind: kefu::wechat_types::TokenKind::Stable,
            owner: "instance-1".into(),
        },
    ));
    for user in ["o1", "o2", "o3"] {
        rig.sandbox.user_message(user);
    }
    let records = vec![
        ("a".to_owned(), job("o1", "图", 1, NOW)),
        ("b".to_owned(), job("o1", "你好", 2, NOW)),
        ("c".to_owned(), job("o2", "你好", 3, NOW)),
        ("d".to_owned(), job("o3", "你好", 4, NOW)),
    ];
    let mut failed = sender.run_batch(records, rig.deadline()).await;
    failed.sort();
    assert_eq!(
        failed,
        vec!["a", "b"],
        "the panicking job and the same user's later one are retried"
    );
    assert_eq!(
        rig.sandbox.messages().len(),
        2,
        "the other users are served"
    );
}

#[tokio::test]
async fn an_image_the_deployment_does_not_have_is_refused_for_good_not_retried() {
    let rig = rig(json!({"default": {"reply": [
        {"type": "image", "source": {"file": "no-such-image.png"}},
        {"type": "text", "content": "文字"}]}}))
    .await;
    rig.sandbox.user_message("o1");
    let outcome = rig
        .sender
        .run(&job("o1", "x", 1, NOW), rig.deadline())
        .await
        .unwrap();
    assert_eq!(
        outcome,
        JobOutcome::Done {
            sent: 1,
            skipped: 1,
            maybe_sent: 0
        },
        "counted and settled: a retry cannot make the file appear"
    );
}

#[test]
fn the_deadline_is_lambdas_instant_or_an_emulators_duration() {
    let now = 1_796_227_088_956;
    assert_eq!(reply::deadline(1_796_227_118_956, now), now + 30_000);
    assert_eq!(
        reply::deadline(600_000, now),
        now + 600_000,
        "cargo lambda watch sends a duration"
    );
}

/// Real time: ~10 s (the least room a message may start with, less the send call's).
#[tokio::test]
async fn a_token_wait_that_would_outlast_the_deadline_hands_the_job_back_in_time() {
    use kefu::clock::EpochMillis;
    use kefu::ports::TokenStore;
    let rig = rig(text_rules(1)).await;
    rig.sandbox.user_message("o1");
    // Another instance took the refresh lease and never finishes (the rig's clock stands
    // still, so the lease never runs out): a waiter would look for ~23 s.
    assert!(
        rig.table
            .try_lease(
                sample::APPID,
                "other",
                EpochMillis(NOW),
                EpochMillis(NOW + 600_000),
                EpochMillis(NOW + 300_000)
            )
            .await
            .unwrap()
    );
    // 17 s left: a message may start (16 s of room), its send call must start by 6 s before.
    let deadline = NOW + 17_000;
    let body = job("o1", "x", 1, NOW);
    let started = std::time::Instant::now();

    let outcome = rig.sender.run(&body, deadline).await;

    let took = started.elapsed();
    assert!(
        matches!(outcome, Err(kefu::send::Retry::Send { .. })),
        "{outcome:?}"
    );
    assert!(
        took < std::time::Duration::from_millis(16_000),
        "handed back {took:?} after the start: past the deadline (17 s), or nearly"
    );
    // Its claim went back: once the token is there, the redelivery sends.
    rig.clock.advance(700_000);
    assert_eq!(
        rig.sender.run(&body, rig.deadline()).await.unwrap(),
        JobOutcome::Done {
            sent: 1,
            skipped: 0,
            maybe_sent: 0
        }
    );
}
