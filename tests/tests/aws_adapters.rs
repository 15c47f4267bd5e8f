//! The AWS adapters (`kefu::aws`) through the real Rust SDK, against the moto server that
//! `tests/run.sh` starts on loopback (`KEFU_TEST_AWS_ENDPOINT`).
//!
//! Each test creates its own table, queue or parameters under a unique name, so the tests run in
//! parallel and in any order. Times are fixed (`T`, ms since the epoch) rather than read from
//! the clock: moto never expires items by TTL, so every expiry here is decided by the adapters'
//! own conditions, as it is on DynamoDB between an item's expiry and its lazy deletion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use aws_sdk_sqs::types::MessageSystemAttributeName;
use kefu::aws::{DynamoTable, SqsQueue, SsmRules, load_secrets};
use kefu::clock::{EpochMillis, EpochSecs};
use kefu::job::Job;
use kefu::memory::MemoryTable;
use kefu::ports::{Answer, Claim, ClaimOutcome, HandoffRegistry, JobQueue, PushLedger, RuleSource};
use kefu::protocol::Message;
use kefu::rules::{Action, RuleSet};
use kefu_tests::aws::{
    create_queue, create_table, function_config, put_parameter, put_secure_parameter, sdk_config,
    unique,
};

/// A fixed "now": 2027-01-15, ms since the epoch.
const T: i64 = 1_800_000_000_000;
/// How long a claim's lease runs in these tests.
const LEASE_MS: i64 = 30_000;
/// How long the ledger keeps an entry in these tests (seconds).
const KEEP_S: i64 = 86_400;

// ---------------------------------------------------------------------------------------------
// helpers

async fn table() -> DynamoTable {
    let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let name = create_table(&client).await;
    DynamoTable::new(client, name)
}

async fn sqs() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&sdk_config().await)
}

async fn ssm() -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(&sdk_config().await)
}

/// A claim by `attempt` at `now`, with the usual lease and retention.
fn claim(key: &str, attempt: &str, now: i64) -> Claim {
    Claim {
        key: key.to_owned(),
        attempt: attempt.to_owned(),
        now: EpochMillis(now),
        lease_until: EpochMillis(now + LEASE_MS),
        expires_at: EpochSecs(now / 1000 + KEEP_S),
    }
}

fn push_key() -> String {
    format!("push#wx-test#{}", unique("msg"))
}

const CONTENT: &str = "营业时间是几点？";

/// A text message as WeChat pushes it in JSON format.
fn text_message(openid: &str) -> Message {
    let body = serde_json::json!({
        "ToUserName": "gh_0123456789ab",
        "FromUserName": openid,
        "CreateTime": 1_800_000_000,
        "MsgType": "text",
        "Content": CONTENT,
        "MsgId": "24000000000000001",
    })
    .to_string();
    Message::from_json(&body).unwrap()
}

async fn receive_all(client: &aws_sdk_sqs::Client, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    client
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .message_system_attribute_names(MessageSystemAttributeName::All)
        .send()
        .await
        .unwrap()
        .messages
        .unwrap_or_default()
}

fn rule(name: &str, keyword: &str) -> serde_json::Value {
    serde_json::json!({
        "name": name,
        "match": {"exact": [keyword]},
        "action": {"reply": [{"type": "text", "content": format!("reply to {keyword}")}]},
    })
}

fn rule_names(set: &RuleSet) -> Vec<&str> {
    set.rules.iter().map(|r| r.name.as_str()).collect()
}

/// The example from the `kefu::rules` docs.
const RULES_JSON: &str = r#"{
  "rules": [
    {"name": "human", "match": {"exact": ["人工", "转人工"]}, "action": "transfer"},
    {"name": "hours", "match": {"contains": "营业时间"},
     "action": {"reply": [{"type": "text", "content": "每天 9:00–21:00"}]}},
    {"name": "welcome", "match": {"event": "user_enter_tempsession"},
     "action": {"reply": [{"type": "text", "content": "你好，有什么可以帮你？"}]}}
  ],
  "default": {"reply": [{"type": "text", "content": "收到，我们会尽快回复"}]}
}"#;

