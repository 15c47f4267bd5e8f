//! What the hooks' client needs from AWS: the credentials a Lambda hook is invoked with, and the
//! key HTTPS hook calls are signed with (a SecureString; `HookSecretParameterName`).

use super::Aws;
use super::secrets::fetch_secrets;
use crate::hooks::LambdaInvoker;
use crate::ports::PortError;
use crate::secret::SecretString;

impl Aws {
    /// The Lambda hooks' invoker, with this configuration's credentials (none without any),
    /// calling the Lambda API at `endpoint` when one is given (a local stand-in).
    pub fn lambda_invoker(&self, endpoint: Option<String>) -> Option<LambdaInvoker> {
        self.credentials
            .clone()
            .map(|credentials| LambdaInvoker::new(credentials, endpoint))
    }

    /// The key HTTPS hook calls are signed with, from the SecureString `parameter`.
    pub async fn hook_secret(&self, parameter: &str) -> Result<SecretString, PortError> {
        let stored = fetch_secrets(&self.ssm, parameter).await?;
        if !stored.secure {
            tracing::warn!(parameter = %parameter,
                "the hook secret's parameter is a plain String: make it a SecureString");
        }
        Ok(stored.value)
    }
}
