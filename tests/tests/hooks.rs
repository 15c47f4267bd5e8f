//! Hook actions end to end: the send core calls a real HTTP hook on loopback (small servers
//! here, answering, failing, slow, huge) through the real `HookClient`, and sends through the
//! WeChat sandbox. What is checked: the answer is sent; a failure of every kind sends the
//! fallback, once; a redelivery after the hook answered does not call it again; the request is
//! signed and carries the id a redelivery repeats; a wait past 1 s shows "typing…".

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kefu::hooks::HookClient;
use kefu::memory::MemoryTable;
use kefu::policy::hook::{UserForm, signature};
use kefu::ports::Clock;
use kefu::ports::HookAnswers;
use kefu::rules::RuleSet;
use kefu::sample;
use kefu::secret::SecretString;
use kefu::send::{Hooks, JobOutcome, Sender};
use kefu_tests::aws;
use kefu_tests::send_rig::{NOW, SendRig, Table, job};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const SECRET: &str = "hook-secret-for-tests";

/// How a test hook answers.
#[derive(Debug, Clone)]
enum Behaviour {
    Answer(Value),
    Status(u16),
    Garbage,
    /// 10 MB of JSON-looking bytes.
    Huge,
    Slow(Duration, Value),
    /// A Lambda function that threw: 200 with `X-Amz-Function-Error`.
    FunctionError,
}

/// What a test hook received.
#[derive(Debug, Clone)]
struct Received {
    /// The request line's target.
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug)]
struct TestHook {
    url: String,
    calls: Arc<AtomicUsize>,
    received: Arc<Mutex<Vec<Received>>>,
}

