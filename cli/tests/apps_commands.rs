//! `kefu apps` and `kefu rules --appid` as an operator of several mini programs uses them,
//! against Parameter Store (moto server, started by `tests/run.sh`): add two apps with their
//! secrets from a file and from stdin, give one rules of its own, list, remove. What these
//! commands write is what the functions read: `tests/tests/several_apps.rs` serves apps
//! written the same way (`Aws::add_app`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const SHOP: &str = "wx5a6b7c8d9e0f1a2b";
const CLINIC: &str = "wx3c4d5e6f7a8b9c0d";
const TOKEN: &str = "shop-token-7f3a9c";
const APP_SECRET: &str = "shop-app-secret-51e0d2b8";

fn kefu(args: &[&str], stdin: Option<&str>) -> Output {
    let endpoint = std::env::var("KEFU_TEST_AWS_ENDPOINT")
        .expect("moto server not running: run `bash tests/run.sh`, which starts it");
    let mut child = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(args)
        .current_dir(ROOT)
        .env_remove("KEFU_RULES_PATH")
        .env_remove("KEFU_APPS_PATH")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input
        .write_all(stdin.unwrap_or_default().as_bytes())
        .unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn ok(args: &[&str], stdin: Option<&str>) -> String {
    let out = kefu(args, stdin);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "kefu {args:?}: {}{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn err(args: &[&str], stdin: Option<&str>) -> String {
    let out = kefu(args, stdin);
    assert!(!out.status.success(), "kefu {args:?} should fail");
    assert!(out.stdout.is_empty());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn apps_are_added_listed_given_rules_and_removed() {
    let path = format!("/kefu-apps-test-{}", std::process::id());
    let at = ["--apps-path", path.as_str()];
    assert!(ok(&["apps", "list", at[0], at[1]], None).contains("no apps under"));

    // From a file, and from stdin (the secrets never go on the command line).
    let secrets = std::env::temp_dir().join(format!("kefu-apps-{}.json", std::process::id()));
    std::fs::write(
        &secrets,
        serde_json::json!({
            "token": TOKEN,
            "encoding_aes_key": "ERITFBUWFxgZGhscHR4fICEiIyQlJicoKSorLC0uLzA",
            "app_secret": APP_SECRET
        })
        .to_string(),
    )
    .unwrap();
    let added = ok(
        &[
            "apps",
            "add",
            SHOP,
            "--secrets",
            secrets.to_str().unwrap(),
            at[0],
            at[1],
        ],
        None,
    );
    assert!(
        added.contains(&format!("{path}/{SHOP}/push"))
            && added.contains(&format!("{path}/{SHOP}/api")),
        "{added}"
    );
    assert!(
        !added.contains(TOKEN) && !added.contains(APP_SECRET),
        "{added}"
    );
    let plaintext_only = r#"{"token": "clinic-token", "app_secret": "clinic-secret"}"#;
    ok(
        &["apps", "add", CLINIC, "--secrets", "-", at[0], at[1]],
        Some(plaintext_only),
    );

    // The clinic gets rules of its own; the shop keeps the shared ones.
    let pushed = ok(
        &[
            "rules",
            "push",
            "rules/business-hours.json",
            "--appid",
            CLINIC,
            at[0],
            at[1],
        ],
        None,
    );
    assert!(
        pushed.contains(&format!("{path}/{CLINIC}/rules")),
        "{pushed}"
    );
    let pulled = ok(&["rules", "pull", "--appid", CLINIC, at[0], at[1]], None);
    assert!(
        pulled.contains("人工客服工作日 9:00–21:00 在线"),
        "{pulled}"
    );

    let listed = ok(&["apps", "list", at[0], at[1]], None);
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(
        lines,
        [
            format!("{CLINIC}  served, own rules"),
            format!("{SHOP}  served, shared rules"),
        ],
        "{listed}"
    );

    let removed = ok(&["apps", "remove", CLINIC, at[0], at[1]], None);
    assert!(
        removed.contains(&format!("{path}/{CLINIC}/rules")),
        "{removed}"
    );
    let listed = ok(&["apps", "list", at[0], at[1]], None);
    assert_eq!(listed.trim(), format!("{SHOP}  served, shared rules"));
    assert!(err(&["apps", "remove", CLINIC, at[0], at[1]], None).contains("no app"));
}

#[test]
fn bad_appids_and_secrets_are_refused_without_quoting_the_secrets() {
    let path = format!("/kefu-apps-bad-{}", std::process::id());
    let refused = err(
        &[
            "apps",
            "add",
            "wx123",
            "--secrets",
            "-",
            "--apps-path",
            &path,
        ],
        Some("{}"),
    );
    assert!(refused.contains("is not an AppID"), "{refused}");
    let short_key =
        r#"{"token": "t-9d2c", "encoding_aes_key": "short-key-4411", "app_secret": "s-77e1"}"#;
    let refused = err(
        &["apps", "add", SHOP, "--secrets", "-", "--apps-path", &path],
        Some(short_key),
    );
    assert!(
        refused.contains("encoding_aes_key: the EncodingAESKey is 14 characters, it must be 43"),
        "{refused}"
    );
    let wrong_shape = r#"{"token": "t-9d2c", "app_secret": 5}"#;
    let refused = err(
        &["apps", "add", SHOP, "--secrets", "-", "--apps-path", &path],
        Some(wrong_shape),
    );
    assert!(refused.contains("(line 1, column"), "{refused}");
    for secret in ["t-9d2c", "short-key-4411", "s-77e1"] {
        assert!(!refused.contains(secret), "{refused}");
    }
    // Nothing was written.
    assert!(ok(&["apps", "list", "--apps-path", &path], None).contains("no apps under"));
}
