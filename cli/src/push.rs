//! `kefu push`: acts as WeChat towards any push URL. Builds the message, signs and seals it for
//! the chosen mode and format, POSTs it, and behaves as WeChat does when the answer is late or
//! wrong: gives up after 5 s and retries, 3 times at most. Prints each attempt's status and
//! latency, the (decrypted) passive reply, and, against `kefu dev`, the auto-replies the
//! sandbox received for the user.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Args;
use kefu::protocol::Mode;
use kefu::protocol::passive::SealedReply;
use kefu::protocol::{Format, Message};

use crate::push_args::{MessageArg, PushArgs};
use crate::text::{one_line, root_cause};

/// Where `kefu dev` listens by default (with `--apps`, `/{appid}` is added).
const DEFAULT_URL: &str = "http://127.0.0.1:8080/wechat";
/// WeChat waits this long for an answer.
const WECHAT_TIMEOUT: Duration = Duration::from_secs(5);
/// Then retries this many times.
const WECHAT_RETRIES: usize = 3;
/// Auto-replies are done when none came for this long.
const QUIET: Duration = Duration::from_millis(500);

#[derive(Debug, Args)]
pub struct PushCommand {
    /// The push URL (for `kefu dev`: http://127.0.0.1:8080/wechat, or the one it prints).
    #[arg(
        long,
        env = "KEFU_PUSH_URL",
        default_value = DEFAULT_URL,
        value_parser = crate::dev::parse_http_url,
        global = true
    )]
    url: String,
    #[command(flatten)]
    push: PushArgs,
    /// How long to watch the sandbox for auto-replies afterwards (0 to skip).
    #[arg(long, default_value_t = 3.0, value_parser = parse_wait, global = true)]
    wait: f64,
    /// Print the outcome as one JSON object instead of lines.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    message: MessageArg,
}

pub async fn push(args: &PushCommand) -> anyhow::Result<String> {
    let push = args.push.build(&args.message)?;
    let http = kefu::tls::http_client_builder()
        .timeout(WECHAT_TIMEOUT)
        .build()?;
    let push_url = args.push.push_url(&args.url, DEFAULT_URL);
    let url = format!("{push_url}?{}", push.query.to_query_string());
    let content_type = args.push.format.content_type();
    // `kefu dev` says where its sandbox is, whatever the push path; anything else has none.
    let sandbox = find_sandbox(&http, &push_url).await;
    let before = match &sandbox {
        Some(url) => sent_to(&http, url, &args.push.credentials.appid, &args.push.openid)
            .await
            .map(|m| m.len())
            .unwrap_or(0),
        None => 0,
    };

    let mut out = Vec::new();
    let mut attempts = Vec::new();
    let mut auto_replies = Vec::new();
    let mut reply = None;
    for attempt in 1..=WECHAT_RETRIES + 1 {
        let started = Instant::now();
        let result = http
            .post(&url)
            .header("content-type", content_type)
            .body(push.body.clone())
            .send()
            .await;
        let latency = started.elapsed();
        match result {
            Ok(response) => {
                let status = response.status();
                let body = response.text().await.unwrap_or_default();
                out.push(format!(
                    "attempt {attempt}: HTTP {} in {} ms",
                    status.as_u16(),
                    latency.as_millis()
                ));
                attempts.push(serde_json::json!({
                    "status": status.as_u16(),
                    "ms": latency.as_millis(),
                }));
                let accepted = status.is_success() && is_valid_answer(&body);
                if accepted {
                    reply = Some(body);
                    break;
                }
                out.push(format!("  answer: {}", one_line(&body, 200)));
                if let Some(why) = refusal_hint(status.as_u16(), &body) {
                    out.push(format!("  why: {why}"));
                }
                if status.is_client_error() {
                    // A refusal (bad signature, bad body) is refused again: no point retrying.
                    out.push(
                        "  not retried: a refusal (4xx) would be refused again the same way".into(),
                    );
                    break;
                }
            }
            Err(err) => out.push(format!(
                "attempt {attempt}: no answer after {} ms ({})",
                latency.as_millis(),
                root_cause(&err.without_url())
            )),
        }
    }
    let Some(reply) = reply else {
        if attempts.is_empty() {
            // No attempt got an answer: say where we knocked and how to knock elsewhere.
            out.push(format!(
                "nothing answered at {push_url}: start `kefu dev` (it listens on http://127.0.0.1:8080/wechat), or give the push URL with --url (or KEFU_PUSH_URL)"
            ));
        }
        out.push(
            "WeChat would now show the user 「该小程序客服暂时无法提供服务，请稍后再试」".into(),
        );
        anyhow::bail!(out.join("\n"));
    };
    let described = describe_reply(args, &reply)?;
    out.push(format!("passive reply: {described}"));

    let sandbox_seen = sandbox.is_some();
    if let Some(sandbox) = sandbox.filter(|_| args.wait > 0.0) {
        // Until --wait runs out, or replies came and then nothing more for half a second.
        let deadline = Instant::now() + Duration::from_secs_f64(args.wait);
        let mut shown = before;
        let mut last_new = None;
        while Instant::now() < deadline && last_new.is_none_or(|at: Instant| at.elapsed() < QUIET) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if let Ok(messages) = sent_to(
                &http,
                &sandbox,
                &args.push.credentials.appid,
                &args.push.openid,
            )
            .await
            {
                for message in messages.iter().skip(shown) {
                    out.push(format!("auto-reply: {message}"));
                    auto_replies.push(message.clone());
                    last_new = Some(Instant::now());
                }
                shown = shown.max(messages.len());
            }
        }
        if shown == before {
            out.push("auto-reply: none seen in the sandbox".into());
        }
    }
    if args.json {
        return Ok(serde_json::json!({
            "attempts": attempts,
            "passive_reply": reply,
            "passive_reply_described": described,
            "auto_replies": auto_replies,
            "sandbox": sandbox_seen,
        })
        .to_string());
    }
    Ok(out.join("\n"))
}

