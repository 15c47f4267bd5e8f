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

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Args;
use kefu::aws::{AppParameter, Aws, StoredSecrets, app_parameter};
use kefu::ports::{RuleSource as _, WeChatApi as _};
use kefu::protocol::settings::{self, AesKeyProblem, AppId, AppSecretProblem};
use kefu::protocol::{Signature, Token};
use kefu::rules::Severity;
use kefu::secret::SecretString;
use kefu::wechat_api::{DEFAULT_BASE_URL, WeChatClient};
use kefu::wechat_types::{ApiError, TokenKind};
use serde::Serialize;

use crate::aws_args::{AwsArgs, condense, explain, tell};
use crate::paint::{Colour, paint};
use crate::text::{one_line, root_cause};

/// WeChat gives the push URL this long to answer.
const WECHAT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the token fetch may take.
const API_TIMEOUT: Duration = Duration::from_secs(10);
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
    fn new(name: &'static str, status: Status, detail: impl Into<String>) -> Self {
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

/// `wx` and 16 letters or digits, as the template's `AppId` parameter requires.
fn check_appid(appid: &str) -> Check {
    if appid.is_empty() {
        return Check::new(
            "appid",
            Status::Fail,
            format!("none given: --appid or KEFU_APPID (the AppID in {SETTINGS})"),
        );
    }
    if AppId::parse(appid).is_ok() {
        Check::new("appid", Status::Ok, appid)
    } else {
        Check::new(
            "appid",
            Status::Fail,
            format!(
                "{:?} ({} characters) is not an AppID: wx and 16 letters or digits, as {SETTINGS} shows it",
                shorten(appid, 40),
                appid.chars().count()
            ),
        )
    }
}

/// What the later checks can use from the secrets.
#[derive(Debug, Default)]
struct Usable {
    token: Option<Token>,
    app_secret: Option<SecretString>,
}

/// Which of the two secrets parameters: receive's push secrets, or reply's AppSecret (apart,
/// so that the internet-facing function cannot read the AppSecret).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holds {
    Push,
    Api,
}

impl Holds {
    /// The check's name.
    fn name(self) -> &'static str {
        match self {
            Self::Push => "push secrets",
            Self::Api => "API secrets",
        }
    }

    /// The keys this parameter holds.
    fn keys(self) -> &'static [&'static str] {
        match self {
            Self::Push => &["token", "encoding_aes_key"],
            Self::Api => &["app_secret"],
        }
    }

    /// The JSON it holds, in words.
    fn shape(self) -> &'static str {
        match self {
            Self::Push => "{\"token\": …, \"encoding_aes_key\": …}",
            Self::Api => "{\"app_secret\": …}",
        }
    }
}

/// The checks of what Parameter Store holds: the two secrets parameters and the rules. When
/// AWS cannot be reached at all (no credentials, no region, nothing at the endpoint), that is
/// said once, as its own check, and the three are not read. Returns the checks, the Token and
/// AppSecret found, and the API secrets parameter.
async fn parameter_store(
    args: &DoctorArgs,
    appid: &str,
    appid_ok: bool,
) -> anyhow::Result<(Vec<Check>, Option<Token>, Option<SecretString>, String)> {
    let aws = args.aws.connect().await;
    let (push_parameter, api_parameter, rules_path) = match &args.apps_path {
        None => (
            args.push_secrets_parameter.clone(),
            args.api_secrets_parameter.clone(),
            args.rules_path.clone(),
        ),
        Some(apps_path) => {
            anyhow::ensure!(
                appid_ok,
                "--apps-path checks one app: give its AppID with --appid (wx and 16 letters or digits)"
            );
            let own_rules = app_parameter(apps_path, appid, AppParameter::Rules);
            let has_own = aws
                .rules(&own_rules)
                .fetch()
                .await
                .is_ok_and(|found| !found.is_empty());
            (
                app_parameter(apps_path, appid, AppParameter::Push),
                app_parameter(apps_path, appid, AppParameter::Api),
                if has_own {
                    own_rules
                } else {
                    args.rules_path.clone()
                },
            )
        }
    };
    let first = aws.stored_secrets_if_any(&push_parameter).await;
    if let Err(err) = &first
        && let Some(trouble) = explain(&condense(&err.to_string()))
        && trouble.everywhere
    {
        let not_read = "not read: no access to AWS (above)";
        let checks = vec![
            Check::new("AWS", Status::Fail, trouble.told),
            Check::new(Holds::Push.name(), Status::Skip, not_read),
            Check::new(Holds::Api.name(), Status::Skip, not_read),
            Check::new("rules", Status::Skip, not_read),
        ];
        return Ok((checks, None, None, api_parameter));
    }
    let (push_check, push) = secrets_check(first, &push_parameter, Holds::Push);
    let (api_check, api) = secrets_check(
        aws.stored_secrets_if_any(&api_parameter).await,
        &api_parameter,
        Holds::Api,
    );
    let rules_check = check_rules(&aws, &rules_path).await;
    Ok((
        vec![push_check, api_check, rules_check],
        push.token,
        api.app_secret,
        api_parameter,
    ))
}

