//! A loopback HTTP proxy in front of moto that forwards every request and, when told to, drops
//! the answer to one: the request takes effect at moto, the client sees its connection close
//! before any answer, and the AWS SDK repeats the request. This is the fault behind "a retry of
//! our own write fails its condition", injected for real rather than by mocking the adapters.
//!
//! It can also answer requests with a server error (or any error, e.g. Parameter Store's
//! `ThrottlingException`) instead of forwarding them, and stop (every connection closed, new ones
//! refused) and start again on the same port: a server stopped mid-run and restarted, as the
//! clients see it. It keeps the body of every request it forwarded, so a test can tell which
//! parameter a `PutParameter` wrote, and in what order.
//!
//! It understands just enough HTTP/1.1 for the SDK's requests (a head and a `Content-Length`
//! body) and asks moto to close after each answer, so the answer ends at EOF.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Requests larger than this are refused (the tests' requests are a few KB).
const MAX_REQUEST: usize = 1024 * 1024;

#[derive(Debug, Default)]
struct Plan {
    /// Drop the answers of the next `n` requests whose `X-Amz-Target` ends with the target.
    drops: Vec<(String, usize)>,
    /// Answer the next `n` such requests with HTTP 500 without forwarding them.
    failures: Vec<(String, usize)>,
    /// Answer the next `times` requests that match with an answer of the test's choosing.
    answers: Vec<Answer>,
    /// The `X-Amz-Target` of every request forwarded, in order.
    seen: Vec<String>,
    /// The `X-Amz-Target` and body of every request forwarded, in order.
    requests: Vec<(String, String)>,
    dropped: usize,
}

/// An answer given instead of forwarding: to requests whose `X-Amz-Target` contains `target`
/// and whose body contains `body_contains`.
#[derive(Debug)]
struct Answer {
    target: String,
    body_contains: String,
    status: u16,
    body: String,
    times: usize,
}

/// Parameter Store's answer when an account is over its request rate.
pub const THROTTLED: &str = r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;

/// The proxy; it stops when dropped.
#[derive(Debug)]
pub struct LossyProxy {
    addr: SocketAddr,
    upstream: String,
    plan: Arc<Mutex<Plan>>,
    /// The accept loop and every connection's task, while running.
    tasks: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
    /// Held while a request is forwarded, when requests go one at a time.
    one_at_a_time: Option<Arc<tokio::sync::Mutex<()>>>,
}

impl LossyProxy {
    /// Starts on a free loopback port, forwarding to `upstream` (`http://host:port`).
    pub async fn start(upstream: &str) -> Self {
        Self::start_with(upstream, false).await
    }

    /// Starts forwarding one request at a time. DynamoDB applies conditional writes to an item
    /// atomically; moto evaluates the condition and applies the write without a lock, so
    /// concurrent writes through it can both pass a condition only one may (measured
    /// 2026-12-02: two token leases granted in 4 of 8 runs of 100 concurrent instances). Tests
    /// of concurrent instances on DynamoDB put this in front of moto: the clients still run
    /// concurrently, and each write meets the item as DynamoDB would leave it.
    pub async fn serializing(upstream: &str) -> Self {
        Self::start_with(upstream, true).await
    }

    async fn start_with(upstream: &str, one_at_a_time: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let proxy = Self {
            addr: listener.local_addr().expect("the proxy's address"),
            upstream: upstream
                .trim_start_matches("http://")
                .trim_end_matches('/')
                .to_owned(),
            plan: Arc::new(Mutex::new(Plan::default())),
            tasks: Arc::new(Mutex::new(Vec::new())),
            one_at_a_time: one_at_a_time.then(|| Arc::new(tokio::sync::Mutex::new(()))),
        };
        proxy.run(listener);
        proxy
    }

