//! `kefu faq import` / `export` as an operator uses them with a spreadsheet's CSV: merged by id
//! with a report, bad rows named by their line, and a round trip that changes nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::path::PathBuf;
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

fn failed(args: &[&str]) -> String {
    let out = kefu(args);
    assert!(!out.status.success(), "kefu {args:?} succeeded");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A fresh directory for one test.
fn dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kefu-faq-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(path: &PathBuf, bytes: &[u8]) -> String {
    std::fs::write(path, bytes).unwrap();
    path.display().to_string()
}

fn entries(rules: &str) -> serde_json::Value {
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(rules).unwrap()).unwrap();
    json["faq"]["entries"].clone()
}

fn entry<'a>(entries: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    entries
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("no entry {id} in {entries}"))
}

/// As Excel writes 「CSV UTF-8」: a BOM, CRLF rows, quoted cells with newlines and commas.
const SHEET: &str = "\u{feff}id,标准问题,相似问题,答案\r\n\
refund,怎么申请退款,\"如何退款\n退款在哪里操作\",\"我的-订单-申请退款，审核后原路退回\"\r\n\
ship,什么时候发货,多久发货|几天能发出 | 今天能发吗,\"16:00 前付款当天发货, 之后次日发货\"\r\n\
invoice,怎么开发票,能开发票吗｜发票在哪里申请,\"确认收货后申请开票\n\n电子发票发到邮箱\"\r\n\
,,,\r\n";

#[test]
fn import_creates_the_faq_from_a_spreadsheet_csv_and_the_result_answers() {
    let dir = dir("create");
    let csv = write(&dir.join("faq.csv"), SHEET.as_bytes());
    let rules = write(
        &dir.join("rules.json"),
        r#"{"rules":[{"name":"human","match":{"exact":"人工"},"action":"transfer"}],"default":{"reply":[{"type":"text","content":"收到"}]}}"#.as_bytes(),
    );
    let report = ok(&["faq", "import", &csv, "--into", &rules]);
    for line in ["+ refund", "+ ship", "+ invoice", "3 added"] {
        assert!(report.contains(line), "{line}: {report}");
    }
    let entries = entries(&rules);
    assert_eq!(entries.as_array().unwrap().len(), 3, "{entries}");
    assert_eq!(
        entry(&entries, "refund")["questions"],
        serde_json::json!(["怎么申请退款", "如何退款", "退款在哪里操作"])
    );
    assert_eq!(
        entry(&entries, "ship")["questions"],
        serde_json::json!(["什么时候发货", "多久发货", "几天能发出", "今天能发吗"])
    );
    assert_eq!(
        entry(&entries, "ship")["action"]["reply"][0]["content"],
        "16:00 前付款当天发货, 之后次日发货"
    );
    // A blank line in the answer starts another message; full-width ｜ separates questions.
    let invoice = entry(&entries, "invoice");
    assert_eq!(invoice["questions"].as_array().unwrap().len(), 3);
    assert_eq!(
        invoice["action"]["reply"],
        serde_json::json!([
            {"type": "text", "content": "确认收货后申请开票"},
            {"type": "text", "content": "电子发票发到邮箱"}
        ])
    );
    // The rules kept, and the FAQ answers what users ask.
    ok(&["rules", "validate", &rules]);
    assert!(ok(&["rules", "test", &rules, "人工"]).starts_with("human: transfer"));
    let answer = ok(&["rules", "test", &rules, "退款去哪申请"]);
    assert!(answer.contains("faq entry refund"), "{answer}");
}

