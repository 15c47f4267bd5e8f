//! `kefu dev`: the whole loop on a laptop. The receive handler on 127.0.0.1 at the deployed
//! path, the send core in-process on an embedded queue, the embedded ledger/token/media
//! stores, rules from a local file (re-read every couple of seconds), and the WeChat sandbox on
//! the same port. No AWS, no WeChat account, no tunnel.
//!
//! | file | concern |
//! | --- | --- |
//! | `mod.rs` | the arguments, and serving it all on one port |
//! | `embedded.rs` | the stack on in-memory stores (the default) |
//! | `on_aws.rs` | the stack on DynamoDB, SQS and SSM (`--aws`) |
//! | `queue.rs` | the two queue loops: the embedded queue, and SQS as the event source mapping |
//! | `http.rs` | the push path behind axum instead of API Gateway |
//! | `console.rs` | the banner and the replies as they are sent |

mod console;
mod embedded;
mod http;
mod on_aws;
mod queue;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use kefu::receive::Receiver;
use kefu::secret::SecretString;
use kefu_sandbox::Sandbox;

use crate::push_args::CredentialArgs;

#[derive(Debug, Args)]
pub struct DevArgs {
    /// Port on 127.0.0.1.
    #[arg(long, env = "KEFU_DEV_PORT", default_value_t = 8080)]
    port: u16,
    /// The push path (as deployed).
    #[arg(long, default_value = "/wechat")]
    path: String,
    #[command(flatten)]
    credentials: CredentialArgs,
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
    #[arg(long, env = "WECHAT_API_BASE")]
    wechat_api: Option<String>,
    /// AppSecret for --wechat-api.
    #[arg(long, env = "KEFU_APP_SECRET", hide_env_values = true)]
    app_secret: Option<SecretString>,
    /// Use DynamoDB, SQS and SSM (as configured for the functions: KEFU_TABLE, KEFU_QUEUE_URL,
    /// KEFU_RULES_PATH, KEFU_SECRETS_PARAMETER, KEFU_APPID; AWS_ENDPOINT_URL for a local server)
    /// instead of the embedded stores. Credentials then come from the secrets parameter.
    #[arg(long)]
    aws: bool,
}

/// What `kefu dev` runs, on embedded or on AWS stores.
struct DevStack {
    receiver: Arc<Receiver>,
    sandbox: Sandbox,
    /// The reply function's side: takes jobs off the queue and runs them.
    queue_loop: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    banner: Vec<(&'static str, String)>,
}

pub async fn dev(args: &DevArgs) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], args.port)))
        .await
        .with_context(|| format!("binding 127.0.0.1:{}", args.port))?;
    let address = listener.local_addr()?;
    let local_api = format!("http://{address}");
    let stack = if args.aws {
        on_aws::stack(args, &local_api).await?
    } else {
        embedded::stack(args, &local_api)?
    };

    let app = stack
        .sandbox
        .router()
        .route(&args.path, http::push_route(stack.receiver));
    console::banner(args, address, &stack.banner);

    tokio::spawn(stack.queue_loop);
    tokio::spawn(console::print_replies(stack.sandbox));

    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok("kefu dev stopped".to_owned())
}

/// Where replies go: `--wechat-api`, or the sandbox on this port.
fn wechat_api(args: &DevArgs, local_api: &str) -> anyhow::Result<String> {
    match &args.wechat_api {
        Some(url) => {
            anyhow::ensure!(
                args.app_secret.is_some() || args.aws,
                "--wechat-api needs --app-secret"
            );
            Ok(url.clone())
        }
        None => Ok(local_api.to_owned()),
    }
}
