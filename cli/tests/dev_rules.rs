//! One verdict for a rules file everywhere: a rule naming an image that is not among the
//! images is an error in `kefu rules validate`, so `kefu dev` refuses it too — at start (an
//! error that names it) and on a hot reload (the last good rules stay in use, and a push gets
//! what they answer). And an image that cannot be read when a reply is sent is named on the
//! terminal as the local problem it is, not as WeChat refusing the reply.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kefu_tests::dev_process::DevProcess;

const GOOD: &str = r#"{"rules": [{"name": "hours", "match": {"exact": "营业时间"},
  "action": {"reply": [{"type": "text", "content": "每天 9:00–21:00"}]}}],
  "default": {"reply": [{"type": "text", "content": "收到"}]}}"#;

/// GOOD with a first rule that answers 优惠 with the image `promo.png`.
const WITH_PROMO: &str = r#"{"rules": [{"name": "promo", "match": {"exact": "优惠"},
  "action": {"reply": [{"type": "image", "source": {"file": "promo.png"}}]}},
  {"name": "hours", "match": {"exact": "营业时间"},
  "action": {"reply": [{"type": "text", "content": "每天 9:00–21:00"}]}}],
  "default": {"reply": [{"type": "text", "content": "收到"}]}}"#;

const MISSING: &str =
    r#"rules[0] (promo): image file "promo.png" is not among the deployment's images"#;

/// A fresh folder for this test: (rules.json, an assets folder).
fn scratch(name: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("kefu-dev-rules-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let assets = dir.join("assets");
    std::fs::create_dir_all(&assets).unwrap();
    (dir.join("rules.json"), assets)
}

fn kefu(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args(args)
        .env_remove("KEFU_TOKEN")
        .env_remove("KEFU_AES_KEY")
        .env_remove("KEFU_APPID")
        .env_remove("KEFU_PUSH_URL")
        .env_remove("KEFU_DEV_PORT")
        .env_remove("KEFU_RULES")
        .env_remove("KEFU_ASSETS_DIR")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

fn dev(rules: &Path, assets: &Path) -> DevProcess {
    DevProcess::start(
        env!("CARGO_BIN_EXE_kefu"),
        &[
            "dev",
            "--rules",
            rules.to_str().unwrap(),
            "--assets",
            assets.to_str().unwrap(),
        ],
        &[],
        true,
    )
}

/// Saves `json` as the rules file and waits until kefu dev has looked at it (its watcher
/// polls every 0.5 s; the rules cache re-reads every 2 s).
fn save_and_wait(rules: &Path, json: &str) {
    std::fs::write(rules, json).unwrap();
    let until = Instant::now() + Duration::from_millis(2600);
    while Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_missing_image_is_refused_at_start_as_validate_refuses_it() {
    let (rules, assets) = scratch("start");
    std::fs::write(&rules, WITH_PROMO).unwrap();
    let assets = assets.to_str().unwrap();
    let (ok, validate) = kefu(&[
        "rules",
        "validate",
        rules.to_str().unwrap(),
        "--assets",
        assets,
    ]);
    assert!(!ok && validate.contains(MISSING), "{validate}");
    // kefu dev must end by itself, with the error (not start and serve with a warning).
    let mut dev = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .args([
            "dev",
            "--port",
            "0",
            "--rules",
            rules.to_str().unwrap(),
            "--assets",
            assets,
        ])
        .env_remove("KEFU_DEV_PORT")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    while dev.try_wait().unwrap().is_none() {
        if Instant::now() > until {
            let _ = dev.kill();
            let _ = dev.wait();
            panic!("kefu dev started on rules that validate refuses");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = dev.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(MISSING), "{stderr}");
}

#[test]
fn a_hot_reload_naming_a_missing_image_keeps_the_last_good_rules() {
    let (rules, assets) = scratch("reload");
    std::fs::write(&rules, GOOD).unwrap();
    let mut dev = dev(&rules, &assets);
    let url = format!("{}/wechat", dev.base);
    save_and_wait(&rules, WITH_PROMO);
    let (ok, out) = kefu(&["push", "--url", &url, "--openid", "o-promo", "text", "优惠"]);
    assert!(
        ok && out.contains("auto-reply: [text] 收到"),
        "the last good rules answer (their default): {out}"
    );
    let terminal = dev.stop_and_read_stdout();
    assert!(
        terminal.contains(MISSING) && terminal.contains("the last good rules stay in use"),
        "{terminal}"
    );
    assert!(
        !terminal.contains("rules reloaded"),
        "refused, not reloaded: {terminal}"
    );
}

#[test]
fn an_image_gone_when_the_reply_is_sent_is_named_as_a_local_problem() {
    let (rules, assets) = scratch("gone");
    std::fs::write(assets.join("promo.png"), b"\x89PNG promo").unwrap();
    std::fs::write(&rules, WITH_PROMO).unwrap();
    let mut dev = dev(&rules, &assets);
    std::fs::remove_file(assets.join("promo.png")).unwrap();
    let url = format!("{}/wechat", dev.base);
    let (ok, out) = kefu(&[
        "push", "--url", &url, "--openid", "o-gone", "--wait", "2", "text", "优惠",
    ]);
    assert!(ok, "{out}");
    let terminal = dev.stop_and_read_stdout();
    let line = terminal
        .lines()
        .find(|line| line.contains("promo.png") && line.contains("o-gone"))
        .unwrap_or_else(|| panic!("no line names promo.png for o-gone:\n{terminal}"));
    assert!(!line.contains("WeChat refused"), "{line}");
    assert!(
        line.contains("not sent") && line.contains("local") && line.contains("--assets"),
        "{line}"
    );
}

/// Outside the repository kefu dev serves its embedded sample rules: the banner does not
/// promise that edits apply (there is no file to edit), it says how to serve a file.
#[test]
fn the_embedded_rules_are_not_said_to_take_edits() {
    use std::io::BufRead as _;
    let (_, outside) = scratch("outside");
    let port = kefu_tests::dev_process::free_port().to_string();
    let mut dev = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .current_dir(outside.parent().unwrap())
        .args(["dev", "--port", &port])
        .env_remove("KEFU_RULES")
        .env_remove("KEFU_DEV_PORT")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let rules_line = std::io::BufReader::new(dev.stdout.take().unwrap())
        .lines()
        .map(Result::unwrap)
        .find(|line| line.trim_start().starts_with("rules "))
        .expect("a rules line in the banner");
    let _ = dev.kill();
    let _ = dev.wait();
    assert!(
        rules_line.contains("the embedded sample rules")
            && !rules_line.contains("edits apply")
            && rules_line.contains("--rules FILE"),
        "{rules_line}"
    );
}
