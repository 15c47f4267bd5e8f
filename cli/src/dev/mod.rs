//! `kefu dev`: the whole loop on a laptop. The receive handler on 127.0.0.1 at the deployed
//! path, the send core in-process on an in-memory queue, the in-memory ledger/token/media
//! stores, rules from a local file (re-read every couple of seconds), the WeChat sandbox, and
//! a chat window at `/` — all on one port. No AWS, no WeChat account, no tunnel, no phone.
//!
//! | file | concern |
//! | --- | --- |
//! | `mod.rs` | the arguments, and serving it all on one port |
//! | `memory.rs` | the stack on in-memory stores (the default), one app or several (`--apps`) |
//! | `on_aws.rs` | the stack on DynamoDB, SQS and SSM (`--aws`), and its live-account guard |
//! | `queue.rs` | the two queue loops: the in-memory queue, and SQS as the event source mapping |
//! | `http.rs` | the push path behind axum instead of API Gateway, each push recorded |
//! | `timeline.rs` | what happened, in order, for the chat window |
//! | `page.rs`, `page/` | the chat window (HTML, CSS, JavaScript in the binary) |
//! | `conversation.rs` | the chat window's API: events, and pushes made as WeChat |
//! | `log.rs` | the functions' log events as human-readable lines |
//! | `rules_watch.rs` | the rules file checked at start and watched while you edit it |
//! | `report.rs` | the report at `/report` and `/report.json`, and adding a question from it |
//! | `console.rs` | the banner, one line per event, the replies as they are sent |

mod console;
mod conversation;
mod events;
mod hooks;
mod http;
mod log;
mod memory;
mod on_aws;
mod outbox;
mod page;
mod queue;
mod report;
mod rules_watch;
mod timeline;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use kefu::apps::Apps;
use kefu::memory::StaticRules;
use kefu::ports::{HandoffRegistry, QuestionLog, QuotaStore};
use kefu::receive::Receiver;
use kefu::rule_cache::RuleCache;
use kefu::secret::SecretString;
use kefu::send::Sender;
use kefu_sandbox::Sandbox;

use crate::aws_args::AwsArgs;
use crate::push_args::CredentialArgs;

/// The push path of a single-app deployment.
pub const DEFAULT_PATH: &str = "/wechat";
/// How long a hand-off holds automatic replies (`ReceiveSettings::handoff_hold`).
const HOLD_MINUTES: u64 = 30;

#[derive(Debug, Args)]
pub struct DevArgs {
    /// Port on 127.0.0.1.
    #[arg(long, env = "KEFU_DEV_PORT", default_value_t = 8080)]
    port: u16,
    /// The push path (as deployed), e.g. /wechat or /kf.
    #[arg(long, default_value = DEFAULT_PATH, value_parser = parse_push_path)]
    path: String,
    #[command(flatten)]
    credentials: CredentialArgs,
    /// Serve every app of this apps file, each at {path}/{appid} (rules/apps/two-apps.json is a
    /// sample): {"apps": [{"appid", "token", "encoding_aes_key", "app_secret", "rules"}]}.
    #[arg(long, env = "KEFU_APPS_FILE", conflicts_with = "aws")]
    apps: Option<PathBuf>,
    /// Accept plaintext-mode pushes (明文模式), for every app. By default they are refused (403)
    /// as a deployment refuses them (KEFU_REQUIRE_ENCRYPTION=true); this is a deployment with
    /// KEFU_REQUIRE_ENCRYPTION=false. An app without an EncodingAESKey takes plaintext anyway.
    #[arg(long)]
    allow_plaintext: bool,
    /// Rules file, re-read while you edit it (default: rules/sample.json, or the embedded sample).
    #[arg(long, env = "KEFU_RULES")]
    rules: Option<PathBuf>,
    /// Images for image replies.
    #[arg(
        long,
        env = "KEFU_ASSETS_DIR",
        default_value = "functions/reply/assets"
    )]
    assets: PathBuf,
    /// Send replies to this WeChat API instead of the built-in sandbox (needs --app-secret).
    #[arg(long, env = "WECHAT_API_BASE", value_parser = parse_http_url)]
    wechat_api: Option<String>,
    /// AppSecret for --wechat-api.
    #[arg(long, env = "KEFU_APP_SECRET", hide_env_values = true)]
    app_secret: Option<SecretString>,
    /// Use DynamoDB, SQS and SSM (as configured for the functions: KEFU_TABLE, KEFU_QUEUE_URL,
    /// KEFU_RULES_PATH, KEFU_PUSH_SECRETS_PARAMETER, KEFU_API_SECRETS_PARAMETER, KEFU_APPID;
    /// AWS_ENDPOINT_URL for a local server) instead of the in-memory stores. Credentials then
    /// come from the two secrets parameters.
    #[arg(long)]
    aws: bool,
    /// With --aws and no local AWS_ENDPOINT_URL: yes, use the real AWS account (this takes jobs
    /// off the real queue; the sandbox's fake access_token is never written to the real table).
    #[arg(long, requires = "aws")]
    i_know_this_is_live: bool,
    #[command(flatten)]
    aws_args: AwsArgs,
    /// Send every rule's hook (https or Lambda) to this URL instead, e.g. the example hook:
    /// http://127.0.0.1:8091/ (examples/order-status-hook).
    #[arg(long, env = "KEFU_HOOK_URL", value_parser = hooks::parse_hook_url)]
    hook_url: Option<String>,
    /// Sign hook calls with this key, as a deployment's HookSecretParameterName does.
    #[arg(long, env = "KEFU_HOOK_SECRET", hide_env_values = true)]
    hook_secret: Option<SecretString>,
}

