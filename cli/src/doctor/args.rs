//! `kefu doctor`'s arguments: the AppID, the parameters to read, the URL and the API to
//! check, and how to reach AWS.

use clap::Args;
use kefu::secret::SecretString;
use kefu::wechat_api::DEFAULT_BASE_URL;

use crate::aws_args::AwsArgs;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The mini program's AppID (KEFU_APPID of the deployment).
    #[arg(long, env = "KEFU_APPID")]
    pub(super) appid: Option<String>,
    /// The SecureString holding the Token and EncodingAESKey, receive's
    /// (KEFU_PUSH_SECRETS_PARAMETER).
    #[arg(long, env = "KEFU_PUSH_SECRETS_PARAMETER", default_value = "/kefu/secrets/push",
          value_parser = crate::rules::parse_parameter_path)]
    pub(super) push_secrets_parameter: String,
    /// The SecureString holding the AppSecret, reply's (KEFU_API_SECRETS_PARAMETER).
    #[arg(long, env = "KEFU_API_SECRETS_PARAMETER", default_value = "/kefu/secrets/api",
          value_parser = crate::rules::parse_parameter_path)]
    pub(super) api_secrets_parameter: String,
    /// Check the app --appid of several, under this apps path (the stack's AppsPath): its
    /// {path}/{appid}/push and /api secrets and its own rules (else the shared ones at
    /// --rules-path) instead of the two secrets parameters above.
    #[arg(long, value_parser = crate::rules::parse_parameter_path)]
    pub(super) apps_path: Option<String>,
    /// The Parameter Store path of the rules (KEFU_RULES_PATH).
    #[arg(long, env = "KEFU_RULES_PATH", default_value = "/kefu/rules",
          value_parser = crate::rules::parse_parameter_path)]
    pub(super) rules_path: String,
    /// The push URL (the stack's PushUrl output), checked with a signed GET as WeChat sends to
    /// verify it; not checked when not given.
    #[arg(long, env = "KEFU_PUSH_URL", value_parser = crate::dev::parse_http_url)]
    pub(super) url: Option<String>,
    /// The Token to sign the push URL check with, instead of the push secrets' (e.g.
    /// kefu-sample-token for a running `kefu dev`): Parameter Store is then not read, and no AWS
    /// is needed.
    #[arg(long, hide_env_values = true)]
    pub(super) token: Option<SecretString>,
    /// The WeChat API to fetch the access_token from.
    #[arg(long, env = "WECHAT_API_BASE", default_value = DEFAULT_BASE_URL,
          value_parser = crate::dev::parse_http_url)]
    pub(super) wechat_api: String,
    /// Print the checks as one JSON object.
    #[arg(long)]
    pub(super) json: bool,
    #[command(flatten)]
    pub(super) aws: AwsArgs,
}
