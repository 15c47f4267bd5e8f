//! `kefu doctor`: checks a deployment's configuration the way WeChat and the functions will
//! meet it, and says in words what is wrong — one line per check. The AppID's form, the
//! secrets parameter (JSON shape and each value's length, never a value), the rules in
//! Parameter Store, the push URL answering a signed GET as WeChat's verification sends it, and
//! an access_token fetch (WeChat's errcodes told in words, the API IP whitelist above all).
//!
//! With `--token`, only the push URL is checked, signed with that Token: Parameter Store is
//! not read and no AWS is needed (a running `kefu dev`, a tunnel to it). When AWS cannot be
//! reached at all, that is one check ("AWS") with what is missing and how to give it, not the
//! same failure once per parameter.
//!
//! The token is fetched from `stable_token` without `force_refresh`, which hands out the token
//! already current: the deployment's own token is neither replaced nor cut short.
//!
//! Each check lives in the file named after it: [`appid`], [`secrets`] and [`rules`] (read
//! through [`parameter_store`]), [`push_url`] and [`access_token`]; this file holds the
//! command, its arguments and its report.

mod access_token;
mod appid;
mod parameter_store;
mod push_url;
mod rules;
mod secrets;

use clap::Args;
use kefu::protocol::Token;
use kefu::secret::SecretString;
use kefu::wechat_api::DEFAULT_BASE_URL;
use serde::Serialize;

use crate::aws_args::AwsArgs;
use crate::paint::{Colour, paint};

use self::access_token::check_token;
use self::appid::check_appid;
use self::parameter_store::parameter_store;
use self::push_url::check_push_url;
use self::secrets::Holds;

/// Where 小程序后台 keeps the AppID, AppSecret and IP whitelist.
const SETTINGS: &str = "小程序后台 → 开发 → 开发管理 → 开发设置";

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The mini program's AppID (KEFU_APPID of the deployment).
    #[arg(long, env = "KEFU_APPID")]
    appid: Option<String>,
    /// The SecureString holding the Token and EncodingAESKey, receive's
    /// (KEFU_PUSH_SECRETS_PARAMETER).
    #[arg(long, env = "KEFU_PUSH_SECRETS_PARAMETER", default_value = "/kefu/secrets/push",
          value_parser = crate::rules::parse_parameter_path)]
    push_secrets_parameter: String,
    /// The SecureString holding the AppSecret, reply's (KEFU_API_SECRETS_PARAMETER).
    #[arg(long, env = "KEFU_API_SECRETS_PARAMETER", default_value = "/kefu/secrets/api",
          value_parser = crate::rules::parse_parameter_path)]
    api_secrets_parameter: String,
    /// Check the app --appid of several, under this apps path (the stack's AppsPath): its
    /// {path}/{appid}/push and /api secrets and its own rules (else the shared ones at
    /// --rules-path) instead of the two secrets parameters above.
    #[arg(long, value_parser = crate::rules::parse_parameter_path)]
    apps_path: Option<String>,
    /// The Parameter Store path of the rules (KEFU_RULES_PATH).
    #[arg(long, env = "KEFU_RULES_PATH", default_value = "/kefu/rules",
          value_parser = crate::rules::parse_parameter_path)]
    rules_path: String,
    /// The push URL (the stack's PushUrl output), checked with a signed GET as WeChat sends to
    /// verify it; not checked when not given.
    #[arg(long, env = "KEFU_PUSH_URL", value_parser = crate::dev::parse_http_url)]
    url: Option<String>,
    /// The Token to sign the push URL check with, instead of the push secrets' (e.g.
    /// kefu-sample-token for a running `kefu dev`): Parameter Store is then not read, and no AWS
    /// is needed.
    #[arg(long, hide_env_values = true)]
    token: Option<SecretString>,
    /// The WeChat API to fetch the access_token from.
    #[arg(long, env = "WECHAT_API_BASE", default_value = DEFAULT_BASE_URL,
          value_parser = crate::dev::parse_http_url)]
    wechat_api: String,
    /// Print the checks as one JSON object.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    aws: AwsArgs,
}

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// Works, but worth knowing (exit status stays 0).
    Warn,
    /// Will not work as configured (exit status 1).
    Fail,
    /// Not checked: a flag was not given, or an earlier check failed.
    Skip,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
}

