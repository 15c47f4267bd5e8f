//! `kefu rules` as a rules author uses it: validation with positions, the published schema,
//! `test`, and `push`/`pull`/`diff` against Parameter Store (moto server, started by
//! `tests/run.sh`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::process::{Command, Output};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn kefu(args: &[&str], aws: bool) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kefu"));
    command
        .args(args)
        .current_dir(ROOT)
        .env_remove("KEFU_RULES_PATH");
    if aws {
        let endpoint = std::env::var("KEFU_TEST_AWS_ENDPOINT")
            .expect("moto server not running: run `bash tests/run.sh`, which starts it");
        command
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true");
    }
    command.output().unwrap()
}

fn ok(args: &[&str], aws: bool) -> String {
    let out = kefu(args, aws);
    assert!(
        out.status.success(),
        "kefu {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn write_temp(name: &str, json: &str) -> String {
    let path = std::env::temp_dir().join(format!("kefu-rules-{}-{name}", std::process::id()));
    std::fs::write(&path, json).unwrap();
    path.display().to_string()
}

#[test]
fn validate_accepts_the_sample_and_rejects_broken_files_with_the_rule_position() {
    assert!(
        ok(&["rules", "validate", "rules/sample.json"], false).contains("5 rules (1 transfer)")
    );
    let cases = [
        (
            r#"{"rules":[{"name":"ok","match":{"exact":"a"},"action":"transfer"},{"name":"empty","match":{"exact":"x"},"action":{"reply":[]}}]}"#,
            "rules[1] (empty): reply has 0 messages",
        ),
        (
            r#"{"rules":[{"name":"a","match":{"exact":"x"},"action":"transfer"},{"name":"a","match":{"exact":"y"},"action":"transfer"}]}"#,
            "rules[1] (a): name is used by an earlier rule",
        ),
        (
            r#"{"rules":[{"name":"r","match":{"regex":"("},"action":"transfer"}]}"#,
            "invalid regex",
        ),
        (
            r#"{"rules":[{"name":"r","match":{"exactly":"x"},"action":"transfer"}]}"#,
            "line 1 column",
        ),
        (
            r#"{"rules":[{"name":"img","match":{"exact":"x"},"action":{"reply":[{"type":"image","source":{"url":"http://insecure"}}]}}]}"#,
            "rules[0] (img): reply[0]: image url must start with https://",
        ),
        (
            r#"{"rules":[{"name":"six","match":{"exact":"x"},"action":{"reply":[{"type":"text","content":"1"},{"type":"text","content":"2"},{"type":"text","content":"3"},{"type":"text","content":"4"},{"type":"text","content":"5"},{"type":"text","content":"6"}]}}]}"#,
            "rules[0] (six): reply has 6 messages",
        ),
        ("{not json", "line 1 column"),
    ];
    for (n, (json, reason)) in cases.iter().enumerate() {
        let file = write_temp(&format!("bad{n}.json"), json);
        let out = kefu(&["rules", "validate", &file], false);
        assert_eq!(out.status.code(), Some(1), "{json}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(reason), "{json}: {stderr}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn the_published_schema_is_generated_from_the_rust_types() {
    let generated = ok(&["rules", "schema"], false);
    let published = std::fs::read_to_string(format!("{ROOT}/rules/schema.json")).unwrap();
    assert_eq!(
        published.trim(),
        generated.trim(),
        "rules/schema.json is stale: run `cargo run -p kefu-cli -- rules schema > rules/schema.json`"
    );
}

#[test]
fn test_says_which_rule_answers_and_what_is_sent() {
    assert!(
        ok(&["rules", "test", "rules/sample.json", "人工"], false).starts_with("human: transfer")
    );
    let hours = ok(
        &["rules", "test", "rules/sample.json", "请问几点开门"],
        false,
    );
    assert!(
        hours.starts_with("hours: 1 message(s)") && hours.contains("9:00–21:00"),
        "{hours}"
    );
    assert!(
        ok(
            &[
                "rules",
                "test",
                "rules/sample.json",
                "--event",
                "user_enter_tempsession"
            ],
            false
        )
        .starts_with("welcome")
    );
    assert!(
        ok(
            &[
                "rules",
                "test",
                "rules/sample.json",
                "--event",
                "subscribe_msg_popup_event"
            ],
            false
        )
        .starts_with("no rule answers")
    );
    assert!(
        ok(&["rules", "test", "rules/sample.json", "随便"], false)
            .starts_with("default: 1 message(s)")
    );
}

#[test]
fn push_and_pull_round_trip_through_parameter_store() {
    let path = format!("/kefu-test-{}/rules", std::process::id());
    assert!(
        ok(
            &["rules", "push", "rules/sample.json", "--path", &path],
            true
        )
        .contains("(1 parameter)")
    );
    let pulled = ok(&["rules", "pull", "--path", &path], true);
    let mut sample: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{ROOT}/rules/sample.json")).unwrap(),
    )
    .unwrap();
    // "$schema" is for editors; Parameter Store gets the rules alone.
    sample.as_object_mut().unwrap().remove("$schema");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&pulled).unwrap(),
        sample
    );
    assert_eq!(
        ok(
            &["rules", "diff", "rules/sample.json", "--path", &path],
            true
        )
        .trim(),
        "no differences"
    );

    // A large set spans several parameters, and comes back whole and in order.
    let rules: Vec<_> = (0..40)
        .map(|n| serde_json::json!({"name": format!("rule-{n:02}"), "match": {"exact": format!("关键词{n}")},
            "action": {"reply": [{"type": "text", "content": "很长的回复内容".repeat(10)}]}}))
        .collect();
    let large = serde_json::json!({"rules": rules, "default": {"reply": [{"type": "text", "content": "默认"}]}});
    let file = write_temp("large.json", &large.to_string());
    let pushed = ok(&["rules", "push", &file, "--path", &path], true);
    assert!(!pushed.contains("(1 parameter)"), "{pushed}");
    let back: serde_json::Value =
        serde_json::from_str(&ok(&["rules", "pull", "--path", &path], true)).unwrap();
    assert_eq!(back, large);
    // Differences: shown with their content, and exit status 1 (as `diff` does).
    let out = kefu(
        &["rules", "diff", "rules/sample.json", "--path", &path],
        true,
    );
    let diff = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{diff}");
    assert!(
        diff.contains("+ human: {\"name\":\"human\",\"match\":{\"exact\":[\"人工\"")
            && diff.contains("- rule-00: {\"name\":\"rule-00\"")
            && diff
                .contains("~ default\n  - {\"reply\":[{\"type\":\"text\",\"content\":\"默认\"}]}"),
        "{diff}"
    );
    let out = kefu(
        &[
            "rules",
            "diff",
            "rules/sample.json",
            "--path",
            &path,
            "--json",
        ],
        true,
    );
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["differences"], true);
    assert_eq!(json["added"].as_array().unwrap().len(), 5);
    assert_eq!(json["removed"].as_array().unwrap().len(), 40);

    // Pushing the small set again removes the fragments it no longer needs.
    let small = ok(
        &["rules", "push", "rules/sample.json", "--path", &path],
        true,
    );
    assert!(small.contains("removed"), "{small}");

    // One changed rule: the part that changed, before and after.
    let mut edited = sample.clone();
    edited["rules"][1]["action"]["reply"][0]["content"] =
        "我们的服务时间是每天 8:00–22:00。".into();
    let file = write_temp("edited.json", &edited.to_string());
    let out = kefu(&["rules", "diff", &file, "--path", &path], true);
    let diff = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{diff}");
    assert!(
        diff.starts_with("~ hours\n  - action: ")
            && diff.contains("9:00–21:00")
            && diff.contains("+ action: ")
            && diff.contains("8:00–22:00")
            && !diff.contains("match:"),
        "{diff}"
    );
    let back: serde_json::Value =
        serde_json::from_str(&ok(&["rules", "pull", "--path", &path], true)).unwrap();
    assert_eq!(back, sample);
}

