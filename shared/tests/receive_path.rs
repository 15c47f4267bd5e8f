//! The push path on the in-process stack: WeChat's retries, outages, hand-offs, bad input, and
//! how many round trips each path costs (counted at the adapter boundary).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kefu::clock::{EpochMillis, EpochSecs, ManualClock};
use kefu::compose::MemoryStack;
use kefu::memory::StaticRules;
use kefu::ports::{Claim, Clock, HandoffRegistry, PortError, PushLedger};
use kefu::protocol::simulate::{self, Header, Payload, Signer, SimulatedPush};
use kefu::protocol::{AesKey, Format, Mode, PushQuery, Token};
use kefu::receive::{PushRequest, PushResponse, ReceiveSettings, Receiver};
use kefu::sample;

const NOW: i64 = 1_714_112_445_000;

fn stack() -> (MemoryStack, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::at(NOW));
    let stack = MemoryStack::new(
        StaticRules::new(sample::rules()),
        clock.clone(),
        Duration::from_secs(30),
    );
    (stack, clock)
}

fn receiver(stack: &MemoryStack) -> Receiver {
    stack.receiver(ReceiveSettings::new(sample::credentials()))
}

fn text(content: &str, msg_id: u64) -> Payload {
    Payload::Text {
        content: content.into(),
        msg_id,
    }
}

/// Each push WeChat sends has a nonce of its own (its retries repeat the push's URL).
static NEXT_NONCE: AtomicU64 = AtomicU64::new(415_670_741);

/// A push as WeChat would send it with the sample credentials.
fn wechat(payload: &Payload, format: Format, mode: Mode) -> SimulatedPush {
    let nonce = NEXT_NONCE.fetch_add(1, Ordering::Relaxed).to_string();
    let token = Token::new(sample::TOKEN);
    let key = AesKey::from_encoding_aes_key(sample::ENCODING_AES_KEY).unwrap();
    let header = Header {
        to_user_name: sample::ORIGINAL_ID.into(),
        from_user_name: sample::OPENID.into(),
        create_time: NOW / 1000,
    };
    let plain = simulate::render(&header, payload, format);
    let signer = Signer {
        token: &token,
        key: Some(&key),
        appid: sample::APPID,
    };
    simulate::seal_push(
        &signer,
        &header,
        &plain,
        format,
        mode,
        "1714112445",
        &nonce,
        &[7; 16],
    )
    .unwrap()
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

fn ok_success(response: &PushResponse) {
    assert_eq!((response.status, response.body.as_str()), (200, "success"));
}

#[tokio::test]
async fn duplicate_push_is_acknowledged_without_a_second_job() {
    let (stack, clock) = stack();
    let receiver = receiver(&stack);
    let push = wechat(&text("你好", 1), Format::Json, Mode::Safe);
    for _ in 0..3 {
        ok_success(&post(&receiver, &push).await);
        clock.advance(1_000);
    }
    assert_eq!(stack.queue.pending().len(), 1);
}

#[tokio::test]
async fn ten_concurrent_copies_yield_exactly_one_job() {
    let (stack, _) = stack();
    let receiver = Arc::new(receiver(&stack));
    let push = Arc::new(wechat(&text("你好", 2), Format::Xml, Mode::Safe));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (receiver, push) = (receiver.clone(), push.clone());
        tasks.spawn(async move { post(&receiver, &push).await });
    }
    while let Some(response) = tasks.join_next().await {
        ok_success(&response.unwrap());
    }
    assert_eq!(stack.queue.pending().len(), 1);
}

#[tokio::test]
async fn a_crashed_attempt_is_taken_over_once_its_lease_runs_out() {
    let (stack, clock) = stack();
    let receiver = receiver(&stack);
    let push = wechat(&text("你好", 3), Format::Json, Mode::Safe);
    // An attempt that claimed and then died before enqueueing or releasing.
    let key = format!("push#{}#3", sample::APPID);
    let crashed = Claim {
        key,
        attempt: "crashed".into(),
        now: EpochMillis(NOW),
        lease_until: EpochMillis(NOW + 4_000),
        expires_at: EpochSecs(NOW / 1000 + 60),
    };
    stack.table.claim(&crashed).await.unwrap();

    // Not `success`: if that attempt never finishes, WeChat must retry.
    let in_flight = post(&receiver, &push).await;
    assert_eq!(
        (in_flight.status, in_flight.body.as_str()),
        (503, "the same push is being handled; retry")
    );
    assert_eq!(
        stack.queue.pending().len(),
        0,
        "the live lease protects the attempt in flight"
    );
    clock.advance(5_000); // WeChat retries after 5 s
    ok_success(&post(&receiver, &push).await);
    assert_eq!(
        stack.queue.pending().len(),
        1,
        "the retry took the push over"
    );
}