// ---------------------------------------------------------------------------------------------
// push ledger (DynamoTable as PushLedger)

#[tokio::test]
async fn ledger_first_claim_wins_and_a_second_claim_during_the_lease_is_in_progress() {
    let table = table().await;
    let key = push_key();

    let first = table.claim(&claim(&key, "a1", T)).await.unwrap();
    let second = table.claim(&claim(&key, "a2", T + 1_000)).await.unwrap();

    assert_eq!(first, ClaimOutcome::Claimed);
    assert_eq!(second, ClaimOutcome::InProgress);
}

#[tokio::test]
async fn ledger_pending_claim_is_taken_over_only_after_its_lease_ran_out() {
    let table = table().await;
    let key = push_key();
    table.claim(&claim(&key, "a1", T)).await.unwrap();

    // "may be taken over after" lease_until: at lease_until it is still held.
    let at_lease_end = table.claim(&claim(&key, "a2", T + LEASE_MS)).await.unwrap();
    let after_lease = table
        .claim(&claim(&key, "a3", T + LEASE_MS + 1))
        .await
        .unwrap();
    // The takeover is a new claim with its own live lease.
    let during_new_lease = table
        .claim(&claim(&key, "a4", T + LEASE_MS + 2))
        .await
        .unwrap();

    assert_eq!(at_lease_end, ClaimOutcome::InProgress);
    assert_eq!(after_lease, ClaimOutcome::Claimed);
    assert_eq!(during_new_lease, ClaimOutcome::InProgress);
}

#[tokio::test]
async fn ledger_keeps_the_answer_for_duplicates_and_recognises_its_own_repeated_writes() {
    answer_scenario(&table().await).await;
}

/// The in-memory ledger keeps the same states and answers.
#[tokio::test]
async fn ledger_in_memory_keeps_the_same_answers() {
    answer_scenario(&MemoryTable::new()).await;
}

async fn answer_scenario(ledger: &dyn PushLedger) {
    let key = push_key();
    let at = |attempt: &str, now: i64| claim(&key, attempt, now);
    assert_eq!(
        ledger.claim(&at("a1", T)).await.unwrap(),
        ClaimOutcome::Claimed
    );
    assert_eq!(
        ledger.claim(&at("a1", T)).await.unwrap(),
        ClaimOutcome::Claimed,
        "the SDK repeating our own claim finds it ours"
    );
    assert_eq!(
        ledger.claim(&at("a2", T + 1_000)).await.unwrap(),
        ClaimOutcome::InProgress
    );
    for _ in 0..2 {
        ledger.accept(&key, "a1", Answer::Transfer).await.unwrap();
    }
    assert_eq!(
        ledger.claim(&at("a3", T + 5_500)).await.unwrap(),
        ClaimOutcome::Handled(Answer::Transfer),
        "WeChat's retry 5.5 s later gets the stored answer"
    );
    assert_eq!(
        ledger.claim(&at("a4", T + 10 * LEASE_MS)).await.unwrap(),
        ClaimOutcome::Handled(Answer::Transfer),
        "at any spacing within the TTL"
    );
    ledger.accept(&key, "a4", Answer::Success).await.unwrap();
    ledger
        .mark_done(&key, EpochSecs(T / 1000 + KEEP_S))
        .await
        .unwrap();
    assert_eq!(
        ledger.claim(&at("a5", T + 20 * LEASE_MS)).await.unwrap(),
        ClaimOutcome::Handled(Answer::Transfer),
        "another attempt cannot change the answer, and done keeps it"
    );

    // A claim that was released is free again; one accepted after being taken over is not
    // the slow attempt's to accept.
    let other = push_key();
    ledger.claim(&claim(&other, "slow", T)).await.unwrap();
    ledger
        .claim(&claim(&other, "fast", T + LEASE_MS + 1))
        .await
        .unwrap();
    ledger
        .accept(&other, "slow", Answer::Transfer)
        .await
        .unwrap();
    ledger
        .accept(&other, "fast", Answer::Success)
        .await
        .unwrap();
    assert_eq!(
        ledger
            .claim(&claim(&other, "retry", T + LEASE_MS + 2))
            .await
            .unwrap(),
        ClaimOutcome::Handled(Answer::Success)
    );
}

