//! The dev stack on DynamoDB, SQS and SSM, built exactly as the deployed functions build
//! theirs (`kefu::compose::aws`), with the sandbox (or `--wechat-api`) as WeChat.

use std::sync::Arc;

use anyhow::Context as _;
use kefu::aws::Aws;
use kefu::clock::SystemClock;
use kefu::config::Config;
use kefu_sandbox::Sandbox;

use super::{DevArgs, DevStack, queue, wechat_api};

pub(super) async fn stack(args: &DevArgs, local_api: &str) -> anyhow::Result<DevStack> {
    let mut config = Config::from_env()?;
    config.wechat_api_base = wechat_api(args, local_api)?;
    config.assets_dir = args.assets.clone();
    let queue_url = config
        .queue_url
        .clone()
        .context("--aws needs KEFU_QUEUE_URL")?;
    let aws = Aws::connect().await;
    let secrets = aws.secrets(&config.secrets_parameter).await?;
    let app_secret = secrets
        .app_secret
        .as_ref()
        .map(|s| s.expose().to_owned())
        .context("--aws: the secrets parameter has no app_secret")?;
    let receiver = Arc::new(kefu::compose::aws::receiver(&aws, &config).await?);
    let sender = Arc::new(kefu::compose::aws::sender(&aws, &config).await?);
    let sandbox = Sandbox::new(&config.appid, &app_secret, Arc::new(SystemClock));
    let banner = vec![
        ("AppID", config.appid.clone()),
        ("credentials", format!("from {}", config.secrets_parameter)),
        ("rules", format!("Parameter Store {}", config.rules_path)),
        (
            "stores",
            format!(
                "DynamoDB {}, SQS {queue_url}{}",
                config.table,
                std::env::var("AWS_ENDPOINT_URL")
                    .map(|e| format!(" (at {e})"))
                    .unwrap_or_default()
            ),
        ),
    ];
    Ok(DevStack {
        receiver,
        queue_loop: Box::pin(queue::poll_sqs(
            aws.consumer(&queue_url),
            sender,
            sandbox.clone(),
            args.wechat_api.is_none(),
        )),
        sandbox,
        banner,
    })
}
