//! What a new user meets in the first hour, each as a test: help laid out as clap lays it out,
//! flags after the message word, bad paths, URLs and keys refused in one line with the fact
//! needed to fix them (never a panic), a port in use, a broken rules file at start, and
//! `kefu dev --aws` refusing a real account unless told so.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::process::{Command, Output};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn kefu(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(args)
        .current_dir(ROOT)
        .env_remove("KEFU_TOKEN")
        .env_remove("KEFU_AES_KEY")
        .env_remove("KEFU_APPID")
        .env_remove("KEFU_PUSH_URL")
        .env_remove("KEFU_DEV_PORT")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap()
}

/// The one-line error of a failed command (and a check that it is one line, no panic).
fn one_line_error(args: &[&str]) -> String {
    let out = kefu(args);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(out.stdout.is_empty(), "{args:?}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
    stderr
}

#[test]
fn bare_commands_print_the_help_as_clap_lays_it_out() {
    for args in [&[][..], &["rules"][..]] {
        let out = kefu(args);
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(!out.status.success());
        assert!(stderr.contains("\nUsage: kefu"), "{args:?}: {stderr}");
        assert!(stderr.contains("\nCommands:\n"), "{args:?}: {stderr}");
        assert!(stderr.lines().count() > 8, "{args:?}: {stderr}");
    }
}

#[test]
fn push_flags_may_follow_the_message_word() {
    // Nothing listens on port 9: the push is attempted, so the flags were understood.
    let out = kefu(&[
        "push",
        "text",
        "hi",
        "--url",
        "http://127.0.0.1:9/wechat",
        "--wait",
        "0",
        "--mode",
        "plaintext",
    ]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("unexpected argument"), "{stderr}");
    assert!(stderr.contains("attempt 1: no answer"), "{stderr}");
    assert!(
        stderr.contains("Connection refused"),
        "the root cause: {stderr}"
    );
}

#[test]
fn paths_urls_and_keys_are_refused_in_one_line_with_the_reason() {
    for (args, says) in [
        (
            &["dev", "--path", "wechat"][..],
            "\"wechat\" must start with '/' (e.g. /wechat)",
        ),
        (&["dev", "--path", "/sandbox"][..], "kefu dev serves itself"),
        (
            &["dev", "--wechat-api", "api.weixin.qq.com"][..],
            "must start with http:// or https://",
        ),
        (
            &["push", "--url", "127.0.0.1:8080/wechat", "text", "hi"][..],
            "must start with http://",
        ),
        (
            &["push", "--wait", "99", "text", "hi"][..],
            "give 0 to 60 seconds",
        ),
        (
            &["event", "--path", "wechat", "text", "hi"][..],
            "must start with '/'",
        ),
        (
            &["push", "--aes-key", "short", "text", "hi"][..],
            "the EncodingAESKey is 5 characters, it must be 43",
        ),
        (
            &[
                "encrypt",
                "--aes-key",
                "short",
                "--appid",
                "wx1",
                "--message",
                "m",
            ][..],
            "the EncodingAESKey is 5 characters, it must be 43",
        ),
        (
            &[
                "dev",
                "--aes-key",
                "kefuSampleEncodingAesKey0123456789abcdefAB",
            ][..],
            "the EncodingAESKey is 42 characters",
        ),
    ] {
        let stderr = one_line_error(args);
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(!stderr.contains("short"), "no key in the message: {stderr}");
    }
}

#[test]
fn a_port_in_use_says_how_to_pick_another() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let stderr = one_line_error(&["dev", "--port", &port]);
    assert!(
        stderr.contains("is already in use")
            && stderr.contains("--port")
            && stderr.contains("KEFU_DEV_PORT"),
        "{stderr}"
    );
}

#[test]
fn a_broken_rules_file_at_start_is_an_error_that_names_the_problem() {
    let dir = std::env::temp_dir().join(format!("kefu-broken-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let broken = dir.join("rules.json");
    std::fs::write(
        &broken,
        r#"{"rules":[{"name":"hours","match":{"contains":"几点"},"action":{"reply":[]}}]}"#,
    )
    .unwrap();
    let stderr = one_line_error(&["dev", "--port", "0", "--rules", broken.to_str().unwrap()]);
    assert!(
        stderr.contains("rules.json: rules[0] (hours): reply has 0 messages"),
        "{stderr}"
    );
    let stderr = one_line_error(&["dev", "--port", "0", "--rules", "no/such/rules.json"]);
    assert!(stderr.contains("reading no/such/rules.json"), "{stderr}");
}

#[test]
fn kefu_dev_aws_refuses_a_real_account_unless_told() {
    let stderr = one_line_error(&["dev", "--aws", "--port", "0"]);
    assert!(
        stderr.contains("would use a real AWS account") && stderr.contains("--i-know-this-is-live"),
        "{stderr}"
    );
    let stderr = one_line_error(&["dev", "--i-know-this-is-live", "--port", "0"]);
    assert!(stderr.contains("--aws"), "{stderr}");
}

#[test]
fn colour_follows_no_color_and_clicolor_force_as_clap_does() {
    let validate = |envs: &[(&str, &str)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kefu"));
        command
            .args(["rules", "validate", "rules/sample.json"])
            .current_dir(ROOT)
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR")
            .env_remove("CLICOLOR_FORCE");
        for (name, value) in envs {
            command.env(name, value);
        }
        String::from_utf8(command.output().unwrap().stdout).unwrap()
    };
    // A pipe gets plain text; CLICOLOR_FORCE asks for colour anyway; NO_COLOR always wins.
    assert!(!validate(&[]).contains('\u{1b}'));
    assert!(validate(&[("CLICOLOR_FORCE", "1")]).starts_with("\u{1b}[32m✓ rules/sample.json"));
    assert!(!validate(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]).contains('\u{1b}'));
}
