//! The dev stack on in-memory stores: the sample (or given) credentials — or several apps from
//! an apps file (`--apps`) —, rules from a file, the sandbox as WeChat (knowing every app), and
//! the send core built by the same composition as the function's.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use kefu::clock::SystemClock;
use kefu::compose::MemoryStack;
use kefu::compose::memory::{AppSpec, AppsSpec};
use kefu::events::UserForm;
use kefu::memory::{MemoryEvents, StaticRules};
use kefu::ports::Clock;
use kefu::protocol::Credentials;
use kefu::sample;
use kefu::secret::SecretString;
use kefu_sandbox::Sandbox;

use super::console::{self, shown};
use super::timeline::{Level, Timeline};
use super::{DevApp, DevArgs, DevStack, events, hooks, queue, rules_watch, wechat_api};
use crate::apps_file;

/// How often rules are re-read from the file: edits show up within this.
const RULES_TTL: Duration = Duration::from_secs(2);
/// The rules `kefu dev` uses when run from the repository without --rules.
const SAMPLE_RULES: &str = "rules/sample.json";

pub(super) fn stack(
    args: &DevArgs,
    local_api: &str,
    timeline: &Timeline,
) -> anyhow::Result<DevStack> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let listed = match &args.apps {
        Some(file) => Some(apps_file::load(file)?),
        None => None,
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
    // Each app, with the file its rules come from and their origin, for the rules watcher and
    // the banner: its own file (`--apps`), or the stack's rules.
    let mut specs = Vec::new();
    let mut origins = Vec::new();
    match listed {
        Some(listed) => {
            for app in listed {
                let credentials = app.credentials();
                let (own, origin) = match app.rules {
                    Some(path) => {
                        let own = checked_rules(&path, args)?;
                        let origin = path.display().to_string();
                        (Some(own), (Some(path), origin))
                    }
                    None => (None, (rules_file.clone(), rules_origin.clone())),
                };
                specs.push(AppSpec {
                    credentials,
                    app_secret: app.app_secret,
                    rules: own,
                });
                origins.push(origin);
            }
        }
        None => {
            specs.push(AppSpec {
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
            });
            origins.push((rules_file.clone(), rules_origin.clone()));
        }
    }
    let stack = MemoryStack::new(rules, clock.clone(), RULES_TTL)
        .with_hooks(hooks::spec(args), hooks::shown_in(args, timeline))?;
    let first = specs.first().context("no app to serve")?;
    let mut sandbox = Sandbox::new(
        &first.credentials.appid,
        first.app_secret.expose(),
        clock.clone(),
    );
    for spec in specs.iter().skip(1) {
        sandbox = sandbox.with_app(&spec.credentials.appid, spec.app_secret.expose());
    }
    // kefu's events, as a deployment with an EventBusName publishes them: printed as they come.
    let published = Arc::new(MemoryEvents::new());
    let printed = events::print(published.subscribe(), timeline.clone());
    let (built, senders) = stack.apps(AppsSpec {
        apps: specs,
        wechat_api_base: wechat_api(args, local_api)?,
        assets_dir: args.assets.clone(),
        // As deployed: an app with an EncodingAESKey refuses plaintext unless allowed.
        require_encryption: !args.allow_plaintext,
        events: Some((published, UserForm::Clear)),
    })?;
    let apps: Vec<DevApp> = built
        .into_iter()
        .zip(origins)
        .map(|(app, (file, rules_origin))| DevApp {
            receiver: app.receiver,
            rules: app.rules,
            // The watcher hands the file's source each version that passes the checks.
            rules_file: file.map(|path| (path, app.rules_source)),
            rules_origin,
        })
        .collect();
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
    banner.push(("stores", "in memory".to_owned()));
    banner.push(("hooks", hooks::banner(args)));
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
            let queue = queue::run_in_memory(
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
