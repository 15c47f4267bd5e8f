//! The apps of a deployment of several mini programs, in Parameter Store under one path:
//!
//! ```text
//! {apps_path}/{appid}/push    SecureString {"token": …, "encoding_aes_key": …}   read by receive
//! {apps_path}/{appid}/api     SecureString {"app_secret": …}                      read by reply
//! {apps_path}/{appid}/rules   the app's own rules (optional; else the shared rules)
//! ```
//!
//! Two secrets parameters per app, as for a single app, so the internet-facing function can
//! still not read any AppSecret; `kefu apps add` writes both in one command, `api` first and
//! `push` last. Receive serves an app while its `push` parameter exists, so an add interrupted
//! half way leaves an app receive does not serve yet (rather than one whose jobs reply cannot
//! send); reply retries the jobs of an app that has `push` and not yet `api`. Removing the app
//! (`kefu apps remove`) deletes `push` first. The functions learn which apps there are from one
//! listing of the names under the path (DescribeParameters: metadata, never a value), taken
//! again every `KEFU_APPS_TTL_SECONDS`.

use aws_sdk_ssm::types::ParameterType;

use super::{Aws, Secrets, describe, parameter_names_under, secrets};
use crate::ports::PortError;
use crate::secret::SecretString;

/// Which of an app's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppParameter {
    /// The Token and EncodingAESKey (receive).
    Push,
    /// The AppSecret (reply).
    Api,
    /// The app's own rules (a parameter, or a path of fragments).
    Rules,
}

impl AppParameter {
    fn leaf(self) -> &'static str {
        match self {
            Self::Push => "push",
            Self::Api => "api",
            Self::Rules => "rules",
        }
    }
}

/// The name of one of `appid`'s parameters under `apps_path`.
pub fn app_parameter(apps_path: &str, appid: &str, which: AppParameter) -> String {
    format!(
        "{}/{appid}/{}",
        apps_path.trim_end_matches('/'),
        which.leaf()
    )
}

/// One app's secrets, as `kefu apps add` writes them.
#[derive(Debug, Clone)]
pub struct NewApp {
    pub appid: String,
    pub token: SecretString,
    /// None for a plaintext-only app.
    pub encoding_aes_key: Option<SecretString>,
    pub app_secret: SecretString,
}

impl Aws {
    /// An app's secrets, or none if the parameter does not exist (the app is not served).
    pub async fn app_secrets(
        &self,
        apps_path: &str,
        appid: &str,
        which: AppParameter,
    ) -> Result<Option<Secrets>, PortError> {
        let name = app_parameter(apps_path, appid, which);
        secrets::load_if_any(&self.ssm, &name).await
    }

    /// The apps under `apps_path`, sorted, each with the parameters it has (`push`, `api`,
    /// `rules`): names only (DescribeParameters), no value read.
    pub async fn list_apps(
        &self,
        apps_path: &str,
    ) -> Result<Vec<(String, Vec<&'static str>)>, PortError> {
        let prefix = format!("{}/", apps_path.trim_end_matches('/'));
        let mut apps = Vec::new();
        for name in parameter_names_under(&self.ssm, apps_path, "list apps").await? {
            let Some(rest) = name.strip_prefix(&prefix) else {
                continue;
            };
            let Some((appid, leaf)) = rest.split_once('/') else {
                continue;
            };
            let leaf = match leaf.split('/').next() {
                Some("push") => "push",
                Some("api") => "api",
                Some("rules") => "rules",
                _ => continue,
            };
            apps.push((appid.to_owned(), leaf));
        }
        apps.sort();
        apps.dedup();
        let mut listed: Vec<(String, Vec<&'static str>)> = Vec::new();
        for (appid, leaf) in apps {
            match listed.last_mut() {
                Some((last, leaves)) if *last == appid => leaves.push(leaf),
                _ => listed.push((appid, vec![leaf])),
            }
        }
        Ok(listed)
    }

    /// Writes an app's two secrets parameters (SecureString; `kms_key` names a customer key,
    /// else the account's aws/ssm key), `api` first and `push` last: `push` is what makes
    /// receive serve the app, so an interrupted add is not served half made. Overwrites an app
    /// of the same appid.
    pub async fn add_app(
        &self,
        apps_path: &str,
        app: &NewApp,
        kms_key: Option<&str>,
    ) -> Result<Vec<String>, PortError> {
        let push = match &app.encoding_aes_key {
            Some(key) => serde_json::json!({
                "token": app.token.expose(),
                "encoding_aes_key": key.expose(),
            }),
            None => serde_json::json!({ "token": app.token.expose() }),
        };
        let api = serde_json::json!({ "app_secret": app.app_secret.expose() });
        let mut written = Vec::new();
        for (which, value) in [(AppParameter::Api, api), (AppParameter::Push, push)] {
            let name = app_parameter(apps_path, &app.appid, which);
            self.ssm
                .put_parameter()
                .name(&name)
                .value(value.to_string())
                .r#type(ParameterType::SecureString)
                .set_key_id(kms_key.map(str::to_owned))
                .overwrite(true)
                .send()
                .await
                // The SDK's error never holds the value; the name says which write failed.
                .map_err(|err| PortError::new("add app", format!("{name}: {}", describe(&err))))?;
            written.push(name);
        }
        Ok(written)
    }

    /// Deletes an app's parameters (secrets and its own rules); says which existed.
    pub async fn remove_app(&self, apps_path: &str, appid: &str) -> Result<Vec<String>, PortError> {
        let mut names = vec![
            app_parameter(apps_path, appid, AppParameter::Push),
            app_parameter(apps_path, appid, AppParameter::Api),
        ];
        let rules = self
            .rules(&app_parameter(apps_path, appid, AppParameter::Rules))
            .fetch()
            .await?;
        names.extend(rules.into_iter().map(|(name, _)| name));
        let mut removed = Vec::new();
        for name in names {
            match self.ssm.delete_parameter().name(&name).send().await {
                Ok(_) => removed.push(name),
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_parameter_not_found()) => {}
                Err(err) => {
                    return Err(PortError::new(
                        "remove app",
                        format!("{name}: {}", describe(&err)),
                    ));
                }
            }
        }
        Ok(removed)
    }
}
