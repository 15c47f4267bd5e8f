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
//! through [`parameter_store`]), [`push_url`] and [`access_token`]; [`check`] is one
//! line of the report, [`args`] the command's arguments; this file runs the checks and makes
//! the report.

mod access_token;
mod appid;
mod args;
mod check;
mod parameter_store;
mod push_url;
mod rules;
mod secrets;

use kefu::protocol::Token;

use crate::paint::{Colour, paint};

use self::access_token::check_token;
use self::appid::check_appid;
pub use self::args::DoctorArgs;
use self::check::{Check, Status};
use self::parameter_store::parameter_store;
use self::push_url::check_push_url;
use self::secrets::Holds;

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
