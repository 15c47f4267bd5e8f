//! `kefu user OPENID`: where one user stands with WeChat's send rules — the window open (the
//! 48 hours after their last message, or the minute after they entered the session) and when it
//! closes, the sends left before WeChat refuses one (45047; 45015 once it is closed), and
//! whether a human agent holds them (automatic replies and, by default, outbox commands wait).
//! Read from the deployment's table (two GetItems) or from a running `kefu dev`
//! (`GET /dev/api/users/{openid}`).

use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use kefu::ports::{HandoffRegistry, QuotaStore, QuotaWindow};
use kefu::protocol::OpenId;
use kefu::send::quota;
use serde::{Deserialize, Serialize};

use crate::aws_args::AwsArgs;

#[derive(Debug, Args)]
pub struct UserArgs {
    /// The user's openid.
    #[arg(value_parser = parse_openid)]
    openid: OpenId,
    /// The app (default: KEFU_APPID; with --dev, the first app kefu dev serves).
    #[arg(long, env = "KEFU_APPID")]
    appid: Option<String>,
    /// Read from a running `kefu dev` at this URL (e.g. http://127.0.0.1:8080).
    #[arg(long, value_name = "URL")]
    dev: Option<String>,
    /// The deployment's DynamoDB table (its `TableName` output).
    #[arg(long, env = "KEFU_TABLE")]
    table: Option<String>,
    /// Print it as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    aws_args: AwsArgs,
}

/// Where a user stands, as `kefu user` prints it (and `kefu dev` serves it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub appid: String,
    pub openid: String,
    /// When this was read, ms since the epoch.
    pub at_ms: i64,
    /// `message` (48 h after their last message) or `enter` (a minute after entering the
    /// session); none: closed.
    pub window: Option<String>,
    /// When that window closes, ms since the epoch.
    pub closes_at_ms: Option<i64>,
    /// Sends left now.
    pub remaining: u32,
    /// Until when a human agent holds the user, ms since the epoch, if one does.
    pub held_until_ms: Option<i64>,
    /// What became of their last messages and the sends to them, newest last, as kefu's
    /// events tell it: known to `kefu dev`; a deployment keeps no history per user (none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<Vec<String>>,
}

impl UserView {
    /// Reads `openid` of `appid` from the stores, at `now` (ms).
    pub async fn read(
        quota: &dyn QuotaStore,
        handoffs: &dyn HandoffRegistry,
        appid: &str,
        openid: &OpenId,
        now: i64,
    ) -> anyhow::Result<Self> {
        let (windows, held) = tokio::join!(
            quota.windows(appid, openid),
            handoffs.held_until(appid, openid)
        );
        let standing = quota::standing(&windows?, now);
        Ok(Self {
            appid: appid.to_owned(),
            openid: openid.to_string(),
            at_ms: now,
            window: standing.open.map(|(window, _)| {
                match window {
                    QuotaWindow::Message => "message",
                    QuotaWindow::Enter => "enter",
                }
                .to_owned()
            }),
            closes_at_ms: standing.open.map(|(_, closes)| closes),
            remaining: standing.remaining,
            held_until_ms: held?.filter(|until| *until > now),
            last: None,
        })
    }

    /// The view in a few lines.
    pub fn told(&self) -> String {
        let window = match (&self.window, self.closes_at_ms) {
            (Some(window), Some(closes)) => {
                let why = if window == "enter" {
                    "they entered the session"
                } else {
                    "their last message"
                };
                format!(
                    "open (after {why}), closes in {}",
                    span(closes.saturating_sub(self.at_ms))
                )
            }
            _ => "closed: no message from them in 48 h (a send is refused, 45015)".to_owned(),
        };
        let remaining = if self.window.is_some() && self.remaining == 0 {
            "0: spent (a send is refused, 45047) until they write again".to_owned()
        } else {
            self.remaining.to_string()
        };
        let hold = match self.held_until_ms {
            Some(until) => format!(
                "a human agent holds them for {} more (automatic replies wait; outbox commands too, unless they say send)",
                span(until.saturating_sub(self.at_ms))
            ),
            None => "none".to_owned(),
        };
        let last = match &self.last {
            None => {
                "not kept by a deployment: its events tell each outcome (docs/events.md)".to_owned()
            }
            Some(lines) if lines.is_empty() => "nothing yet".to_owned(),
            Some(lines) => lines
                .iter()
                .map(|line| format!("\n    {line}"))
                .collect::<String>(),
        };
        format!(
            "user {} of {}\n  window:     {window}\n  sends left: {remaining}\n  hand-off:   {hold}\n  last:       {last}",
            self.openid, self.appid
        )
    }
}

