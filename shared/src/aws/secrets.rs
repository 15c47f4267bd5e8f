//! The deployment's secrets, SecureString parameters holding JSON: the push secrets
//! `{"token": "…", "encoding_aes_key": "…"}` that `receive` reads, and `{"app_secret": "…"}`
//! that only `reply` reads (least privilege: the internet-facing function cannot read the
//! AppSecret). Read once per cold start; every value is a `SecretString`, so none can reach a
//! log line.

use aws_sdk_ssm::Client;
use aws_sdk_ssm::types::ParameterType;
use serde::Deserialize;

use super::describe;
use crate::ports::PortError;
use crate::secret::SecretString;

#[derive(Debug, Clone, Deserialize)]
pub struct Secrets {
    /// Needed by the push path (`receive`) only.
    #[serde(default)]
    pub token: Option<SecretString>,
    /// Absent for a plaintext-only deployment.
    #[serde(default)]
    pub encoding_aes_key: Option<SecretString>,
    /// Needed by the reply worker only.
    #[serde(default)]
    pub app_secret: Option<SecretString>,
}

/// The secrets parameter as stored, before it is read as [`Secrets`]: for `kefu doctor`, which
/// tells what is wrong with its shape. The text is a secret too.
#[derive(Debug, Clone)]
pub struct StoredSecrets {
    pub value: SecretString,
    /// Whether it is a SecureString (a plain String would hold the secrets in clear).
    pub secure: bool,
}

pub async fn fetch_secrets(client: &Client, name: &str) -> Result<StoredSecrets, PortError> {
    fetch_if_any(client, name)
        .await?
        .ok_or_else(|| PortError::new("read secrets", format!("{name} does not exist")))
}

/// The parameter, or none if it does not exist.
pub async fn fetch_if_any(client: &Client, name: &str) -> Result<Option<StoredSecrets>, PortError> {
    let parameter = match client
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
    {
        Ok(found) => found.parameter,
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_parameter_not_found()) =>
        {
            return Ok(None);
        }
        Err(err) => return Err(PortError::new("read secrets", describe(&err))),
    };
    let secure = parameter
        .as_ref()
        .and_then(|p| p.r#type.as_ref())
        .is_some_and(|t| *t == ParameterType::SecureString);
    let value = parameter
        .and_then(|p| p.value)
        .ok_or_else(|| PortError::new("read secrets", format!("{name} has no value")))?;
    Ok(Some(StoredSecrets {
        value: SecretString::new(value),
        secure,
    }))
}

pub async fn load_secrets(client: &Client, name: &str) -> Result<Secrets, PortError> {
    parse(name, &fetch_secrets(client, name).await?)
}

/// The secrets at `name`, or none if the parameter does not exist.
pub async fn load_if_any(client: &Client, name: &str) -> Result<Option<Secrets>, PortError> {
    fetch_if_any(client, name)
        .await?
        .map(|stored| parse(name, &stored))
        .transpose()
}

fn parse(name: &str, stored: &StoredSecrets) -> Result<Secrets, PortError> {
    // Only the position: serde_json's message can quote a value.
    serde_json::from_str(stored.value.expose()).map_err(|e| {
        PortError::new(
            "parse secrets",
            format!(
                "{name}: not valid secrets JSON (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })
}