    fn run(&self, listener: TcpListener) {
        let (upstream, plan, tasks) =
            (self.upstream.clone(), self.plan.clone(), self.tasks.clone());
        let serial = self.one_at_a_time.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let task = tokio::spawn(serve(
                    client,
                    upstream.clone(),
                    plan.clone(),
                    serial.clone(),
                ));
                lock(&tasks).push(task.abort_handle());
            }
        });
        lock(&self.tasks).push(accept.abort_handle());
    }

    /// Stops as a crashed server would: open connections close, new ones are refused.
    pub fn stop(&self) {
        for task in lock(&self.tasks).drain(..) {
            task.abort();
        }
    }

    /// Starts again on the same port.
    pub async fn restart(&self) {
        // The stopped accept loop lets go of the port at its next poll.
        for _ in 0..50 {
            if let Ok(listener) = TcpListener::bind(self.addr).await {
                self.run(listener);
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("the proxy's port {} did not come free", self.addr);
    }

    /// The URL to point the SDK at.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Drops the answers of the next `times` requests whose `X-Amz-Target` ends with `target`
    /// (e.g. `PutItem`, `UpdateItem`, `SendMessage`): they take effect, their answer is lost.
    pub fn drop_answers(&self, target: &str, times: usize) {
        self.lock().drops.push((target.to_owned(), times));
    }

    /// Answers the next `times` requests whose `X-Amz-Target` ends with `target` with HTTP 500,
    /// without forwarding them: the service failed them.
    pub fn fail_requests(&self, target: &str, times: usize) {
        self.lock().failures.push((target.to_owned(), times));
    }

    /// Answers the next `times` requests whose `X-Amz-Target` contains `target` (e.g.
    /// `AmazonSSM.`, every Parameter Store request) and whose body contains `body_contains`
    /// (`""` for any) with HTTP `status` and the JSON error `body`, without forwarding them.
    pub fn answer_requests(
        &self,
        target: &str,
        body_contains: &str,
        status: u16,
        body: &str,
        times: usize,
    ) {
        self.lock().answers.push(Answer {
            target: target.to_owned(),
            body_contains: body_contains.to_owned(),
            status,
            body: body.to_owned(),
            times,
        });
    }

    /// Forwards every request again (the answers planned with `answer_requests` are dropped).
    pub fn clear_answers(&self) {
        self.lock().answers.clear();
    }

    /// The bodies of the requests forwarded whose `X-Amz-Target` ends with `target`, in order.
    pub fn bodies(&self, target: &str) -> Vec<String> {
        self.lock()
            .requests
            .iter()
            .filter(|(t, _)| t.ends_with(target))
            .map(|(_, body)| body.clone())
            .collect()
    }

    /// How many answers were dropped.
    pub fn dropped(&self) -> usize {
        self.lock().dropped
    }

    /// How many requests ending with `target` reached the upstream.
    pub fn seen(&self, target: &str) -> usize {
        self.lock()
            .seen
            .iter()
            .filter(|t| t.ends_with(target))
            .count()
    }

    /// The `X-Amz-Target` of every request that reached the upstream since the last call, in
    /// order (`DynamoDB_20120810.PutItem`, `AmazonSQS.SendMessage`, …).
    pub fn take_seen(&self) -> Vec<String> {
        std::mem::take(&mut self.lock().seen)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Plan> {
        self.plan.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Drop for LossyProxy {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One client connection: requests in turn until the client closes or an answer is dropped.
async fn serve(
    mut client: TcpStream,
    upstream: String,
    plan: Arc<Mutex<Plan>>,
    serial: Option<Arc<tokio::sync::Mutex<()>>>,
) {
    loop {
        let Some((head, body)) = read_request(&mut client).await else {
            return;
        };
        let target = header(&head, "x-amz-target").unwrap_or_default();
        let text = String::from_utf8_lossy(&body).into_owned();
        let (drop_it, fail_it, answer_it) = {
            let mut plan = plan.lock().unwrap_or_else(|p| p.into_inner());
            let answer_it = plan
                .answers
                .iter_mut()
                .find(|a| {
                    a.times > 0 && target.contains(&a.target) && text.contains(&a.body_contains)
                })
                .map(|a| {
                    a.times -= 1;
                    (a.status, a.body.clone())
                });
            let fail_it = answer_it.is_none() && take(&mut plan.failures, &target);
            if !fail_it && answer_it.is_none() {
                plan.seen.push(target.clone());
                plan.requests.push((target.clone(), text));
            }
            let drop_it = !fail_it && answer_it.is_none() && take(&mut plan.drops, &target);
            if drop_it {
                plan.dropped += 1;
            }
            (drop_it, fail_it, answer_it)
        };
        if let Some((status, body)) = answer_it {
            let answer = format!(
                "HTTP/1.1 {status} Injected\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            if client.write_all(answer.as_bytes()).await.is_err() {
                return;
            }
            continue;
        }
        if fail_it {
            let body = r#"{"__type":"InternalFailure","message":"injected by the test proxy"}"#;
            let answer = format!(
                "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            if client.write_all(answer.as_bytes()).await.is_err() {
                return;
            }
            continue;
        }
        let answer = match &serial {
            Some(serial) => {
                let _turn = serial.lock().await;
                forward(&upstream, &head, &body).await
            }
            None => forward(&upstream, &head, &body).await,
        };
        let Some(answer) = answer else {
            return;
        };
        if drop_it || client.write_all(&answer).await.is_err() {
            // The request took effect; the client never hears of it.
            return;
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Uses up one of the planned faults aimed at `target`, if any.
fn take(planned: &mut [(String, usize)], target: &str) -> bool {
    match planned
        .iter_mut()
        .find(|(t, n)| *n > 0 && target.ends_with(t.as_str()))
    {
        Some((_, n)) => {
            *n -= 1;
            true
        }
        None => false,
    }
}

/// Reads one request: the head (up to the blank line) and a `Content-Length` body.
async fn read_request(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(end) = find(&buffer, b"\r\n\r\n") {
            break end;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buffer.len() > MAX_REQUEST {
            return None;
        }
        buffer.extend_from_slice(chunk.get(..n)?);
    };
    let head = String::from_utf8(buffer.get(..head_end)?.to_vec()).ok()?;
    let length: usize = header(&head, "content-length")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = buffer.get(head_end + 4..)?.to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(chunk.get(..n)?);
    }
    Some((head, body))
}

/// Sends the request upstream on a fresh connection (asking it to close after answering) and
/// reads the whole answer.
async fn forward(upstream: &str, head: &str, body: &[u8]) -> Option<Vec<u8>> {
    let mut lines: Vec<&str> = head
        .split("\r\n")
        .filter(|line| !line.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    lines.push("Connection: close");
    let mut request = lines.join("\r\n").into_bytes();
    request.extend_from_slice(b"\r\n\r\n");
    request.extend_from_slice(body);
    let mut server = TcpStream::connect(upstream).await.ok()?;
    server.write_all(&request).await.ok()?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer).await.ok()?;
    Some(answer)
}

fn header(head: &str, name: &str) -> Option<String> {
    head.split("\r\n").skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
