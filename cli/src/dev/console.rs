//! What `kefu dev` prints: the banner (where to push, with which credentials, where the chat
//! window is), one line per thing that happens, and each message the sandbox accepts.

use std::net::SocketAddr;
use std::time::Duration;

use kefu::secret::SecretString;
use kefu_sandbox::Sandbox;

use super::DevArgs;
use super::timeline::{Level, Timeline, What};
use crate::out;
use crate::paint::{Colour, paint};

/// `println!` that ends `kefu dev` quietly when stdout is closed (`kefu dev | head`).
macro_rules! outln {
    ($($arg:tt)*) => {
        out::say(&format!($($arg)*))
    };
}

/// `first_of_several`: with `--apps`, the first app's appid and whether it has an
/// EncodingAESKey (the `try:` line pushes to it).
pub(super) fn banner(
    args: &DevArgs,
    address: SocketAddr,
    lines: &[(&'static str, String)],
    first_of_several: Option<(&str, bool)>,
) {
    outln!("kefu dev: the push path on your machine, no WeChat account, no tunnel");
    out::say("");
    outln!(
        "  chat window     {}",
        paint(&format!("http://{address}/"), Colour::Cyan)
    );
    outln!("  push URL        http://{address}{}", args.path);
    for (name, value) in lines {
        outln!("  {name:<15} {value}");
    }
    match &args.wechat_api {
        Some(url) => outln!("  WeChat API      {url}"),
        None => outln!(
            "  WeChat API      the sandbox at http://{address} (sent messages: GET /sandbox/messages)"
        ),
    }
    out::say("");
    outln!("  try:  {}", try_command(args, address, first_of_several));
    outln!(
        "        (no `kefu` on your PATH? `cargo install --path cli`, or `cargo run -p kefu-cli --`)"
    );
    out::say("");
}

/// A `kefu push` that works against this `kefu dev` as printed: for `--apps`, as the first app
/// (its credentials from the apps file, its URL `{path}/{appid}`).
fn try_command(
    args: &DevArgs,
    address: SocketAddr,
    first_of_several: Option<(&str, bool)>,
) -> String {
    let mut command = "kefu push".to_owned();
    // Where this kefu dev takes the push, and where `kefu push` pushes without --url.
    let (path, default_path) = match (first_of_several, &args.apps) {
        (Some((appid, encrypted)), Some(file)) => {
            command.push_str(&format!(" --apps {} --appid {appid}", file.display()));
            if !encrypted {
                command.push_str(" --mode plaintext");
            }
            (
                format!("{}/{appid}", args.path),
                format!("{}/{appid}", super::DEFAULT_PATH),
            )
        }
        _ => (args.path.clone(), super::DEFAULT_PATH.to_owned()),
    };
    let push_url = format!("http://{address}{path}");
    if push_url != format!("http://127.0.0.1:8080{default_path}") {
        command.push_str(&format!(" --url {push_url}"));
    }
    command + " text \"你好\""
}

/// The documented sample values are shown so they can be pasted; real ones never are.
pub(super) fn shown(value: &SecretString, sample: &str, flag: &str) -> String {
    if value.expose() == sample {
        sample.to_owned()
    } else {
        format!("(yours, from {flag})")
    }
}

/// One line on the terminal, marked by its level.
pub(super) fn say(level: Level, text: &str) {
    let (mark, colour) = match level {
        Level::Info => ("·", Colour::Dim),
        Level::Good => ("✓", Colour::Green),
        Level::Warn => ("!", Colour::Yellow),
        Level::Error => ("✗", Colour::Red),
    };
    outln!("  {} {text}", paint(mark, colour));
}

/// Prints each message the sandbox accepts, as it arrives, and records it for the page.
pub(super) async fn watch_replies(sandbox: Sandbox, timeline: Timeline) {
    let mut seen = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let messages = sandbox.messages();
        for message in messages.iter().skip(seen) {
            outln!(
                "  → {} [{}] {}",
                message.openid,
                message.msgtype,
                summary(&message.msgtype, &message.body)
            );
            timeline.push(
                Some(message.openid.clone()),
                What::Reply {
                    msgtype: message.msgtype.clone(),
                    body: message
                        .body
                        .get(&message.msgtype)
                        .cloned()
                        .unwrap_or_default(),
                },
            );
        }
        seen = messages.len();
    }
}

/// A custom/send body in one line: the text, or the card's fields.
pub(super) fn summary(msgtype: &str, body: &serde_json::Value) -> String {
    match msgtype {
        "text" => body
            .pointer("/text/content")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        _ => body.get(msgtype).map(|v| v.to_string()).unwrap_or_default(),
    }
}