#[tokio::test]
async fn ledger_release_by_another_attempt_leaves_the_claim_in_place() {
    let table = table().await;
    let key = push_key();
    table.claim(&claim(&key, "owner", T)).await.unwrap();

    table.release(&key, "someone-else").await.unwrap();
    let next = table.claim(&claim(&key, "a2", T + 1_000)).await.unwrap();

    assert_eq!(next, ClaimOutcome::InProgress);
}

#[tokio::test]
async fn ledger_release_by_the_owner_frees_the_push_for_a_retry() {
    let table = table().await;
    let key = push_key();
    table.claim(&claim(&key, "owner", T)).await.unwrap();

    table.release(&key, "owner").await.unwrap();
    let retry = table.claim(&claim(&key, "retry", T + 1_000)).await.unwrap();

    assert_eq!(retry, ClaimOutcome::Claimed);
}

#[tokio::test]
async fn ledger_release_of_a_push_nobody_claimed_is_ok() {
    let table = table().await;

    table.release(&push_key(), "nobody").await.unwrap();
}

#[tokio::test]
async fn ledger_done_push_stays_handled_after_the_lease_ran_out() {
    let table = table().await;
    let key = push_key();
    table.claim(&claim(&key, "owner", T)).await.unwrap();

    table
        .mark_done(&key, EpochSecs(T / 1000 + KEEP_S))
        .await
        .unwrap();
    let late_retry = table
        .claim(&claim(&key, "late", T + 10 * LEASE_MS))
        .await
        .unwrap();
    // A done push is no longer the owner's to release.
    table.release(&key, "owner").await.unwrap();
    let after_release = table
        .claim(&claim(&key, "later", T + 20 * LEASE_MS))
        .await
        .unwrap();

    assert_eq!(late_retry, ClaimOutcome::Handled(Answer::Success));
    assert_eq!(after_release, ClaimOutcome::Handled(Answer::Success));
}

#[tokio::test]
async fn ledger_mark_done_without_a_claim_records_the_push_as_handled() {
    let table = table().await;
    let key = push_key();

    table
        .mark_done(&key, EpochSecs(T / 1000 + KEEP_S))
        .await
        .unwrap();
    let claim_after = table.claim(&claim(&key, "a1", T)).await.unwrap();

    assert_eq!(claim_after, ClaimOutcome::Handled(Answer::Success));
}

#[tokio::test]
async fn ledger_entry_past_its_expires_at_can_be_claimed_again() {
    let table = table().await;
    let key = push_key();
    let expires_at = EpochSecs(T / 1000 + 60);
    table.claim(&claim(&key, "a1", T)).await.unwrap();
    table.mark_done(&key, expires_at).await.unwrap();

    // moto, like DynamoDB before its lazy deletion, still holds the item: the claim's own
    // condition must treat it as gone.
    let before_expiry = table
        .claim(&claim(&key, "a2", (expires_at.0 - 1) * 1000))
        .await
        .unwrap();
    let after_expiry = table
        .claim(&claim(&key, "a3", (expires_at.0 + 1) * 1000))
        .await
        .unwrap();

    assert_eq!(before_expiry, ClaimOutcome::Handled(Answer::Success));
    assert_eq!(after_expiry, ClaimOutcome::Claimed);
}