/// One app `kefu dev` serves.
struct DevApp {
    receiver: Arc<Receiver>,
    rules: Arc<RuleCache>,
    /// The rules file to watch, if the rules come from one.
    /// with the source the rules watcher hands each good version to.
    rules_file: Option<(PathBuf, Arc<StaticRules>)>,
    rules_origin: String,
}

/// What `kefu dev` runs, on embedded or on AWS stores.
struct DevStack {
    /// The apps served; the chat window talks as a user of the first.
    apps: Vec<DevApp>,
    /// Each app at `{path}/{appid}` (`--apps`), or the one app at `{path}`.
    several: bool,
    sandbox: Sandbox,
    handoffs: Arc<dyn HandoffRegistry>,
    /// Where the reply side keeps unanswered and suggested questions (`/report`).
    questions: Arc<dyn QuestionLog>,
    /// The apps' senders (the outbox runs its commands with them).
    senders: Arc<Apps<Sender>>,
    /// The users' send windows (`kefu user --dev`).
    quota: Arc<dyn QuotaStore>,
    /// The reply function's side: takes jobs off the queue and runs them.
    queue_loop: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    banner: Vec<(&'static str, String)>,
}

pub async fn dev(args: &DevArgs) -> anyhow::Result<String> {
    let timeline = timeline::Timeline::new();
    let listener = bind(args.port).await?;
    let address = listener.local_addr()?;
    let local_api = format!("http://{address}");
    let stack = if args.aws {
        on_aws::stack(args, &local_api).await?
    } else {
        memory::stack(args, &local_api, &timeline)?
    };
    log::install(
        timeline.clone(),
        stack.apps.iter().any(|app| app.rules_file.is_some()),
    );

    let push_paths: Vec<(String, http::PushPath)> = stack
        .apps
        .iter()
        .map(|app| {
            let appid = app.receiver.settings().credentials.appid.clone();
            let path = http::PushPath {
                receiver: app.receiver.clone(),
                rules: app.rules.clone(),
                handoffs: stack.handoffs.clone(),
                timeline: timeline.clone(),
            };
            (appid, path)
        })
        .collect();
    let (first_appid, first) = push_paths.first().context("no app to serve")?.clone();
    let encrypted = first.receiver.settings().credentials.aes_key.is_some();
    let first_url = if stack.several {
        format!("{}/{first_appid}", args.path)
    } else {
        args.path.clone()
    };
    let info = conversation::Info {
        push_path: first_url,
        sandbox: args
            .wechat_api
            .is_none()
            .then(|| "/sandbox/messages".to_owned()),
        rules: stack
            .apps
            .first()
            .map(|app| app.rules_origin.clone())
            .unwrap_or_default(),
        hold_minutes: HOLD_MINUTES,
    };
    let report = report::DevReport {
        questions: stack.questions.clone(),
        apps: Arc::new(
            stack
                .apps
                .iter()
                .map(|app| report::ReportApp {
                    appid: app.receiver.settings().credentials.appid.clone(),
                    rules: app.rules.clone(),
                    file: app.rules_file.as_ref().map(|(file, _)| file.clone()),
                    origin: app.rules_origin.clone(),
                })
                .collect(),
        ),
        timeline: timeline.clone(),
        writing: Arc::default(),
    };
    let app = stack
        .sandbox
        .router()
        .merge(page::routes())
        .merge(report.routes())
        .merge(outbox::routes(outbox::DevOutbox {
            senders: stack.senders.clone(),
            quota: stack.quota.clone(),
            handoffs: stack.handoffs.clone(),
            first_appid: first_appid.clone(),
            timeline: timeline.clone(),
        }))
        .merge(conversation::routes(first.clone(), info));
    let app = if stack.several {
        app.route(
            &format!("{}/{{appid}}", args.path),
            http::apps_route(push_paths.into_iter().collect()),
        )
        .route(&args.path, http::several_apps_route(args.path.clone()))
    } else {
        app.route(&args.path, http::push_route(first))
    };
    console::banner(
        args,
        address,
        &stack.banner,
        stack.several.then_some((first_appid.as_str(), encrypted)),
    );

    tokio::spawn(stack.queue_loop);
    tokio::spawn(console::watch_replies(stack.sandbox, timeline.clone()));
    // One watcher per file, handing each good version to every source it backs.
    let mut watched: Vec<(PathBuf, Vec<Arc<StaticRules>>)> = Vec::new();
    for (file, source) in stack.apps.into_iter().filter_map(|app| app.rules_file) {
        match watched.iter_mut().find(|(known, _)| *known == file) {
            Some((_, sources)) if sources.iter().any(|s| Arc::ptr_eq(s, &source)) => {}
            Some((_, sources)) => sources.push(source),
            None => watched.push((file, vec![source])),
        }
    }
    for (file, sources) in watched {
        tokio::spawn(rules_watch::watch(
            file,
            args.assets.clone(),
            timeline.clone(),
            sources,
        ));
    }

    // With connection info: the sandbox's 40164 names the caller's address.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok("kefu dev stopped".to_owned())
}

/// The banner's line on plaintext pushes.
fn plaintext_line(allowed: bool) -> String {
    if allowed {
        "accepted (--allow-plaintext; a deployment refuses it unless KEFU_REQUIRE_ENCRYPTION=false)"
            .to_owned()
    } else {
        "refused, as deployed (KEFU_REQUIRE_ENCRYPTION=true); --allow-plaintext accepts it"
            .to_owned()
    }
}

/// Binds 127.0.0.1:`port`, with a way out when it is taken.
async fn bind(port: u16) -> anyhow::Result<tokio::net::TcpListener> {
    match tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await {
        Ok(listener) => Ok(listener),
        Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => anyhow::bail!(
            "127.0.0.1:{port} is already in use (another kefu dev?): pick another port with --port {next} or KEFU_DEV_PORT={next}",
            next = port.checked_add(1).unwrap_or(8081)
        ),
        Err(err) => Err(anyhow::anyhow!("binding 127.0.0.1:{port}: {err}")),
    }
}

/// Where replies go: `--wechat-api`, or the sandbox on this port.
fn wechat_api(args: &DevArgs, local_api: &str) -> anyhow::Result<String> {
    match &args.wechat_api {
        Some(url) => {
            anyhow::ensure!(
                args.app_secret.is_some() || args.aws,
                "--wechat-api needs --app-secret (or KEFU_APP_SECRET)"
            );
            Ok(url.clone())
        }
        None => Ok(local_api.to_owned()),
    }
}

/// Routes this server answers itself; the push path may not take them.
const RESERVED: [&str; 3] = ["/dev", "/sandbox", "/cgi-bin"];

/// A push path as API Gateway would route it: `/` and then letters, digits and `-_.~/`.
pub fn parse_push_path(text: &str) -> Result<String, String> {
    if !text.starts_with('/') {
        return Err(format!(
            "{text:?} must start with '/' (e.g. /{})",
            text.trim_start_matches('/')
        ));
    }
    if text == "/" {
        return Err("\"/\" is the chat window; give a path such as /wechat".into());
    }
    if let Some(bad) = text
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.' | '~')))
    {
        return Err(format!(
            "{text:?} has {bad:?}: use letters, digits, '-', '_', '.', '~' and '/'"
        ));
    }
    if text.contains("//") {
        return Err(format!("{text:?} has an empty segment"));
    }
    if let Some(taken) = RESERVED
        .iter()
        .find(|r| text == **r || text.starts_with(&format!("{r}/")))
    {
        return Err(format!(
            "{text:?} is under {taken}, which kefu dev serves itself"
        ));
    }
    Ok(text.to_owned())
}

/// An `http://` or `https://` URL with a host.
pub fn parse_http_url(text: &str) -> Result<String, String> {
    let rest = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"))
        .ok_or_else(|| format!("{text:?} must start with http:// or https://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(format!("{text:?} has no host"));
    }
    Ok(text.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_paths_are_checked_with_a_reason() {
        assert_eq!(parse_push_path("/kf").as_deref(), Ok("/kf"));
        assert_eq!(parse_push_path("/wechat/v2").as_deref(), Ok("/wechat/v2"));
        for (bad, says) in [
            ("wechat", "must start with '/' (e.g. /wechat)"),
            ("/", "chat window"),
            ("/we chat", "has ' '"),
            ("/a//b", "empty segment"),
            ("/sandbox/x", "kefu dev serves itself"),
            ("/dev", "kefu dev serves itself"),
            ("/{appid}", "has '{'"),
        ] {
            let err = parse_push_path(bad).err().unwrap_or_default();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }

    #[test]
    fn urls_need_a_scheme_and_a_host() {
        assert_eq!(
            parse_http_url("http://127.0.0.1:9/").as_deref(),
            Ok("http://127.0.0.1:9")
        );
        assert!(parse_http_url("127.0.0.1:9").is_err());
        assert!(parse_http_url("http:///x").is_err());
    }
}