/// What to check when the push URL refuses a push, as the `kefu dev` terminal explains its
/// refusals, with the flags of `kefu push`.
fn refusal_hint(status: u16, body: &str) -> Option<&'static str> {
    let hint = if status == 404 {
        "no push path at this URL: check --url (kefu dev prints its push URL; with --apps each app is at /wechat/{appid}, and --apps FILE --appid A pushes there)"
    } else if body.contains("signature mismatch") {
        "the Token (or, for msg_signature, the body) differs from the server's: check --token (or KEFU_TOKEN)"
    } else if body.contains("appid") {
        "the message was sealed for another AppID: check --appid (or KEFU_APPID)"
    } else if body.contains("padding") || body.contains("Encrypt") {
        "the EncodingAESKey differs from the server's: check --aes-key (or KEFU_AES_KEY)"
    } else if body.contains("plaintext pushes are refused") {
        "the server requires encryption, as a deployment does by default (KEFU_REQUIRE_ENCRYPTION=true): push with --mode safe or compatible (kefu dev accepts plaintext with --allow-plaintext)"
    } else if body.contains("already used") {
        "this (timestamp, nonce) pair signed another push already: leave --nonce out, or give each push its own"
    } else if body.contains("timestamp") || body.contains("ahead of the clock") {
        "the push's time is outside the server's window (5 minutes by default): check this machine's clock, or --timestamp"
    } else {
        return None;
    };
    Some(hint)
}

/// `success`, an empty body, or an XML/JSON reply are answers WeChat accepts.
fn is_valid_answer(body: &str) -> bool {
    let body = body.trim();
    body.is_empty() || body == "success" || Format::sniff(body).is_some()
}

/// The passive reply in words: success, or the decrypted transfer.
fn describe_reply(args: &PushCommand, body: &str) -> anyhow::Result<String> {
    let trimmed = body.trim();
    if trimmed.is_empty() || trimmed == "success" {
        return Ok(format!("{trimmed:?}"));
    }
    let Ok(sealed) = SealedReply::read(trimmed) else {
        // Not a sealed envelope: a reply in clear (plaintext or compatible mode).
        return Ok(one_line(trimmed, 200));
    };
    // Check the reply's signature as WeChat would, then open it.
    let signature_ok = sealed.verify(&args.push.credentials.token()).is_ok();
    let plain = args
        .push
        .credentials
        .key()?
        .decrypt(&args.push.credentials.appid, &sealed.encrypt)
        .context("decrypting the passive reply")?;
    let kind = match Format::sniff(&plain) {
        Some(Format::Xml) => Message::from_xml(&plain)
            .map(|m| m.kind.type_name().to_owned())
            .ok(),
        Some(Format::Json) => Message::from_json(&plain)
            .map(|m| m.kind.type_name().to_owned())
            .ok(),
        None => None,
    };
    let mode = if args.push.mode() == Mode::Safe {
        "encrypted"
    } else {
        "in clear"
    };
    Ok(format!(
        "{} ({mode}, signature {}): {plain}",
        kind.unwrap_or_else(|| "reply".into()),
        if signature_ok { "valid" } else { "INVALID" }
    ))
}

/// The sandbox's record of sent messages, if `url` is served by `kefu dev`: its
/// `/dev/api/info` says where the sandbox is (none when replies go to a real WeChat API).
async fn find_sandbox(http: &reqwest::Client, url: &str) -> Option<String> {
    let origin = origin(url)?;
    let info: serde_json::Value = http
        .get(format!("{origin}/dev/api/info"))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .ok()?
        .error_for_status()
        .ok()?
        .json()
        .await
        .ok()?;
    if info.get("kefu_dev").and_then(serde_json::Value::as_bool) != Some(true) {
        return None;
    }
    let path = info.get("sandbox")?.as_str()?;
    Some(format!("{origin}{path}"))
}

/// `http://host:port` of a URL.
fn origin(url: &str) -> Option<&str> {
    let scheme_end = url.find("://")? + 3;
    let path_start = url
        .get(scheme_end..)?
        .find(['/', '?', '#'])
        .map_or(url.len(), |at| scheme_end + at);
    url.get(..path_start)
}

/// `--wait`: seconds, 0 to 60.
fn parse_wait(text: &str) -> Result<f64, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(0.0..=60.0).contains(&seconds) {
        return Err(format!("{text} s: give 0 to 60 seconds"));
    }
    Ok(seconds)
}

/// The sandbox's record of messages the app `appid` sent to `openid`, each as one line (the same
/// openid in another app is another user).
async fn sent_to(
    http: &reqwest::Client,
    url: &str,
    appid: &str,
    openid: &str,
) -> anyhow::Result<Vec<String>> {
    let messages: Vec<serde_json::Value> = http
        .get(url)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(messages
        .into_iter()
        .filter(|m| {
            let field = |name: &str| m.get(name).and_then(serde_json::Value::as_str);
            field("openid") == Some(openid) && field("appid") == Some(appid)
        })
        .map(|m| {
            let text = |pointer: &str| m.pointer(pointer).cloned().unwrap_or_default();
            let msgtype = text("/msgtype").as_str().unwrap_or_default().to_owned();
            let content = match msgtype.as_str() {
                "text" => text("/body/text/content")
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                other => text(&format!("/body/{other}")).to_string(),
            };
            format!("[{msgtype}] {content}")
        })
        .collect())
}