#[tokio::test]
async fn queue_outage_means_no_success_and_the_retry_delivers_the_push() {
    let (stack, clock) = stack();
    let receiver = receiver(&stack);
    let push = wechat(&text("你好", 4), Format::Json, Mode::Safe);
    stack.queue.set_available(false);
    let response = post(&receiver, &push).await;
    assert_eq!(
        (response.status, response.body.as_str()),
        (500, "internal error")
    );
    assert!(
        !stack.table.has_claim(&format!("push#{}#4", sample::APPID)),
        "claim released"
    );

    stack.queue.set_available(true);
    clock.advance(5_000);
    ok_success(&post(&receiver, &push).await);
    assert_eq!(stack.queue.pending().len(), 1);
}

#[tokio::test]
async fn transfer_keyword_hands_the_user_to_an_agent_without_a_job() {
    let (stack, _) = stack();
    let receiver = receiver(&stack);
    let push = wechat(&text("人工", 5), Format::Json, Mode::Compatible);
    let response = post(&receiver, &push).await;
    assert_eq!(response.status, 200);
    // Compatible mode may answer in clear.
    let reply: serde_json::Value = serde_json::from_str(&response.body).unwrap();
    assert_eq!(reply["MsgType"], "transfer_customer_service");
    assert_eq!(reply["ToUserName"], sample::OPENID);
    assert_eq!(stack.queue.pending().len(), 0);
    let held = stack
        .table
        .held_until(
            sample::APPID,
            &kefu::protocol::OpenId::parse(sample::OPENID).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(held, Some(NOW + 30 * 60 * 1000));
}

fn kf_event(event: &str, fields: &[(&str, &str)]) -> Payload {
    Payload::Event {
        event: event.into(),
        fields: fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

#[tokio::test]
async fn the_hold_follows_wechats_session_events() {
    let (stack, clock) = stack();
    let receiver = receiver(&stack);
    let user = &kefu::protocol::OpenId::parse(sample::OPENID).unwrap();
    let held = || stack.table.held_until(sample::APPID, user);
    // An agent picks the user up from the agents' own tool: the hold starts.
    let create = kf_event("kf_create_session", &[("KfAccount", "agent1@kefu")]);
    ok_success(&post(&receiver, &wechat(&create, Format::Xml, Mode::Safe)).await);
    assert_eq!(held().await.unwrap(), Some(NOW + 30 * 60 * 1000));
    // Passed to another agent 2 minutes later: extended from then.
    clock.advance(2 * 60 * 1000);
    let switch = kf_event(
        "kf_switch_session",
        &[
            ("FromKfAccount", "agent1@kefu"),
            ("ToKfAccount", "agent2@kefu"),
        ],
    );
    ok_success(&post(&receiver, &wechat(&switch, Format::Json, Mode::Safe)).await);
    assert_eq!(held().await.unwrap(), Some(NOW + 32 * 60 * 1000));
    // The agent closes the session: automatic replies resume at once.
    let close = kf_event("kf_close_session", &[("KfAccount", "agent2@kefu")]);
    ok_success(&post(&receiver, &wechat(&close, Format::Json, Mode::Safe)).await);
    let after_close = held().await.unwrap();
    assert!(
        after_close.is_none_or(|until| until <= clock.now_millis()),
        "{after_close:?}"
    );
    assert_eq!(
        stack.queue.pending().len(),
        0,
        "no rule names these events: no job"
    );
}

#[tokio::test]
async fn a_retry_after_the_lease_gets_success_without_a_second_job() {
    let (stack, clock) = stack();
    let receiver = receiver(&stack);
    let push = wechat(&text("你好", 21), Format::Json, Mode::Safe);
    ok_success(&post(&receiver, &push).await);
    // The reply is slow (nothing marks the push done), and WeChat's retries come 5.5 s and
    // 11 s later: long after the 4 s lease.
    for later in [5_500, 5_500] {
        clock.advance(later);
        ok_success(&post(&receiver, &push).await);
    }
    assert_eq!(stack.queue.pending().len(), 1, "one job for one push");
}

#[tokio::test]
async fn a_duplicate_of_a_transfer_gets_the_transfer_again_without_extending_the_hold() {
    let (stack, clock) = stack();
    let receiver = receiver(&stack);
    let push = wechat(&text("人工", 22), Format::Json, Mode::Compatible);
    assert_eq!(post(&receiver, &push).await.status, 200);
    clock.advance(5_500);
    let again = post(&receiver, &push).await;
    assert_eq!(again.status, 200);
    let reply: serde_json::Value = serde_json::from_str(&again.body).unwrap();
    assert_eq!(
        reply["MsgType"], "transfer_customer_service",
        "the user whose first answer was lost is still handed over"
    );
    let held = stack
        .table
        .held_until(
            sample::APPID,
            &kefu::protocol::OpenId::parse(sample::OPENID).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(held, Some(NOW + 30 * 60 * 1000), "the hold is not extended");
    assert_eq!(stack.queue.pending().len(), 0);
}

#[tokio::test]
async fn events_no_rule_names_are_acknowledged_with_their_pair_used_and_no_claim() {
    let (stack, _) = stack();
    let receiver = receiver(&stack);
    let popup = Payload::Event {
        event: "subscribe_msg_popup_event".into(),
        fields: vec![],
    };
    ok_success(&post(&receiver, &wechat(&popup, Format::Json, Mode::Safe)).await);
    assert_eq!(
        (stack.table.calls(), stack.queue.calls()),
        (1, 0),
        "the (timestamp, nonce) pair only"
    );
    // A transfer keyword can never hand over an event (WeChat: only user messages).
    let enter = Payload::Event {
        event: "user_enter_tempsession".into(),
        fields: vec![],
    };
    ok_success(&post(&receiver, &wechat(&enter, Format::Xml, Mode::Safe)).await);
    assert_eq!(
        stack.queue.pending().len(),
        1,
        "the welcome rule names this event"
    );
}

#[tokio::test]
async fn warm_path_costs_four_calls_for_a_new_push_and_two_for_a_duplicate() {
    let (stack, clock) = stack();
    let receiver = receiver(&stack);
    let first = wechat(&text("你好", 6), Format::Json, Mode::Safe);
    ok_success(&post(&receiver, &first).await); // cold: loads the rules once
    assert_eq!(stack.rules_source.loads(), 1);

    let (table, queue) = (stack.table.calls(), stack.queue.calls());
    let new = wechat(&text("在吗", 7), Format::Json, Mode::Safe);
    ok_success(&post(&receiver, &new).await);
    assert_eq!(
        (stack.table.calls() - table, stack.queue.calls() - queue),
        (3, 1),
        "use the pair + claim + enqueue + record the answer"
    );

    let (table, queue) = (stack.table.calls(), stack.queue.calls());
    ok_success(&post(&receiver, &new).await);
    assert_eq!(
        (stack.table.calls() - table, stack.queue.calls() - queue),
        (2, 0),
        "the pair (its own message again) + claim"
    );
    assert_eq!(
        stack.rules_source.loads(),
        1,
        "no parameter read while the rules are fresh"
    );

    clock.advance(31_000);
    ok_success(
        &post(
            &receiver,
            &wechat(&text("还在吗", 8), Format::Json, Mode::Safe),
        )
        .await,
    );
    assert_eq!(stack.rules_source.loads(), 2, "reloaded after the TTL");
}

#[tokio::test]
async fn a_failed_rules_reload_keeps_the_last_good_set() {
    let (stack, clock) = stack();
    let receiver = receiver(&stack);
    ok_success(
        &post(
            &receiver,
            &wechat(&text("你好", 9), Format::Json, Mode::Safe),
        )
        .await,
    );
    stack
        .rules_source
        .set(Err(PortError::new("read rules", "throttled")));
    clock.advance(31_000);
    let response = post(
        &receiver,
        &wechat(&text("人工", 10), Format::Json, Mode::Safe),
    )
    .await;
    assert_eq!(response.status, 200);
    assert!(
        response.body.contains("Encrypt"),
        "the transfer rule still applies"
    );
}

#[tokio::test]
async fn no_rules_ever_loaded_is_an_internal_error_not_a_success() {
    let (stack, _) = stack();
    stack
        .rules_source
        .set(Err(PortError::new("read rules", "ParameterNotFound")));
    let response = post(
        &receiver(&stack),
        &wechat(&text("你好", 11), Format::Json, Mode::Safe),
    )
    .await;
    assert_eq!(
        (response.status, response.body.as_str()),
        (500, "internal error")
    );
}

#[tokio::test]
async fn settings_can_require_encryption_and_pin_the_format() {
    let (stack, _) = stack();
    let mut settings = ReceiveSettings::new(sample::credentials());
    settings.require_encryption = true;
    settings.format = Some(Format::Json);
    let receiver = stack.receiver(settings);
    let plaintext = post(
        &receiver,
        &wechat(&text("你好", 12), Format::Json, Mode::Plaintext),
    )
    .await;
    assert_eq!(plaintext.status, 403);
    let xml = post(
        &receiver,
        &wechat(&text("你好", 13), Format::Xml, Mode::Safe),
    )
    .await;
    assert_eq!(xml.status, 400);
    ok_success(
        &post(
            &receiver,
            &wechat(&text("你好", 14), Format::Json, Mode::Safe),
        )
        .await,
    );
}

/// Log lines written while `f` runs.
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn bad_input_gets_its_4xx_and_one_log_line_without_secrets() {
    let (stack, _) = stack();
    let receiver = receiver(&stack);
    let good = wechat(&text("你好", 15), Format::Json, Mode::Safe);
    let good_xml = wechat(&text("你好", 16), Format::Xml, Mode::Plaintext);

    let mut missing_nonce = good.query.clone();
    missing_nonce.nonce = None;
    let mut bad_signature = good.query.clone();
    bad_signature.msg_signature = Some("0".repeat(40));
    let bad_base64 = r#"{"ToUserName":"gh_1","Encrypt":"%%%not-base64%%%"}"#.to_owned();
    let mut bad_base64_query = good.query.clone();
    bad_base64_query.msg_signature = Some(
        kefu::protocol::Signature::of_message(
            &Token::new(sample::TOKEN),
            "1714112445",
            good.query.nonce.as_deref().unwrap(),
            "%%%not-base64%%%",
        )
        .to_hex(),
    );
    let wrong_appid = {
        let token = Token::new(sample::TOKEN);
        let key = AesKey::from_encoding_aes_key(sample::ENCODING_AES_KEY).unwrap();
        let header = Header {
            to_user_name: "gh_1".into(),
            from_user_name: "o1".into(),
            create_time: 1,
        };
        let plain = simulate::render(&header, &text("x", 17), Format::Json);
        let signer = Signer {
            token: &token,
            key: Some(&key),
            appid: "wx0000000000000000",
        };
        simulate::seal_push(
            &signer,
            &header,
            &plain,
            Format::Json,
            Mode::Safe,
            "1714112445",
            "415670741",
            &[1; 16],
        )
        .unwrap()
    };
    // Signed and sealed right, from a FromUserName that is not an openid.
    let from = |openid: &str| {
        let token = Token::new(sample::TOKEN);
        let key = AesKey::from_encoding_aes_key(sample::ENCODING_AES_KEY).unwrap();
        let header = Header {
            to_user_name: "gh_1".into(),
            from_user_name: openid.into(),
            create_time: 1,
        };
        let plain = simulate::render(&header, &text("x", 18), Format::Json);
        let signer = Signer {
            token: &token,
            key: Some(&key),
            appid: sample::APPID,
        };
        simulate::seal_push(
            &signer,
            &header,
            &plain,
            Format::Json,
            Mode::Safe,
            "1714112445",
            "415670742",
            &[1; 16],
        )
        .unwrap()
    };
    let no_openid = from("");
    let bad_openid = from("o#1");
    let truncated_xml = good_xml.body[..good_xml.body.len() - 20].to_owned();
    let truncated_json =
        r#"{"ToUserName":"gh_1","FromUserName":"o1","CreateTime":1,"MsgType":"te"#.to_owned();
    let megabyte = vec![b'{'; 1024 * 1024];
    let not_utf8 = vec![0xff, 0xfe, b'{', b'}'];

    let cases: Vec<(&str, &str, PushQuery, Vec<u8>, u16)> = vec![
        (
            "missing parameter",
            "POST",
            missing_nonce,
            good.body.clone().into_bytes(),
            400,
        ),
        (
            "bad signature",
            "POST",
            bad_signature,
            good.body.clone().into_bytes(),
            403,
        ),
        (
            "bad base64",
            "POST",
            bad_base64_query,
            bad_base64.into_bytes(),
            400,
        ),
        (
            "wrong appid",
            "POST",
            wrong_appid.query.clone(),
            wrong_appid.body.into_bytes(),
            403,
        ),
        (
            "truncated XML",
            "POST",
            good_xml.query.clone(),
            truncated_xml.into_bytes(),
            400,
        ),
        (
            "truncated JSON",
            "POST",
            good_xml.query.clone(),
            truncated_json.into_bytes(),
            400,
        ),
        (
            "empty FromUserName",
            "POST",
            no_openid.query.clone(),
            no_openid.body.into_bytes(),
            400,
        ),
        (
            "FromUserName not an openid",
            "POST",
            bad_openid.query.clone(),
            bad_openid.body.into_bytes(),
            400,
        ),
        ("1 MB body", "POST", good.query.clone(), megabyte, 413),
        ("not UTF-8", "POST", good.query.clone(), not_utf8, 400),
        ("empty body", "POST", good.query.clone(), vec![], 400),
        (
            "GET without echostr",
            "GET",
            good.query.clone(),
            vec![],
            400,
        ),
        ("PUT", "PUT", good.query.clone(), vec![], 405),
    ];
    for (name, method, query, body, status) in cases {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(move || Captured(writer.clone()))
            .finish();
        let guard = tracing::subscriber::set_default(subscriber);
        let response = receiver
            .handle(PushRequest {
                method,
                query: &query,
                body: &body,
            })
            .await;
        drop(guard);
        assert_eq!(response.status, status, "{name}: {}", response.body);
        assert!(
            !response.body.is_empty() && response.body.len() < 120,
            "{name}: short reason, got {:?}",
            response.body
        );
        let logs = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
        assert_eq!(logs.lines().count(), 1, "{name}: one log line, got {logs}");
        assert!(
            logs.contains("\"status\":") && logs.contains("\"reason\":"),
            "{name}: structured: {logs}"
        );
        for secret in [sample::TOKEN, sample::ENCODING_AES_KEY] {
            assert!(
                !logs.contains(secret) && !response.body.contains(secret),
                "{name}: leaked a secret"
            );
        }
        if name.contains("FromUserName") {
            assert!(
                response.body.contains("FromUserName is not an openid"),
                "{name}: {}",
                response.body
            );
        }
        if name == "wrong appid" {
            // Appids are not secrets: the refusal says which one arrived, and which was expected.
            for said in [&response.body, &logs] {
                assert!(
                    said.contains("wx0000000000000000") && said.contains(sample::APPID),
                    "the appids in {said}"
                );
            }
        }
    }
    assert_eq!(stack.queue.pending().len(), 0);
}

#[tokio::test]
async fn get_verification_echoes_only_a_correctly_signed_echostr() {
    let (stack, _) = stack();
    let receiver = receiver(&stack);
    let token = Token::new(sample::TOKEN);
    let mut query = PushQuery {
        signature: Some(kefu::protocol::Signature::of_url(&token, "1714112445", "2").to_hex()),
        timestamp: Some("1714112445".into()),
        nonce: Some("2".into()),
        echostr: Some("8888".into()),
        ..PushQuery::default()
    };
    let ok = receiver
        .handle(PushRequest {
            method: "GET",
            query: &query,
            body: &[],
        })
        .await;
    assert_eq!((ok.status, ok.body.as_str()), (200, "8888"));
    query.nonce = Some("3".into());
    let refused = receiver
        .handle(PushRequest {
            method: "GET",
            query: &query,
            body: &[],
        })
        .await;
    assert_eq!(refused.status, 403);
    assert_ne!(refused.body, "8888");
}

/// A plaintext push of `content` from `openid`, signed over (`timestamp`, `nonce`) only, as a
/// plaintext-mode push is.
fn plaintext(
    openid: &str,
    content: &str,
    msg_id: u64,
    timestamp: &str,
    nonce: &str,
) -> SimulatedPush {
    let header = Header {
        to_user_name: sample::ORIGINAL_ID.into(),
        from_user_name: openid.into(),
        create_time: NOW / 1000,
    };
    let payload = Payload::Text {
        content: content.into(),
        msg_id,
    };
    let plain = simulate::render(&header, &payload, Format::Xml);
    signed_plain(openid, &plain, Format::Xml, timestamp, nonce)
}

#[tokio::test]
async fn a_captured_signature_signs_no_second_message() {
    let (stack, _) = stack();
    let receiver = receiver(&stack);
    let genuine = plaintext(sample::OPENID, "你好", 31, "1714112445", "555");
    ok_success(&post(&receiver, &genuine).await);
    ok_success(&post(&receiver, &genuine).await); // WeChat's own retry
    // The attacker keeps the URL and writes another body: 「人工」 for someone else.
    let forged = SimulatedPush {
        body: plaintext("o-victim", "人工", 32, "1714112445", "555").body,
        query: genuine.query.clone(),
    };
    let refused = post(&receiver, &forged).await;
    assert_eq!(
        (refused.status, refused.body.as_str()),
        (403, "timestamp and nonce already used for another message")
    );
    assert_eq!(
        stack
            .table
            .held_until(
                sample::APPID,
                &kefu::protocol::OpenId::parse("o-victim").unwrap()
            )
            .await
            .unwrap(),
        None,
        "nobody was muted"
    );
    assert_eq!(stack.queue.pending().len(), 1, "only the genuine push");
}

#[tokio::test]
async fn a_captured_verification_url_signs_no_push() {
    let (stack, _) = stack();
    let receiver = receiver(&stack);
    let token = Token::new(sample::TOKEN);
    let query = PushQuery {
        signature: Some(kefu::protocol::Signature::of_url(&token, "1714112445", "77").to_hex()),
        timestamp: Some("1714112445".into()),
        nonce: Some("77".into()),
        echostr: Some("8888".into()),
        ..PushQuery::default()
    };
    let verified = receiver
        .handle(PushRequest {
            method: "GET",
            query: &query,
            body: &[],
        })
        .await;
    assert_eq!(verified.status, 200);
    let forged = plaintext("o-victim", "人工", 33, "1714112445", "77");
    assert_eq!(post(&receiver, &forged).await.status, 403);
    assert_eq!(stack.queue.pending().len(), 0);
}

#[tokio::test]
async fn a_push_stamped_in_1970_or_next_year_is_refused() {
    let (stack, _) = stack();
    let receiver = receiver(&stack);
    let old = plaintext(sample::OPENID, "你好", 34, "1", "9");
    let refused = post(&receiver, &old).await;
    assert_eq!(
        (refused.status, refused.body.as_str()),
        (403, "timestamp outside the allowed window")
    );
    let ahead = plaintext(sample::OPENID, "你好", 35, "1745648445", "9");
    assert_eq!(post(&receiver, &ahead).await.status, 403);
    assert_eq!(stack.queue.pending().len(), 0);
}

#[tokio::test]
async fn a_create_time_far_ahead_of_the_clock_is_refused() {
    let (stack, _) = stack();
    let receiver = receiver(&stack);
    let token = Token::new(sample::TOKEN);
    let header = Header {
        to_user_name: sample::ORIGINAL_ID.into(),
        from_user_name: sample::OPENID.into(),
        create_time: 4_102_444_800, // 2100
    };
    let payload = Payload::Text {
        content: "你好".into(),
        msg_id: 36,
    };
    let plain = simulate::render(&header, &payload, Format::Json);
    let key = AesKey::from_encoding_aes_key(sample::ENCODING_AES_KEY).unwrap();
    let signer = Signer {
        token: &token,
        key: Some(&key),
        appid: sample::APPID,
    };
    let push = simulate::seal_push(
        &signer,
        &header,
        &plain,
        Format::Json,
        Mode::Safe,
        "1714112445",
        "10",
        &[7; 16],
    )
    .unwrap();
    let refused = post(&receiver, &push).await;
    assert_eq!(
        (refused.status, refused.body.as_str()),
        (403, "CreateTime is ahead of the clock")
    );
}

#[tokio::test]
async fn unknown_types_keep_their_raw_fields_only_within_bounds() {
    let (stack, _) = stack();
    let receiver = receiver(&stack);
    // 62 KB of nesting in an unknown message type: its keys would grow quadratically.
    let nested = format!(
        "<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>1714112445</CreateTime><MsgType>novel</MsgType>{}x{}</xml>",
        "<a>".repeat(8_800),
        "</a>".repeat(8_800)
    );
    let wide = format!(
        r#"{{"ToUserName":"gh","FromUserName":"o1","CreateTime":1714112445,"MsgType":"novel",{}}}"#,
        (0..200)
            .map(|n| format!(r#""F{n}":"{n}""#))
            .collect::<Vec<_>>()
            .join(",")
    );
    for (n, (body, format)) in [(nested, Format::Xml), (wide, Format::Json)]
        .into_iter()
        .enumerate()
    {
        let push = signed_plain(
            sample::OPENID,
            &body,
            format,
            "1714112445",
            &format!("4{n}"),
        );
        let refused = post(&receiver, &push).await;
        assert_eq!(refused.status, 400, "{format:?}: {}", refused.body);
        assert!(refused.body.contains("unknown"), "{}", refused.body);
    }
    assert_eq!(stack.queue.pending().len(), 0);
}

#[tokio::test]
async fn a_message_whose_job_would_not_fit_the_queue_is_refused() {
    let (stack, _) = stack();
    let receiver = receiver(&stack);
    // Control characters take 1 byte in the XML body and 6 in the job's JSON.
    let body = format!(
        "<xml><ToUserName>gh</ToUserName><FromUserName>o1</FromUserName><CreateTime>1714112445</CreateTime><MsgType>text</MsgType><Content>{}</Content><MsgId>40</MsgId></xml>",
        "\u{1}".repeat(60_000)
    );
    let refused = post(
        &receiver,
        &signed_plain(sample::OPENID, &body, Format::Xml, "1714112445", "49"),
    )
    .await;
    assert_eq!(
        (refused.status, refused.body.as_str()),
        (413, "message too large to queue")
    );
    assert_eq!(stack.queue.pending().len(), 0);
}

/// `body`, as written, as a plaintext-mode push (no base64 to inflate it past 64 KB).
fn signed_plain(
    openid: &str,
    body: &str,
    format: Format,
    timestamp: &str,
    nonce: &str,
) -> SimulatedPush {
    let token = Token::new(sample::TOKEN);
    let header = Header {
        to_user_name: sample::ORIGINAL_ID.into(),
        from_user_name: openid.into(),
        create_time: NOW / 1000,
    };
    let signer = Signer {
        token: &token,
        key: None,
        appid: sample::APPID,
    };
    simulate::seal_push(
        &signer,
        &header,
        body,
        format,
        Mode::Plaintext,
        timestamp,
        nonce,
        &[7; 16],
    )
    .unwrap()
}

/// A stack whose rules hand 人工 to an agent only during `hours` on Fridays (NOW is a Friday,
/// 14:20 in Shanghai) and answer otherwise.
fn scheduled_stack(hours: &str) -> MemoryStack {
    let rules = kefu::rules::RuleSet::from_json(&format!(
        r#"{{"rules":[{{"name":"human","match":{{"exact":"人工"}},
            "schedule":{{"days":["fri"],"hours":["{hours}"]}},"action":"transfer",
            "otherwise":{{"reply":[{{"type":"text","content":"客服下班了，现在是 {{time}}"}}]}}}}]}}"#
    ))
    .unwrap();
    MemoryStack::new(
        StaticRules::new(rules),
        Arc::new(ManualClock::at(NOW)),
        Duration::from_secs(30),
    )
}

#[tokio::test]
async fn a_scheduled_transfer_is_decided_by_the_injected_clock() {
    let open = scheduled_stack("14:00-15:00");
    let response = post(
        &receiver(&open),
        &wechat(&text("人工", 11), Format::Json, Mode::Compatible),
    )
    .await;
    let reply: serde_json::Value = serde_json::from_str(&response.body).unwrap();
    assert_eq!(reply["MsgType"], "transfer_customer_service");
    assert_eq!(open.queue.pending().len(), 0);

    let closed = scheduled_stack("09:00-14:20");
    ok_success(
        &post(
            &receiver(&closed),
            &wechat(&text("人工", 12), Format::Json, Mode::Compatible),
        )
        .await,
    );
    let jobs = closed.queue.pending();
    assert_eq!(
        jobs.len(),
        1,
        "outside the hours the otherwise reply is queued"
    );
    // The reply function decides again at the job's received_at: the same answer.
    assert_eq!(jobs[0].received_at, NOW);
}