#[test]
fn import_merges_by_id_reports_each_entry_and_keeps_entries_not_in_the_csv() {
    let dir = dir("merge");
    let rules = write(
        &dir.join("rules.json"),
        serde_json::json!({
            "faq": {"answer_threshold": 0.3, "entries": [
                {"id": "refund", "questions": ["怎么申请退款", "如何退款"],
                 "action": {"reply": [{"type": "text", "content": "旧的答案"}]}, "not": "运费"},
                {"id": "ship", "questions": ["什么时候发货", "多久发货"],
                 "action": {"reply": [{"type": "text", "content": "当天发货"}]}},
                {"id": "complaint", "questions": ["我要投诉", "投诉客服"], "action": "transfer"},
                {"id": "size", "questions": ["尺码怎么选", "穿多大码"],
                 "action": {"reply": [{"type": "text", "content": "看尺码表"}]}}
            ]}
        })
        .to_string()
        .as_bytes(),
    );
    let csv = write(
        &dir.join("faq.csv"),
        "id,standard,similar,answer\n\
         refund,怎么申请退款,如何退款,新的答案\n\
         ship,什么时候发货,多久发货|几天能发出,当天发货\n\
         size,尺码怎么选,穿多大码,看尺码表\n\
         coupon,优惠券怎么用,下单时怎么选优惠券,结算页选择\n"
            .as_bytes(),
    );
    let before = std::fs::read_to_string(&rules).unwrap();

    let dry = ok(&["faq", "import", &csv, "--into", &rules, "--dry-run"]);
    assert_eq!(
        std::fs::read_to_string(&rules).unwrap(),
        before,
        "dry run wrote"
    );
    assert!(dry.contains("dry run"), "{dry}");

    let report = ok(&["faq", "import", &csv, "--into", &rules]);
    assert_eq!(
        report,
        dry.replace("dry run, nothing written", "written"),
        "{report}"
    );
    for line in [
        "+ coupon",
        "~ refund: answer",
        "~ ship: similar questions",
        "unchanged: size",
        "not in the CSV (kept): complaint",
        "1 added, 2 changed, 1 unchanged, 1 kept",
    ] {
        assert!(report.contains(line), "{line}: {report}");
    }
    let entries = entries(&rules);
    let ids: Vec<&str> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["refund", "ship", "complaint", "size", "coupon"]);
    // What the CSV does not hold (not words, the transfer, the thresholds) is kept.
    assert_eq!(entry(&entries, "refund")["not"], "运费");
    assert_eq!(entry(&entries, "complaint")["action"], "transfer");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&rules).unwrap()).unwrap();
    assert_eq!(json["faq"]["answer_threshold"], 0.3);

    // Again: nothing changes, and the file is left alone.
    let written = std::fs::read_to_string(&rules).unwrap();
    let again = ok(&["faq", "import", &csv, "--into", &rules]);
    assert!(again.contains("no changes"), "{again}");
    assert_eq!(std::fs::read_to_string(&rules).unwrap(), written);
}

#[test]
fn a_bad_row_is_named_by_its_line_and_nothing_is_written() {
    let dir = dir("bad");
    let rules = write(
        &dir.join("rules.json"),
        r#"{"default":{"reply":[{"type":"text","content":"收到"}]}}"#.as_bytes(),
    );
    let before = std::fs::read_to_string(&rules).unwrap();
    let cases: [(&[u8], &str); 7] = [
        // The quoted cell spans lines 2–3: the bad row starts on line 4 (row 3 of the sheet).
        (
            "id,q,similar,answer\nrefund,怎么退款,\"如何退款\n退款流程\",好的\nship,,多久发货,当天\n".as_bytes(),
            "line 4 (row 3): the standard question is empty",
        ),
        (
            b"id,q,similar,answer\n,how,,fine\n",
            "line 2 (row 2): the id is empty",
        ),
        (
            "id,q,similar,answer\nrefund,怎么退款,,好的\nrefund,如何退款,,好的\n".as_bytes(),
            "line 3 (row 3): id \"refund\" is already on line 2",
        ),
        (
            "id,q,similar,answer\nrefund,怎么退款,,\n".as_bytes(),
            "line 2 (row 2): refund: the answer is empty",
        ),
        (
            "id,q,similar,answer\nrefund,怎么退款,,\"好的\n".as_bytes(),
            "line 2: a quoted cell is never closed",
        ),
        (
            "id,q,similar,answer\nrefund,怎么退款,,你好 {name}\n".as_bytes(),
            "line 2 (row 2): refund: action: reply[0]",
        ),
        (
            b"id,q,similar,answer\nrefund,\xcd\xcb\xbf\xee,,ok\n",
            "not UTF-8",
        ),
    ];
    for (n, (csv, reason)) in cases.iter().enumerate() {
        let file = write(&dir.join(format!("bad{n}.csv")), csv);
        let out = failed(&["faq", "import", &file, "--into", &rules]);
        assert!(out.contains(reason), "case {n}: want {reason:?} in {out}");
        assert_eq!(std::fs::read_to_string(&rules).unwrap(), before, "case {n}");
    }
}

