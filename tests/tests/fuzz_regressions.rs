//! Every input saved from the fuzz campaign (`tests/fuzz-regressions/<target>/`: the seeds, and
//! any crash or slow input the fuzzer found) replayed through the same entry point the fuzz
//! target calls — `fuzz/src/lib.rs`, included here so that the stable suite runs that very code
//! without the nightly fuzz crate. Each must return (kefu answering `Ok` or a clean `Err`);
//! a panic fails the test and names the file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

#[path = "../../fuzz/src/lib.rs"]
mod entry;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// The files saved for `target`, in name order.
fn saved_inputs(target: &str) -> Vec<PathBuf> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz-regressions")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("{}: {e}", folder.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "{} holds no inputs: seed it with `python3 fuzz/seeds.py tests/fuzz-regressions`",
        folder.display()
    );
    files
}

/// Feeds every saved input of `target` to `run`; fails naming each input that panicked, and
/// returns what `run` answered for each of the others, by file name.
fn replay<R>(target: &str, run: fn(&[u8]) -> R) -> Vec<(String, R)> {
    let mut panicked = Vec::new();
    let mut answers = Vec::new();
    for path in saved_inputs(target) {
        let data = std::fs::read(&path).unwrap();
        match catch_unwind(AssertUnwindSafe(|| run(&data))) {
            Ok(answer) => answers.push((file_name(&path), answer)),
            Err(_) => panicked.push(path.display().to_string()),
        }
    }
    assert!(panicked.is_empty(), "{target} panicked on {panicked:#?}");
    answers
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

/// The seeds (`fuzz/seeds.py`: `event-*`, `vector-*`) are valid inputs: each is accepted, so the
/// fuzzer starts from inputs that reach the code behind the first checks.
fn seeds_are_accepted(target: &str, answers: &[(String, bool)]) {
    let refused: Vec<&str> = answers
        .iter()
        .filter(|(name, accepted)| is_seed(name) && !accepted)
        .map(|(name, _)| name.as_str())
        .collect();
    assert!(refused.is_empty(), "{target} seeds refused: {refused:#?}");
}

fn is_seed(name: &str) -> bool {
    name.starts_with("event-") || name.starts_with("vector-") || name.starts_with("sample")
}

#[test]
fn saved_xml_bodies_are_read_or_refused() {
    seeds_are_accepted("body_xml", &replay("body_xml", entry::body_xml));
}

#[test]
fn saved_json_bodies_are_read_or_refused() {
    seeds_are_accepted("body_json", &replay("body_json", entry::body_json));
}

#[test]
fn saved_ciphertexts_and_frames_are_opened_or_refused() {
    seeds_are_accepted("decrypt", &replay("decrypt", entry::decrypt));
}

#[test]
fn saved_inner_messages_are_parsed_or_refused() {
    seeds_are_accepted(
        "inner_message",
        &replay("inner_message", entry::inner_message),
    );
}

#[test]
fn saved_rule_sets_are_parsed_or_refused() {
    seeds_are_accepted("rules", &replay("rules", entry::rules));
}

#[test]
fn saved_requests_get_an_answer_from_the_receive_handler() {
    for (name, status) in replay("receive", entry::receive) {
        if !is_seed(&name) {
            continue;
        }
        // events/README.md: every event is answered 200 but the tampered one, which the
        // harness's re-signing makes authentic.
        let expected = if name == "event-tampered-signature" {
            403
        } else {
            200
        };
        assert_eq!(status, expected, "{name}");
    }
}
