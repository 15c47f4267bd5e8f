//! `kefu completions SHELL` prints a completion script for each shell clap_complete knows, and
//! the script knows kefu's subcommands.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::process::Command;

#[test]
fn every_shell_gets_a_script_that_knows_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
            .args(["completions", shell])
            .output()
            .unwrap();
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(
            out.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(script.len() > 1000, "{shell}: {script}");
        for subcommand in ["dev", "push", "rules", "doctor", "decrypt", "completions"] {
            assert!(
                script.contains(subcommand),
                "{shell}: no {subcommand} in the script"
            );
        }
        // Flags of nested commands too.
        assert!(script.contains("secrets-parameter"), "{shell}");
    }
}

#[test]
fn an_unknown_shell_is_refused_with_the_choices() {
    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("bash, elvish, fish, powershell, zsh"),
        "{stderr}"
    );
}