#[test]
fn validate_reports_missing_images_transfers_on_events_and_shadowed_rules() {
    let file = write_temp(
        "checks.json",
        r#"{"$schema": "./schema.json", "rules": [
            {"name": "order", "match": {"prefix": "订单"}, "action": "transfer"},
            {"name": "order-status", "match": {"exact": "订单状态"}, "action": {"reply": [{"type": "text", "content": "x"}]}},
            {"name": "enter", "match": {"event": "user_enter_tempsession"}, "action": "transfer"},
            {"name": "pic", "match": {"msg_type": "image"}, "action": {"reply": [{"type": "image", "source": {"file": "missing.png"}}]}},
            {"name": "ok-pic", "match": {"msg_type": "link"}, "action": {"reply": [{"type": "image", "source": {"file": "welcome.png"}}]}}
        ]}"#,
    );
    let out = kefu(&["rules", "validate", &file], false);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a missing image is an error: {stdout}"
    );
    assert!(
        stdout.contains("error: rules[3] (pic): image file \"missing.png\""),
        "{stdout}"
    );
    assert!(!stdout.contains("welcome.png"), "{stdout}");
    assert!(
        stdout.contains("warning: rules[2] (enter): transfer on an event does nothing"),
        "{stdout}"
    );
    assert!(
        stdout.contains("warning: rules[1] (order-status): never matches: rules[0] (order)"),
        "{stdout}"
    );

    let json = kefu(&["rules", "validate", &file, "--json"], false);
    assert_eq!(json.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["valid"], false);
    assert_eq!(json["findings"].as_array().unwrap().len(), 3);

    // Warnings alone pass.
    let warned = write_temp(
        "warned.json",
        r#"{"rules": [{"name": "a", "match": {"contains": "a"}, "action": "transfer"},
                      {"name": "ab", "match": {"contains": "ab"}, "action": "transfer"}]}"#,
    );
    let out = ok(&["rules", "validate", &warned], false);
    assert!(
        out.contains("warning: rules[1] (ab): never matches") && out.contains("✓"),
        "{out}"
    );
    let valid: serde_json::Value = serde_json::from_str(&ok(
        &["rules", "validate", "rules/sample.json", "--json"],
        false,
    ))
    .unwrap();
    assert_eq!(valid["valid"], true);
    assert_eq!(valid["rules"], 5);
}

