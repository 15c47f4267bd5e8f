//! What `kefu dev` prints: the banner (where to push, with which credentials) and each message
//! the sandbox accepts, as it arrives.

use std::net::SocketAddr;
use std::time::Duration;

use kefu::secret::SecretString;
use kefu_sandbox::Sandbox;

use super::DevArgs;

pub(super) fn banner(args: &DevArgs, address: SocketAddr, lines: &[(&'static str, String)]) {
    println!("kefu dev: the push path on your machine, no WeChat account, no tunnel");
    println!();
    println!("  push URL        http://{address}{}", args.path);
    for (name, value) in lines {
        println!("  {name:<15} {value}");
    }
    match &args.wechat_api {
        Some(url) => println!("  WeChat API      {url}"),
        None => println!(
            "  WeChat API      the sandbox at http://{address} (sent messages: GET /sandbox/messages)"
        ),
    }
    println!();
    println!(
        "  try:  kefu push --url http://{address}{} text \"你好\"",
        args.path
    );
    println!();
}

/// The documented sample values are shown so they can be pasted; real ones never are.
pub(super) fn shown(value: &SecretString, sample: &str, flag: &str) -> String {
    if value.expose() == sample {
        sample.to_owned()
    } else {
        format!("(yours, from {flag})")
    }
}

/// Prints each message the sandbox accepts, as it arrives.
pub(super) async fn print_replies(sandbox: Sandbox) {
    let mut seen = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let messages = sandbox.messages();
        for message in messages.iter().skip(seen) {
            let shown = match message.msgtype.as_str() {
                "text" => message
                    .body
                    .pointer("/text/content")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                _ => message
                    .body
                    .get(&message.msgtype)
                    .map(|v| v.to_string())
                    .unwrap_or_default(),
            };
            println!("  → {} [{}] {shown}", message.openid, message.msgtype);
        }
        seen = messages.len();
    }
}
