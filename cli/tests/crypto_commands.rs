//! `kefu sign | decrypt | encrypt` driven as other tools drive them: every public vector is
//! reproduced exactly on stdout, and every failure is exit status 1, one line on stderr and
//! nothing on stdout.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use kefu_tests::{Vector, public_vectors};

fn kefu(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(args)
        .env_remove("KEFU_TOKEN")
        .env_remove("KEFU_AES_KEY")
        .env_remove("KEFU_APPID")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kefu runs");
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn stdout_of(args: &[&str], stdin: Option<&str>) -> String {
    let out = kefu(args, stdin);
    assert!(
        out.status.success(),
        "kefu {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .trim_end_matches('\n')
        .to_owned()
}

fn assert_fails(args: &[&str], stdin: Option<&str>, reason: &str) {
    let out = kefu(args, stdin);
    assert_eq!(out.status.code(), Some(1), "kefu {args:?} should exit 1");
    assert!(
        out.stdout.is_empty(),
        "nothing on stdout, got {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one line on stderr: {stderr:?}"
    );
    assert!(
        stderr.contains(reason),
        "{stderr:?} should mention {reason:?}"
    );
}

fn expected_plaintext(v: &Vector) -> &str {
    v.decrypted_plaintext_observed
        .as_deref()
        .or(v.plaintext.as_deref())
        .unwrap()
}

#[test]
fn sign_reproduces_every_signature_in_the_vectors() {
    let mut checked = 0;
    for v in public_vectors() {
        if let Some(signature) = &v.signature {
            let out = stdout_of(
                &[
                    "sign",
                    "--token",
                    &v.token,
                    "--timestamp",
                    &v.timestamp,
                    "--nonce",
                    &v.nonce,
                ],
                None,
            );
            assert_eq!(&out, signature, "{}", v.id);
            checked += 1;
        }
        if let (Some(msg_signature), Some(encrypted)) = (&v.msg_signature, &v.encrypted) {
            let out = stdout_of(
                &[
                    "sign",
                    "--token",
                    &v.token,
                    "--timestamp",
                    &v.timestamp,
                    "--nonce",
                    &v.nonce,
                    "--encrypt",
                    encrypted,
                ],
                None,
            );
            assert_eq!(&out, msg_signature, "{}", v.id);
            checked += 1;
        }
    }
    assert!(checked >= 7, "only {checked} signatures checked");
}

#[test]
fn decrypt_opens_every_encrypted_vector_after_verifying_it() {
    let mut checked = 0;
    for v in public_vectors() {
        let (Some(key), Some(appid), Some(encrypted)) =
            (&v.encoding_aes_key, &v.appid, &v.encrypted)
        else {
            continue;
        };
        let Some(msg_signature) = &v.msg_signature else {
            continue;
        };
        let verified = stdout_of(
            &[
                "decrypt",
                "--aes-key",
                key,
                "--appid",
                appid,
                "--token",
                &v.token,
                "--timestamp",
                &v.timestamp,
                "--nonce",
                &v.nonce,
                "--msg-signature",
                msg_signature,
                "--encrypt",
                encrypted,
            ],
            None,
        );
        assert_eq!(verified, expected_plaintext(&v), "{}", v.id);
        let from_stdin = stdout_of(
            &["decrypt", "--aes-key", key, "--appid", appid],
            Some(&format!("{encrypted}\n")),
        );
        assert_eq!(from_stdin, verified, "{}", v.id);
        checked += 1;
    }
    assert_eq!(checked, 5, "every encrypted vector is checked");
}

#[test]
fn decrypt_reads_a_whole_push_body_from_stdin() {
    let v = kefu_tests::vector("doc-post-safe-mode-json-decrypt");
    let body = format!(
        r#"{{"ToUserName":"gh_97417a04a28d","Encrypt":"{}"}}"#,
        v.encrypted.as_deref().unwrap()
    );
    let out = stdout_of(
        &[
            "decrypt",
            "--aes-key",
            v.encoding_aes_key.as_deref().unwrap(),
            "--appid",
            v.appid.as_deref().unwrap(),
        ],
        Some(&body),
    );
    assert_eq!(out, v.plaintext.unwrap());
}

#[test]
fn encrypt_reproduces_every_fixed_random_vector() {
    let mut checked = 0;
    for v in public_vectors()
        .into_iter()
        .filter(|v| v.kind == "encrypt_with_fixed_random")
    {
        let out = stdout_of(
            &[
                "encrypt",
                "--aes-key",
                v.encoding_aes_key.as_deref().unwrap(),
                "--appid",
                v.appid.as_deref().unwrap(),
                "--message",
                v.plaintext.as_deref().unwrap(),
                "--random",
                v.random16.as_deref().unwrap(),
            ],
            None,
        );
        assert_eq!(Some(out), v.encrypted, "{}", v.id);
        checked += 1;
    }
    assert_eq!(checked, 2);
}

#[test]
fn encrypt_without_random_round_trips_through_decrypt() {
    let key = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";
    let a = stdout_of(
        &[
            "encrypt",
            "--aes-key",
            key,
            "--appid",
            "wx1",
            "--message",
            "你好",
        ],
        None,
    );
    let b = stdout_of(
        &[
            "encrypt",
            "--aes-key",
            key,
            "--appid",
            "wx1",
            "--message",
            "你好",
        ],
        None,
    );
    assert_ne!(a, b, "fresh randomness each time");
    assert_eq!(
        stdout_of(
            &[
                "decrypt",
                "--aes-key",
                key,
                "--appid",
                "wx1",
                "--encrypt",
                &a
            ],
            None
        ),
        "你好"
    );
}

#[test]
fn tampered_signature_wrong_appid_and_corrupted_ciphertext_exit_1() {
    let v = kefu_tests::vector("doc-post-safe-mode-json-decrypt");
    let key = v.encoding_aes_key.as_deref().unwrap();
    let appid = v.appid.as_deref().unwrap();
    let encrypted = v.encrypted.as_deref().unwrap();
    let mut tampered = v.msg_signature.clone().unwrap();
    tampered.replace_range(0..1, "1");
    assert_fails(
        &[
            "decrypt",
            "--aes-key",
            key,
            "--appid",
            appid,
            "--token",
            &v.token,
            "--timestamp",
            &v.timestamp,
            "--nonce",
            &v.nonce,
            "--msg-signature",
            &tampered,
            "--encrypt",
            encrypted,
        ],
        None,
        "signature mismatch",
    );
    assert_fails(
        &[
            "decrypt",
            "--aes-key",
            key,
            "--appid",
            "wx0000000000000000",
            "--encrypt",
            encrypted,
        ],
        None,
        // Which appid arrived (appids are not secrets), and which was expected.
        &format!("the message is for appid \"{appid}\", not \"wx0000000000000000\""),
    );

    // Change one character of the last ciphertext block: the padding no longer checks out.
    let mut corrupted = encrypted.to_owned();
    let at = corrupted.len() - 6;
    let replacement = if &corrupted[at..=at] == "A" { "B" } else { "A" };
    corrupted.replace_range(at..=at, replacement);
    let out = kefu(
        &[
            "decrypt",
            "--aes-key",
            key,
            "--appid",
            appid,
            "--encrypt",
            &corrupted,
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());

    assert_fails(
        &[
            "decrypt",
            "--aes-key",
            key,
            "--appid",
            appid,
            "--encrypt",
            "not*base64",
        ],
        None,
        "base64",
    );
    assert_fails(
        &[
            "decrypt",
            "--aes-key",
            "short",
            "--appid",
            appid,
            "--encrypt",
            encrypted,
        ],
        None,
        "EncodingAESKey",
    );
    assert_fails(
        &["decrypt", "--aes-key", key, "--appid", appid],
        Some(""),
        "no Encrypt",
    );
    assert_fails(
        &[
            "encrypt",
            "--aes-key",
            key,
            "--appid",
            appid,
            "--message",
            "m",
            "--random",
            "short",
        ],
        None,
        "16 bytes",
    );
    assert_fails(
        &[
            "decrypt",
            "--aes-key",
            key,
            "--appid",
            appid,
            "--token",
            "t",
        ],
        None,
        "required",
    );
    assert_fails(&["sign", "--token", "t"], None, "required");
}

#[test]
fn readme_run_command_decrypts_the_sample_push() {
    let body = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../events/samples/safe-mode-push.json"
    ))
    .unwrap();
    let out = stdout_of(
        &[
            "decrypt",
            "--token",
            "AAAAA",
            "--timestamp",
            "1714112445",
            "--nonce",
            "415670741",
            "--msg-signature",
            "046e02f8204d34f8ba5fa3b1db94908f3df2e9b3",
            "--aes-key",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "--appid",
            "wxba5fad812f8e6fb9",
        ],
        Some(&body),
    );
    assert!(out.contains(r#""Event":"debug_demo""#), "{out}");
}

/// The documented sample deployment, which `kefu push` and `kefu dev` use by default.
const SAMPLE_TOKEN: &str = "kefu-sample-token";
const SAMPLE_KEY: &str = "kefuSampleEncodingAesKey0123456789abcdefABC";
const SAMPLE_APPID: &str = "wx5ea1c0de5ea1c0de";

fn event_file(name: &str) -> String {
    std::fs::read_to_string(format!("{}/../events/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn sign_encrypt_and_decrypt_default_to_the_documented_sample() {
    let sample = ["--timestamp", "1714112445", "--nonce", "415670741"];
    let mut with_token = vec!["sign", "--token", SAMPLE_TOKEN];
    with_token.extend(sample);
    let mut without = vec!["sign"];
    without.extend(sample);
    assert_eq!(stdout_of(&without, None), stdout_of(&with_token, None));

    let sealed = stdout_of(&["encrypt", "--message", "你好"], None);
    assert_eq!(stdout_of(&["decrypt", "--encrypt", &sealed], None), "你好");
    assert_eq!(
        stdout_of(
            &[
                "decrypt",
                "--aes-key",
                SAMPLE_KEY,
                "--appid",
                SAMPLE_APPID,
                "--encrypt",
                &sealed
            ],
            None
        ),
        "你好",
        "sealed with the sample key and AppID"
    );
    for command in ["sign", "encrypt", "decrypt"] {
        let help = stdout_of(&[command, "--help"], None);
        assert!(help.contains("default: the documented sample"), "{help}");
    }
}

#[test]
fn decrypt_reads_a_whole_api_gateway_event_from_stdin() {
    // events/text-safe-json.json is a push of the sample deployment as API Gateway hands it
    // to receive: the body a JSON string inside the event.
    let event = event_file("text-safe-json.json");
    let opened = stdout_of(&["decrypt"], Some(&event));
    assert!(opened.contains(r#""Content":"#), "{opened}");
    let xml = stdout_of(&["decrypt"], Some(&event_file("text-safe-xml.json")));
    assert!(xml.starts_with("<xml>"), "{xml}");

    // The same event with its body base64-encoded, as API Gateway sends a binary body.
    let mut json: serde_json::Value = serde_json::from_str(&event).unwrap();
    let body = json["body"].as_str().unwrap().to_owned();
    json["body"] = serde_json::json!(base64_encode(body.as_bytes()));
    json["isBase64Encoded"] = serde_json::json!(true);
    assert_eq!(stdout_of(&["decrypt"], Some(&json.to_string())), opened);

    // With --token, the event's own query (timestamp, nonce, msg_signature) is verified first.
    assert_eq!(
        stdout_of(&["decrypt", "--token", SAMPLE_TOKEN], Some(&event)),
        opened
    );
    assert_fails(
        &["decrypt", "--token", SAMPLE_TOKEN],
        Some(&event_file("tampered-signature.json")),
        "signature mismatch",
    );
    assert_fails(
        &["decrypt"],
        Some(&event_file("verify-url.json")),
        "no body",
    );
}

fn base64_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
