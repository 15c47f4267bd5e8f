//! `kefu dev`: the whole loop on a laptop. The receive handler on 127.0.0.1 at the deployed
//! path, the reply worker in-process on an embedded queue, the embedded ledger/token/media
//! stores, rules from a local file (re-read every couple of seconds), and the WeChat sandbox on
//! the same port. No AWS, no WeChat account, no tunnel.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use clap::Args;
use kefu::config::Config;
use kefu::job::Job;
use kefu::local::{LocalStack, StaticRules};
use kefu::ports::{Clock, SystemClock};
use kefu::protocol::{Credentials, Event, MessageKind, PushQuery};
use kefu::receive::{PushRequest, ReceiveSettings, Receiver};
use kefu::sample;

use crate::compose::CredentialArgs;
use kefu::secret::SecretString;
use kefu::wechat_api::{TokenKind, WeChatClient};
use kefu::worker::media::AssetReader;
use kefu::worker::token::TokenProvider;
use kefu::worker::{Worker, WorkerDeps};
use kefu_cli::sandbox::Sandbox;

/// SQS would redeliver a failed job after its visibility timeout; the dev queue waits this long.
const RETRY_AFTER: Duration = Duration::from_secs(5);
/// Then gives up, as a redrive policy would send it to the DLQ.
const MAX_RECEIVES: u32 = 3;

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

#[derive(Clone)]
struct Push {
    receiver: Arc<Receiver>,
}

pub async fn dev(args: &DevArgs) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], args.port)))
        .await
        .with_context(|| format!("binding 127.0.0.1:{}", args.port))?;
    let address = listener.local_addr()?;
    let local_api = format!("http://{address}");
    let stack = if args.aws {
        aws_stack(args, &local_api).await?
    } else {
        local_stack(args, &local_api)?
    };

    let push_route = axum::routing::any(handle_push).with_state(Push {
        receiver: stack.receiver,
    });
    let app = stack.sandbox.router().route(&args.path, push_route);

    println!("kefu dev: the push path on your machine, no WeChat account, no tunnel");
    println!();
    println!("  push URL        http://{address}{}", args.path);
    for (name, value) in &stack.banner {
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

    tokio::spawn(stack.worker_loop);
    tokio::spawn(print_replies(stack.sandbox));

    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok("kefu dev stopped".to_owned())
}

/// What `kefu dev` runs, on embedded or on AWS stores.
struct DevStack {
    receiver: Arc<Receiver>,
    sandbox: Sandbox,
    worker_loop: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    banner: Vec<(&'static str, String)>,
}

/// Embedded stores, the sample (or given) credentials, rules from a file.
fn local_stack(args: &DevArgs, local_api: &str) -> anyhow::Result<DevStack> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let credentials = Credentials {
        token: args.credentials.token(),
        aes_key: Some(args.credentials.key()?),
        appid: args.credentials.appid.clone(),
    };
    let (rules, rules_origin) = match &args.rules {
        Some(path) => (StaticRules::from_file(path), path.display().to_string()),
        None if std::path::Path::new("rules/sample.json").exists() => (
            StaticRules::from_file("rules/sample.json"),
            "rules/sample.json".to_owned(),
        ),
        None => (
            StaticRules::new(sample::rules()),
            "the embedded sample rules".to_owned(),
        ),
    };
    let stack = LocalStack::new(rules, clock.clone(), Duration::from_secs(2));
    let receiver = Arc::new(stack.receiver(ReceiveSettings::new(credentials)));
    let secret = args
        .app_secret
        .clone()
        .unwrap_or_else(|| SecretString::new(sample::APP_SECRET));
    let sandbox = Sandbox::new(&args.credentials.appid, secret.expose(), clock.clone());
    let api_base = wechat_api(args, local_api)?;
    let api = Arc::new(WeChatClient::new(
        &api_base,
        &args.credentials.appid,
        secret,
        Duration::from_secs(5),
    )?);
    let worker = Arc::new(Worker::new(
        &args.credentials.appid,
        WorkerDeps::on_table(
            stack.table.clone(),
            api.clone(),
            Arc::new(TokenProvider::new(
                &args.credentials.appid,
                TokenKind::Stable,
                stack.table.clone(),
                api,
                clock.clone(),
                "kefu-dev".into(),
            )),
            Arc::new(AssetReader::new(&args.assets, Duration::from_secs(5))?),
            stack.rules.clone(),
            clock,
        ),
    ));
    let banner = vec![
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
        ("rules", format!("{rules_origin} (edits apply within 2 s)")),
        ("stores", "embedded (in memory)".to_owned()),
    ];
    Ok(DevStack {
        receiver,
        worker_loop: Box::pin(run_worker(
            stack,
            worker,
            sandbox.clone(),
            args.wechat_api.is_none(),
        )),
        sandbox,
        banner,
    })
}

