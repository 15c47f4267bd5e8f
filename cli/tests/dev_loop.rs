//! The local tour as a user runs it: `kefu dev` as a process, driven by `kefu push` in every
//! mode × format, and the replies the sandbox recorded.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use kefu_tests::dev_process::{DevProcess, http_get};

use std::process::Command;

fn start_dev() -> (DevProcess, String) {
    let dev = DevProcess::start(env!("CARGO_BIN_EXE_kefu"), &["dev"], &[], false);
    let base = dev.base.clone();
    (dev, base)
}

fn kefu_push(base: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(["push", "--url", &format!("{base}/wechat")])
        .args(args)
        .env_remove("KEFU_TOKEN")
        .env_remove("KEFU_AES_KEY")
        .env_remove("KEFU_APPID")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn kefu_push_against_kefu_dev_gets_replies_in_every_mode_and_format() {
    // --allow-plaintext: as a deployment with KEFU_REQUIRE_ENCRYPTION=false.
    let dev = DevProcess::start(
        env!("CARGO_BIN_EXE_kefu"),
        &["dev", "--allow-plaintext"],
        &[],
        false,
    );
    let base = dev.base.clone();
    for mode in ["plaintext", "compatible", "safe"] {
        for format in ["xml", "json"] {
            let openid = format!("o-{mode}-{format}");
            let common = ["--mode", mode, "--format", format, "--openid", &openid];

            let (ok, out) = kefu_push(&base, &[&common[..], &["text", "你好"]].concat());
            assert!(ok, "{mode}/{format}: {out}");
            assert!(
                out.contains("passive reply: \"success\""),
                "{mode}/{format}: {out}"
            );
            assert!(
                out.contains("auto-reply: [text] 收到你的消息"),
                "{mode}/{format}: the default reply: {out}"
            );

            let (ok, out) = kefu_push(
                &base,
                &[&common[..], &["--wait", "0", "text", "人工"]].concat(),
            );
            assert!(ok, "{mode}/{format}: {out}");
            assert!(
                out.contains("transfer_customer_service"),
                "{mode}/{format}: {out}"
            );
            if mode == "safe" {
                assert!(
                    out.contains("(encrypted, signature valid)"),
                    "{mode}/{format}: {out}"
                );
            }
        }
    }
    let (ok, out) = kefu_push(&base, &["--openid", "o-enter", "enter"]);
    assert!(
        ok && out.contains("auto-reply: [text] 你好！有什么可以帮你？"),
        "the welcome: {out}"
    );

    // The sandbox's record, as scripts read it.
    let record: serde_json::Value =
        serde_json::from_str(&http_get(&format!("{base}/sandbox/messages")).1).unwrap();
    assert_eq!(
        record.as_array().unwrap().len(),
        7,
        "6 default replies and a welcome, nothing during hand-offs"
    );
}

/// As deployed (KEFU_REQUIRE_ENCRYPTION=true): a plaintext push is refused, and the terminal
/// says how to send one that is accepted; `--allow-plaintext` accepts it.
#[test]
fn kefu_dev_refuses_plaintext_as_the_deployment_does_unless_allowed() {
    let mut dev = DevProcess::start(env!("CARGO_BIN_EXE_kefu"), &["dev"], &[], true);
    let base = dev.base.clone();
    let (ok, out) = kefu_push(
        &base,
        &["--mode", "plaintext", "--wait", "0", "text", "你好"],
    );
    assert!(!ok, "{out}");
    assert!(
        out.contains("HTTP 403") && out.contains("plaintext pushes are refused"),
        "{out}"
    );
    let (ok, out) = kefu_push(&base, &["--mode", "compatible", "text", "你好"]);
    assert!(ok && out.contains("auto-reply: [text]"), "{out}");
    let terminal = dev.stop_and_read_stdout();
    for line in [
        "plaintext       refused, as deployed (KEFU_REQUIRE_ENCRYPTION=true); --allow-plaintext accepts it",
        "push refused: HTTP 403 plaintext pushes are refused (encryption required) — as deployed; send safe or compatible mode, or start kefu dev --allow-plaintext",
    ] {
        assert!(terminal.contains(line), "missing {line:?} in:\n{terminal}");
    }

    let mut dev = DevProcess::start(
        env!("CARGO_BIN_EXE_kefu"),
        &["dev", "--allow-plaintext"],
        &[],
        true,
    );
    let (ok, out) = kefu_push(
        &dev.base,
        &["--mode", "plaintext", "--wait", "0", "text", "你好"],
    );
    assert!(ok && out.contains("passive reply: \"success\""), "{out}");
    let terminal = dev.stop_and_read_stdout();
    assert!(
        terminal.contains("plaintext       accepted (--allow-plaintext; a deployment refuses it unless KEFU_REQUIRE_ENCRYPTION=false)"),
        "{terminal}"
    );
}

#[test]
fn a_push_with_the_wrong_token_is_refused_and_kefu_push_says_so() {
    let (_dev, base) = start_dev();
    let (ok, out) = kefu_push(
        &base,
        &["--token", "not-the-token", "--wait", "0", "text", "你好"],
    );
    assert!(!ok);
    assert!(
        out.contains("HTTP 403") && out.contains("signature mismatch"),
        "{out}"
    );
    assert_eq!(
        out.matches("HTTP 403").count(),
        1,
        "a refusal is not retried: the same push would be refused again: {out}"
    );
    assert!(out.contains("not retried"), "{out}");
}

#[test]
fn kefu_push_finds_the_sandbox_whatever_the_push_path() {
    let dev = DevProcess::start(
        env!("CARGO_BIN_EXE_kefu"),
        &["dev", "--path", "/kf"],
        &[],
        false,
    );
    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(["push", "text", "你好", "--json"])
        .env("KEFU_PUSH_URL", format!("{}/kf", dev.base))
        .env_remove("KEFU_TOKEN")
        .env_remove("KEFU_AES_KEY")
        .env_remove("KEFU_APPID")
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(report["passive_reply"], "success");
    assert_eq!(report["sandbox"], true);
    assert!(
        report["auto_replies"][0]
            .as_str()
            .unwrap()
            .starts_with("[text] 收到你的消息"),
        "{report}"
    );
}

#[test]
fn kefu_dev_explains_itself_on_the_terminal() {
    let mut dev = DevProcess::start(env!("CARGO_BIN_EXE_kefu"), &["dev"], &[], true);
    let base = dev.base.clone();
    let (ok, _) = kefu_push(&base, &["--token", "wrong", "--wait", "0", "text", "hi"]);
    assert!(!ok);
    let (ok, out) = kefu_push(
        &base,
        &["--openid", "o-held", "--wait", "0", "text", "人工"],
    );
    assert!(ok, "{out}");
    let (ok, out) = kefu_push(
        &base,
        &["--openid", "o-held", "--wait", "1", "text", "在吗"],
    );
    assert!(ok && out.contains("auto-reply: none seen"), "{out}");
    let (ok, out) = kefu_push(
        &base,
        &["--openid", "o-busy", "--wait", "3", "text", "第0条"],
    );
    assert!(ok && out.contains("auto-reply: [text]"), "{out}");
    let terminal = dev.stop_and_read_stdout();
    for line in [
        "push refused: HTTP 403 signature mismatch — the Token",
        "← o-held [text] 人工 — hand-off: transfer_customer_service answered; auto-replies to o-held stop for 30 min",
        "no auto-reply: a human agent holds o-held for another 30 min",
        "← o-busy [text] 第0条 — no rule matched: the default reply: reply queued",
        "→ o-busy [text] 收到你的消息",
        // kefu's events, as a deployment with EventBusName publishes them.
        "event message.received o-held: 「人工」",
        "event handoff.started o-held: rule human",
        "event question.unanswered o-busy: 「第0条」 unanswered",
        "event reply.sent o-busy: text #0",
    ] {
        assert!(terminal.contains(line), "missing {line:?} in:\n{terminal}");
    }
    assert!(
        !terminal.contains("\"_aws\""),
        "no metric JSON on the terminal:\n{terminal}"
    );
}

#[tokio::test]
async fn kefu_dev_on_aws_stores_runs_the_same_loop_through_moto() {
    use kefu_tests::aws;
    let rules =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../rules/sample.json"))
            .unwrap();
    let env = aws::dev_stack_env(&rules).await;
    let dev = DevProcess::start(env!("CARGO_BIN_EXE_kefu"), &["dev", "--aws"], &env, false);
    let base = dev.base.clone();
    let push = |args: &'static [&'static str]| {
        let base = base.clone();
        tokio::task::spawn_blocking(move || kefu_push(&base, args))
    };
    let (ok, out) = push(&[
        "--openid", "o-aws", "--msg-id", "777", "--wait", "8", "text", "你好",
    ])
    .await
    .unwrap();
    assert!(
        ok && out.contains("auto-reply: [text] 收到你的消息"),
        "{out}"
    );
    // The same push again (WeChat's retry): acknowledged, no second reply.
    let (ok, out) = push(&[
        "--openid", "o-aws", "--msg-id", "777", "--wait", "3", "text", "你好",
    ])
    .await
    .unwrap();
    assert!(ok && out.contains("auto-reply: none seen"), "{out}");
}

/// A rule answering an agent's arrival fills `{kf_account}` from the event on its way to the
/// sandbox (the reply function's placeholders, end to end).
#[test]
fn an_agent_joining_is_announced_with_the_agents_account() {
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/../rules/business-hours.json");
    let dev = DevProcess::start(
        env!("CARGO_BIN_EXE_kefu"),
        &["dev", "--rules", rules],
        &[],
        false,
    );
    let base = dev.base.clone();
    // The user's message opens the send window; the default answers it, in hours or not.
    let (ok, out) = kefu_push(&base, &["--openid", "o-agent", "text", "你好"]);
    assert!(ok && out.contains("auto-reply: [text]"), "{out}");
    let (ok, out) = kefu_push(
        &base,
        &[
            "--openid",
            "o-agent",
            "event",
            "kf_create_session",
            "KfAccount=alice@kefu",
        ],
    );
    assert!(
        ok && out.contains("auto-reply: [text] 客服 alice@kefu 已接入"),
        "{out}"
    );
}
