//! The reply path's time arithmetic (`kefu::send::budget`) against what is deployed:
//! template.yaml's timeouts, visibility timeout, redrive count and retention, and the release
//! profile's panic strategy. A change on either side alone fails here.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::time::Duration;

use kefu::send::budget;
use kefu_tests::template::template;
use serde_norway::Value;

const CARGO_TOML: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml"));

fn properties(name: &str) -> Value {
    kefu_tests::template::properties(&template(), name).clone()
}

fn seconds(value: &Value, what: &str) -> Duration {
    Duration::from_secs(
        value
            .as_u64()
            .unwrap_or_else(|| panic!("{what} is a number")),
    )
}

#[test]
fn the_reply_function_timeout_is_the_one_the_sender_plans_with() {
    let timeout = seconds(
        &properties("ReplyFunction")["Timeout"],
        "ReplyFunction.Timeout",
    );
    assert_eq!(timeout, budget::FUNCTION_TIMEOUT);
    assert!(
        budget::SEND_LEASE > timeout,
        "a live invocation's send claims must not expire under it"
    );
}

#[test]
fn a_send_claim_expires_before_sqs_redelivers_the_job() {
    let visibility = seconds(
        &properties("JobQueue")["VisibilityTimeout"],
        "JobQueue.VisibilityTimeout",
    );
    assert_eq!(visibility, budget::VISIBILITY_TIMEOUT);
    assert!(budget::SEND_LEASE < visibility);
}

#[test]
fn every_redelivery_happens_while_the_job_can_still_be_sent() {
    let redrive = &properties("JobQueue")["RedrivePolicy"];
    let receives = redrive["maxReceiveCount"]
        .as_u64()
        .expect("maxReceiveCount is a number");
    assert_eq!(receives, u64::from(budget::MAX_RECEIVES));
    assert!(budget::VISIBILITY_TIMEOUT * budget::MAX_RECEIVES < budget::MAX_JOB_AGE);
}

#[test]
fn a_dead_letter_redrive_after_the_ledger_forgot_sends_nothing() {
    // The DLQ keeps jobs longer than the ledger remembers sends: only because jobs older than
    // MAX_JOB_AGE are dropped unsent is a redrive safe.
    let retention = seconds(
        &properties("DeadLetterQueue")["MessageRetentionPeriod"],
        "DeadLetterQueue.MessageRetentionPeriod",
    );
    assert!(retention > budget::LEDGER_TTL, "the case this guards");
    assert!(budget::MAX_JOB_AGE < budget::LEDGER_TTL);
}

#[test]
fn the_release_profile_unwinds_so_a_panicking_job_fails_only_its_records() {
    let release: Vec<&str> = CARGO_TOML
        .lines()
        .skip_while(|line| line.trim() != "[profile.release]")
        .skip(1)
        .take_while(|line| !line.trim_start().starts_with('['))
        .map(str::trim)
        .filter(|line| line.starts_with("panic"))
        .collect();
    assert_eq!(release, vec![r#"panic = "unwind""#]);
}