fn secrets_check(
    read: Result<Option<StoredSecrets>, kefu::ports::PortError>,
    parameter: &str,
    holds: Holds,
) -> (Check, Usable) {
    match read {
        Ok(Some(stored)) => {
            let (status, detail, usable) = inspect_secrets(&stored, holds);
            (
                Check::new(holds.name(), status, format!("{parameter}: {detail}")),
                usable,
            )
        }
        Ok(None) => (
            Check::new(
                holds.name(),
                Status::Fail,
                format!(
                    "{parameter} does not exist: create it as a SecureString with {} \
                     (README, Deploying)",
                    holds.shape()
                ),
            ),
            Usable::default(),
        ),
        Err(err) => (
            Check::new(holds.name(), Status::Fail, tell(&err.to_string())),
            Usable::default(),
        ),
    }
}

/// The keys the two secrets parameters may have.
const SECRET_KEYS: [&str; 3] = ["token", "encoding_aes_key", "app_secret"];

/// The shape of the secrets JSON and the length and alphabet of each value, in words that
/// never include a value.
fn inspect_secrets(stored: &StoredSecrets, holds: Holds) -> (Status, String, Usable) {
    let mut usable = Usable::default();
    let json: serde_json::Value = match serde_json::from_str(stored.value.expose()) {
        Ok(json) => json,
        // Only the position: serde_json's message can quote the text.
        Err(e) => {
            return (
                Status::Fail,
                format!(
                    "not JSON (line {}, column {}); expected {}",
                    e.line(),
                    e.column(),
                    holds.shape()
                ),
                usable,
            );
        }
    };
    let Some(object) = json.as_object() else {
        return (
            Status::Fail,
            format!("JSON {}, not an object {}", kind(&json), holds.shape()),
            usable,
        );
    };
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    let mut facts = Vec::new();
    for key in object
        .keys()
        .filter(|k| !holds.keys().contains(&k.as_str()))
    {
        if key == "app_secret" {
            problems.push(
                "app_secret must not be here: receive, which the internet reaches, reads this \
                 parameter (and refuses to start); keep it in the API secrets parameter only"
                    .to_owned(),
            );
        } else if SECRET_KEYS.contains(&key.as_str()) {
            problems.push(format!("{key} belongs in the push secrets parameter"));
        } else {
            problems.push(format!(
                "unknown key {:?} (the keys are {})",
                shorten(key, 40),
                holds.keys().join(", ")
            ));
        }
    }
    if !stored.secure {
        warnings.push("a plain String parameter: make it a SecureString".to_owned());
    }
    let text = |key: &str| -> Result<Option<&str>, String> {
        match object.get(key) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(value)) => Ok(Some(value.as_str())),
            Some(other) => Err(format!("{key} is {}, not a string", kind(other))),
        }
    };

    let holds_key = |key: &str| holds.keys().contains(&key);
    if holds_key("token") {
        match text("token") {
            Err(problem) => problems.push(problem),
            Ok(None) => problems.push("no token (the Token of 消息推送)".to_owned()),
            Ok(Some(token)) => {
                let length = token.chars().count();
                facts.push(format!("token {length} characters"));
                if let Err(problem) = settings::check_token(token) {
                    problems.push(format!("token {problem}"));
                }
                if !token.is_empty() {
                    usable.token = Some(Token::new(SecretString::new(token)));
                }
            }
        }
    }
    if holds_key("encoding_aes_key") {
        match text("encoding_aes_key") {
            Err(problem) => problems.push(problem),
            Ok(None) => warnings.push(
                "no encoding_aes_key: plaintext pushes only (明文模式); encrypted ones are refused"
                    .to_owned(),
            ),
            Ok(Some(key)) => {
                let length = key.chars().count();
                facts.push(format!("encoding_aes_key {length} characters"));
                match settings::check_encoding_aes_key(key) {
                    Ok(_) => {}
                    Err(AesKeyProblem::Length(length)) => problems.push(format!(
                        "encoding_aes_key is {length} characters, it must be 43 (as 消息推送 shows it)"
                    )),
                    Err(AesKeyProblem::Key(err)) => {
                        problems.push(format!("encoding_aes_key: {err}"));
                    }
                }
            }
        }
    }
    if holds_key("app_secret") {
        match text("app_secret") {
            Err(problem) => problems.push(problem),
            Ok(None) => problems
                .push("no app_secret: the reply function cannot fetch an access_token".to_owned()),
            Ok(Some(secret)) => {
                let length = secret.chars().count();
                facts.push(format!("app_secret {length} characters"));
                match settings::check_app_secret(secret) {
                    Ok(()) => {}
                    Err(AppSecretProblem::Spaces) => {
                        problems.push("app_secret has spaces around it".to_owned());
                    }
                    Err(AppSecretProblem::Form(length)) => warnings.push(format!(
                        "app_secret is {length} characters; {SETTINGS} shows a 32-character hexadecimal AppSecret"
                    )),
                }
                if !secret.is_empty() {
                    usable.app_secret = Some(SecretString::new(secret));
                }
            }
        }
    }
    let status = if !problems.is_empty() {
        Status::Fail
    } else if !warnings.is_empty() {
        Status::Warn
    } else {
        Status::Ok
    };
    let detail = problems
        .into_iter()
        .chain(warnings)
        .chain(std::iter::once(facts.join(", ")).filter(|f| !f.is_empty()))
        .collect::<Vec<_>>()
        .join("; ");
    (status, detail, usable)
}

