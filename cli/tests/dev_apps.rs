//! Several mini programs in one `kefu dev` (`--apps`), driven by `kefu push --apps … --appid`
//! as a user would: each app at `/wechat/{appid}` with its own credentials and rules, the same
//! openid in both apps two users, a push signed with another app's credentials refused, an
//! app not served answered 404, and one sandbox that sent each reply with its own app's token.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::process::Command;

use kefu_tests::dev_process::{DevProcess, http_get};

const APPS: &str = "rules/apps/two-apps.json";
/// Its first app, on rules/sample.json.
const SHOP: &str = "wx5a6b7c8d9e0f1a2b";
/// Its second, on rules/business-hours.json.
const CLINIC: &str = "wx3c4d5e6f7a8b9c0d";
const USER: &str = "oSameUserInBothApps";

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
fn two_apps_side_by_side_in_kefu_dev() {
    let mut dev = DevProcess::start(
        env!("CARGO_BIN_EXE_kefu"),
        &["dev", "--apps", APPS],
        &[],
        true,
    );
    let base = dev.base.clone();
    let url = |appid: &str| format!("{base}/wechat/{appid}");

    // The same user writes 退款 to both apps: each answers by its own rules.
    let (ok, shop) = kefu_push(&[
        "--apps",
        APPS,
        "--appid",
        SHOP,
        "--url",
        &url(SHOP),
        "--openid",
        USER,
        "text",
        "退款",
    ]);
    assert!(ok && shop.contains("passive reply: \"success\""), "{shop}");
    assert!(shop.contains("auto-reply: [text]"), "{shop}");
    assert!(
        !shop.contains("退款请在"),
        "the shop has no refund rule: {shop}"
    );
    let (ok, clinic) = kefu_push(&[
        "--apps",
        APPS,
        "--appid",
        CLINIC,
        "--url",
        &url(CLINIC),
        "--openid",
        USER,
        "text",
        "退款",
    ]);
    assert!(ok, "{clinic}");
    assert!(
        clinic.contains("auto-reply: [text] 退款请在「我的订单」中申请"),
        "the clinic's own rule: {clinic}"
    );

    // Signed with the shop's credentials, pushed to the clinic's URL: refused, not retried.
    let (ok, forged) = kefu_push(&[
        "--apps",
        APPS,
        "--appid",
        SHOP,
        "--url",
        &url(CLINIC),
        "--openid",
        USER,
        "text",
        "你好",
    ]);
    assert!(!ok, "{forged}");
    assert!(forged.contains("not retried"), "{forged}");
    // An app this server does not serve, and /wechat itself: 404 with the reason.
    let (status, unknown) = http_get(&url("wx0000000000000000"));
    assert_eq!(status, 404, "{unknown}");
    assert!(
        unknown.contains(SHOP) && unknown.contains(CLINIC),
        "{unknown}"
    );
    let (status, bare) = http_get(&format!("{base}/wechat"));
    assert!(status == 404 && bare.contains("/wechat/{appid}"), "{bare}");

    // One sandbox, each reply sent with its own app's token: two users, one reply each.
    let (_, record) = http_get(&format!("{base}/sandbox/messages"));
    let record: serde_json::Value = serde_json::from_str(&record).unwrap();
    let mut sent: Vec<(String, String)> = record
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["appid"].as_str().unwrap().to_owned(),
                m["openid"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    sent.sort();
    assert_eq!(
        sent,
        [
            (CLINIC.to_owned(), USER.to_owned()),
            (SHOP.to_owned(), USER.to_owned()),
        ]
    );

    let banner = dev.stop_and_read_stdout();
    for appid in [SHOP, CLINIC] {
        assert!(
            banner.contains(&format!("/wechat/{appid}")),
            "the banner lists each app's push path: {banner}"
        );
    }
}

#[test]
fn kefu_push_names_the_appids_an_apps_file_has() {
    let (ok, out) = kefu_push(&[
        "--apps",
        APPS,
        "--appid",
        "wxffffffffffffffff",
        "text",
        "你好",
    ]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("--appid wxffffffffffffffff is not in")
            && out.contains(SHOP)
            && out.contains(CLINIC),
        "{out}"
    );
}

/// The `try:` line `kefu dev --apps` prints works as printed (it once named `/wechat`, which
/// answers 404 when several apps are served): run from the same folder, it pushes to the first
/// app and gets its auto-reply.
#[test]
fn the_command_kefu_dev_apps_suggests_works_for_the_first_app() {
    use std::io::BufRead as _;
    for apps in [APPS, "tests/sam/apps.json"] {
        let port = kefu_tests::dev_process::free_port().to_string();
        let mut dev = Command::new(env!("CARGO_BIN_EXE_kefu"))
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .args(["dev", "--apps", apps, "--port", &port])
            .env_remove("KEFU_DEV_PORT")
            .env_remove("WECHAT_API_BASE")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = std::io::BufReader::new(dev.stdout.take().unwrap()).lines();
        let suggested = lines
            .by_ref()
            .map(Result::unwrap)
            .find_map(|line| {
                line.trim()
                    .strip_prefix("try:")
                    .map(str::trim)
                    .map(str::to_owned)
            })
            .expect("a try: line");
        // Words, with the quoted message as one.
        let mut words: Vec<String> = suggested
            .split(" \"")
            .next()
            .unwrap()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let message = suggested.split('"').nth(1).expect("a quoted message");
        words.push(message.to_owned());
        assert_eq!(words[..2], ["kefu", "push"], "{suggested}");
        let (ok, out) = kefu_push(&words[2..].iter().map(String::as_str).collect::<Vec<_>>());
        let _ = dev.kill();
        let _ = dev.wait();
        assert!(
            ok && out.contains("passive reply: \"success\"") && out.contains("auto-reply: [text]"),
            "{apps}: `{suggested}`: {out}"
        );
    }
}
