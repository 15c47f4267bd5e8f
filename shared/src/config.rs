//! Deployment configuration from the environment, read once per cold start.
//!
//! The environment holds names only (table, queue URL, parameter paths, appid) and a few
//! switches; the secrets themselves live in one SSM SecureString parameter (`aws::secrets`).

use std::path::PathBuf;
use std::time::Duration;

use crate::events::UserForm;
use crate::outbox::DuringHandoff;
use crate::protocol::Format;
use crate::wechat_api::DEFAULT_BASE_URL;
use crate::wechat_types::TokenKind;

/// Everything the functions read from their environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `KEFU_APPID`: the AppID of the mini program served at `/wechat` (a single-app
    /// deployment), checked inside every encrypted push. Optional when `KEFU_APPS_PATH` is set.
    pub appid: Option<String>,
    /// `KEFU_APPS_PATH`: the Parameter Store path of the apps served at `/wechat/{appid}`, one
    /// folder per app (`{path}/{appid}/push`, `…/api`, `…/rules`); see `aws::apps`.
    pub apps_path: Option<String>,
    /// `KEFU_APPS_TTL_SECONDS` (default 300): how long the listing of the apps under
    /// `KEFU_APPS_PATH`, and each app built from it, is served from memory before it is taken
    /// again (an app removed stops being served within this time; one added is found within
    /// 30 s of its first push, see `apps::RELIST_ON_MISS`).
    pub apps_ttl: Duration,
    /// `KEFU_TABLE`: the DynamoDB table (ledger, hand-offs, tokens, quotas).
    pub table: String,
    /// `KEFU_QUEUE_URL`: the SQS queue of reply jobs (needed by `receive`).
    pub queue_url: Option<String>,
    /// `KEFU_RULES_PATH`: the Parameter Store path (or single parameter) holding the rules.
    pub rules_path: String,
    /// `KEFU_STARTER_RULES_PARAMETER`: the stack's starting rules, read while the rules path
    /// holds none.
    pub starter_rules: Option<String>,
    /// `KEFU_PUSH_SECRETS_PARAMETER` (needed by `receive`): the SecureString with the Token and
    /// the EncodingAESKey, `{"token": …, "encoding_aes_key": …}`.
    pub push_secrets_parameter: Option<String>,
    /// `KEFU_API_SECRETS_PARAMETER` (needed by `reply`): the SecureString with the AppSecret,
    /// `{"app_secret": …}`. A parameter of its own, so the internet-facing function cannot
    /// read it.
    pub api_secrets_parameter: Option<String>,
    /// `KEFU_FORMAT` (`xml` or `json`): accept only this push format. Detected per push if unset.
    pub format: Option<Format>,
    /// `KEFU_REQUIRE_ENCRYPTION` (`true`/`false`, default true): refuse plaintext pushes when
    /// an EncodingAESKey is configured (a plaintext-only deployment accepts them regardless).
    pub require_encryption: bool,
    /// `KEFU_TIMESTAMP_WINDOW_SECONDS` (default 300): how far a push's `timestamp` may be from
    /// the clock, either way; 0 turns the check (and replay protection) off.
    pub timestamp_window: Duration,
    /// `KEFU_RULES_TTL_SECONDS` (default 30): how long rules are served from memory.
    pub rules_ttl: Duration,
    /// `KEFU_WELCOME_INTERVAL_SECONDS` (default 600): a user who enters the session again
    /// within this time after a welcome is not welcomed again; 0 welcomes every time.
    pub welcome_interval: Duration,
    /// `KEFU_UNANSWERED_DAYS` (default 30): how long `reply` keeps the text of unanswered and
    /// suggested questions for `kefu report`; 0 keeps none.
    pub questions_kept: Duration,
    /// `WECHAT_API_BASE` (default https://api.weixin.qq.com): where the WeChat API is.
    pub wechat_api_base: String,
    /// `KEFU_TOKEN_ENDPOINT` (`stable`, the default, or `token`): how access_tokens are fetched.
    pub token_kind: TokenKind,
    /// `KEFU_ASSETS_DIR` (default `$LAMBDA_TASK_ROOT/assets`, else `assets`): images shipped
    /// with the deployment.
    pub assets_dir: PathBuf,
    /// `KEFU_OUTBOX_QUEUE_ARN` (read by `reply`): the outbox queue; records from it are
    /// commands (`crate::outbox`), any other record a reply job.
    pub outbox_queue_arn: Option<String>,
    /// `KEFU_OUTBOX_DURING_HANDOFF` (`hold`, the default, or `send`): whether an agent's hold on
    /// a user holds back the outbox commands that do not say.
    pub outbox_during_handoff: DuringHandoff,
    /// `KEFU_EVENT_BUS`: the EventBridge bus (name or ARN) kefu's events go to; unset or empty,
    /// events are off. Both functions read it: `receive` sends every push it claims on to
    /// `reply`, which publishes.
    pub event_bus: Option<String>,
    /// `KEFU_EVENT_OPENID` (`hashed`, the default, or `clear`): how the user's openid appears
    /// in events.
    pub event_openid: UserForm,
    /// `KEFU_HOOK_SECRET_PARAMETER`: the SecureString parameter holding the key HTTPS hook calls
    /// are signed with (docs/hooks.md); unset or empty, they go unsigned.
    pub hook_secret_parameter: Option<String>,
    /// `KEFU_HOOK_OPENID` (`clear`, the default, or `hashed`): whether a hook's request names the
    /// user by openid or by a keyed hash of it.
    pub hook_openid_hashed: bool,
    /// `KEFU_HOOK_GENERATED_LABEL`: added under an answer a hook marks machine-generated (unset:
    /// nothing is added).
    pub hook_generated_label: String,
    /// `AWS_ENDPOINT_URL_LAMBDA` (else `AWS_ENDPOINT_URL`): where Lambda hooks are invoked
    /// instead of the function's region (a local stand-in, tests).
    pub lambda_endpoint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {expected}")]
    Invalid {
        name: &'static str,
        expected: &'static str,
    },
    /// The rules path, which both functions read whole with decryption, would take in
    /// (or sit inside) where secrets are kept.
    #[error(
        "{rules} ({rules_value}) and {other} ({other_value}) overlap: the rules path is read \
         whole, with decryption, by both functions, so it must neither contain nor sit inside \
         the apps path or a secrets parameter"
    )]
    Overlap {
        rules: &'static str,
        rules_value: String,
        other: &'static str,
        other_value: String,
    },
}