#[tokio::test]
async fn ledger_pending_entry_past_its_expires_at_can_be_claimed_despite_a_live_lease() {
    let table = table().await;
    let key = push_key();
    // A claim kept for less time than its lease (a misconfiguration, but the store may drop it).
    let short = Claim {
        expires_at: EpochSecs(T / 1000 + 5),
        ..claim(&key, "a1", T)
    };
    table.claim(&short).await.unwrap();

    let after_expiry = table.claim(&claim(&key, "a2", T + 6_000)).await.unwrap();

    assert_eq!(after_expiry, ClaimOutcome::Claimed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ledger_ten_concurrent_claims_of_one_push_have_exactly_one_winner() {
    let table = table().await;
    let key = push_key();

    let mut claims = tokio::task::JoinSet::new();
    for n in 0..10 {
        let table = table.clone();
        let claim = claim(&key, &format!("attempt-{n}"), T);
        claims.spawn(async move { table.claim(&claim).await });
    }
    let outcomes: Vec<ClaimOutcome> = claims
        .join_all()
        .await
        .into_iter()
        .map(|outcome| outcome.unwrap())
        .collect();

    let claimed = outcomes
        .iter()
        .filter(|o| **o == ClaimOutcome::Claimed)
        .count();
    assert_eq!(outcomes.len(), 10);
    assert_eq!(claimed, 1, "{outcomes:?}");
}

#[tokio::test]
async fn ledger_on_a_missing_table_is_an_error_naming_the_operation() {
    let client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let table = DynamoTable::new(client, unique("kefu-no-such-table"));

    let err = table.claim(&claim(&push_key(), "a1", T)).await.unwrap_err();

    assert_eq!(err.operation, "claim push");
    assert!(err.to_string().starts_with("claim push: "), "{err}");
}

// ---------------------------------------------------------------------------------------------
// hand-off registry (DynamoTable as HandoffRegistry)

#[tokio::test]
async fn handoff_recorded_openid_is_held_until_the_recorded_time() {
    let table = table().await;

    table
        .record("wx-app", &kefu_tests::openid("o-user-1"), T, T + 60_000)
        .await
        .unwrap();
    let first = table
        .held_until("wx-app", &kefu_tests::openid("o-user-1"))
        .await
        .unwrap();
    table
        .record(
            "wx-app",
            &kefu_tests::openid("o-user-1"),
            T + 1000,
            T + 120_000,
        )
        .await
        .unwrap();
    let renewed = table
        .held_until("wx-app", &kefu_tests::openid("o-user-1"))
        .await
        .unwrap();

    assert_eq!(first, Some(T + 60_000));
    assert_eq!(renewed, Some(T + 120_000));
}

#[tokio::test]
async fn handoff_ended_by_the_agent_is_not_held_and_ending_twice_is_harmless() {
    let table = table().await;
    table
        .record("wx-app", &kefu_tests::openid("o-user-1"), T, T + 60_000)
        .await
        .unwrap();

    assert!(
        table
            .end("wx-app", &kefu_tests::openid("o-user-1"), T + 1000)
            .await
            .unwrap()
    );
    assert!(
        table
            .end("wx-app", &kefu_tests::openid("o-user-1"), T + 1000)
            .await
            .unwrap()
    );

    let held = table
        .held_until("wx-app", &kefu_tests::openid("o-user-1"))
        .await
        .unwrap();
    assert!(held.is_none_or(|until| until <= T + 1000), "{held:?}");
}

#[tokio::test]
async fn handoff_decision_older_than_the_stored_one_is_not_applied() {
    let table = table().await;
    // The agent closes at T + 5 s; the retry of the session's creation (T) arrives after.
    assert!(
        table
            .end("wx-app", &kefu_tests::openid("o-user-1"), T + 5_000)
            .await
            .unwrap()
    );
    let late_create = table
        .record("wx-app", &kefu_tests::openid("o-user-1"), T, T + 60_000)
        .await
        .unwrap();

    assert!(!late_create);
    assert_eq!(
        table
            .held_until("wx-app", &kefu_tests::openid("o-user-1"))
            .await
            .unwrap(),
        Some(T + 5_000),
        "held only until the close"
    );
    // A newer creation applies.
    assert!(
        table
            .record(
                "wx-app",
                &kefu_tests::openid("o-user-1"),
                T + 9_000,
                T + 90_000
            )
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn handoff_unknown_openid_is_not_held() {
    let table = table().await;
    table
        .record("wx-app", &kefu_tests::openid("o-user-1"), T, T + 60_000)
        .await
        .unwrap();

    let other_user = table
        .held_until("wx-app", &kefu_tests::openid("o-user-2"))
        .await
        .unwrap();
    let other_app = table
        .held_until("wx-other", &kefu_tests::openid("o-user-1"))
        .await
        .unwrap();

    assert_eq!(other_user, None);
    assert_eq!(other_app, None);
}

#[tokio::test]
async fn handoff_and_ledger_entries_share_a_table_without_colliding() {
    let table = table().await;
    let key = push_key();

    table
        .record("wx-app", &kefu_tests::openid("o-user-1"), T, T + 60_000)
        .await
        .unwrap();
    let claimed = table.claim(&claim(&key, "a1", T)).await.unwrap();

    assert_eq!(claimed, ClaimOutcome::Claimed);
    assert_eq!(
        table
            .held_until("wx-app", &kefu_tests::openid("o-user-1"))
            .await
            .unwrap(),
        Some(T + 60_000)
    );
}

// ---------------------------------------------------------------------------------------------
// job queue (SqsQueue)

#[tokio::test]
async fn queue_enqueued_job_is_received_as_the_same_job() {
    let client = sqs().await;
    let url = create_queue(&client, false).await;
    let job = Job::new("wx-app", text_message("o-user-1"), T);

    SqsQueue::new(client.clone(), &url)
        .enqueue(&job)
        .await
        .unwrap();
    let messages = receive_all(&client, &url).await;

    assert_eq!(messages.len(), 1, "{messages:?}");
    let body = messages[0].body.as_deref().unwrap();
    assert_eq!(Job::from_json(body).unwrap(), job);
}

#[tokio::test]
async fn queue_fifo_job_is_grouped_by_openid_and_received_as_the_same_job() {
    let client = sqs().await;
    let url = create_queue(&client, true).await;
    let job = Job::new("wx-app", text_message("o-user-fifo"), T);

    SqsQueue::new(client.clone(), &url)
        .enqueue(&job)
        .await
        .unwrap();
    let messages = receive_all(&client, &url).await;

    assert_eq!(messages.len(), 1, "{messages:?}");
    let message = &messages[0];
    assert_eq!(
        Job::from_json(message.body.as_deref().unwrap()).unwrap(),
        job
    );
    let attributes = message.attributes.as_ref().unwrap();
    assert_eq!(
        attributes
            .get(&MessageSystemAttributeName::MessageGroupId)
            .map(String::as_str),
        Some("o-user-fifo")
    );
    let dedup = attributes
        .get(&MessageSystemAttributeName::MessageDeduplicationId)
        .unwrap();
    assert!(
        dedup.len() <= 128 && dedup.chars().all(|c| c.is_ascii_hexdigit()),
        "{dedup}"
    );
}

#[tokio::test]
async fn queue_fifo_deduplicates_the_same_push_enqueued_twice() {
    let client = sqs().await;
    let url = create_queue(&client, true).await;
    let queue = SqsQueue::new(client.clone(), &url);
    let job = Job::new("wx-app", text_message("o-user-twice"), T);
    // A retry of the same push, accepted again later: same key, different received_at.
    let retry = Job {
        received_at: T + 5_000,
        ..job.clone()
    };

    queue.enqueue(&job).await.unwrap();
    queue.enqueue(&retry).await.unwrap();
    let messages = receive_all(&client, &url).await;

    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(
        Job::from_json(messages[0].body.as_deref().unwrap()).unwrap(),
        job
    );
}

#[tokio::test]
async fn queue_that_does_not_exist_is_an_error_naming_the_operation_without_the_body() {
    let client = sqs().await;
    let url = format!(
        "{}/123456789012/{}",
        kefu_tests::aws::endpoint(),
        unique("kefu-no-such-queue")
    );
    let job = Job::new("wx-app", text_message("o-user-1"), T);

    let err = SqsQueue::new(client, url).enqueue(&job).await.unwrap_err();

    let text = err.to_string();
    assert_eq!(err.operation, "enqueue job");
    assert!(text.starts_with("enqueue job: "), "{text}");
    assert!(!text.contains(CONTENT), "{text}");
    assert!(!text.contains(&job.to_json()), "{text}");
}

#[tokio::test]
async fn queue_on_an_unreachable_endpoint_is_an_error_naming_the_operation() {
    // A loopback port nobody listens on: bound by us, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let config = aws_sdk_sqs::config::Builder::from(&sdk_config().await)
        .endpoint_url(&endpoint)
        .retry_config(aws_sdk_sqs::config::retry::RetryConfig::disabled())
        .build();
    let client = aws_sdk_sqs::Client::from_conf(config);
    let job = Job::new("wx-app", text_message("o-user-1"), T);

    let err = SqsQueue::new(client, format!("{endpoint}/123456789012/jobs"))
        .enqueue(&job)
        .await
        .unwrap_err();

    assert_eq!(err.operation, "enqueue job");
    assert!(!err.message.is_empty(), "{err}");
    assert!(!err.to_string().contains(CONTENT), "{err}");
}

// ---------------------------------------------------------------------------------------------
// rules (SsmRules)

#[tokio::test]
async fn rules_in_a_single_parameter_load() {
    let ssm = ssm().await;
    let name = format!("/{}/rules", unique("kefu"));
    put_parameter(&ssm, &name, RULES_JSON).await;

    let rules = SsmRules::new(ssm, &name).load().await.unwrap();

    assert_eq!(rules, RuleSet::from_json(RULES_JSON).unwrap());
    assert_eq!(rule_names(&rules), ["human", "hours", "welcome"]);
}

#[tokio::test]
async fn rules_split_over_a_path_are_merged_in_name_order() {
    let ssm = ssm().await;
    let path = format!("/{}/rules", unique("kefu"));
    let default = serde_json::json!({"reply": [{"type": "text", "content": "收到"}]});
    // Put out of order: the merge order is the names', not the writes'.
    put_parameter(
        &ssm,
        &format!("{path}/001"),
        &serde_json::json!({"rules": [rule("b", "bb"), rule("c", "cc")], "default": default})
            .to_string(),
    )
    .await;
    put_parameter(
        &ssm,
        &format!("{path}/002"),
        &serde_json::json!({"rules": [rule("d", "dd")]}).to_string(),
    )
    .await;
    put_parameter(
        &ssm,
        &format!("{path}/000"),
        &serde_json::json!({"rules": [rule("a", "aa")]}).to_string(),
    )
    .await;

    let rules = SsmRules::new(ssm, &path).load().await.unwrap();

    assert_eq!(rule_names(&rules), ["a", "b", "c", "d"]);
    let expected_default: Action = serde_json::from_value(default).unwrap();
    assert_eq!(rules.default, Some(expected_default));
}

#[tokio::test]
async fn rules_over_more_than_one_page_of_parameters_are_all_merged() {
    let ssm = ssm().await;
    let path = format!("/{}/rules", unique("kefu"));
    // GetParametersByPath returns at most 10 parameters a page.
    for n in (0..13).rev() {
        let fragment = serde_json::json!({"rules": [rule(&format!("r{n:02}"), &format!("k{n}"))]});
        put_parameter(&ssm, &format!("{path}/{n:03}"), &fragment.to_string()).await;
    }

    let rules = SsmRules::new(ssm, &path).load().await.unwrap();

    let expected: Vec<String> = (0..13).map(|n| format!("r{n:02}")).collect();
    assert_eq!(rule_names(&rules), expected);
}

#[tokio::test]
async fn rules_with_an_invalid_fragment_are_an_error_naming_the_parameter() {
    let ssm = ssm().await;
    let path = format!("/{}/rules", unique("kefu"));
    put_parameter(
        &ssm,
        &format!("{path}/000"),
        &serde_json::json!({"rules": [rule("a", "aa")]}).to_string(),
    )
    .await;
    let bad = format!("{path}/001");
    put_parameter(&ssm, &bad, r#"{"rules": [{"name": "no-match-no-action"}]}"#).await;

    let err = SsmRules::new(ssm, &path).load().await.unwrap_err();

    assert_eq!(err.operation, "parse rules");
    assert!(err.message.contains(&bad), "{err}");
}

#[tokio::test]
async fn rules_whose_fragments_clash_are_an_error_after_merging() {
    let ssm = ssm().await;
    let path = format!("/{}/rules", unique("kefu"));
    for n in ["000", "001"] {
        let fragment = serde_json::json!({"rules": [rule("same-name", n)]});
        put_parameter(&ssm, &format!("{path}/{n}"), &fragment.to_string()).await;
    }

    let err = SsmRules::new(ssm, &path).load().await.unwrap_err();

    assert_eq!(err.operation, "validate merged rules");
    assert!(err.message.contains("same-name"), "{err}");
}

#[tokio::test]
async fn the_starting_rules_serve_only_while_the_rules_path_is_empty() {
    let ssm = ssm().await;
    let path = format!("/{}/rules", unique("kefu"));
    let starter = format!("{path}-starter");
    put_parameter(
        &ssm,
        &starter,
        r#"{"rules":[],"default":{"reply":[{"type":"text","content":"starter"}]}}"#,
    )
    .await;
    let rules = SsmRules::new(ssm.clone(), &path).with_starter(Some(starter.clone()));
    let first = rules.load().await.unwrap();
    assert_eq!(first.rules.len(), 0);

    // The operator pushes their rules: the path wins, and the starter is left alone.
    let pushed = RuleSet::from_json(
        r#"{"rules":[{"name":"human","match":{"exact":["人工"]},"action":"transfer"}]}"#,
    )
    .unwrap();
    let published = SsmRules::new(ssm.clone(), &path)
        .publish(&pushed)
        .await
        .unwrap();
    assert!(published.removed.is_empty(), "{published:?}");
    let now = rules.load().await.unwrap();
    assert_eq!(now.rules.len(), 1);
    let kept = ssm.get_parameter().name(&starter).send().await;
    assert!(
        kept.is_ok(),
        "the starter parameter is the stack's: never deleted by a push"
    );
}

#[tokio::test]
async fn rules_with_no_parameter_at_all_are_an_error() {
    let ssm = ssm().await;
    let path = format!("/{}/rules", unique("kefu"));

    let err = SsmRules::new(ssm, &path).load().await.unwrap_err();

    assert_eq!(err.operation, "read rules");
}

// ---------------------------------------------------------------------------------------------
// secrets (load_secrets)

#[tokio::test]
async fn secrets_load_from_a_secure_string() {
    let ssm = ssm().await;
    let name = format!("/{}/secrets", unique("kefu"));
    put_secure_parameter(
        &ssm,
        &name,
        r#"{"token":"t","encoding_aes_key":"k","app_secret":"s"}"#,
    )
    .await;

    let secrets = load_secrets(&ssm, &name).await.unwrap();

    assert_eq!(secrets.token.as_ref().unwrap().expose(), "t");
    assert_eq!(
        secrets.encoding_aes_key.as_ref().map(|k| k.expose()),
        Some("k")
    );
    assert_eq!(secrets.app_secret.as_ref().map(|s| s.expose()), Some("s"));
}

#[tokio::test]
async fn secrets_debug_output_contains_none_of_the_values() {
    let ssm = ssm().await;
    let name = format!("/{}/secrets", unique("kefu"));
    // Values long and distinctive enough that finding one in the output means it leaked.
    let (token, aes_key, app_secret) = (
        "token-7f3c9a1e5b",
        "aeskey-2d8e4b6f0a",
        "appsecret-9c1a7e3f5d",
    );
    let json = serde_json::json!({
        "token": token, "encoding_aes_key": aes_key, "app_secret": app_secret,
    });
    put_secure_parameter(&ssm, &name, &json.to_string()).await;

    let secrets = load_secrets(&ssm, &name).await.unwrap();
    let debug = format!("{secrets:?}");

    assert_eq!(secrets.token.as_ref().unwrap().expose(), token);
    for value in [token, aes_key, app_secret] {
        assert!(!debug.contains(value), "{value} leaked into {debug}");
    }
}

#[tokio::test]
async fn secrets_plaintext_only_deployment_needs_only_the_token() {
    let ssm = ssm().await;
    let name = format!("/{}/secrets", unique("kefu"));
    put_secure_parameter(&ssm, &name, r#"{"token":"only-token"}"#).await;

    let secrets = load_secrets(&ssm, &name).await.unwrap();

    assert_eq!(secrets.token.as_ref().unwrap().expose(), "only-token");
    assert!(secrets.encoding_aes_key.is_none());
    assert!(secrets.app_secret.is_none());
}

#[tokio::test]
async fn receive_refuses_to_start_when_its_parameter_holds_the_app_secret() {
    // Least privilege: the internet-facing function must not be able to read the AppSecret;
    // a push secrets parameter holding it is a misconfiguration, named at the cold start.
    let clients = kefu_tests::aws::clients().await;
    let table = kefu_tests::aws::create_table(&clients.dynamodb).await;
    let queue = kefu_tests::aws::create_queue(&clients.sqs, false).await;
    let name = format!("/{}/secrets/push", unique("kefu"));
    let app_secret = "appsecret-5b2e9d7c1f";
    let json = serde_json::json!({"token": "t", "app_secret": app_secret});
    put_secure_parameter(&clients.ssm, &name, &json.to_string()).await;
    let config = function_config(&[
        ("KEFU_APPID", kefu::sample::APPID.to_owned()),
        ("KEFU_TABLE", table),
        ("KEFU_QUEUE_URL", queue),
        ("KEFU_RULES_PATH", format!("/{}/rules", unique("kefu"))),
        ("KEFU_PUSH_SECRETS_PARAMETER", name.clone()),
    ]);
    let aws = kefu::aws::Aws::from_config(&kefu_tests::aws::sdk_config().await);

    let err = kefu::compose::aws::receiver(&aws, &config)
        .await
        .expect_err("receive must not start with the AppSecret in reach");

    let reason = err.to_string();
    assert!(
        reason.contains(&name) && reason.contains("app_secret"),
        "{reason}"
    );
    assert!(!reason.contains(app_secret), "{reason}");
}

#[tokio::test]
async fn each_function_names_the_secrets_parameter_it_is_missing() {
    let aws = kefu::aws::Aws::from_config(&kefu_tests::aws::sdk_config().await);
    let config = function_config(&[
        ("KEFU_APPID", kefu::sample::APPID.to_owned()),
        ("KEFU_TABLE", "t".to_owned()),
        ("KEFU_QUEUE_URL", "http://q".to_owned()),
        ("KEFU_RULES_PATH", "/kefu/rules".to_owned()),
    ]);

    let receive = kefu::compose::aws::receiver(&aws, &config)
        .await
        .unwrap_err();
    let reply = kefu::compose::aws::sender(&aws, &config).await.unwrap_err();

    assert!(
        receive.to_string().contains("KEFU_PUSH_SECRETS_PARAMETER"),
        "{receive}"
    );
    assert!(
        reply.to_string().contains("KEFU_API_SECRETS_PARAMETER"),
        "{reply}"
    );
}

#[tokio::test]
async fn secrets_malformed_json_is_an_error_that_does_not_quote_the_value() {
    let ssm = ssm().await;
    let cases = [
        // cut short
        (
            r#"{"token": "tok-secret-4e1f8a", "app_secret": "app-"#,
            "tok-secret-4e1f8a",
        ),
        // a value of the wrong type, which serde's message would quote
        (
            r#"{"token": "tok-secret-4e1f8a", "app_secret": 918273645}"#,
            "918273645",
        ),
        // an object where a string belongs
        (
            r#"{"app_secret": {"value": "app-secret-77aa3c"}}"#,
            "app-secret-77aa3c",
        ),
    ];
    for (n, (value, secret)) in cases.into_iter().enumerate() {
        let name = format!("/{}/secrets-{n}", unique("kefu"));
        put_secure_parameter(&ssm, &name, value).await;

        let err = load_secrets(&ssm, &name).await.unwrap_err();

        let text = err.to_string();
        assert_eq!(err.operation, "parse secrets", "{text}");
        assert!(text.contains(&name), "{text}");
        assert!(!text.contains(secret), "{secret} leaked into {text}");
        assert!(!text.contains("tok-secret-4e1f8a"), "{text}");
    }
}

#[tokio::test]
async fn secrets_missing_parameter_is_an_error_naming_the_operation() {
    let ssm = ssm().await;
    let name = format!("/{}/secrets", unique("kefu"));

    let err = load_secrets(&ssm, &name).await.unwrap_err();

    assert_eq!(err.operation, "read secrets");
}