/// An openid on the command line (`kefu user`, `kefu send --openid`), checked as kefu reads
/// every openid ([`OpenId`]).
pub(crate) fn parse_openid(text: &str) -> Result<OpenId, String> {
    OpenId::parse(text).map_err(|err| {
        format!(
            "{:?} is not an openid: {err}",
            text.chars().take(70).collect::<String>()
        )
    })
}

/// A span of ms as `47h 59m`, `59s`.
fn span(ms: i64) -> String {
    let secs = Duration::from_millis(u64::try_from(ms).unwrap_or(0)).as_secs();
    match secs {
        s if s >= 3600 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        s if s >= 60 => format!("{}m {:02}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

pub async fn user(args: &UserArgs) -> anyhow::Result<String> {
    let view = match (&args.dev, &args.table) {
        (Some(url), _) => from_dev(url, &args.openid, args.appid.as_deref()).await?,
        (None, Some(table)) => {
            let appid = args
                .appid
                .as_deref()
                .context("which app? --appid A (or KEFU_APPID)")?;
            let aws = args.aws_args.connect().await;
            let table = aws.table(table);
            let now = kefu::ports::Clock::now_millis(&kefu::clock::SystemClock);
            UserView::read(&table, &table, appid, &args.openid, now).await?
        }
        (None, None) => anyhow::bail!(
            "which deployment? --table NAME (the stack's TableName output) or KEFU_TABLE; or --dev URL for a running kefu dev"
        ),
    };
    if args.json {
        return Ok(serde_json::to_string_pretty(&view)?);
    }
    Ok(view.told())
}

async fn from_dev(url: &str, openid: &OpenId, appid: Option<&str>) -> anyhow::Result<UserView> {
    let endpoint = format!("{}/dev/api/users/{openid}", url.trim_end_matches('/'));
    let mut request = kefu::tls::http_client_builder()
        .build()?
        .get(&endpoint)
        .timeout(Duration::from_secs(10));
    if let Some(appid) = appid {
        request = request.query(&[("appid", appid)]);
    }
    let response = request
        .send()
        .await
        .with_context(|| format!("reaching kefu dev at {endpoint}"))?;
    let status = response.status();
    if !status.is_success() {
        let said = response.text().await.unwrap_or_default();
        anyhow::bail!("{endpoint}: HTTP {status}: {said}");
    }
    response
        .json::<UserView>()
        .await
        .with_context(|| format!("{endpoint}: not a user's standing"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(window: Option<&str>, remaining: u32, held: Option<i64>) -> UserView {
        UserView {
            appid: "wx0123456789abcdef".into(),
            openid: "o1".into(),
            at_ms: 0,
            window: window.map(str::to_owned),
            closes_at_ms: window.map(|_| 47 * 3600 * 1000 + 59 * 60 * 1000),
            remaining,
            held_until_ms: held,
            last: None,
        }
    }

    #[test]
    fn the_standing_is_told_in_words() {
        let open = view(Some("message"), 3, None).told();
        assert!(open.contains("closes in 47h 59m"), "{open}");
        assert!(open.contains("sends left: 3"), "{open}");
        assert!(open.contains("hand-off:   none"), "{open}");
        let spent = view(Some("message"), 0, Some(90_000)).told();
        assert!(spent.contains("45047"), "{spent}");
        assert!(spent.contains("for 1m 30s more"), "{spent}");
        assert!(
            open.contains("last:       not kept by a deployment"),
            "{open}"
        );
        let mut dev = view(Some("message"), 3, None);
        dev.last = Some(vec!["event reply.sent o1: text #0".into()]);
        let dev = dev.told();
        assert!(
            dev.contains("last:       \n    event reply.sent o1: text #0"),
            "{dev}"
        );
        let closed = view(None, 0, None).told();
        assert!(
            closed.contains("closed") && closed.contains("45015"),
            "{closed}"
        );
    }
}
