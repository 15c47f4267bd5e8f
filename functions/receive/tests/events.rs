//! Every event in `events/` through the real handler (`receive::respond`, the function's own
//! entry point) on the in-process stack, checked against the table in `events/README.md`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::sync::Arc;
use std::time::Duration;

use kefu::clock::ManualClock;
use kefu::compose::MemoryStack;
use kefu::memory::StaticRules;
use kefu::protocol::{AesKey, Message, Signature, Token, push};
use kefu::receive::ReceiveSettings;
use kefu::sample;

const EVENTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events");

struct Expectation {
    file: String,
    status: u16,
    body: String,
    job: bool,
}

/// The rows of the API Gateway table in events/README.md.
fn documented() -> Vec<Expectation> {
    let readme = std::fs::read_to_string(format!("{EVENTS}/README.md")).unwrap();
    let section = readme.split("## What each event gets").nth(1).unwrap();
    let section = section.split("\n## ").next().unwrap();
    section
        .lines()
        .filter(|line| line.starts_with("| `") && line.contains(".json`"))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            Expectation {
                file: cells[1].trim_matches('`').to_owned(),
                status: cells[3].parse().unwrap(),
                body: cells[4].trim_matches('`').to_owned(),
                job: cells[5] == "yes",
            }
        })
        .collect()
}

fn stack() -> MemoryStack {
    MemoryStack::new(
        StaticRules::new(sample::rules()),
        Arc::new(ManualClock::at(1_714_112_445_000)),
        Duration::from_secs(30),
    )
}

/// Checks an encrypted transfer reply: signed with the Token, sealed for the appid, and a
/// `transfer_customer_service` addressed to the sample user.
fn assert_sealed_transfer(body: &str, json: bool) {
    let (encrypt, signature, timestamp, nonce) = if json {
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        (
            v["Encrypt"].as_str().unwrap().to_owned(),
            v["MsgSignature"].as_str().unwrap().to_owned(),
            v["TimeStamp"].as_i64().unwrap().to_string(),
            v["Nonce"].as_str().unwrap().to_owned(),
        )
    } else {
        let field = |name: &str| {
            let start = body.find(&format!("<{name}>")).unwrap() + name.len() + 2;
            let end = body.find(&format!("</{name}>")).unwrap();
            body[start..end]
                .trim_start_matches("<![CDATA[")
                .trim_end_matches("]]>")
                .to_owned()
        };
        (
            push::encrypt_field(body).unwrap().unwrap(),
            field("MsgSignature"),
            field("TimeStamp"),
            field("Nonce"),
        )
    };
    let token = Token::new(sample::TOKEN);
    Signature::of_message(&token, &timestamp, &nonce, &encrypt)
        .verify(&signature)
        .unwrap();
    assert_eq!(nonce, "415670741", "the reply echoes the push's nonce");
    let key = AesKey::from_encoding_aes_key(sample::ENCODING_AES_KEY).unwrap();
    let plain = key.decrypt(sample::APPID, &encrypt).unwrap();
    let reply = if json {
        Message::from_json(&plain)
    } else {
        Message::from_xml(&plain)
    }
    .unwrap();
    assert_eq!(reply.kind.type_name(), "transfer_customer_service");
    assert_eq!(reply.to_user_name, sample::OPENID);
    assert_eq!(reply.from_user_name, sample::ORIGINAL_ID);
}

#[tokio::test]
async fn every_event_gets_its_documented_status_and_body() {
    let expectations = documented();
    let mut files: Vec<String> = std::fs::read_dir(EVENTS)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        // env.json is `sam local invoke --env-vars`' environment, not an event.
        .filter(|name| name.ends_with(".json") && !name.starts_with("sqs-") && name != "env.json")
        .collect();
    files.sort();
    let mut documented_files: Vec<String> = expectations.iter().map(|e| e.file.clone()).collect();
    documented_files.sort();
    assert_eq!(
        files, documented_files,
        "every event is documented, every documented event exists"
    );

    for expected in &expectations {
        let stack = stack();
        let receiver = stack.receiver(ReceiveSettings::new(sample::credentials()));
        let json = std::fs::read_to_string(format!("{EVENTS}/{}", expected.file)).unwrap();
        let request = lambda_http::request::from_str(&json).unwrap();
        let response = receive::respond(
            &kefu::apps::Apps::single(sample::APPID, Arc::new(receiver), stack.clock.clone()),
            request,
        )
        .await;
        let body = match response.body() {
            lambda_http::Body::Text(text) => text.clone(),
            other => panic!("{}: unexpected body {other:?}", expected.file),
        };
        assert_eq!(
            response.status().as_u16(),
            expected.status,
            "{}: {body}",
            expected.file
        );
        match expected.body.as_str() {
            "transfer_customer_service, encrypted JSON" => assert_sealed_transfer(&body, true),
            "transfer_customer_service, encrypted XML" => assert_sealed_transfer(&body, false),
            plain => assert_eq!(body, plain, "{}", expected.file),
        }
        assert_eq!(
            stack.queue.pending().len(),
            usize::from(expected.job),
            "{}: jobs",
            expected.file
        );
    }
}
