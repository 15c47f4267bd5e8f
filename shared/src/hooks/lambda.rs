//! A Lambda hook: the synchronous Invoke call (`POST /2015-03-31/functions/{ARN}/invocations`,
//! `X-Amz-Invocation-Type: RequestResponse`), signed with SigV4 by the SDK's own signer and the
//! function's credentials, sent with the hooks' reqwest client (redirects not followed, the
//! answer read up to `MAX_ANSWER_BYTES`). A function that fails (`X-Amz-Function-Error`) is a
//! failed hook. Done by hand rather than with the Lambda SDK crate: one call, and the signer,
//! the credentials and the HTTP client are all in the binary already (docs/dependencies.md).

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

use crate::ports::HookFailure;

/// Invokes Lambda hooks with the deployment's credentials.
#[derive(Debug, Clone)]
pub struct LambdaInvoker {
    credentials: SharedCredentialsProvider,
    /// Where the Lambda API is, instead of the function's region's endpoint (a local stand-in,
    /// `AWS_ENDPOINT_URL_LAMBDA`).
    endpoint: Option<String>,
}

impl LambdaInvoker {
    pub fn new(credentials: SharedCredentialsProvider, endpoint: Option<String>) -> Self {
        Self {
            credentials,
            endpoint: endpoint.map(|e| e.trim_end_matches('/').to_owned()),
        }
    }

    /// Invokes the function `arn` with `body`, waiting at most `wait`; the answer's payload.
    pub(super) async fn invoke(
        &self,
        http: &reqwest::Client,
        arn: &str,
        body: &[u8],
        wait: Duration,
    ) -> Result<Vec<u8>, HookFailure> {
        let (partition, region) = partition_and_region(arn)
            .ok_or_else(|| HookFailure::Call("not a Lambda function ARN".into()))?;
        let base = match &self.endpoint {
            Some(endpoint) => endpoint.clone(),
            None if partition == "aws-cn" => format!("https://lambda.{region}.amazonaws.com.cn"),
            None => format!("https://lambda.{region}.amazonaws.com"),
        };
        // The ARN is one path segment: its colons percent-encoded, as the SDK writes it.
        let url = format!(
            "{base}/2015-03-31/functions/{}/invocations",
            arn.replace(':', "%3A")
        );
        let credentials =
            self.credentials.provide_credentials().await.map_err(|e| {
                HookFailure::Call(format!("no AWS credentials to invoke with: {e}"))
            })?;
        let identity: Identity = credentials.into();
        let headers = [
            ("content-type", "application/json"),
            ("x-amz-invocation-type", "RequestResponse"),
        ];
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(region)
            .name("lambda")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| HookFailure::Call(format!("signing the invoke: {e}")))?
            .into();
        let signable = SignableRequest::new(
            "POST",
            &url,
            headers.iter().copied(),
            SignableBody::Bytes(body),
        )
        .map_err(|e| HookFailure::Call(format!("signing the invoke: {e}")))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| HookFailure::Call(format!("signing the invoke: {e}")))?
            .into_parts();
        let mut request = http.post(&url).timeout(wait).body(body.to_vec());
        for (name, value) in headers.iter().copied().chain(instructions.headers()) {
            request = request.header(name, value);
        }
        let response = request.send().await.map_err(|e| super::failure(&e, wait))?;
        let status = response.status();
        if !status.is_success() {
            return Err(HookFailure::Status(status.as_u16()));
        }
        if let Some(error) = response.headers().get("x-amz-function-error") {
            return Err(HookFailure::Call(format!(
                "the function failed ({})",
                error.to_str().unwrap_or("error")
            )));
        }
        super::read_bounded(response, wait).await
    }
}

/// The partition and region of a function ARN.
fn partition_and_region(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.split(':');
    let (Some("arn"), Some(partition), Some("lambda"), Some(region)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    Some((partition, region))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_region_is_the_functions() {
        assert_eq!(
            partition_and_region("arn:aws:lambda:ap-east-1:123456789012:function:orders"),
            Some(("aws", "ap-east-1"))
        );
        assert_eq!(
            partition_and_region("arn:aws-cn:lambda:cn-north-1:123456789012:function:f:live"),
            Some(("aws-cn", "cn-north-1"))
        );
        assert_eq!(partition_and_region("arn:aws:s3:::bucket"), None);
    }
}
