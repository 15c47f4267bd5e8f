//! The SDK configuration of a Lambda function, from its environment alone: the region, the
//! role's credentials and the endpoints Lambda (or a test) sets there. `aws_config`'s loader
//! would also look in profile files, SSO, web identity (STS), ECS and the instance metadata
//! service, none of which a function uses; its code stays in the binary even when a
//! credentials provider is given (the loader decides at run time), so the functions build
//! their configuration here and the CLI keeps the loader and its profiles (`AwsArgs::connect`).

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::identity::IdentityCache;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

/// The configuration a function runs with: `AWS_REGION` (or `AWS_DEFAULT_REGION`), the
/// credentials in `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, and
/// `AWS_ENDPOINT_URL` or `AWS_ENDPOINT_URL_<SERVICE>` when set (moto, a counting proxy).
/// Retries are the SDK's standard ones, as the loader's default. The loader's other settings
/// (`AWS_MAX_ATTEMPTS`, `AWS_USE_FIPS_ENDPOINT`, profiles…) are not read: the template sets none.
pub(crate) fn sdk_config(http_client: SharedHttpClient) -> SdkConfig {
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .credentials_provider(SharedCredentialsProvider::new(
            EnvironmentVariableCredentialsProvider::new(),
        ))
        .identity_cache(IdentityCache::lazy().build())
        .retry_config(RetryConfig::standard())
        .http_client(http_client)
        .service_config(Environment);
    config.set_region(
        var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .map(Region::new),
    );
    config.set_endpoint_url(var("AWS_ENDPOINT_URL"));
    config.build()
}

/// A variable's value, if set and not empty.
fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// Per-service settings from the environment, as the loader reads them without profiles:
/// `AWS_ENDPOINT_URL_DYNAMODB` before `AWS_ENDPOINT_URL`.
#[derive(Debug)]
struct Environment;

impl LoadServiceConfig for Environment {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        service_setting(&key, var)
    }
}

/// `key`'s setting for its service (`<env>_<SERVICE ID>`), else for every service (`<env>`).
fn service_setting(
    key: &ServiceConfigKey<'_>,
    var: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    let service = key.service_id().to_ascii_uppercase().replace(' ', "_");
    var(&format!("{}_{service}", key.env())).or_else(|| var(key.env()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_reads_its_own_variable_first() {
        let key = |service| {
            ServiceConfigKey::builder()
                .service_id(service)
                .env("AWS_ENDPOINT_URL")
                .profile("endpoint_url")
                .build()
                .expect("every field set")
        };
        let environment = |name: &str| match name {
            "AWS_ENDPOINT_URL" => Some("http://all".to_owned()),
            "AWS_ENDPOINT_URL_DYNAMODB" => Some("http://dynamodb".to_owned()),
            "AWS_ENDPOINT_URL_EVENTBRIDGE" => Some("http://events".to_owned()),
            _ => None,
        };
        let setting = |service| service_setting(&key(service), environment);
        assert_eq!(setting("DynamoDB").as_deref(), Some("http://dynamodb"));
        assert_eq!(setting("EventBridge").as_deref(), Some("http://events"));
        assert_eq!(setting("SQS").as_deref(), Some("http://all"));
        assert_eq!(service_setting(&key("SQS"), |_| None), None);
    }
}
