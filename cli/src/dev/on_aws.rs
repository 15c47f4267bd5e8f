//! The dev stack on DynamoDB, SQS and SSM, built exactly as the deployed functions build
//! theirs (`kefu::compose::aws::single_app`), with the sandbox (or `--wechat-api`) as WeChat.
//!
//! Against a real account (no local `AWS_ENDPOINT_URL`) it takes jobs off the real queue, so it
//! refuses to start without `--i-know-this-is-live`. Even then, replies that go to the sandbox
//! run their send side on in-memory stores: the sandbox's fake access_token, send claims, quota
//! and media ids are never written into the real table.

use std::sync::Arc;

use anyhow::Context as _;
use kefu::apps::Apps;
use kefu::clock::SystemClock;
use kefu::compose::aws::Bookkeeping;
use kefu::config::Config;
use kefu::memory::MemoryTable;
use kefu::ports::QuotaStore;
use kefu_sandbox::Sandbox;

use super::{DevApp, DevArgs, DevStack, queue, wechat_api};

pub(super) async fn stack(args: &DevArgs, local_api: &str) -> anyhow::Result<DevStack> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").ok();
    let live = !endpoint.as_deref().is_some_and(is_local);
    if live && !args.i_know_this_is_live {
        anyhow::bail!(
            "kefu dev --aws would use a real AWS account ({}): it takes jobs off the deployment's queue, \
             so the deployed reply function misses them. Point AWS_ENDPOINT_URL at a local server (e.g. moto), \
             or pass --i-know-this-is-live",
            endpoint.as_deref().unwrap_or("no AWS_ENDPOINT_URL")
        );
    }
    let mut config = Config::from_env()?;
    // As the functions read KEFU_REQUIRE_ENCRYPTION; --allow-plaintext is its `false`.
    if args.allow_plaintext {
        config.require_encryption = false;
    }
    config.wechat_api_base = wechat_api(args, local_api)?;
    config.assets_dir = args.assets.clone();
    let queue_url = config
        .queue_url
        .clone()
        .context("--aws needs KEFU_QUEUE_URL")?;
    let aws = args.aws_args.connect().await;
    let push_parameter = config
        .push_secrets_parameter
        .clone()
        .context("--aws needs KEFU_PUSH_SECRETS_PARAMETER")?;
    let api_parameter = config
        .api_secrets_parameter
        .clone()
        .context("--aws needs KEFU_API_SECRETS_PARAMETER")?;
    let appid = config
        .appid
        .clone()
        .context("--aws serves the app of KEFU_APPID (set it; an apps path is not served here)")?;
    let secrets = aws.secrets(&api_parameter).await?;
    let app_secret = secrets
        .app_secret
        .as_ref()
        .map(|s| s.expose().to_owned())
        .with_context(|| format!("--aws: {api_parameter} has no app_secret"))?;
    let to_sandbox = args.wechat_api.is_none();
    // Against a real account, replies to the sandbox keep their bookkeeping (the sandbox's
    // token, send claims, quota windows, media ids) in memory; only the rules are the real ones.
    let memory = (live && to_sandbox).then(|| Arc::new(MemoryTable::new()));
    let bookkeeping = match &memory {
        Some(table) => Bookkeeping::Memory(table.clone()),
        None => Bookkeeping::Table,
    };
    let app = kefu::compose::aws::single_app(&aws, &config, bookkeeping).await?;
    // Where the sends' windows are counted (`kefu user --dev`): where the sender counts them.
    let quota: Arc<dyn QuotaStore> = match memory {
        Some(table) => table,
        None => Arc::new(aws.table(&config.table)),
    };
    let sandbox = Sandbox::new(&appid, &app_secret, Arc::new(SystemClock));
    let mut banner = vec![
        ("AppID", appid.clone()),
        (
            "credentials",
            format!("from {push_parameter} and {api_parameter}"),
        ),
        ("rules", format!("Parameter Store {}", config.rules_path)),
        (
            "plaintext",
            if config.require_encryption {
                super::plaintext_line(false)
            } else {
                "accepted (--allow-plaintext or KEFU_REQUIRE_ENCRYPTION=false)".to_owned()
            },
        ),
        (
            "stores",
            format!(
                "DynamoDB {}, SQS {queue_url}{}",
                config.table,
                endpoint
                    .as_deref()
                    .map(|e| format!(" (at {e})"))
                    .unwrap_or_default()
            ),
        ),
    ];
    if live {
        banner.push((
            "LIVE",
            format!(
                "the real AWS account: jobs are taken off the real queue{}",
                if to_sandbox {
                    "; replies go to the sandbox, with their tokens and bookkeeping in memory"
                } else {
                    ""
                }
            ),
        ));
    }
    let senders = Arc::new(Apps::single(
        &appid,
        Arc::new(app.sender),
        Arc::new(SystemClock),
    ));
    Ok(DevStack {
        apps: vec![DevApp {
            receiver: Arc::new(app.receiver),
            rules: app.rules,
            rules_file: None,
            rules_origin: format!("Parameter Store {}", config.rules_path),
        }],
        several: false,
        handoffs: Arc::new(aws.table(&config.table)),
        questions: Arc::new(aws.table(&config.table)),
        senders: senders.clone(),
        quota,
        queue_loop: Box::pin(queue::poll_sqs(
            aws.consumer(&queue_url),
            senders,
            sandbox.clone(),
            to_sandbox,
        )),
        sandbox,
        banner,
    })
}

/// Whether an endpoint URL points at this machine (moto and the like).
pub(super) fn is_local(endpoint: &str) -> bool {
    let rest = endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"))
        .unwrap_or(endpoint);
    let authority = rest.split('/').next().unwrap_or_default();
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::is_local;

    #[test]
    fn only_loopback_endpoints_are_local() {
        for local in [
            "http://127.0.0.1:5000",
            "http://localhost:4566/",
            "http://[::1]:5000",
        ] {
            assert!(is_local(local), "{local}");
        }
        for remote in [
            "https://dynamodb.us-east-1.amazonaws.com",
            "http://10.0.0.5:5000",
            "http://127.0.0.1.example.com",
        ] {
            assert!(!is_local(remote), "{remote}");
        }
    }
}