#[test]
fn test_says_why_and_answers_in_json() {
    let json: serde_json::Value = serde_json::from_str(&ok(
        &[
            "rules",
            "test",
            "rules/sample.json",
            "请问几点开门",
            "--json",
        ],
        false,
    ))
    .unwrap();
    assert_eq!(json["rule"], "hours");
    assert_eq!(json["why"], "contains \"几点\"");
    assert_eq!(json["outcome"], "reply");
    assert_eq!(json["messages"][0]["type"], "text");
    assert!(ok(&["rules", "test", "rules/sample.json", "人工"], false).contains("exact \"人工\""));
}

#[test]
fn aws_errors_are_one_line_and_profile_and_region_are_accepted() {
    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args([
            "rules",
            "pull",
            "--path",
            "/kefu/rules",
            "--region",
            "eu-west-1",
        ])
        .current_dir(ROOT)
        // Nothing listens on port 9: the SDK's connection error, as a user without a network sees it.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(
            "error: read rules: nothing answers at http://127.0.0.1:9 (AWS_ENDPOINT_URL)"
        ),
        "{stderr}"
    );
    assert!(
        !stderr.contains("DispatchFailure(")
            && !stderr.contains("ConnectorError")
            && stderr.len() < 300,
        "{stderr}"
    );
    let bad_path = kefu(&["rules", "pull", "--path", "kefu/rules"], false);
    assert!(
        String::from_utf8_lossy(&bad_path.stderr).contains("must start with '/'"),
        "{bad_path:?}"
    );
}

#[test]
fn every_sample_rules_file_validates_cleanly() {
    for entry in std::fs::read_dir(format!("{ROOT}/rules")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if !name.ends_with(".json") || name == "schema.json" {
            continue;
        }
        let out = ok(&["rules", "validate", &format!("rules/{name}")], false);
        assert!(
            out.contains('✓') && !out.contains("warning"),
            "{name}: {out}"
        );
    }
}