fn kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

async fn check_rules(aws: &Aws, path: &str) -> Check {
    let source = aws.rules(path);
    let nothing = matches!(source.fetch().await, Ok(found) if found.is_empty());
    let rules = match source.load().await {
        Ok(rules) => rules,
        Err(_) if nothing => {
            return Check::new(
                "rules",
                Status::Fail,
                format!(
                    "nothing under {path}: push a rules file with `kefu rules push FILE --path {path}`"
                ),
            );
        }
        Err(err) => {
            return Check::new(
                "rules",
                Status::Fail,
                format!("{path}: {}", tell(&err.to_string())),
            );
        }
    };
    // Images cannot be checked from here: they are built into the deployed reply function.
    let findings = crate::rules::findings(&rules, None);
    let summary = format!("{path}: {}", crate::rules::summary(&rules));
    let worst = findings
        .iter()
        .map(|f| f.severity)
        .fold(Status::Ok, |worst, s| match (worst, s) {
            (Status::Fail, _) | (_, Severity::Error) => Status::Fail,
            _ => Status::Warn,
        });
    if findings.is_empty() {
        Check::new("rules", Status::Ok, summary)
    } else {
        let told: Vec<String> = findings.iter().map(ToString::to_string).collect();
        Check::new(
            "rules",
            worst,
            format!("{summary}; {} (kefu rules validate)", told.join("; ")),
        )
    }
}

