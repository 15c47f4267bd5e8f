//! `kefu apps list|add|remove`: the mini programs a deployment serves at `/wechat/{appid}`,
//! kept in Parameter Store under the stack's AppsPath (`kefu::aws::apps` has the layout).
//! Adding an app is one command and no redeploy: the functions find it within 30 s of its
//! first push (a cold start at once). `add` writes the app's `push` parameter last, so an add
//! interrupted half way leaves an app receive does not serve yet.
//!
//! The secrets come from a JSON file or stdin (`--secrets -`), never from the command line,
//! so they stay out of shell history and process listings.

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use kefu::aws::NewApp;
use kefu::protocol::AppId;
use kefu::secret::SecretString;
use serde::Deserialize;

use crate::aws_args::AwsArgs;
use crate::paint::{Colour, paint};
use crate::rules::parse_parameter_path;

#[derive(Debug, Args)]
pub struct AppsArgs {
    #[command(subcommand)]
    command: AppsCommand,
    /// Where the apps are (the stack's AppsPath output; KEFU_APPS_PATH of the functions).
    #[arg(long, env = "KEFU_APPS_PATH", default_value = "/kefu/apps", value_parser = parse_parameter_path, global = true)]
    apps_path: String,
    #[command(flatten)]
    aws: AwsArgs,
}

#[derive(Debug, Subcommand)]
enum AppsCommand {
    /// The apps served, with the parameters each has (push and api secrets, own rules).
    List,
    /// Serve an app: writes its API secrets (AppSecret; read by reply), then its push secrets
    /// (Token, EncodingAESKey; read by receive, which serves the app once they are there) as
    /// SecureStrings. Its push URL is then https://<api>/wechat/APPID.
    Add {
        /// The mini program's AppID (wx and 16 letters or digits).
        #[arg(value_parser = parse_appid)]
        appid: AppId,
        /// A JSON file {"token": …, "encoding_aes_key": …, "app_secret": …}, or - for stdin
        /// (leave encoding_aes_key out for a plaintext-only app).
        #[arg(long)]
        secrets: PathBuf,
        /// The customer-managed KMS key to encrypt them with (the stack's SecretsKmsKeyArn);
        /// default the account's aws/ssm key.
        #[arg(long)]
        kms_key: Option<String>,
    },
    /// Stop serving an app: deletes its secrets and its own rules.
    Remove {
        #[arg(value_parser = parse_appid)]
        appid: AppId,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretsFile {
    token: SecretString,
    #[serde(default)]
    encoding_aes_key: Option<SecretString>,
    app_secret: SecretString,
}

/// An AppID as WeChat issues them: `wx` and 16 letters or digits.
fn parse_appid(text: &str) -> Result<AppId, String> {
    AppId::parse(text).map_err(|_| {
        format!(
            "{:?} is not an AppID: wx and 16 letters or digits (小程序后台 → 开发 → 开发设置)",
            text.chars().take(40).collect::<String>()
        )
    })
}

pub async fn apps(args: &AppsArgs) -> anyhow::Result<String> {
    let aws = args.aws.connect().await;
    let path = args.apps_path.trim_end_matches('/');
    match &args.command {
        AppsCommand::List => {
            let apps = aws.list_apps(path).await?;
            if apps.is_empty() {
                return Ok(format!(
                    "no apps under {path} (add one with `kefu apps add`)"
                ));
            }
            let lines: Vec<String> = apps
                .into_iter()
                .map(|(appid, has)| {
                    let missing: Vec<&str> = ["push", "api"]
                        .into_iter()
                        .filter(|leaf| !has.contains(leaf))
                        .collect();
                    let rules = if has.contains(&"rules") {
                        "own rules"
                    } else {
                        "shared rules"
                    };
                    if missing.is_empty() {
                        format!("{appid}  served, {rules}")
                    } else {
                        format!(
                            "{appid}  {} (no {} parameter), {rules}",
                            paint("incomplete", Colour::Yellow),
                            missing.join(", no ")
                        )
                    }
                })
                .collect();
            Ok(lines.join("\n"))
        }
        AppsCommand::Add {
            appid,
            secrets,
            kms_key,
        } => {
            let app = read_secrets(appid.as_str(), secrets)?;
            let written = aws.add_app(path, &app, kms_key.as_deref()).await?;
            Ok(paint(
                &format!(
                    "✓ {appid} added: {} (its push URL: https://<api>/wechat/{appid})",
                    written.join(", ")
                ),
                Colour::Green,
            ))
        }
        AppsCommand::Remove { appid } => {
            let removed = aws.remove_app(path, appid.as_str()).await?;
            anyhow::ensure!(!removed.is_empty(), "no app {appid} under {path}");
            Ok(paint(
                &format!("✓ {appid} removed: {}", removed.join(", ")),
                Colour::Green,
            ))
        }
    }
}

/// The app's secrets from `source` (a file, or `-` for stdin), checked; errors never quote them.
fn read_secrets(appid: &str, source: &PathBuf) -> anyhow::Result<NewApp> {
    let text = if source.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("--secrets -: reading stdin")?;
        text
    } else {
        std::fs::read_to_string(source)
            .with_context(|| format!("--secrets {}: cannot read it", source.display()))?
    };
    let file: SecretsFile = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "--secrets: not {{\"token\", \"encoding_aes_key\", \"app_secret\"}} (line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    anyhow::ensure!(
        !file.token.expose().trim().is_empty(),
        "--secrets: token is empty"
    );
    anyhow::ensure!(
        !file.app_secret.expose().trim().is_empty(),
        "--secrets: app_secret is empty"
    );
    if let Some(key) = &file.encoding_aes_key {
        crate::aes_key::parse(key, "--secrets: encoding_aes_key")?;
    }
    Ok(NewApp {
        appid: appid.to_owned(),
        token: file.token,
        encoding_aes_key: file.encoding_aes_key,
        app_secret: file.app_secret,
    })
}
