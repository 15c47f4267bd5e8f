//! The knowledge base in `kefu rules`: the FAQ findings of `validate` (entries that compete,
//! duplicate questions, questions a rule answers first, lone questions), the sample FAQ, and
//! the FAQ decision `test` prints (entry, score, runner-up, shared words).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::process::{Command, Output};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn kefu(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(args)
        .current_dir(ROOT)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = kefu(args);
    assert!(
        out.status.success(),
        "kefu {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn write_temp(name: &str, json: &str) -> String {
    let path = std::env::temp_dir().join(format!("kefu-faq-checks-{}-{name}", std::process::id()));
    std::fs::write(&path, json).unwrap();
    path.display().to_string()
}

#[test]
fn validate_reports_competing_entries_duplicates_rule_keywords_and_lone_questions() {
    let rules = write_temp(
        "checks.json",
        &serde_json::json!({
            "rules": [{"name": "human", "match": {"exact": ["人工", "我要投诉"]}, "action": "transfer"}],
            "faq": {"entries": [
                {"id": "refund", "questions": ["怎么申请退款", "如何退款", "退款怎么申请"],
                 "action": {"reply": [{"type": "text", "content": "a"}]}},
                {"id": "refund-again", "questions": ["怎么申请退款？", "申请退款"],
                 "action": {"reply": [{"type": "text", "content": "b"}]}},
                {"id": "complaint", "questions": ["我要投诉", "投诉客服"], "action": "transfer"},
                {"id": "invoice", "questions": ["怎么开发票"],
                 "action": {"reply": [{"type": "text", "content": "c"}]}}
            ]}
        })
        .to_string(),
    );
    // Warnings only: the file is valid.
    let out = ok(&["rules", "validate", &rules]);
    for finding in [
        "warning: faq.entries[1] (refund-again): questions[0] \"怎么申请退款？\" is the same as entries[0] (refund) questions[0]",
        "warning: faq.entries[2] (complaint): questions[0] \"我要投诉\" is answered by rules[0] (human)",
        "warning: faq.entries[3] (invoice): only one question",
        "warning: faq.entries[1] (refund-again): competes with entries[0] (refund): questions[1] \"申请退款\" is suggested with refund first",
    ] {
        assert!(out.contains(finding), "{finding}\n{out}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&ok(&["rules", "validate", &rules, "--json"])).unwrap();
    assert!(json["valid"].as_bool().unwrap());
    assert!(
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["part"] == "faq" && f["name"] == "invoice"),
        "{json}"
    );
}

#[test]
fn the_faq_sample_validates_cleanly_and_answers() {
    let out = ok(&["rules", "validate", "rules/faq-sample.json"]);
    assert!(!out.contains("warning"), "{out}");
    assert!(out.contains("10 faq entries"), "{out}");
}

#[test]
fn test_shows_the_faq_decision_entry_score_runner_up_and_shared_words() {
    let answer = ok(&[
        "rules",
        "test",
        "rules/faq-sample.json",
        "我买的东西想退钱怎么弄",
    ]);
    let first = answer.lines().next().unwrap();
    assert!(
        first.starts_with("faq entry refund-apply: 1 message(s)"),
        "{answer}"
    );
    assert!(first.contains("— score "), "{first}");
    assert!(first.contains("shared words: "), "{first}");
    assert!(answer.contains("申请退款："), "{answer}");

    let transfer = ok(&[
        "rules",
        "test",
        "rules/faq-sample.json",
        "你们客服态度太差我要投诉",
    ]);
    assert!(
        transfer.starts_with("faq entry complaint: transfer to a human agent"),
        "{transfer}"
    );

    let unsure = ok(&["rules", "test", "rules/faq-sample.json", "关于退款"]);
    assert!(
        unsure.starts_with("faq suggestion: 1 message(s)"),
        "{unsure}"
    );
    assert!(unsure.contains("您是不是想问"), "{unsure}");

    let nothing = ok(&["rules", "test", "rules/faq-sample.json", "今天天气不错"]);
    assert!(nothing.starts_with("default: 1 message(s)"), "{nothing}");
    assert!(nothing.contains("(faq: "), "{nothing}");

    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "rules",
        "test",
        "rules/faq-sample.json",
        "我买的东西想退钱怎么弄",
        "--json",
    ]))
    .unwrap();
    assert_eq!(json["faq"]["entry"], "refund-apply", "{json}");
    assert!(json["faq"]["score"].as_f64().unwrap() > 0.0, "{json}");
}