/// A GET signed as WeChat signs its URL verification, with a fresh timestamp, nonce and
/// echostr: the answer must be the echostr, within WeChat's 5 s.
async fn check_push_url(url: &str, token: &Token) -> Check {
    let name = "push URL";
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
        .to_string();
    let (nonce, echostr) = match (random_digits(9), random_digits(19)) {
        (Ok(nonce), Ok(echostr)) => (nonce, echostr),
        (Err(err), _) | (_, Err(err)) => return Check::new(name, Status::Fail, err),
    };
    let signature = Signature::of_url(token, &timestamp, &nonce).to_hex();
    let http = match kefu::tls::http_client_builder()
        .timeout(WECHAT_TIMEOUT)
        .build()
    {
        Ok(http) => http,
        Err(err) => return Check::new(name, Status::Fail, err.to_string()),
    };
    let started = Instant::now();
    let answer = http
        .get(url)
        .query(&[
            ("signature", signature.as_str()),
            ("timestamp", timestamp.as_str()),
            ("nonce", nonce.as_str()),
            ("echostr", echostr.as_str()),
        ])
        .send()
        .await;
    let response = match answer {
        Ok(response) => response,
        Err(err) if err.is_timeout() => {
            return Check::new(
                name,
                Status::Fail,
                format!(
                    "{url}: no answer within {} s, WeChat's limit",
                    WECHAT_TIMEOUT.as_secs()
                ),
            );
        }
        Err(err) => {
            return Check::new(
                name,
                Status::Fail,
                format!(
                    "{url} could not be reached ({})",
                    root_cause(&err.without_url())
                ),
            );
        }
    };
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    let ms = started.elapsed().as_millis();
    let said = one_line(&body, 120);
    match status {
        200 if body == echostr => {
            let mut detail = format!(
                "{url} answered the signed GET with its echostr in {ms} ms (WeChat's verification passes)"
            );
            match wechat_port_problem(url) {
                Some(problem) => {
                    detail.push_str("; but ");
                    detail.push_str(&problem);
                    Check::new(name, Status::Warn, detail)
                }
                None => Check::new(name, Status::Ok, detail),
            }
        }
        200 => Check::new(
            name,
            Status::Fail,
            format!(
                "{url} answered 200 but not with the echostr ({said:?}): WeChat's verification would fail"
            ),
        ),
        403 if body.contains("signature") => Check::new(
            name,
            Status::Fail,
            format!(
                "{url} refused the signed GET: HTTP 403 {said} — the deployment's Token is not the token in the secrets"
            ),
        ),
        404 => Check::new(
            name,
            Status::Fail,
            format!(
                "{url}: HTTP 404, no push endpoint at this path (the stack's PushUrl output ends with its PushPath)"
            ),
        ),
        _ => Check::new(
            name,
            Status::Fail,
            format!("{url} answered the signed GET with HTTP {status} {said}"),
        ),
    }
}

/// WeChat pushes only to ports 80 and 443.
fn wechat_port_problem(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let port = host.rsplit_once(':').map(|(_, port)| port)?;
    (port != "80" && port != "443")
        .then(|| format!("WeChat pushes only to ports 80 and 443, and this URL has port {port}"))
}

async fn check_token(base: &str, appid: &str, secret: SecretString, parameter: &str) -> Check {
    let name = "access_token";
    let client = match WeChatClient::new(base, appid, secret, API_TIMEOUT) {
        Ok(client) => client,
        Err(err) => return Check::new(name, Status::Fail, err.to_string()),
    };
    match client.fetch_token(TokenKind::Stable, false).await {
        Ok(fetched) => Check::new(
            name,
            Status::Ok,
            format!(
                "fetched from {base} (stable_token, valid {} s more; the deployment's token is not replaced)",
                fetched.expires_in
            ),
        ),
        Err(err) => Check::new(
            name,
            Status::Fail,
            explain_api_error(&err, base, appid, parameter),
        ),
    }
}