#[test]
fn export_then_import_changes_nothing_and_notes_entries_that_are_not_only_text() {
    let dir = dir("round-trip");
    let rules = write(
        &dir.join("rules.json"),
        std::fs::read_to_string(format!("{ROOT}/rules/faq-sample.json"))
            .unwrap()
            .as_bytes(),
    );
    let csv_path = dir.join("faq.csv");
    let csv = csv_path.display().to_string();
    let said = ok(&["faq", "export", &rules, "--output", &csv]);
    assert!(said.contains("10 entries"), "{said}");
    let bytes = std::fs::read(&csv_path).unwrap();
    assert!(bytes.starts_with("\u{feff}".as_bytes()), "no BOM for Excel");
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("refund-apply,怎么申请退款,"), "{text}");
    // The last entry: its note says why its answer column is empty.
    let complaint = &text[text.find("\ncomplaint,").unwrap()..];
    assert!(complaint.contains("transfer"), "{complaint}");

    let before = std::fs::read_to_string(&rules).unwrap();
    let report = ok(&["faq", "import", &csv, "--into", &rules]);
    assert!(report.contains("no changes"), "{report}");
    assert!(report.contains("10 unchanged"), "{report}");
    assert_eq!(std::fs::read_to_string(&rules).unwrap(), before);

    // To stdout as well: the same CSV (a pipe here, so with the BOM Excel needs), or without.
    let piped = ok(&["faq", "export", &rules]);
    assert_eq!(piped.trim_end(), text.trim_end());
    let plain = ok(&["faq", "export", &rules, "--no-bom"]);
    assert!(plain.starts_with("id,"), "{plain}");
}

#[test]
fn an_edited_answer_the_csv_cannot_hold_is_ignored_with_a_warning() {
    let dir = dir("not-text");
    let action = serde_json::json!({"reply": [
        {"type": "text", "content": "尺码表见下图"},
        {"type": "image", "source": {"url": "https://example.com/size.png"}}
    ]});
    let rules = write(
        &dir.join("rules.json"),
        serde_json::json!({"faq": {"entries": [
            {"id": "size", "questions": ["尺码怎么选", "穿多大码"], "action": action}
        ]}})
        .to_string()
        .as_bytes(),
    );
    let exported = ok(&["faq", "export", &rules, "--no-bom"]);
    assert!(exported.contains("尺码表见下图"), "{exported}");
    assert!(exported.contains("also sends image"), "{exported}");
    let csv = write(
        &dir.join("faq.csv"),
        "id,q,similar,answer\nsize,尺码怎么选,穿多大码|选哪个码,看尺码表就行\n".as_bytes(),
    );
    let report = ok(&["faq", "import", &csv, "--into", &rules]);
    assert!(
        report.contains("! size, line 2 (row 2): the answer column is ignored"),
        "{report}"
    );
    assert!(
        report.contains("~ size: similar questions (+1 −0)"),
        "{report}"
    );
    assert_eq!(entry(&entries(&rules), "size")["action"], action);
}
