//! A reader that stops early (`kefu rules schema | head -1`, `kefu completions bash | head`,
//! `kefu dev | head`) is a quiet exit with status 0: no panic, no "Broken pipe" on stderr, and
//! no failure for a script under `set -o pipefail`.
//!
//! The pipe's reading end is closed before `kefu` starts, so its first write meets a closed
//! pipe every time (no race with `head`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// Runs `kefu args` with a stdout nobody reads (closed before it starts); (status, stderr).
fn with_stdout_closed(args: &[&str]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut child = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(args)
        .current_dir(ROOT)
        .env_remove("KEFU_DEV_PORT")
        .env_remove("KEFU_RULES")
        .env_remove("KEFU_APPS_FILE")
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("kefu {args:?} still runs 20 s after its stdout was closed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn printing_commands_exit_quietly_when_the_reader_is_gone() {
    for args in [
        &["rules", "schema"][..],
        &["completions", "bash"][..],
        &["rules", "validate", "rules/sample.json"][..],
        &["rules", "test", "rules/sample.json", "你好"][..],
        &["sign", "--token", "t", "--timestamp", "1", "--nonce", "2"][..],
        &["event", "text", "你好"][..],
    ] {
        let (status, stderr) = with_stdout_closed(args);
        assert_eq!(status, Some(0), "kefu {args:?}: {stderr}");
        assert!(stderr.is_empty(), "kefu {args:?}: {stderr}");
    }
}

#[test]
fn kefu_dev_stops_quietly_when_the_reader_is_gone() {
    // Port 0: any free port; the banner is the first write.
    let (status, stderr) = with_stdout_closed(&["dev", "--port", "0"]);
    assert_eq!(status, Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
}
