//! `kefu dev` calls hooks: a rule's hook URL as written, or every hook at `--hook-url`, signed
//! with `--hook-secret`. The hook is the shipped example (examples/order-status-hook), which
//! refuses unsigned or wrongly signed calls: its answer reaching the user shows the signature.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::io::BufRead;
use std::process::{Child, Command, Stdio};

use kefu_tests::dev_process::{DevProcess, http_get};

const SECRET: &str = "dev-hook-secret";

struct Example {
    child: Child,
    url: String,
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn example() -> Example {
    let mut child = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../examples/order-status-hook/hook.py"
        ))
        .args(["--port", "0", "--secret", SECRET])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs the example hook");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().trim_start_matches("listening on ").to_owned();
    Example { child, url }
}

fn push(dev: &DevProcess, openid: &str, text: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args(["push", "--url", &format!("{}/wechat", dev.base)])
        .args(["--openid", openid, "text", text])
        .env_remove("KEFU_TOKEN")
        .env_remove("KEFU_AES_KEY")
        .env_remove("KEFU_APPID")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn rules_file(name: &str, json: &str) -> std::path::PathBuf {
    let path =
        std::env::temp_dir().join(format!("kefu-dev-hooks-{}-{name}.json", std::process::id()));
    std::fs::write(&path, json).unwrap();
    path
}

const ANSWER: &str = "订单 A1024：已发货，顺丰速运 SF1234567890，预计明天送达";
const FALLBACK: &str = "订单查询暂时不可用";

#[test]
fn kefu_dev_sends_every_hook_to_the_hook_url_signed() {
    let example = example();
    // The rule names a Lambda function: kefu dev has no credentials for it, --hook-url takes it.
    let rules = rules_file(
        "url",
        r#"{"rules": [{"name": "order", "match": {"contains": "订单"},
            "action": {"hook": {"lambda": "arn:aws:lambda:ap-east-1:123456789012:function:orders",
                                "fallback": [{"type": "text", "content": "订单查询暂时不可用"}]}}}]}"#,
    );
    let mut dev = DevProcess::start(
        env!("CARGO_BIN_EXE_kefu"),
        &[
            "dev",
            "--rules",
            rules.to_str().unwrap(),
            "--hook-url",
            &example.url,
            "--hook-secret",
            SECRET,
        ],
        &[],
        true,
    );
    let out = push(&dev, "o-dev-1", "我的订单 A1024 到哪了");
    assert!(
        out.contains(&format!("auto-reply: [text] {ANSWER}")),
        "{out}"
    );
    // The chat window shows the call itself: where it went, how long it took, the request
    // kefu sent and the answer it got.
    let (status, entries) = http_get(&format!("{}/dev/api/events", dev.base));
    assert_eq!(status, 200, "{entries}");
    let entries: serde_json::Value = serde_json::from_str(&entries).unwrap();
    let shown = entries["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["what"]["text"].as_str().or(e["text"].as_str()))
        .find(|text| text.starts_with("hook kefu_"))
        .unwrap_or_else(|| panic!("no hook call in the chat window: {entries:#}"))
        .to_owned();
    assert!(shown.contains(&format!("→ {}", example.url)), "{shown}");
    assert!(shown.contains(" ms · request {"), "{shown}");
    assert!(
        shown.contains("A1024"),
        "the request carries the message: {shown}"
    );
    assert!(shown.contains("answer {"), "{shown}");
    assert!(
        shown.contains(ANSWER),
        "the answer as the hook gave it: {shown}"
    );
    let terminal = dev.stop_and_read_stdout();
    assert!(terminal.contains("every hook goes to"), "{terminal}");
    // What the hook did, with its timing, on the terminal and in the chat window's notices.
    assert!(
        terminal.contains("hook answered to o-dev-1 in "),
        "{terminal}"
    );
}

#[test]
fn kefu_dev_calls_a_rules_own_hook_url_and_unsigned_calls_get_the_fallback() {
    let example = example();
    let rules = rules_file(
        "own",
        &format!(
            r#"{{"rules": [{{"name": "order", "match": {{"contains": "订单"}},
                "action": {{"hook": {{"url": "{}", "timeout_ms": 3000,
                                    "fallback": [{{"type": "text", "content": "订单查询暂时不可用"}}]}}}}}}]}}"#,
            example.url
        ),
    );
    let signed = DevProcess::start(
        env!("CARGO_BIN_EXE_kefu"),
        &[
            "dev",
            "--rules",
            rules.to_str().unwrap(),
            "--hook-secret",
            SECRET,
        ],
        &[],
        false,
    );
    let out = push(&signed, "o-dev-2", "订单 A1024");
    assert!(
        out.contains(&format!("auto-reply: [text] {ANSWER}")),
        "{out}"
    );
    drop(signed);
    // Without the secret the example refuses the call (401): the fallback goes out.
    let unsigned = DevProcess::start(
        env!("CARGO_BIN_EXE_kefu"),
        &["dev", "--rules", rules.to_str().unwrap()],
        &[],
        false,
    );
    let out = push(&unsigned, "o-dev-3", "订单 A1024");
    assert!(
        out.contains(&format!("auto-reply: [text] {FALLBACK}")),
        "{out}"
    );
}

#[test]
fn kefu_rules_test_says_a_hook_answers_and_what_its_fallback_is() {
    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args([
            "rules",
            "test",
            "examples/order-status-hook/rules.json",
            "我的订单 A1024",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("order-status: a hook, http://127.0.0.1:8091/ (waits 3000 ms), sends what it answers; its fallback: [{\"type\":\"text\",\"content\":\"订单查询暂时不可用"),
        "{text}"
    );
}