/// A failed token fetch in words: what it means and where to fix it.
fn explain_api_error(err: &ApiError, base: &str, appid: &str, parameter: &str) -> String {
    let ApiError::Errcode { code, message } = err else {
        return match err {
            ApiError::Unreached(reason) => format!("{base} could not be reached: {reason}"),
            ApiError::Http(status) => format!("{base} answered HTTP {status}"),
            other => format!("{base}: {other}"),
        };
    };
    let said = one_line(message, 160);
    match code {
        40164 => {
            let ip = whitelist_ip(message).unwrap_or("(not named)");
            format!(
                "WeChat refuses API calls from this machine's address {ip}: the API IP whitelist is on \
                 (errcode 40164: {said}). Add {ip} in {SETTINGS} → IP白名单 — in production it is the \
                 reply function's outbound (NAT) address that must be listed — or turn the whitelist off"
            )
        }
        40125 => format!(
            "WeChat rejects the AppSecret (errcode 40125: {said}): app_secret in {parameter} is not \
             the current AppSecret of {appid}; copy it from {SETTINGS} (resetting it there invalidates the old one)"
        ),
        40013 => format!(
            "WeChat does not know the AppID {appid} (errcode 40013: {said}): check KEFU_APPID / --appid \
             against {SETTINGS}"
        ),
        40001 => format!(
            "the AppSecret does not belong to {appid} (errcode 40001: {said}): check app_secret in {parameter}"
        ),
        41002 | 41004 => {
            format!("WeChat says the AppID or AppSecret is missing (errcode {code}: {said})")
        }
        -1 => format!("WeChat is busy (errcode -1: {said}): try again in a moment"),
        45009 | 45011 => {
            format!("WeChat's token quota is used up (errcode {code}: {said}): try again later")
        }
        _ => format!("WeChat answered errcode {code}: {said}"),
    }
}

/// The caller's address in WeChat's 40164 message: `invalid ip 1.2.3.4 ipv6 ::ffff:1.2.3.4, not
/// in whitelist rid: …`.
fn whitelist_ip(message: &str) -> Option<&str> {
    let rest = message.split("invalid ip ").nth(1)?;
    let ip = rest.split([' ', ',']).next()?;
    (!ip.is_empty()
        && ip
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == '.' || c == ':'))
    .then_some(ip)
}