/// A minimal HTTP/1.1 server on loopback behaving as told, one request per connection.
async fn test_hook(behaviour: Behaviour) -> TestHook {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let calls = Arc::new(AtomicUsize::new(0));
    let received = Arc::new(Mutex::new(Vec::new()));
    let (c, r) = (calls.clone(), received.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let (c, r, behaviour) = (c.clone(), r.clone(), behaviour.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    let n = stream.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break at + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let headers: Vec<(String, String)> = head
                    .lines()
                    .skip(1)
                    .filter_map(|l| l.split_once(':'))
                    .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
                    .collect();
                let length: usize = headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                while buf.len() < head_end + length {
                    let n = stream.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                c.fetch_add(1, Ordering::SeqCst);
                let path = head
                    .lines()
                    .next()
                    .and_then(|l| l.split(' ').nth(1))
                    .unwrap_or_default()
                    .to_owned();
                r.lock().unwrap().push(Received {
                    path,
                    headers,
                    body: buf[head_end..].to_vec(),
                });
                let reply = |status: &str, body: &[u8]| {
                    let mut out = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    out.extend_from_slice(body);
                    out
                };
                let out = match behaviour {
                    Behaviour::Answer(v) => reply("200 OK", v.to_string().as_bytes()),
                    Behaviour::Status(code) => reply(&format!("{code} Oops"), b"{}"),
                    Behaviour::Garbage => reply("200 OK", b"<html>not json</html>"),
                    Behaviour::FunctionError => {
                        let body = br#"{"errorMessage":"boom","errorType":"Error"}"#;
                        let mut out = format!(
                            "HTTP/1.1 200 OK\r\nx-amz-function-error: Unhandled\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                            body.len()
                        )
                        .into_bytes();
                        out.extend_from_slice(body);
                        out
                    }
                    Behaviour::Slow(wait, v) => {
                        tokio::time::sleep(wait).await;
                        reply("200 OK", v.to_string().as_bytes())
                    }
                    Behaviour::Huge => {
                        // No length announced: the reader must stop on its own.
                        let head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n{\"reply\":[{\"type\":\"text\",\"content\":\"";
                        let _ = stream.write_all(head).await;
                        let block = vec![b'a'; 64 * 1024];
                        for _ in 0..160 {
                            if stream.write_all(&block).await.is_err() {
                                return;
                            }
                        }
                        b"\"}]}".to_vec()
                    }
                };
                let _ = stream.write_all(&out).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    TestHook {
        url,
        calls,
        received,
    }
}

fn rules(url: &str, timeout_ms: u64) -> Value {
    json!({
        "rules": [{"name": "order", "match": {"contains": "订单"},
                   "action": {"hook": {"url": url, "timeout_ms": timeout_ms,
                              "fallback": [{"type": "text", "content": "查询繁忙，请稍后再试"}]}}}],
        "default": {"reply": [{"type": "text", "content": "收到"}]}
    })
}

/// A sender calling hooks with the real client (signed with [`SECRET`]), on the rig's sandbox.
fn hook_sender<T: Table + HookAnswers + 'static>(
    rig: &SendRig<T>,
    rules: &Value,
    label: &str,
) -> Sender {
    rig.hook_sender(rules, SECRET, label)
}

async fn rig() -> SendRig<MemoryTable> {
    SendRig::start(Arc::new(MemoryTable::new()), &json!({"rules": []})).await
}

fn texts(rig: &SendRig<MemoryTable>) -> Vec<String> {
    rig.sandbox
        .messages()
        .iter()
        .map(|m| m.body["text"]["content"].as_str().unwrap_or("").to_owned())
        .collect()
}

#[tokio::test]
async fn the_hooks_answer_is_sent_and_the_request_is_signed() {
    let rig = rig().await;
    let hook = test_hook(Behaviour::Answer(json!({"reply": [
        {"type": "text", "content": "订单 A1024 已发货，顺丰 SF123456"}]})))
    .await;
    let sender = hook_sender(&rig, &rules(&hook.url, 2000), "");
    rig.sandbox.user_message("o-user");
    let outcome = sender
        .run(
            &job("o-user", "我的订单 A1024 到哪了", 1, NOW),
            rig.deadline(),
        )
        .await
        .unwrap();
    assert!(
        matches!(outcome, JobOutcome::Done { sent: 1, .. }),
        "{outcome:?}"
    );
    assert_eq!(texts(&rig), ["订单 A1024 已发货，顺丰 SF123456"]);

    let received = hook.received.lock().unwrap()[0].clone();
    let request: Value = serde_json::from_slice(&received.body).unwrap();
    assert_eq!(request["app"], sample::APPID);
    assert_eq!(request["openid"], "o-user");
    assert_eq!(request["message"]["type"], "text");
    assert_eq!(request["message"]["content"], "我的订单 A1024 到哪了");
    assert_eq!(request["matched"], json!({"rule": "order"}));
    let id = received.header("webhook-id").unwrap();
    assert_eq!(request["id"], id);
    let timestamp: i64 = received
        .header("webhook-timestamp")
        .unwrap()
        .parse()
        .unwrap();
    let wall = kefu::clock::SystemClock.now_millis() / 1000;
    assert!(
        (wall - 5..=wall).contains(&timestamp),
        "{timestamp} vs {wall}"
    );
    assert_eq!(
        received.header("webhook-signature").unwrap(),
        signature(SECRET.as_bytes(), id, timestamp, &received.body)
    );
    assert_ne!(
        received.header("webhook-signature").unwrap(),
        signature(b"another secret", id, timestamp, &received.body)
    );
}

#[tokio::test]
async fn a_redelivery_after_the_hook_answered_sends_from_what_was_kept() {
    let rig = rig().await;
    let hook = test_hook(Behaviour::Answer(json!({"reply": [
        {"type": "text", "content": "积分 1200"}, {"type": "text", "content": "可兑换 12 元"}]})))
    .await;
    let sender = hook_sender(&rig, &rules(&hook.url, 2000), "");
    rig.sandbox.user_message("o-user");
    let body = job("o-user", "订单积分", 2, NOW);
    sender.run(&body, rig.deadline()).await.unwrap();
    // SQS delivers the same job again (the first run's delete was lost).
    let again = sender.run(&body, rig.deadline()).await.unwrap();
    assert!(
        matches!(
            again,
            JobOutcome::Done {
                sent: 0,
                skipped: 2,
                ..
            }
        ),
        "{again:?}"
    );
    assert_eq!(
        hook.calls.load(Ordering::SeqCst),
        1,
        "the hook is called once"
    );
    assert_eq!(texts(&rig), ["积分 1200", "可兑换 12 元"]);

    // A second sender (another instance) running the redelivery does not call it either.
    let other = hook_sender(&rig, &rules(&hook.url, 2000), "");
    other.run(&body, rig.deadline()).await.unwrap();
    assert_eq!(hook.calls.load(Ordering::SeqCst), 1);
    assert_eq!(rig.sandbox.messages().len(), 2);
}

#[tokio::test]
async fn a_hook_past_its_timeout_gets_the_fallback_once() {
    let rig = rig().await;
    let hook = test_hook(Behaviour::Slow(
        Duration::from_secs(3),
        json!({"reply": [{"type": "text", "content": "too late"}]}),
    ))
    .await;
    let sender = hook_sender(&rig, &rules(&hook.url, 300), "");
    rig.sandbox.user_message("o-user");
    let body = job("o-user", "订单呢", 3, NOW);
    let started = std::time::Instant::now();
    sender.run(&body, rig.deadline()).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    sender.run(&body, rig.deadline()).await.unwrap();
    assert_eq!(texts(&rig), ["查询繁忙，请稍后再试"]);
    assert_eq!(
        hook.calls.load(Ordering::SeqCst),
        1,
        "the fallback decision is kept too"
    );
}

#[tokio::test]
async fn errors_garbage_and_huge_answers_get_the_fallback() {
    for behaviour in [
        Behaviour::Status(500),
        Behaviour::Status(302),
        Behaviour::Garbage,
        Behaviour::Huge,
        Behaviour::Answer(json!({"reply": [{"type": "text", "content": ""}]})),
        Behaviour::Answer(json!({"reply": [{"type": "video", "url": "x"}]})),
    ] {
        let rig = rig().await;
        let hook = test_hook(behaviour.clone()).await;
        let sender = hook_sender(&rig, &rules(&hook.url, 3000), "");
        rig.sandbox.user_message("o-user");
        let started = std::time::Instant::now();
        sender
            .run(&job("o-user", "订单", 4, NOW), rig.deadline())
            .await
            .unwrap();
        assert_eq!(texts(&rig), ["查询繁忙，请稍后再试"], "{behaviour:?}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{behaviour:?} took {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn an_empty_reply_sends_nothing_and_a_generated_answer_is_labelled() {
    let rig = rig().await;
    let hook = test_hook(Behaviour::Answer(json!({"reply": []}))).await;
    let sender = hook_sender(&rig, &rules(&hook.url, 2000), "");
    rig.sandbox.user_message("o-user");
    let outcome = sender
        .run(&job("o-user", "订单", 5, NOW), rig.deadline())
        .await
        .unwrap();
    assert!(matches!(outcome, JobOutcome::Nothing(_)), "{outcome:?}");
    assert!(rig.sandbox.messages().is_empty());

    let hook = test_hook(Behaviour::Answer(json!({"reply": [
        {"type": "text", "content": "您的订单预计明天送达"}], "generated": true})))
    .await;
    let sender = hook_sender(&rig, &rules(&hook.url, 2000), "以上内容由 AI 生成");
    sender
        .run(&job("o-user", "订单", 6, NOW), rig.deadline())
        .await
        .unwrap();
    assert_eq!(texts(&rig), ["您的订单预计明天送达\n以上内容由 AI 生成"]);
}

#[tokio::test]
async fn a_slow_hook_shows_typing_and_its_answer_is_sent() {
    let rig = rig().await;
    let hook = test_hook(Behaviour::Slow(
        Duration::from_millis(1500),
        json!({"reply": [{"type": "text", "content": "查到了"}]}),
    ))
    .await;
    let sender = hook_sender(&rig, &rules(&hook.url, 4000), "");
    rig.sandbox.user_message("o-user");
    sender
        .run(&job("o-user", "订单", 7, NOW), rig.deadline())
        .await
        .unwrap();
    assert_eq!(texts(&rig), ["查到了"]);
    // errcode 0: the send and the typing call.
    assert_eq!(rig.sandbox.counts().get(&0), Some(&2), "typing was shown");

    // A quick one shows none.
    let quick = test_hook(Behaviour::Answer(
        json!({"reply": [{"type": "text", "content": "好"}]}),
    ))
    .await;
    let sender = hook_sender(&rig, &rules(&quick.url, 4000), "");
    rig.sandbox.user_message("o-other");
    sender
        .run(&job("o-other", "订单", 8, NOW), rig.deadline())
        .await
        .unwrap();
    assert_eq!(rig.sandbox.counts().get(&0), Some(&3));
}

#[tokio::test]
async fn a_hook_nobody_answers_and_a_held_user_get_no_call() {
    let rig = rig().await;
    // Nothing listens there (a port just closed).
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    };
    let sender = hook_sender(&rig, &rules(&format!("http://{closed}/hook"), 2000), "");
    rig.sandbox.user_message("o-user");
    sender
        .run(&job("o-user", "订单", 9, NOW), rig.deadline())
        .await
        .unwrap();
    assert_eq!(texts(&rig), ["查询繁忙，请稍后再试"]);

    let hook = test_hook(Behaviour::Answer(
        json!({"reply": [{"type": "text", "content": "x"}]}),
    ))
    .await;
    let sender = hook_sender(&rig, &rules(&hook.url, 2000), "");
    use kefu::ports::HandoffRegistry;
    rig.table
        .record(
            sample::APPID,
            &kefu::protocol::OpenId::parse("o-held").unwrap(),
            NOW,
            NOW + 3_600_000,
        )
        .await
        .unwrap();
    rig.sandbox.user_message("o-held");
    sender
        .run(&job("o-held", "订单", 10, NOW), rig.deadline())
        .await
        .unwrap();
    assert_eq!(
        hook.calls.load(Ordering::SeqCst),
        0,
        "a held user's hook is not called"
    );
}

#[tokio::test]
async fn the_wait_is_cut_to_what_the_deadline_leaves() {
    let rig = rig().await;
    let hook = test_hook(Behaviour::Answer(
        json!({"reply": [{"type": "text", "content": "x"}]}),
    ))
    .await;
    let sender = hook_sender(&rig, &rules(&hook.url, 2000), "");
    rig.sandbox.user_message("o-user");
    // 16 s (the sends' room) and 50 ms: too little to wait for a hook.
    let deadline = rig.clock.now_millis() + 16_050;
    let retried = sender.run(&job("o-user", "订单", 11, NOW), deadline).await;
    assert!(retried.is_err(), "{retried:?}");
    assert_eq!(hook.calls.load(Ordering::SeqCst), 0);
    // The redelivery, with time, calls it.
    sender
        .run(&job("o-user", "订单", 11, NOW), rig.deadline())
        .await
        .unwrap();
    assert_eq!(hook.calls.load(Ordering::SeqCst), 1);
}

const FUNCTION: &str = "arn:aws:lambda:ap-east-1:123456789012:function:orders";

/// A sender whose Lambda hooks go to `endpoint` (a stand-in speaking the Invoke API).
fn lambda_sender(rig: &SendRig<MemoryTable>, endpoint: &str) -> Sender {
    use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
    let rules = json!({"rules": [{"name": "points", "match": {"contains": "积分"},
        "action": {"hook": {"lambda": FUNCTION, "timeout_ms": 2000,
                            "fallback": [{"type": "text", "content": "积分查询暂不可用"}]}}}]});
    let sender = hook_sender(rig, &rules, "");
    let clock: Arc<dyn Clock> = rig.clock.clone();
    let credentials = SharedCredentialsProvider::new(Credentials::new(
        "AKIDHOOKTEST",
        "hook-test-secret-key",
        None,
        None,
        "tests",
    ));
    sender.with_hooks(Hooks {
        caller: Arc::new(HookClient::new(None, clock).unwrap().with_lambda(
            kefu::hooks::LambdaInvoker::new(credentials, Some(endpoint.to_owned())),
        )),
        answers: rig.table.clone(),
        users: UserForm::Openid,
        generated_label: String::new(),
    })
}

#[tokio::test]
async fn a_lambda_hook_is_invoked_synchronously_and_signed() {
    let rig = rig().await;
    let function = test_hook(Behaviour::Answer(json!({"reply": [
        {"type": "text", "content": "您的积分：1200"}]})))
    .await;
    let endpoint = function.url.trim_end_matches("/hook").to_owned();
    let sender = lambda_sender(&rig, &endpoint);
    rig.sandbox.user_message("o-user");
    sender
        .run(&job("o-user", "我的积分", 21, NOW), rig.deadline())
        .await
        .unwrap();
    assert_eq!(texts(&rig), ["您的积分：1200"]);
    let received = function.received.lock().unwrap()[0].clone();
    assert_eq!(
        received.path,
        "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aap-east-1%3A123456789012%3Afunction%3Aorders/invocations"
    );
    assert_eq!(
        received.header("x-amz-invocation-type"),
        Some("RequestResponse")
    );
    let authorization = received.header("authorization").unwrap();
    assert!(
        authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDHOOKTEST/")
            && authorization.contains("/ap-east-1/lambda/aws4_request"),
        "{authorization}"
    );
    assert!(!authorization.contains("hook-test-secret-key"));
    assert!(received.header("x-amz-date").is_some());
    let request: Value = serde_json::from_slice(&received.body).unwrap();
    assert_eq!(request["matched"], json!({"rule": "points"}));

    // A function that throws gets the fallback.
    let failing = test_hook(Behaviour::FunctionError).await;
    let sender = lambda_sender(&rig, failing.url.trim_end_matches("/hook"));
    rig.sandbox.user_message("o-other");
    sender
        .run(&job("o-other", "我的积分", 22, NOW), rig.deadline())
        .await
        .unwrap();
    assert_eq!(texts(&rig), ["您的积分：1200", "积分查询暂不可用"]);
}

/// The example hook (examples/order-status-hook), running; killed when dropped.
struct ExampleHook {
    child: std::process::Child,
    url: String,
}

impl Drop for ExampleHook {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn example_hook() -> ExampleHook {
    use std::io::BufRead;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/order-status-hook/hook.py"
    );
    let mut child = std::process::Command::new("python3")
        .args([script, "--port", "0", "--secret", SECRET])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python3 runs the example hook");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("the example says where it listens: {line:?}"))
        .to_owned();
    ExampleHook { child, url }
}

/// POSTs `body` to `url` with the given signature headers; the status.
async fn post_raw(url: &str, headers: &[(&str, String)], body: &[u8]) -> u16 {
    let address = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let mut request = format!(
        "POST / HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    answer
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn the_example_hook_answers_an_order_question_and_refuses_a_tampered_request() {
    let example = example_hook();
    let rig = rig().await;
    let sender = hook_sender(&rig, &rules(&example.url, 3000), "");
    rig.sandbox.user_message("o-user");
    sender
        .run(
            &job("o-user", "我的订单 A1024 到哪了", 31, NOW),
            rig.deadline(),
        )
        .await
        .unwrap();
    assert_eq!(
        texts(&rig),
        ["订单 A1024：已发货，顺丰速运 SF1234567890，预计明天送达"]
    );

    // Signed with the example's secret: accepted. The same signature over another body, or
    // the body signed with another secret, or a stale timestamp: refused.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let body = br#"{"id":"kefu_1","message":{"type":"text","content":"A1025"}}"#;
    let signed = |secret: &[u8], ts: i64, body: &[u8]| {
        vec![
            ("webhook-id", "kefu_1".to_owned()),
            ("webhook-timestamp", ts.to_string()),
            ("webhook-signature", signature(secret, "kefu_1", ts, body)),
        ]
    };
    assert_eq!(
        post_raw(&example.url, &signed(SECRET.as_bytes(), now, body), body).await,
        200
    );
    let tampered = br#"{"id":"kefu_1","message":{"type":"text","content":"A1026"}}"#;
    assert_eq!(
        post_raw(
            &example.url,
            &signed(SECRET.as_bytes(), now, body),
            tampered
        )
        .await,
        401
    );
    assert_eq!(
        post_raw(&example.url, &signed(b"not the secret", now, body), body).await,
        401
    );
    assert_eq!(
        post_raw(
            &example.url,
            &signed(SECRET.as_bytes(), now - 600, body),
            body
        )
        .await,
        401
    );
    assert_eq!(post_raw(&example.url, &[], body).await, 401);

    // kefu's client with another secret is refused too: the user gets the fallback.
    let clock: Arc<dyn Clock> = Arc::new(kefu::clock::SystemClock);
    let wrong = HookClient::new(Some(SecretString::new("another secret")), clock).unwrap();
    use kefu::ports::HookCaller;
    let refused = wrong
        .call(
            kefu::rules::HookTarget::Url(&example.url),
            "kefu_2",
            body,
            Duration::from_secs(2),
        )
        .await;
    assert_eq!(refused, Err(kefu::ports::HookFailure::Status(401)));
}

#[tokio::test]
async fn on_dynamodb_the_first_decision_is_kept_and_a_redelivery_does_not_call_again() {
    use kefu::clock::{EpochMillis, EpochSecs};
    let sdk = aws::sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    let table = kefu::aws::DynamoTable::new(client.clone(), aws::create_table(&client).await);
    let now = EpochMillis(NOW);
    let until = EpochSecs(NOW / 1000 + 3600);
    assert_eq!(table.kept("hook#push#a", now).await.unwrap(), None);
    assert_eq!(
        table
            .keep("hook#push#a", "first", now, until)
            .await
            .unwrap(),
        "first"
    );
    assert_eq!(
        table
            .keep("hook#push#a", "second", now, until)
            .await
            .unwrap(),
        "first",
        "the first write wins"
    );
    assert_eq!(
        table.kept("hook#push#a", now).await.unwrap().as_deref(),
        Some("first")
    );
    // Expired (the TTL has not deleted it yet): gone, and a new decision may be kept.
    let later = EpochMillis(NOW + 3_601_000);
    assert_eq!(table.kept("hook#push#a", later).await.unwrap(), None);
    let later_until = EpochSecs(NOW / 1000 + 7200);
    assert_eq!(
        table
            .keep("hook#push#a", "third", later, later_until)
            .await
            .unwrap(),
        "third"
    );

    let rig = SendRig::start(Arc::new(table), &json!({"rules": []})).await;
    let hook = test_hook(Behaviour::Answer(json!({"reply": [
        {"type": "text", "content": "订单 A1024 已发货"}]})))
    .await;
    let sender = hook_sender(&rig, &rules(&hook.url, 2000), "");
    rig.sandbox.user_message("o-user");
    let body = job("o-user", "订单", 41, NOW);
    sender.run(&body, rig.deadline()).await.unwrap();
    sender.run(&body, rig.deadline()).await.unwrap();
    assert_eq!(hook.calls.load(Ordering::SeqCst), 1);
    assert_eq!(rig.sandbox.messages().len(), 1);

    // The deployment's hook secret, from its SecureString parameter; Lambda hooks get the
    // configuration's credentials.
    let deployment = kefu::aws::Aws::from_config(&sdk);
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let name = format!("/{}/hook-secret", aws::unique("kefu-hooks"));
    aws::put_secure_parameter(&ssm, &name, SECRET).await;
    assert_eq!(
        deployment.hook_secret(&name).await.unwrap().expose(),
        SECRET
    );
    let missing = deployment.hook_secret(&format!("{name}-missing")).await;
    assert!(missing.is_err());
    assert!(!format!("{:?}", deployment.hook_secret(&name).await).contains(SECRET));
    assert!(deployment.lambda_invoker(None).is_some());
}

#[tokio::test]
async fn an_answer_may_name_an_uploaded_image_by_its_media_id() {
    let rig = rig().await;
    // An image a rule sends from a shipped file: uploaded, and its media_id known.
    let pictures = hook_sender(
        &rig,
        &json!({"rules": [{"name": "pic", "match": {"exact": "图片"},
            "action": {"reply": [{"type": "image", "source": {"file": "welcome.png"}}]}}]}),
        "",
    );
    rig.sandbox.user_message("o-user");
    pictures
        .run(&job("o-user", "图片", 51, NOW), rig.deadline())
        .await
        .unwrap();
    let media_id = rig.sandbox.messages()[0].body["image"]["media_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let uploads = rig.sandbox.counts();

    let hook = test_hook(Behaviour::Answer(json!({"reply": [
        {"type": "image", "source": {"media_id": media_id}},
        {"type": "text", "content": "这是您的电子发票"}]})))
    .await;
    let sender = hook_sender(&rig, &rules(&hook.url, 2000), "");
    sender
        .run(&job("o-user", "订单发票", 52, NOW), rig.deadline())
        .await
        .unwrap();
    let sent = rig.sandbox.messages();
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert_eq!(sent[1].msgtype, "image");
    assert_eq!(sent[1].body["image"]["media_id"], media_id.as_str());
    assert_eq!(sent[2].body["text"]["content"], "这是您的电子发票");
    // Sent as it is: nothing uploaded again (the only new successes are the two sends).
    let after = rig.sandbox.counts();
    assert_eq!(
        after.get(&0).copied().unwrap_or(0),
        uploads.get(&0).copied().unwrap_or(0) + 2
    );

    // A rule cannot name one (it expires in 3 days).
    let refused = RuleSet::from_json(
        r#"{"rules":[{"name":"p","match":{"exact":"a"},"action":{"reply":[{"type":"image","source":{"media_id":"m"}}]}}]}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        refused.contains("a media_id expires 3 days after its upload"),
        "{refused}"
    );
}
