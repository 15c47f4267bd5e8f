//! Reading what Parameter Store holds for the checks: the two secrets parameters (a single
//! app's, or one app's of several under `--apps-path`) and the rules; AWS out of reach is
//! said once, as its own check.

use kefu::aws::{AppParameter, app_parameter};
use kefu::protocol::Token;
use kefu::secret::SecretString;

use super::args::DoctorArgs;
use super::check::{Check, Status};
use super::rules::check_rules;
use super::secrets::{Holds, secrets_check};
use crate::aws_args::{condense, explain};

/// The checks of what Parameter Store holds: the two secrets parameters and the rules. When
/// AWS cannot be reached at all (no credentials, no region, nothing at the endpoint), that is
/// said once, as its own check, and the three are not read. Returns the checks, the Token and
/// AppSecret found, and the API secrets parameter.
pub(super) async fn parameter_store(
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