/// `len` random decimal digits (the first not 0).
fn random_digits(len: usize) -> Result<String, String> {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness from the OS: {e}"))?;
    Ok(bytes
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let digit = if i == 0 { 1 + b % 9 } else { b % 10 };
            char::from(b'0' + digit)
        })
        .collect())
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() > max {
        format!("{}…", text.chars().take(max).collect::<String>())
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "kefuDoctorToken2026";
    const KEY: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456";
    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn stored(json: &str) -> StoredSecrets {
        StoredSecrets {
            value: SecretString::new(json),
            secure: true,
        }
    }

    #[test]
    fn good_secrets_are_told_by_their_lengths_only() {
        let json = serde_json::json!({"token": TOKEN, "encoding_aes_key": KEY});
        let (status, detail, usable) = inspect_secrets(&stored(&json.to_string()), Holds::Push);
        assert_eq!(status, Status::Ok, "{detail}");
        assert_eq!(
            detail,
            "token 19 characters, encoding_aes_key 43 characters"
        );
        assert!(usable.token.is_some());
        let json = serde_json::json!({"app_secret": SECRET});
        let (status, detail, usable) = inspect_secrets(&stored(&json.to_string()), Holds::Api);
        assert_eq!(status, Status::Ok, "{detail}");
        assert_eq!(detail, "app_secret 32 characters");
        assert!(usable.app_secret.is_some());
    }

    #[test]
    fn the_app_secret_in_receives_parameter_is_a_problem() {
        let json =
            serde_json::json!({"token": TOKEN, "encoding_aes_key": KEY, "app_secret": SECRET});
        let (status, detail, _) = inspect_secrets(&stored(&json.to_string()), Holds::Push);
        assert_eq!(status, Status::Fail, "{detail}");
        assert!(detail.contains("app_secret must not be here"), "{detail}");
        let json = serde_json::json!({"token": TOKEN, "app_secret": SECRET});
        let (status, detail, _) = inspect_secrets(&stored(&json.to_string()), Holds::Api);
        assert_eq!(status, Status::Fail, "{detail}");
        assert!(
            detail.contains("token belongs in the push secrets parameter"),
            "{detail}"
        );
    }

    #[test]
    fn each_shape_problem_is_named_without_the_value() {
        let cases = [
            ("{not json", "not JSON (line 1, column 2)", Holds::Push),
            ("[1]", "JSON an array, not an object", Holds::Push),
            (
                r#"{"Token":"abcdef","token":"abcdef","encoding_aes_key":"x"}"#,
                "unknown key \"Token\"",
                Holds::Push,
            ),
            (r#"{"token":"ab"}"#, "token is 2 characters", Holds::Push),
            (
                r#"{"token":"kefu-sample-token"}"#,
                "other than letters and digits",
                Holds::Push,
            ),
            (
                r#"{"token":"abcdef","encoding_aes_key":"shortkey"}"#,
                "encoding_aes_key is 8 characters, it must be 43",
                Holds::Push,
            ),
            (
                r#"{"token":"abcdef","encoding_aes_key":42}"#,
                "encoding_aes_key is a number",
                Holds::Push,
            ),
            (r#"{}"#, "no app_secret", Holds::Api),
            (
                r#"{"token":" abcdef"}"#,
                "token has spaces around it",
                Holds::Push,
            ),
        ];
        for (json, says, holds) in cases {
            let (status, detail, _) = inspect_secrets(&stored(json), holds);
            assert_eq!(status, Status::Fail, "{json}: {detail}");
            assert!(detail.contains(says), "{json}: {detail}");
            for value in [
                "shortkey",
                "kefu-sample-token",
                "abcdef\"",
                "0123456789abcdef",
            ] {
                assert!(!detail.contains(value), "{json}: {detail} shows a value");
            }
        }
    }

    #[test]
    fn a_plain_string_parameter_and_an_odd_app_secret_are_warnings() {
        let json = serde_json::json!({"token": TOKEN});
        let (status, detail, _) = inspect_secrets(
            &StoredSecrets {
                value: SecretString::new(json.to_string()),
                secure: false,
            },
            Holds::Push,
        );
        assert_eq!(status, Status::Warn, "{detail}");
        assert!(detail.contains("SecureString"), "{detail}");
        assert!(detail.contains("no encoding_aes_key"), "{detail}");
        let json = serde_json::json!({"app_secret": "kefu-sample-app-secret"});
        let (status, detail, _) = inspect_secrets(&stored(&json.to_string()), Holds::Api);
        assert_eq!(status, Status::Warn, "{detail}");
        assert!(detail.contains("app_secret is 22 characters"), "{detail}");
        assert!(!detail.contains("kefu-sample-app-secret"), "{detail}");
    }

    #[test]
    fn appids_are_wx_and_16_letters_or_digits() {
        assert_eq!(check_appid("wx5ea1c0de5ea1c0de").status, Status::Ok);
        for bad in ["", "wx123", "gh_5ea1c0de5ea1", "wx5ea1c0de5ea1c0d!"] {
            assert_eq!(check_appid(bad).status, Status::Fail, "{bad}");
        }
    }

    #[test]
    fn the_whitelist_refusal_names_the_address_wechat_saw() {
        let err = ApiError::Errcode {
            code: 40164,
            message: "invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist rid: 6650e1c7-1a2b"
                .into(),
        };
        let told = explain_api_error(
            &err,
            DEFAULT_BASE_URL,
            "wx5ea1c0de5ea1c0de",
            "/kefu/secrets",
        );
        assert!(
            told.starts_with("WeChat refuses API calls from this machine's address 203.0.113.7: the API IP whitelist is on"),
            "{told}"
        );
        assert!(told.contains("IP白名单"), "{told}");
        for (code, says) in [
            (40125, "WeChat rejects the AppSecret"),
            (40013, "WeChat does not know the AppID wx5ea1c0de5ea1c0de"),
        ] {
            let err = ApiError::Errcode {
                code,
                message: "invalid rid: x".into(),
            };
            let told = explain_api_error(
                &err,
                DEFAULT_BASE_URL,
                "wx5ea1c0de5ea1c0de",
                "/kefu/secrets",
            );
            assert!(told.starts_with(says), "{told}");
        }
    }

    #[test]
    fn only_ports_80_and_443_take_pushes() {
        assert_eq!(wechat_port_problem("https://x.example.com/wechat"), None);
        assert_eq!(wechat_port_problem("http://x.example.com:80/wechat"), None);
        assert!(wechat_port_problem("http://127.0.0.1:8080/wechat").is_some());
    }
}