impl Check {
    pub(super) fn new(name: &'static str, status: Status, detail: impl Into<String>) -> Self {
        Self {
            name,
            status,
            detail: detail.into(),
        }
    }

    fn line(&self) -> String {
        let (mark, colour) = match self.status {
            Status::Ok => ("✓", Colour::Green),
            Status::Warn => ("!", Colour::Yellow),
            Status::Fail => ("✗", Colour::Red),
            Status::Skip => ("-", Colour::Dim),
        };
        paint(&format!("{mark} {}: {}", self.name, self.detail), colour)
    }
}

pub async fn doctor(args: &DoctorArgs) -> anyhow::Result<String> {
    let mut checks = Vec::new();

    let appid = args.appid.as_deref().map(str::trim).unwrap_or_default();
    let appid_check = if appid.is_empty() && args.token.is_some() {
        Check::new(
            "appid",
            Status::Skip,
            "not checked: none given (--appid; the push URL check needs none)",
        )
    } else {
        check_appid(appid)
    };
    let appid_ok = appid_check.status == Status::Ok;
    checks.push(appid_check);

    let (token, app_secret, api_parameter) = match &args.token {
        Some(token) => {
            let not_read = "not read: --token given (Parameter Store is not read)";
            checks.push(Check::new(Holds::Push.name(), Status::Skip, not_read));
            checks.push(Check::new(Holds::Api.name(), Status::Skip, not_read));
            checks.push(Check::new("rules", Status::Skip, not_read));
            (Some(Token::new(token.clone())), None, None)
        }
        None => {
            let (read, token, app_secret, api_parameter) =
                parameter_store(args, appid, appid_ok).await?;
            checks.extend(read);
            (token, app_secret, Some(api_parameter))
        }
    };
    checks.push(match (&args.url, token.as_ref()) {
        (None, _) => Check::new(
            "push URL",
            Status::Skip,
            "not checked: give --url (the stack's PushUrl output) or KEFU_PUSH_URL",
        ),
        (Some(_), None) => Check::new(
            "push URL",
            Status::Skip,
            "not checked: no usable token from the push secrets to sign with (--token gives one)",
        ),
        (Some(url), Some(token)) => check_push_url(url, token).await,
    });
    checks.push(match (appid_ok, app_secret, api_parameter) {
        (false, _, _) => Check::new("access_token", Status::Skip, "not fetched: no valid AppID"),
        (true, _, None) => Check::new(
            "access_token",
            Status::Skip,
            "not fetched: with --token the AppSecret is not read",
        ),
        (true, None, Some(_)) => Check::new(
            "access_token",
            Status::Skip,
            "not fetched: no app_secret from the API secrets",
        ),
        (true, Some(secret), Some(parameter)) => {
            check_token(&args.wechat_api, appid, secret, &parameter).await
        }
    });

    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    let output = if args.json {
        serde_json::json!({ "ok": failed == 0, "checks": checks }).to_string()
    } else {
        let mut lines: Vec<String> = checks.iter().map(Check::line).collect();
        lines.push(match failed {
            0 => paint("no problems found", Colour::Green),
            1 => paint("1 problem found", Colour::Red),
            n => paint(&format!("{n} problems found"), Colour::Red),
        });
        lines.join("\n")
    };
    if failed == 0 {
        Ok(output)
    } else {
        Err(crate::ExitWith { output, code: 1 }.into())
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() > max {
        format!("{}…", text.chars().take(max).collect::<String>())
    } else {
        text.to_owned()
    }
}
