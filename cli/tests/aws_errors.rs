//! AWS failures told as what is missing and how to give it, in one line: no credentials, no
//! region, nothing listening at `AWS_ENDPOINT_URL`. Each is a real failure of the binary, with
//! no AWS reachable; `kefu doctor` says it once, not once per check.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::process::{Command, Output};

/// A port where nothing listens.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `kefu ARGS`, from the repository root, with none of the caller's AWS configuration, an empty home (no ~/.aws), the
/// instance metadata service off, and `envs` on top.
fn kefu(args: &[&str], envs: &[(&str, String)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kefu"));
    command
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    for (name, _) in std::env::vars() {
        if name.starts_with("AWS_") || name.starts_with("KEFU_") {
            command.env_remove(name);
        }
    }
    command
        .env("HOME", std::env::temp_dir().join("kefu-aws-errors-home"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // No retries of a refused connection.
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("NO_COLOR", "1");
    for (name, value) in envs {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn keys() -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
    ]
}

/// Nothing of the SDK's own wording.
fn assert_no_sdk_text(text: &str) {
    for raw in [
        "dispatch failure",
        "provider",
        "IMDS",
        "os error",
        "tcp connect",
        "Invalid Configuration",
    ] {
        assert!(!text.contains(raw), "SDK text {raw:?} in {text}");
    }
}

fn stderr_line(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert_no_sdk_text(&stderr);
    stderr.trim_end().to_owned()
}

#[test]
fn nothing_listening_at_the_endpoint_names_it_and_the_variable() {
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let mut envs = keys();
    envs.push(("AWS_REGION", "us-east-1".to_owned()));
    envs.push(("AWS_ENDPOINT_URL", endpoint.clone()));
    for args in [
        &["rules", "pull"][..],
        &["rules", "diff", "rules/sample.json"],
        &["apps", "list"],
        &["report", "--table", "kefu"],
    ] {
        let out = kefu(args, &envs);
        let said = stderr_line(&out);
        assert!(
            said.contains(&format!("nothing answers at {endpoint} (AWS_ENDPOINT_URL)")),
            "kefu {args:?}: {said}"
        );
    }
}

#[test]
fn no_credentials_says_how_to_give_them() {
    let out = kefu(
        &["rules", "pull"],
        &[("AWS_REGION", "us-east-1".to_owned())],
    );
    let said = stderr_line(&out);
    assert!(said.contains("no AWS credentials"), "{said}");
    for how in [
        "--profile",
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_ENDPOINT_URL",
    ] {
        assert!(said.contains(how), "{how}: {said}");
    }

    let out = kefu(
        &["rules", "pull", "--profile", "kefu-nosuch"],
        &[("AWS_REGION", "us-east-1".to_owned())],
    );
    let said = stderr_line(&out);
    assert!(
        said.contains("the AWS profile \"kefu-nosuch\" gives no credentials"),
        "{said}"
    );
}

#[test]
fn no_region_says_how_to_give_one() {
    let out = kefu(&["rules", "pull"], &keys());
    let said = stderr_line(&out);
    assert!(said.contains("no AWS region"), "{said}");
    for how in ["--region", "AWS_REGION"] {
        assert!(said.contains(how), "{how}: {said}");
    }
}

#[test]
fn doctor_says_an_aws_failure_once_not_per_check() {
    let endpoint = format!("http://127.0.0.1:{}", closed_port());
    let mut envs = keys();
    envs.push(("AWS_REGION", "us-east-1".to_owned()));
    envs.push(("AWS_ENDPOINT_URL", endpoint.clone()));
    for (envs, says) in [
        (envs, format!("nothing answers at {endpoint}")),
        (
            vec![("AWS_REGION", "us-east-1".to_owned())],
            "no AWS credentials".to_owned(),
        ),
    ] {
        let out = kefu(&["doctor", "--appid", "wx5ea1c0de5ea1c0de"], &envs);
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert_no_sdk_text(&text);
        assert_eq!(text.matches(&says).count(), 1, "said once: {text}");
        let aws = text
            .lines()
            .find(|l| l.starts_with("✗ AWS: "))
            .unwrap_or_else(|| panic!("no AWS line: {text}"));
        assert!(aws.contains(&says), "{aws}");
        for name in ["push secrets", "API secrets", "rules"] {
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("- {name}: ")))
                .unwrap_or_else(|| panic!("{name} not skipped: {text}"));
            assert!(line.contains("not read"), "{line}");
        }
        assert_eq!(text.lines().last(), Some("1 problem found"), "{text}");
    }
}