#[test]
fn test_at_a_local_time_shows_the_schedule_decision_and_why() {
    let file = "rules/business-hours.json";
    let late = ok(
        &["rules", "test", file, "人工", "--at", "2026-12-05T22:30"],
        false,
    );
    assert!(
        late.starts_with("human: 1 message(s) — exact \"人工\"; closed: sat is not among mon, tue, wed, thu, fri (sat 2026-12-05 22:30 Asia/Shanghai): otherwise"),
        "{late}"
    );
    // The reply's {time} is the local time the message arrived. Saturday night: Sunday is
    // closed too, so no 「明天 9 点见」; the reply says when agents are there.
    assert!(
        late.contains("人工客服工作日 9:00–21:00 在线，现在是 22:30") && !late.contains("明天"),
        "{late}"
    );

    let open = ok(
        &["rules", "test", file, "人工", "--at", "2026-12-04T10:00"],
        false,
    );
    assert!(open.starts_with("human: transfer"), "{open}");
    assert!(
        open.contains("open: fri is an open day, 10:00 in 09:00-21:00"),
        "{open}"
    );

    let holiday = ok(
        &[
            "rules",
            "test",
            file,
            "人工",
            "--at",
            "2026-10-01T10:00",
            "--json",
        ],
        false,
    );
    let holiday: serde_json::Value = serde_json::from_str(&holiday).unwrap();
    assert_eq!(holiday["outcome"], "reply");
    assert_eq!(holiday["at"], "2026-10-01T10:00");
    assert_eq!(holiday["time_zone"], "Asia/Shanghai");
    assert!(
        holiday["why"]
            .as_str()
            .unwrap()
            .contains("closed: 2026-10-01 is a closed date"),
        "{holiday}"
    );

    let makeup = ok(
        &["rules", "test", file, "人工", "--at", "2026-09-27T20:59"],
        false,
    );
    assert!(
        makeup.contains("open: 2026-09-27 is an open date"),
        "{makeup}"
    );

    for bad in [
        "2026-12-05",
        "2026-12-05T24:00",
        "2026-02-30T10:00",
        "tomorrow",
    ] {
        let out = kefu(&["rules", "test", file, "人工", "--at", bad], false);
        assert_eq!(out.status.code(), Some(1), "{bad}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("is not YYYY-MM-DDTHH:MM"),
            "{bad}: {out:?}"
        );
    }
}

#[test]
fn test_names_the_condition_that_failed_for_rules_passed_over() {
    let file = "rules/business-hours.json";
    let home = ok(
        &[
            "rules",
            "test",
            file,
            "--event",
            "user_enter_tempsession",
            "--field",
            "SessionFrom=home",
        ],
        false,
    );
    assert!(home.starts_with("welcome: 1 message(s)"), "{home}");
    assert!(
        home.contains("passed over rules[2] (welcome-from-order): session_from: \"home\" is none of \"order\", \"order-detail\""),
        "{home}"
    );
    let joined = ok(
        &[
            "rules",
            "test",
            file,
            "--event",
            "kf_create_session",
            "--field",
            "KfAccount=alice@kefu",
        ],
        false,
    );
    assert!(joined.contains("客服 alice@kefu 已接入"), "{joined}");
}

#[test]
fn validate_names_the_rule_of_a_bad_schedule_or_placeholder() {
    let cases = [
        (
            r#"{"rules":[{"name":"night","match":{"exact":"x"},"schedule":{"hours":["22:00-02:00"]},"action":"transfer"}]}"#,
            "rules[0] (night): schedule: hours[0] \"22:00-02:00\" crosses midnight",
        ),
        (
            r#"{"schedules":{"business":{"days":["mon","fri2"]}},"rules":[]}"#,
            "schedules.business: days[1] \"fri2\" is not a day",
        ),
        (
            r#"{"rules":[{"name":"a","match":{"exact":"x"},"action":"transfer"},{"name":"hi","match":{"exact":"y"},"action":{"reply":[{"type":"text","content":"{name}"}]}}]}"#,
            "rules[1] (hi): reply[0]: unknown placeholder {name}",
        ),
    ];
    for (n, (json, reason)) in cases.iter().enumerate() {
        let file = write_temp(&format!("schedule{n}.json"), json);
        let out = kefu(&["rules", "validate", &file], false);
        assert_eq!(out.status.code(), Some(1), "{json}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(reason), "{json}: {stderr}");
    }
}

/// `kefu rules` is "Check, test, diff, push and pull": `check` is validate (it once got "a
/// similar subcommand exists: 'schema'"), and the help says so.
#[test]
fn rules_check_is_validate() {
    let checked = ok(&["rules", "check", "rules/sample.json"], false);
    let validated = ok(&["rules", "validate", "rules/sample.json"], false);
    assert_eq!(checked, validated);
    let help = ok(&["rules", "--help"], false);
    assert!(help.contains("[alias: check]"), "{help}");
}
