//! The dev stack on in-memory stores: the sample (or given) credentials — or several apps from
//! an apps file (`--apps`) —, rules from a file, the sandbox as WeChat (knowing every app), and
//! the send core built by the same composition as the function's.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use kefu::apps::Apps;
use kefu::assets::AssetReader;
use kefu::clock::SystemClock;
use kefu::compose::{MemoryStack, instance_id};
use kefu::events::UserForm;
use kefu::local::{MemoryEvents, StaticRules};
use kefu::policy::budget::CALL_TIMEOUT;
use kefu::ports::Clock;
use kefu::protocol::Credentials;
use kefu::receive::ReceiveSettings;
use kefu::rule_cache::RuleCache;
use kefu::sample;
use kefu::secret::SecretString;
use kefu::wechat_api::WeChatClient;
use kefu_sandbox::Sandbox;

use super::console::{self, shown};
use super::timeline::{Level, Timeline};
use super::{DevApp, DevArgs, DevStack, events, queue, rules_watch, wechat_api};
use crate::apps_file;

/// How often rules are re-read from the file: edits show up within this.
const RULES_TTL: Duration = Duration::from_secs(2);
/// The rules `kefu dev` uses when run from the repository without --rules.
const SAMPLE_RULES: &str = "rules/sample.json";

/// One app to serve: its credentials, AppSecret and (if its own) rules file.
struct Spec {
    credentials: Credentials,
    app_secret: SecretString,
    rules: Option<PathBuf>,
}

pub(super) fn stack(
    args: &DevArgs,
    local_api: &str,
    timeline: &Timeline,
) -> anyhow::Result<DevStack> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let specs = match &args.apps {
        Some(file) => apps_file::load(file)?
            .into_iter()
            .map(|app| Spec {
                credentials: app.credentials(),
                app_secret: app.app_secret,
                rules: app.rules,
            })
            .collect(),
        None => vec![Spec {
            credentials: Credentials {
                token: args.credentials.token(),
                aes_key: Some(args.credentials.key()?),
                appid: args.credentials.appid.clone(),
            },
            app_secret: args
                .app_secret
                .clone()
                .unwrap_or_else(|| SecretString::new(sample::APP_SECRET)),
            rules: None,
        }],
    };
    let rules_file = match &args.rules {
        Some(path) => Some(path.clone()),
        None if Path::new(SAMPLE_RULES).exists() => Some(PathBuf::from(SAMPLE_RULES)),
        None => None,
    };
    let (rules, rules_origin) = match &rules_file {
        Some(path) => (checked_rules(path, args)?, path.display().to_string()),
        None => (
            StaticRules::new(sample::rules()),
            "the embedded sample rules".to_owned(),
        ),
    };
    let stack = MemoryStack::new(rules, clock.clone(), RULES_TTL)
        .with_hook_caller(super::hooks::caller(args, timeline)?);
    // The file's source: the rules watcher hands it each version that passes the checks.
    let rules_file = rules_file.map(|path| (path, stack.rules_source.clone()));
    let first = specs.first().context("no app to serve")?;
    let mut sandbox = Sandbox::new(
        &first.credentials.appid,
        first.app_secret.expose(),
        clock.clone(),
    );
    for spec in specs.iter().skip(1) {
        sandbox = sandbox.with_app(&spec.credentials.appid, spec.app_secret.expose());
    }
    let reader = Arc::new(AssetReader::new(&args.assets, CALL_TIMEOUT)?);
    let owner = instance_id();
    // kefu's events, as a deployment with an EventBusName publishes them: printed as they come.
    let published = Arc::new(MemoryEvents::new());
    let printed = events::print(published.subscribe(), timeline.clone());
    let mut apps = Vec::new();
    let mut senders = Apps::new(clock.clone());
    for spec in specs {
        let appid = spec.credentials.appid.clone();
        let (rules, rules_file, rules_origin) = match spec.rules {
            Some(path) => {
                let source = Arc::new(checked_rules(&path, args)?);
                (
                    Arc::new(RuleCache::new(source.clone(), clock.clone(), RULES_TTL)),
                    Some((path.clone(), source)),
                    path.display().to_string(),
                )
            }
            None => (
                stack.rules.clone(),
                rules_file.clone(),
                rules_origin.clone(),
            ),
        };
        // As deployed: an app with an EncodingAESKey refuses plaintext unless allowed.
        let mut settings = ReceiveSettings::new(spec.credentials);
        settings.require_encryption =
            !args.allow_plaintext && settings.credentials.aes_key.is_some();
        settings.events = true;
        let receiver = Arc::new(stack.receiver_with_rules(settings, rules.clone()));
        let api = Arc::new(WeChatClient::new(
            &wechat_api(args, local_api)?,
            &appid,
            spec.app_secret,
            CALL_TIMEOUT,
        )?);
        let sender = stack
            .sender_with_rules(&appid, api, reader.clone(), &owner, rules.clone())
            .with_events(published.clone(), UserForm::Clear);
        senders = senders.with_app(&appid, Arc::new(sender));
        apps.push(DevApp {
            receiver,
            rules,
            rules_file,
            rules_origin,
        });
    }
    let mut banner = Vec::new();
    if args.apps.is_none() {
        banner.extend([
            (
                "Token",
                shown(&args.credentials.token, sample::TOKEN, "--token"),
            ),
            (
                "EncodingAESKey",
                shown(
                    &args.credentials.aes_key,
                    sample::ENCODING_AES_KEY,
                    "--aes-key",
                ),
            ),
            ("AppID", args.credentials.appid.clone()),
            (
                "rules",
                if rules_file.is_some() {
                    format!("{rules_origin} (edits apply within 2 s)")
                } else {
                    format!("{rules_origin} (built in, nothing to edit: --rules FILE serves a file, re-read as you edit it)")
                },
            ),
        ]);
    } else {
        for app in &apps {
            let credentials = &app.receiver.settings().credentials;
            banner.push((
                "app",
                format!(
                    "{} at {}/{} (rules {})",
                    credentials.appid, args.path, credentials.appid, app.rules_origin
                ),
            ));
        }
    }
    banner.push(("plaintext", super::plaintext_line(args.allow_plaintext)));
    banner.push(("stores", "embedded (in memory)".to_owned()));
    banner.push(("hooks", super::hooks::banner(args)));
    banner.push((
        "events",
        "printed here as they are published (a deployment: EventBusName)".to_owned(),
    ));
    let senders = Arc::new(senders);
    Ok(DevStack {
        apps,
        several: args.apps.is_some(),
        handoffs: stack.table.clone(),
        questions: stack.table.clone(),
        senders: senders.clone(),
        quota: stack.table.clone(),
        queue_loop: Box::pin({
            let queue = queue::run_embedded(
                stack.queue,
                senders,
                sandbox.clone(),
                args.wechat_api.is_none(),
            );
            async move {
                tokio::join!(queue, printed);
            }
        }),
        sandbox,
        banner,
    })
}

/// Rules from `path`, checked now as `kefu rules validate` checks them: a file it refuses is an
/// error at start, not a 500 (or a reply that cannot be sent) on the first push. The rules
/// watcher hands the source each later version that passes the same checks.
fn checked_rules(path: &Path, args: &DevArgs) -> anyhow::Result<StaticRules> {
    let (rules, warnings) = rules_watch::load(path, &args.assets)?;
    for warning in warnings {
        console::say(Level::Warn, &format!("rules: {warning}"));
    }
    Ok(StaticRules::new(rules))
}
