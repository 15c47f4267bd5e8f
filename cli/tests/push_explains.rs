//! `kefu push` explains a refusal as the `kefu dev` terminal does — what to check, with the flag
//! to change it — and a URL where nothing listens names that URL and the flag that sets it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::process::Command;

use kefu_tests::dev_process::{DevProcess, free_port};

fn kefu_push(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .arg("push")
        .args(args)
        .env_remove("KEFU_TOKEN")
        .env_remove("KEFU_AES_KEY")
        .env_remove("KEFU_APPID")
        .env_remove("KEFU_PUSH_URL")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn refusals_say_what_to_check_with_the_flag() {
    let dev = DevProcess::start(env!("CARGO_BIN_EXE_kefu"), &["dev"], &[], false);
    let url = format!("{}/wechat", dev.base);
    for (args, hint) in [
        (
            &["--token", "not-the-token"][..],
            "check --token (or KEFU_TOKEN)",
        ),
        (
            &["--appid", "wx0000000000000000"][..],
            "check --appid (or KEFU_APPID)",
        ),
        (
            &["--mode", "plaintext"][..],
            "push with --mode safe or compatible (kefu dev accepts plaintext with --allow-plaintext)",
        ),
    ] {
        let (ok, out) = kefu_push(
            &[
                &["--url", url.as_str(), "--wait", "0"][..],
                args,
                &["text", "你好"],
            ]
            .concat(),
        );
        assert!(!ok, "{args:?}: {out}");
        assert!(
            out.contains("why: ") && out.contains(hint),
            "{args:?}: {out}"
        );
    }
}

#[test]
fn a_404_shows_what_answered_and_where_the_apps_are() {
    let dev = DevProcess::start(
        env!("CARGO_BIN_EXE_kefu"),
        &["dev", "--apps", "rules/apps/two-apps.json"],
        &[],
        false,
    );
    let (ok, out) = kefu_push(&[
        "--url",
        &format!("{}/wechat", dev.base),
        "--wait",
        "0",
        "text",
        "你好",
    ]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("HTTP 404") && out.contains("answer: "),
        "{out}"
    );
    assert!(
        out.contains("/wechat/{appid}") && out.contains("--apps FILE --appid A"),
        "{out}"
    );
}

#[test]
fn nothing_listening_names_the_url_and_the_flag() {
    let url = format!("http://127.0.0.1:{}/wechat", free_port());
    let (ok, out) = kefu_push(&["--url", &url, "--wait", "0", "text", "你好"]);
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!("nothing answered at {url}"))
            && out.contains("--url (or KEFU_PUSH_URL)")
            && out.contains("kefu dev"),
        "{out}"
    );
}