/// Whether Parameter Store path `a` is `b`, or holds it, or sits inside it.
fn overlap(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim_end_matches('/'), b.trim_end_matches('/'));
    let within = |inner: &str, outer: &str| {
        inner == outer
            || inner
                .strip_prefix(outer)
                .is_some_and(|rest| rest.starts_with('/'))
    };
    within(a, b) || within(b, a)
}

impl Config {
    /// Refuses a rules path that overlaps the apps path or a secrets parameter: receive reads
    /// the rules path with decryption, and must never be able to read an AppSecret.
    fn check_apart(&self) -> Result<(), ConfigError> {
        let others = [
            ("KEFU_APPS_PATH", self.apps_path.as_deref()),
            (
                "KEFU_PUSH_SECRETS_PARAMETER",
                self.push_secrets_parameter.as_deref(),
            ),
            (
                "KEFU_API_SECRETS_PARAMETER",
                self.api_secrets_parameter.as_deref(),
            ),
        ];
        for (other, value) in others {
            if let Some(value) = value
                && overlap(&self.rules_path, value)
            {
                return Err(ConfigError::Overlap {
                    rules: "KEFU_RULES_PATH",
                    rules_value: self.rules_path.clone(),
                    other,
                    other_value: value.to_owned(),
                });
            }
        }
        Ok(())
    }
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment, or a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| get(name).ok_or(ConfigError::Missing(name));
        let format = match get("KEFU_FORMAT")
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None => None,
            Some("xml") => Some(Format::Xml),
            Some("json") => Some(Format::Json),
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "KEFU_FORMAT",
                    expected: "xml or json",
                });
            }
        };
        let require_encryption = match get("KEFU_REQUIRE_ENCRYPTION").as_deref() {
            Some("false" | "0" | "no") => false,
            None | Some("true" | "1" | "yes") => true,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "KEFU_REQUIRE_ENCRYPTION",
                    expected: "true or false",
                });
            }
        };
        let seconds = |name: &'static str, default: u64| match get(name) {
            None => Ok(Duration::from_secs(default)),
            Some(v) => {
                v.trim()
                    .parse()
                    .map(Duration::from_secs)
                    .map_err(|_| ConfigError::Invalid {
                        name,
                        expected: "a whole number of seconds",
                    })
            }
        };
        let rules_ttl = seconds("KEFU_RULES_TTL_SECONDS", 30)?;
        let timestamp_window = seconds("KEFU_TIMESTAMP_WINDOW_SECONDS", 300)?;
        let welcome_interval = seconds("KEFU_WELCOME_INTERVAL_SECONDS", 600)?;
        let apps_ttl = seconds("KEFU_APPS_TTL_SECONDS", 300)?;
        let questions_kept = match get("KEFU_UNANSWERED_DAYS") {
            None => Duration::from_secs(30 * 86_400),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|days| *days <= 3650)
                .map(|days| Duration::from_secs(days * 86_400))
                .ok_or(ConfigError::Invalid {
                    name: "KEFU_UNANSWERED_DAYS",
                    expected: "a whole number of days (0 to 3650)",
                })?,
        };
        let appid = get("KEFU_APPID");
        let apps_path = get("KEFU_APPS_PATH").map(|path| path.trim_end_matches('/').to_owned());
        if appid.is_none() && apps_path.is_none() {
            return Err(ConfigError::Missing("KEFU_APPID (or KEFU_APPS_PATH)"));
        }
        let token_kind = match get("KEFU_TOKEN_ENDPOINT").as_deref() {
            None | Some("stable") => TokenKind::Stable,
            Some("token") => TokenKind::Plain,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "KEFU_TOKEN_ENDPOINT",
                    expected: "stable or token",
                });
            }
        };
        let outbox_during_handoff = match get("KEFU_OUTBOX_DURING_HANDOFF") {
            None => DuringHandoff::default(),
            Some(v) => DuringHandoff::parse(&v).ok_or(ConfigError::Invalid {
                name: "KEFU_OUTBOX_DURING_HANDOFF",
                expected: "hold or send",
            })?,
        };
        let assets_dir = get("KEFU_ASSETS_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                get("LAMBDA_TASK_ROOT").map_or_else(
                    || PathBuf::from("assets"),
                    |root| PathBuf::from(root).join("assets"),
                )
            });
        let event_openid = match get("KEFU_EVENT_OPENID") {
            None => UserForm::default(),
            Some(v) => UserForm::parse(&v).ok_or(ConfigError::Invalid {
                name: "KEFU_EVENT_OPENID",
                expected: "hashed or clear",
            })?,
        };
        let hook_openid_hashed = match get("KEFU_HOOK_OPENID").as_deref().map(str::trim) {
            None | Some("clear") => false,
            Some("hashed") => true,
            Some(_) => {
                return Err(ConfigError::Invalid {
                    name: "KEFU_HOOK_OPENID",
                    expected: "clear or hashed",
                });
            }
        };
        let config = Self {
            appid,
            apps_path,
            apps_ttl,
            table: required("KEFU_TABLE")?,
            queue_url: get("KEFU_QUEUE_URL"),
            rules_path: required("KEFU_RULES_PATH")?,
            starter_rules: get("KEFU_STARTER_RULES_PARAMETER"),
            push_secrets_parameter: get("KEFU_PUSH_SECRETS_PARAMETER"),
            api_secrets_parameter: get("KEFU_API_SECRETS_PARAMETER"),
            format,
            require_encryption,
            timestamp_window,
            rules_ttl,
            welcome_interval,
            questions_kept,
            wechat_api_base: get("WECHAT_API_BASE").unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
            token_kind,
            assets_dir,
            outbox_queue_arn: get("KEFU_OUTBOX_QUEUE_ARN"),
            outbox_during_handoff,
            event_bus: get("KEFU_EVENT_BUS").map(|bus| bus.trim().to_owned()),
            event_openid,
            hook_secret_parameter: get("KEFU_HOOK_SECRET_PARAMETER"),
            hook_openid_hashed,
            hook_generated_label: get("KEFU_HOOK_GENERATED_LABEL").unwrap_or_default(),
            lambda_endpoint: get("AWS_ENDPOINT_URL_LAMBDA").or_else(|| get("AWS_ENDPOINT_URL")),
        };
        config.check_apart()?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    const BASE: &[(&str, &str)] = &[
        ("KEFU_APPID", "wx1"),
        ("KEFU_TABLE", "t"),
        ("KEFU_QUEUE_URL", "http://q"),
        ("KEFU_RULES_PATH", "/kefu/rules"),
        ("KEFU_PUSH_SECRETS_PARAMETER", "/kefu/secrets/push"),
    ];

    #[test]
    fn defaults_detect_the_format_refuse_plaintext_and_check_timestamps() {
        let config = Config::from_lookup(env(BASE)).unwrap();
        assert_eq!(config.format, None);
        assert!(config.require_encryption, "the safe choice");
        assert_eq!(config.timestamp_window, Duration::from_secs(300));
        assert_eq!(config.rules_ttl, Duration::from_secs(30));
        assert_eq!(config.wechat_api_base, "https://api.weixin.qq.com");
        assert_eq!(config.token_kind, TokenKind::Stable);
    }

    #[test]
    fn settings_pin_the_format_and_opt_into_plaintext() {
        let mut pairs = BASE.to_vec();
        pairs.extend([
            ("KEFU_FORMAT", "JSON"),
            ("KEFU_REQUIRE_ENCRYPTION", "false"),
            ("KEFU_TIMESTAMP_WINDOW_SECONDS", "0"),
            ("KEFU_RULES_TTL_SECONDS", "5"),
        ]);
        let config = Config::from_lookup(env(&pairs)).unwrap();
        assert_eq!(config.format, Some(Format::Json));
        assert!(!config.require_encryption);
        assert_eq!(config.timestamp_window, Duration::ZERO);
        assert_eq!(config.rules_ttl, Duration::from_secs(5));
    }

    #[test]
    fn unanswered_questions_are_kept_thirty_days_unless_told() {
        let config = Config::from_lookup(env(BASE)).unwrap();
        assert_eq!(config.questions_kept, Duration::from_secs(30 * 86_400));
        for (days, kept) in [("0", 0), (" 7 ", 7 * 86_400)] {
            let mut pairs = BASE.to_vec();
            pairs.push(("KEFU_UNANSWERED_DAYS", days));
            let config = Config::from_lookup(env(&pairs)).unwrap();
            assert_eq!(config.questions_kept, Duration::from_secs(kept));
        }
        for bad in ["-1", "7d", "4000"] {
            let mut pairs = BASE.to_vec();
            pairs.push(("KEFU_UNANSWERED_DAYS", bad));
            assert!(matches!(
                Config::from_lookup(env(&pairs)),
                Err(ConfigError::Invalid {
                    name: "KEFU_UNANSWERED_DAYS",
                    ..
                })
            ));
        }
    }

    #[test]
    fn outbox_commands_are_held_during_a_handoff_unless_told() {
        let config = Config::from_lookup(env(BASE)).unwrap();
        assert_eq!(config.outbox_during_handoff, DuringHandoff::Hold);
        assert_eq!(config.outbox_queue_arn, None);
        let mut pairs = BASE.to_vec();
        pairs.extend([
            ("KEFU_OUTBOX_DURING_HANDOFF", "send"),
            ("KEFU_OUTBOX_QUEUE_ARN", "arn:aws:sqs:us-east-1:1:outbox"),
        ]);
        let config = Config::from_lookup(env(&pairs)).unwrap();
        assert_eq!(config.outbox_during_handoff, DuringHandoff::Send);
        assert_eq!(
            config.outbox_queue_arn.as_deref(),
            Some("arn:aws:sqs:us-east-1:1:outbox")
        );
        let mut bad = BASE.to_vec();
        bad.push(("KEFU_OUTBOX_DURING_HANDOFF", "later"));
        assert!(matches!(
            Config::from_lookup(env(&bad)),
            Err(ConfigError::Invalid {
                name: "KEFU_OUTBOX_DURING_HANDOFF",
                ..
            })
        ));
    }

    #[test]
    fn events_are_off_unless_a_bus_is_named_and_hash_the_openid_unless_told() {
        let config = Config::from_lookup(env(BASE)).unwrap();
        assert_eq!(config.event_bus, None);
        assert_eq!(config.event_openid, UserForm::Hashed);
        let mut pairs = BASE.to_vec();
        pairs.extend([
            ("KEFU_EVENT_BUS", " kefu-events "),
            ("KEFU_EVENT_OPENID", "clear"),
        ]);
        let config = Config::from_lookup(env(&pairs)).unwrap();
        assert_eq!(config.event_bus.as_deref(), Some("kefu-events"));
        assert_eq!(config.event_openid, UserForm::Clear);
        let mut pairs = BASE.to_vec();
        pairs.extend([("KEFU_EVENT_BUS", ""), ("KEFU_EVENT_OPENID", "plain")]);
        assert!(matches!(
            Config::from_lookup(env(&pairs)),
            Err(ConfigError::Invalid {
                name: "KEFU_EVENT_OPENID",
                ..
            })
        ));
    }

    #[test]
    fn a_deployment_of_several_apps_needs_no_single_appid() {
        let mut pairs = BASE[1..].to_vec();
        pairs.push(("KEFU_APPS_PATH", "/kefu/apps/"));
        let config = Config::from_lookup(env(&pairs)).unwrap();
        assert_eq!(config.appid, None);
        assert_eq!(config.apps_path.as_deref(), Some("/kefu/apps"));
        assert_eq!(config.apps_ttl, Duration::from_secs(300));
    }

    #[test]
    fn missing_and_invalid_settings_are_named() {
        assert_eq!(
            Config::from_lookup(env(&BASE[1..])),
            Err(ConfigError::Missing("KEFU_APPID (or KEFU_APPS_PATH)"))
        );
        let mut pairs = BASE.to_vec();
        pairs.push(("KEFU_FORMAT", "yaml"));
        assert!(matches!(
            Config::from_lookup(env(&pairs)),
            Err(ConfigError::Invalid {
                name: "KEFU_FORMAT",
                ..
            })
        ));
    }

    #[test]
    fn a_rules_path_overlapping_the_apps_path_or_a_secret_is_refused() {
        let config = |rules: &str| {
            Config::from_lookup(|name| {
                match name {
                    "KEFU_APPID" => Some("wx0000000000000001"),
                    "KEFU_TABLE" => Some("t"),
                    "KEFU_RULES_PATH" => Some(rules),
                    "KEFU_APPS_PATH" => Some("/kefu/apps"),
                    "KEFU_PUSH_SECRETS_PARAMETER" => Some("/kefu/secrets/push"),
                    "KEFU_API_SECRETS_PARAMETER" => Some("/kefu/secrets/api"),
                    _ => None,
                }
                .map(str::to_owned)
            })
        };
        for nested in [
            "/kefu",
            "/kefu/",
            "/kefu/apps",
            "/kefu/apps/x",
            "/kefu/secrets",
        ] {
            let err = config(nested).expect_err(nested);
            assert!(
                matches!(err, ConfigError::Overlap { .. }),
                "{nested}: {err}"
            );
        }
        let err = config("/kefu").unwrap_err().to_string();
        assert!(err.contains("KEFU_RULES_PATH (/kefu)"), "{err}");
        for apart in ["/kefu/rules", "/kefu/apps-rules", "/other"] {
            assert!(config(apart).is_ok(), "{apart}");
        }
    }
}
