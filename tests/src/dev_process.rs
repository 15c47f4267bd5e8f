//! `kefu dev` as a process, for the tests that drive it as a user does: started on a free
//! loopback port from the repository root, with the documented sample credentials (the
//! caller's KEFU_TOKEN, KEFU_AES_KEY, KEFU_APPID, WECHAT_API_BASE and RUST_LOG are not passed
//! on), and
//! stopped when dropped.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The repository root, where `kefu dev` finds rules/sample.json and the reply's images.
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// A running `kefu dev`.
#[derive(Debug)]
pub struct DevProcess {
    child: Child,
    /// Its HTTP address, `http://127.0.0.1:PORT`.
    pub base: String,
}

impl DevProcess {
    /// Runs `kefu` (the binary at `bin`) with `args` and `--port`, plus `envs`, and waits until
    /// it listens. Its standard output is piped when `piped_stdout`, else discarded.
    pub fn start(bin: &str, args: &[&str], envs: &[(&str, String)], piped_stdout: bool) -> Self {
        let port = free_port();
        let mut command = Command::new(bin);
        command
            .args(args)
            .args(["--port", &port.to_string()])
            .current_dir(ROOT)
            .env_remove("KEFU_TOKEN")
            .env_remove("KEFU_AES_KEY")
            .env_remove("KEFU_APPID")
            .env_remove("WECHAT_API_BASE")
            // kefu dev's own log level, not the test runner's.
            .env_remove("RUST_LOG")
            .stdout(if piped_stdout {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stderr(Stdio::null());
        for (name, value) in envs {
            command.env(name, value);
        }
        let child = command.spawn().expect("kefu dev starts");
        let dev = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "kefu dev did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        dev
    }

    /// Stops it and returns what it printed (when started with `piped_stdout`).
    pub fn stop_and_read_stdout(&mut self) -> String {
        let _ = self.child.kill();
        let mut printed = String::new();
        if let Some(mut stdout) = self.child.stdout.take() {
            let _ = std::io::Read::read_to_string(&mut stdout, &mut printed);
        }
        printed
    }
}

impl Drop for DevProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain GET over a TCP socket (the tests need no HTTP client of their own): the status code
/// and the body.
///
/// # Panics
/// When `url` is not `http://HOST:PORT/PATH` or the server does not answer with HTTP.
pub fn http_get(url: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, path) = rest.split_once('/').expect("a URL with a path");
    let mut stream = std::net::TcpStream::connect(host).expect("the server listens");
    write!(
        stream,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .expect("the request is sent");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("the answer is read");
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    (status, body.to_owned())
}

/// A port the kernel just handed out.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
