//! `kefu send --appid A --openid O text "…"`: writes one outbox command (docs/outbox.md), as a
//! business system would — to the deployment's outbox queue (`--outbox-url`, the stack's
//! `OutboxQueueUrl` output: one SQS SendMessage, all the stack's `OutboxProducerPolicy`
//! allows), or to a running `kefu dev` (`POST /outbox`, which runs it at once and answers
//! what became of each message). The command is checked here first, with the reasons the
//! reply function would drop it for.

use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use kefu::outbox::{Command, DuringHandoff};
use kefu::protocol::OpenId;
use kefu::rules::{MediaSource, ReplyMessage};

use crate::aws_args::AwsArgs;

#[derive(Debug, Args)]
pub struct SendArgs {
    /// The app whose access_token and quota the send uses.
    #[arg(long, env = "KEFU_APPID")]
    appid: String,
    /// The user to send to.
    #[arg(long, value_parser = crate::user::parse_openid)]
    openid: OpenId,
    /// The idempotency key: the same key sends once, however often it is sent (default: a new
    /// random one, printed).
    #[arg(long)]
    key: Option<String>,
    /// Unix time in seconds after which the command is settled, not sent.
    #[arg(long, value_name = "SECS")]
    not_after: Option<i64>,
    /// Send even while a human agent holds the user (`send`), or hold it back (`hold`); default:
    /// the deployment's choice.
    #[arg(long, value_parser = parse_during)]
    during_handoff: Option<DuringHandoff>,
    /// The deployment's outbox queue (its `OutboxQueueUrl` output).
    #[arg(long, env = "KEFU_OUTBOX_URL", value_name = "URL")]
    outbox_url: Option<String>,
    /// Send to a running `kefu dev` at this URL instead (e.g. http://127.0.0.1:8080).
    #[arg(long, value_name = "URL", conflicts_with = "outbox_url")]
    dev: Option<String>,
    #[command(subcommand)]
    message: MessageArg,
    #[command(flatten)]
    aws_args: AwsArgs,
}

/// The message to send.
#[derive(Debug, Clone, Subcommand)]
pub enum MessageArg {
    /// A text message.
    Text { content: String },
    /// An image: a file shipped with the deployment (functions/reply/assets) or an https URL.
    Image {
        #[arg(long, conflicts_with = "url")]
        file: Option<String>,
        #[arg(long)]
        url: Option<String>,
    },
    /// A link card.
    Link {
        title: String,
        url: String,
        #[arg(long, default_value = "")]
        description: String,
        #[arg(long, default_value = "")]
        thumb_url: String,
    },
}

fn parse_during(text: &str) -> Result<DuringHandoff, String> {
    DuringHandoff::parse(text).ok_or_else(|| format!("{text:?}: hold or send"))
}

impl MessageArg {
    fn message(&self) -> anyhow::Result<ReplyMessage> {
        Ok(match self {
            Self::Text { content } => ReplyMessage::Text {
                content: content.clone(),
            },
            Self::Image { file, url } => ReplyMessage::Image {
                source: match (file, url) {
                    (Some(file), _) => MediaSource::File(file.clone()),
                    (None, Some(url)) => MediaSource::Url(url.clone()),
                    (None, None) => anyhow::bail!("image: --file NAME or --url URL"),
                },
            },
            Self::Link {
                title,
                url,
                description,
                thumb_url,
            } => ReplyMessage::Link {
                title: title.clone(),
                description: description.clone(),
                url: url.clone(),
                thumb_url: thumb_url.clone(),
            },
        })
    }
}

/// A fresh idempotency key: `kefu-send-` and 16 hex digits.
fn fresh_key() -> String {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    for (b, n) in bytes.iter_mut().zip(nanos.to_le_bytes()) {
        *b ^= n;
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("kefu-send-{hex}")
}

pub async fn send(args: &SendArgs) -> anyhow::Result<String> {
    let key = args.key.clone().unwrap_or_else(fresh_key);
    let mut command = Command::new(
        &args.appid,
        &args.openid,
        vec![args.message.message()?],
        &key,
    )?;
    command.not_after = args.not_after;
    command.during_handoff = args.during_handoff;
    command.check()?;
    match (&args.dev, &args.outbox_url) {
        (Some(url), _) => to_dev(url, &command).await,
        (None, Some(url)) => {
            let aws = args.aws_args.connect().await;
            let id = aws.outbox(url).send(&command).await?;
            Ok(format!(
                "on the outbox: key {key} (SQS message {id}); the reply function sends it, once"
            ))
        }
        (None, None) => anyhow::bail!(
            "where to? --outbox-url URL (the stack's OutboxQueueUrl output) or KEFU_OUTBOX_URL; or --dev URL for a running kefu dev"
        ),
    }
}

/// Hands the command to `kefu dev`, which runs it now and answers what became of it.
async fn to_dev(url: &str, command: &Command) -> anyhow::Result<String> {
    let endpoint = format!("{}/outbox", url.trim_end_matches('/'));
    let response = kefu::tls::http_client_builder()
        .build()?
        .post(&endpoint)
        .header("content-type", "application/json")
        .body(command.to_json())
        .timeout(Duration::from_secs(40))
        .send()
        .await
        .with_context(|| format!("reaching kefu dev at {endpoint}"))?;
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .with_context(|| format!("{endpoint}: HTTP {status}, not JSON"))?;
    if !status.is_success() {
        let said = body
            .get("error")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("no reason given");
        anyhow::bail!("{endpoint}: HTTP {status}: {said}");
    }
    let mut lines = vec![format!("key {}", command.idempotency_key)];
    let field = |message: &serde_json::Value, name: &str| message.get(name).cloned();
    for message in body
        .get("messages")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
    {
        let n = field(message, "n").and_then(|n| n.as_u64()).unwrap_or(0);
        match field(message, "outcome").as_ref().and_then(|o| o.as_str()) {
            Some("sent") => lines.push(format!("  message {n}: sent")),
            _ => lines.push(format!(
                "  message {n}: settled, not sent: {}",
                field(message, "detail")
                    .as_ref()
                    .and_then(|d| d.as_str())
                    .unwrap_or("")
            )),
        }
    }
    Ok(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_keys_are_valid_and_differ() {
        let (a, b) = (fresh_key(), fresh_key());
        assert_ne!(a, b);
        assert!(
            Command::new(
                "wx0123456789abcdef",
                &OpenId::parse("o1").unwrap(),
                vec![ReplyMessage::Text {
                    content: "x".into()
                }],
                &a
            )
            .is_ok()
        );
    }
}
