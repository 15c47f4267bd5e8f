//! How the commands that use AWS (`kefu dev --aws`, `kefu rules diff|push|pull`) connect:
//! the usual configuration chain, with `--profile` and `--region` on top, and AWS errors told
//! in one line (service, operation, code, message) instead of the SDK's debug dump.

use clap::Args;
use kefu::aws::Aws;

#[derive(Debug, Clone, Args)]
pub struct AwsArgs {
    /// The AWS profile (default: AWS_PROFILE, else the default profile).
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// The AWS region (default: AWS_REGION, else the profile's).
    #[arg(long, global = true)]
    pub region: Option<String>,
}

impl AwsArgs {
    pub async fn connect(&self) -> Aws {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &self.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        Aws::from_config(&loader.load().await)
    }
}

/// An error message with the SDK's debug dump (`… (DispatchFailure(DispatchFailure { source:
/// ConnectorError { …`, HTTP headers and all) cut off: what stays is the readable chain —
/// the operation, the error code and the service's message.
pub fn condense(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find(" (") {
        let (head, tail) = rest.split_at(at);
        out.push_str(head);
        let inner = tail.get(2..).unwrap_or_default();
        if is_debug_dump(inner) {
            // Skip to the matching close parenthesis.
            let mut depth = 1usize;
            let mut end = inner.len();
            for (i, c) in inner.char_indices() {
                match c {
                    '(' | '{' | '[' => depth += 1,
                    ')' | '}' | ']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            end = i + c.len_utf8();
                            break;
                        }
                    }
                    _ => {}
                }
            }
            rest = inner.get(end..).unwrap_or_default();
        } else {
            out.push_str(" (");
            rest = inner;
        }
    }
    out.push_str(rest);
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `DispatchFailure(…`, `ServiceError(ServiceError {…`, `ConnectorError {…`: a Rust
/// identifier followed by `(` or ` {`.
fn is_debug_dump(text: &str) -> bool {
    let ident_len = text
        .char_indices()
        .take_while(|(_, c)| c.is_ascii_alphanumeric() || *c == '_')
        .count();
    ident_len > 0
        && text.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && text
            .get(ident_len..)
            .is_some_and(|after| after.starts_with('(') || after.starts_with(" {"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdk_debug_dump_is_cut_and_the_message_kept() {
        let raw = "read rules: dispatch failure: io error: error trying to connect: tcp connect error: Connection refused (os error 111) (DispatchFailure(DispatchFailure { source: ConnectorError { kind: Io, source: hyper_util::client::legacy::Error(Connect, ConnectError(\"tcp connect error\", Os { code: 111, kind: ConnectionRefused, message: \"Connection refused\" })), connection: Unknown } }))";
        assert_eq!(
            condense(raw),
            "read rules: dispatch failure: io error: error trying to connect: tcp connect error: Connection refused (os error 111)"
        );
        let service = "read rules: service error: unhandled error (ParameterNotFound): Parameter /x not found. (ServiceError(ServiceError { source: ParameterNotFound(ParameterNotFound { message: Some(\"x\") }), raw: Response { status: StatusCode(400), headers: Headers { headers: {\"content-type\": HeaderValue { _private: H0(\"application/x-amz-json-1.1\") }} } } }))";
        assert_eq!(
            condense(service),
            "read rules: service error: unhandled error (ParameterNotFound): Parameter /x not found."
        );
        assert_eq!(
            condense("plain (not a dump) text"),
            "plain (not a dump) text"
        );
    }
}