/// DynamoDB, SQS and SSM, exactly as the deployed functions use them.
async fn aws_stack(args: &DevArgs, local_api: &str) -> anyhow::Result<DevStack> {
    let mut config = Config::from_env()?;
    config.wechat_api_base = wechat_api(args, local_api)?;
    config.assets_dir = args.assets.clone();
    let queue_url = config
        .queue_url
        .clone()
        .context("--aws needs KEFU_QUEUE_URL")?;
    let sdk = kefu::aws::sdk_config().await;
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let secrets = kefu::aws::load_secrets(&ssm, &config.secrets_parameter).await?;
    let app_secret = secrets
        .app_secret
        .as_ref()
        .map(|s| s.expose().to_owned())
        .context("--aws: the secrets parameter has no app_secret")?;
    let receiver = Arc::new(kefu::aws::receiver(&sdk, &config).await?);
    let worker = Arc::new(kefu::aws::worker(&sdk, &config).await?);
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
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    Ok(DevStack {
        receiver,
        worker_loop: Box::pin(poll_sqs(
            sqs,
            queue_url,
            worker,
            sandbox.clone(),
            args.wechat_api.is_none(),
        )),
        sandbox,
        banner,
    })
}

/// The documented sample values are shown so they can be pasted; real ones never are.
fn shown(value: &SecretString, sample: &str, flag: &str) -> String {
    if value.expose() == sample {
        sample.to_owned()
    } else {
        format!("(yours, from {flag})")
    }
}

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

/// The reply function's event source mapping: long-poll SQS, run the batch, delete what
/// succeeded; failures stay for SQS to redeliver (and move to the DLQ after the redrive limit).
async fn poll_sqs(
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    worker: Arc<Worker>,
    sandbox: Sandbox,
    tell_sandbox: bool,
) {
    loop {
        let received = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(2)
            .send()
            .await;
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(err) => {
                eprintln!("  ✗ SQS: {}", aws_sdk_sqs::error::DisplayErrorContext(&err));
                tokio::time::sleep(RETRY_AFTER).await;
                continue;
            }
        };
        let mut records = Vec::new();
        let mut receipts = std::collections::HashMap::new();
        for message in messages {
            let (Some(id), Some(body), Some(receipt)) =
                (message.message_id, message.body, message.receipt_handle)
            else {
                continue;
            };
            if tell_sandbox && let Ok(job) = Job::from_json(&body) {
                open_sandbox_window(&sandbox, &job);
            }
            receipts.insert(id.clone(), receipt);
            records.push((id, body));
        }
        if records.is_empty() {
            continue;
        }
        let failed = worker.run_batch(records).await;
        for (id, receipt) in receipts {
            if failed.contains(&id) {
                continue;
            }
            if let Err(err) = sqs
                .delete_message()
                .queue_url(&queue_url)
                .receipt_handle(receipt)
                .send()
                .await
            {
                eprintln!(
                    "  ✗ SQS delete: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(&err)
                );
            }
        }
    }
}

/// WeChat knows the user wrote before the push reaches us: open the sandbox's send window.
fn open_sandbox_window(sandbox: &Sandbox, job: &Job) {
    match &job.message.kind {
        MessageKind::Event(Event::UserEnterTempsession { .. }) => sandbox.user_entered(&job.openid),
        MessageKind::Event(_) => {}
        _ => sandbox.user_message(&job.openid),
    }
}

/// The receive function's code path, behind axum instead of API Gateway.
async fn handle_push(
    State(push): State<Push>,
    method: Method,
    Query(query): Query<Vec<(String, String)>>,
    body: Bytes,
) -> Response {
    let query = PushQuery::from_pairs(query);
    let answer = push
        .receiver
        .handle(PushRequest {
            method: method.as_str(),
            query: &query,
            body: &body,
        })
        .await;
    let mut response = (
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        answer.body,
    )
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(answer.content_type),
    );
    response
}

/// The reply function's loop on the embedded queue: batches of up to 10, failed jobs retried
/// after a pause, at most 3 receives each.
async fn run_worker(stack: LocalStack, worker: Arc<Worker>, sandbox: Sandbox, tell_sandbox: bool) {
    let mut receives: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    loop {
        stack.queue.wait_for_job().await;
        let jobs = stack.queue.take(10);
        let mut records = Vec::new();
        for job in jobs {
            if tell_sandbox {
                open_sandbox_window(&sandbox, &job);
            }
            let body = job.to_json();
            records.push((job.key.clone(), body));
        }
        let failed = worker.run_batch(records.clone()).await;
        for (key, body) in records.into_iter().filter(|(key, _)| failed.contains(key)) {
            let count = receives.entry(key.clone()).or_insert(1);
            if *count >= MAX_RECEIVES {
                eprintln!(
                    "  ✗ {key}: failed {MAX_RECEIVES} times; dropped (a deployment would move it to the DLQ)"
                );
                continue;
            }
            *count += 1;
            let queue = stack.queue.clone();
            tokio::spawn(async move {
                tokio::time::sleep(RETRY_AFTER).await;
                if let Ok(job) = Job::from_json(&body) {
                    let _ = kefu::ports::JobQueue::enqueue(queue.as_ref(), &job).await;
                }
            });
        }
    }
}

/// Prints each message the sandbox accepts, as it arrives.
async fn print_replies(sandbox: Sandbox) {
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
