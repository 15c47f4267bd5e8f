//! `kefu send` and `kefu user` as a user runs them: against a running `kefu dev` (a user writes
//! through the push path, the command goes through `POST /outbox`, the sandbox counts what is
//! sent), and `kefu send --outbox-url` against a queue on moto, then `kefu user --table` on a
//! table there.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kefu::protocol::{Format, Mode};
use kefu::sample;
use kefu_tests::dev_process::{DevProcess, http_get};
use kefu_tests::pushes::{Framing, text_push};

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn kefu(args: &[&str], envs: &[(&str, String)]) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kefu"));
    command
        .current_dir(ROOT)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("KEFU_TABLE")
        .env_remove("KEFU_APPID")
        .env_remove("KEFU_OUTBOX_URL");
    for (name, value) in envs {
        command.env(name, value);
    }
    let out = command.output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// Texts the sandbox received for `openid`.
fn sent_to(base: &str, openid: &str) -> Vec<String> {
    let (status, body) = http_get(&format!("{base}/sandbox/messages"));
    assert_eq!(status, 200);
    let messages: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    messages
        .iter()
        .filter(|m| m["openid"] == openid)
        .map(|m| {
            m["body"]["text"]["content"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn kefu_send_to_kefu_dev_sends_once_per_key_and_kefu_user_shows_what_is_left() {
    let dev = DevProcess::start(env!("CARGO_BIN_EXE_kefu"), &["dev"], &[], false);
    let openid = "o-cli-outbox";
    let base = dev.base.as_str();

    let (ok, said) = kefu(&["user", openid, "--dev", base], &[]);
    assert!(ok, "{said}");
    assert!(said.contains("window:     closed"), "{said}");

    let (ok, said) = kefu(
        &[
            "send",
            "--appid",
            sample::APPID,
            "--openid",
            openid,
            "--key",
            "k0",
            "--dev",
            base,
            "text",
            "太早了",
        ],
        &[],
    );
    assert!(ok, "{said}");
    assert!(
        said.contains("settled, not sent") && said.contains("45015"),
        "{said}"
    );

    // The user writes: the sample rules answer, the window opens.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let framing = Framing {
        mode: Mode::Safe,
        format: Format::Json,
        timestamp: now,
        nonce: "cli-outbox-1",
    };
    let push = text_push(openid, "你好", 7_700_001, framing);
    let answer = kefu::tls::http_client_builder()
        .build()
        .unwrap()
        .post(format!("{base}/wechat?{}", push.query.to_query_string()))
        .header("content-type", "application/json")
        .body(push.body)
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while sent_to(base, openid).is_empty() {
        assert!(Instant::now() < deadline, "no reply to the user's message");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Every message of the reply (the rule may send several).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let replies = sent_to(base, openid).len();

    let (ok, said) = kefu(&["user", openid, "--dev", base], &[]);
    assert!(ok, "{said}");
    assert!(said.contains("window:     open"), "{said}");
    assert!(
        said.contains(&format!("sends left: {}", 5 - replies)),
        "{said}"
    );

    for _ in 0..2 {
        let (ok, said) = kefu(
            &[
                "send",
                "--appid",
                sample::APPID,
                "--openid",
                openid,
                "--key",
                "refund-1",
                "--dev",
                base,
                "text",
                "您的退款已到账",
            ],
            &[],
        );
        assert!(ok, "{said}");
    }
    let texts = sent_to(base, openid);
    assert_eq!(
        texts.iter().filter(|t| *t == "您的退款已到账").count(),
        1,
        "{texts:?}"
    );
    // Their last outcomes, as kefu's events told them: the message, the reply, the command's send.
    let (ok, said) = kefu(&["user", openid, "--dev", base], &[]);
    assert!(ok, "{said}");
    let last = said.split_once("last:").map(|(_, l)| l).unwrap_or_default();
    assert!(last.contains("event message.received"), "{said}");
    assert!(last.contains("event reply.sent"), "{said}");
    let (ok, said) = kefu(&["user", openid, "--dev", base, "--json"], &[]);
    assert!(ok, "{said}");
    let view: serde_json::Value = serde_json::from_str(&said).unwrap();
    assert!(
        view["last"].as_array().is_some_and(|l| !l.is_empty()),
        "{said}"
    );
    assert_eq!(view["remaining"], 5 - replies - 1);
    assert_eq!(view["window"], "message");

    // A bad command never leaves the machine; one posted anyway is refused with the reason.
    let (ok, said) = kefu(
        &[
            "send",
            "--appid",
            sample::APPID,
            "--openid",
            openid,
            "--key",
            "a key",
            "--dev",
            base,
            "text",
            "x",
        ],
        &[],
    );
    assert!(!ok && said.contains("idempotency_key: has ' '"), "{said}");
    let answer = kefu::tls::http_client_builder()
        .build()
        .unwrap()
        .post(format!("{base}/outbox"))
        .body(r#"{"appid": "wx5ea1c0de5ea1c0de", "openid": "o1", "messages": []}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 400);
    let body = answer.text().await.unwrap();
    assert!(body.contains("idempotency_key"), "{body}");
    let (ok, said) = kefu(
        &[
            "send",
            "--appid",
            sample::APPID,
            "--openid",
            openid,
            "text",
            "x",
        ],
        &[],
    );
    assert!(
        !ok && said.contains("--outbox-url") && said.contains("--dev"),
        "{said}"
    );
}

#[tokio::test]
async fn kefu_send_puts_a_command_on_the_deployments_outbox() {
    let clients = kefu_tests::aws::clients().await;
    let queue = kefu_tests::aws::create_queue(&clients.sqs, false).await;
    let table = kefu_tests::aws::create_table(&clients.dynamodb).await;
    let aws_env = [
        ("AWS_ENDPOINT_URL", kefu_tests::aws::endpoint()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ];
    let (ok, said) = kefu(
        &[
            "send",
            "--appid",
            sample::APPID,
            "--openid",
            "o-cli-queue",
            "--key",
            "order-77",
            "--not-after",
            "4102444800",
            "--during-handoff",
            "send",
            "--outbox-url",
            &queue,
            "text",
            "已发货",
        ],
        &aws_env,
    );
    assert!(ok, "{said}");
    assert!(said.contains("key order-77"), "{said}");
    let taken = kefu_tests::aws::take_jobs(&clients.sqs, &queue).await;
    assert_eq!(taken.len(), 1);
    let command = kefu::outbox::Command::from_json(&taken[0].1).unwrap();
    assert_eq!(command.idempotency_key, "order-77");
    assert_eq!(command.not_after, Some(4_102_444_800));
    assert_eq!(
        command.during_handoff,
        Some(kefu::outbox::DuringHandoff::Send)
    );

    // Nobody wrote: the window is closed, and nobody holds them.
    let (ok, said) = kefu(
        &[
            "user",
            "o-cli-queue",
            "--appid",
            sample::APPID,
            "--table",
            &table,
        ],
        &aws_env,
    );
    assert!(ok, "{said}");
    assert!(
        said.contains("closed") && said.contains("hand-off:   none"),
        "{said}"
    );
}
