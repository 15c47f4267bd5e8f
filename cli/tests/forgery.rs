//! The two reproduced attacks, end to end against `kefu dev` as a process: a captured push URL
//! replayed with a forged plaintext body, and a push stamped 1970. Both are refused with 403
//! and a reason; the genuine push still gets its reply.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kefu::protocol::simulate::{self, Header, Payload, Signer, SimulatedPush};
use kefu::protocol::{Format, Mode, Token};
use kefu::sample;

struct Dev(Child);

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_dev() -> (Dev, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(["dev", "--port", &port.to_string()])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .env_remove("KEFU_TOKEN")
        .env_remove("KEFU_AES_KEY")
        .env_remove("KEFU_APPID")
        .env_remove("WECHAT_API_BASE")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let dev = Dev(child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "kefu dev did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (dev, format!("http://127.0.0.1:{port}"))
}

fn plaintext(openid: &str, content: &str, msg_id: u64, timestamp: i64) -> SimulatedPush {
    let token = Token::new(sample::TOKEN);
    let header = Header {
        to_user_name: sample::ORIGINAL_ID.into(),
        from_user_name: openid.into(),
        create_time: timestamp,
    };
    let payload = Payload::Text {
        content: content.into(),
        msg_id,
    };
    let plain = simulate::render(&header, &payload, Format::Xml);
    let signer = Signer {
        token: &token,
        key: None,
        appid: sample::APPID,
    };
    simulate::seal_push(
        &signer,
        &header,
        &plain,
        Format::Xml,
        Mode::Plaintext,
        &timestamp.to_string(),
        "314159",
        &[7; 16],
    )
    .unwrap()
}

async fn post(base: &str, push: &SimulatedPush) -> (u16, String) {
    let q = &push.query;
    let url = format!(
        "{base}/wechat?signature={}&timestamp={}&nonce={}&openid={}",
        q.signature.clone().unwrap_or_default(),
        q.timestamp.clone().unwrap_or_default(),
        q.nonce.clone().unwrap_or_default(),
        q.openid.clone().unwrap_or_default(),
    );
    let response = kefu::tls::http_client_builder()
        .build()
        .unwrap()
        .post(url)
        .header("content-type", "text/xml")
        .body(push.body.clone())
        .send()
        .await
        .unwrap();
    (
        response.status().as_u16(),
        response.text().await.unwrap_or_default(),
    )
}

#[tokio::test]
async fn kefu_dev_refuses_a_replayed_signature_and_a_push_from_1970() {
    let (_dev, base) = start_dev();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let genuine = plaintext(sample::OPENID, "你好", 9_100_001, now);
    assert_eq!(post(&base, &genuine).await, (200, "success".to_owned()));

    let forged = SimulatedPush {
        body: plaintext("o-victim", "人工", 9_100_002, now).body,
        query: genuine.query.clone(),
    };
    assert_eq!(
        post(&base, &forged).await,
        (
            403,
            "timestamp and nonce already used for another message".to_owned()
        )
    );

    let ancient = plaintext(sample::OPENID, "你好", 9_100_003, 1);
    assert_eq!(
        post(&base, &ancient).await,
        (403, "timestamp outside the allowed window".to_owned())
    );
}
