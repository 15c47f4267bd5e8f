//! How the commands that use AWS (`kefu dev --aws`, `kefu rules diff|push|pull`, `kefu apps`,
//! `kefu report --table`, `kefu doctor`) connect: the usual configuration chain, with
//! `--profile` and `--region` on top, and AWS errors told in one line instead of the SDK's
//! debug dump. The common failures — no credentials, no region, nothing at the endpoint,
//! expired or unknown credentials, an action denied — are told as what is missing and the flag
//! or variable that gives it ([`explain`]).

use std::sync::OnceLock;

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
        // The machine's own roots as well as Amazon's: a proxy or a local endpoint it trusts.
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(
            kefu::tls::aws_http_client(kefu::tls::AwsRoots::AmazonAndSystem),
        );
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(region) = &self.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        let config = loader.load().await;
        let _ = CONNECTION.set(Connection {
            profile: self
                .profile
                .clone()
                .or_else(|| std::env::var("AWS_PROFILE").ok())
                .filter(|p| !p.trim().is_empty()),
            region: config.region().map(ToString::to_string),
            endpoint: config.endpoint_url().map(str::to_owned),
        });
        Aws::from_config(&config)
    }
}

/// Where the AWS calls of this run go, kept by [`AwsArgs::connect`] to tell a failure with.
#[derive(Debug, Clone, Default)]
struct Connection {
    profile: Option<String>,
    region: Option<String>,
    endpoint: Option<String>,
}

static CONNECTION: OnceLock<Connection> = OnceLock::new();

/// A common AWS failure in words: what is missing and how to give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trouble {
    /// One line, with the fix.
    pub told: String,
    /// Every AWS call fails alike (credentials, region, endpoint), not just this one (an
    /// action denied): `kefu doctor` says it once.
    pub everywhere: bool,
}

/// `message` (an error's text, its SDK dump condensed) with a common AWS failure told as what
/// is missing and how to give it; other text as [`condense`] leaves it. What precedes the SDK's
/// part (`read rules: `) is kept.
pub fn tell(message: &str) -> String {
    let condensed = condense(message);
    match explain(&condensed) {
        Some(trouble) => {
            let head = SDK_MARKERS
                .iter()
                .filter_map(|marker| condensed.find(marker))
                .min()
                .map_or("", |at| condensed.get(..at).unwrap_or_default());
            format!("{head}{}", trouble.told)
        }
        None => condensed,
    }
}

/// The common AWS failures, told with the fix; `None` for any other text.
pub fn explain(message: &str) -> Option<Trouble> {
    let connection = CONNECTION.get().cloned().unwrap_or_default();
    explain_with(message, &connection)
}

/// The SDK's words for a failed call: only text with one of them is an AWS failure (a refused
/// connection to a push URL is not).
const SDK_MARKERS: [&str; 3] = ["dispatch failure", "service error", "unhandled error"];

fn explain_with(message: &str, connection: &Connection) -> Option<Trouble> {
    if !SDK_MARKERS.iter().any(|marker| message.contains(marker)) {
        return None;
    }
    let lower = message.to_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| lower.contains(n));
    let everywhere = |told: String| {
        Some(Trouble {
            told,
            everywhere: true,
        })
    };
    let profile_flag = connection
        .profile
        .as_deref()
        .map(|p| format!(" --profile {p}"))
        .unwrap_or_default();
    let at = || match &connection.endpoint {
        Some(endpoint) => format!("{endpoint} ({})", endpoint_source(endpoint)),
        None => match &connection.region {
            Some(region) => format!("AWS in {region}"),
            None => "AWS".to_owned(),
        },
    };

    if has(&["missing region", "no region"]) {
        return everywhere(
            "no AWS region: give --region REGION, or AWS_REGION, or a region in the profile \
             (`aws configure`)"
                .to_owned(),
        );
    }
    if has(&[
        "expiredtoken",
        "token has expired",
        "token included in the request is expired",
        "session has expired",
        "token is expired",
    ]) || (lower.contains("credentials") && lower.contains("expired"))
    {
        return everywhere(format!(
            "the AWS credentials have expired: renew them (`aws sso login{profile_flag}`, or \
             fresh keys in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN) and run again"
        ));
    }
    if has(&[
        "no providers in chain provided credentials",
        "loading credentials",
        "credential provider was not enabled",
        "credentials provider was not enabled",
        "imds",
        "no credentials",
    ]) {
        return everywhere(match &connection.profile {
            Some(profile) => format!(
                "the AWS profile {profile:?} gives no credentials: set it up with `aws configure \
                 --profile {profile}` (or `aws sso login --profile {profile}`), or give another \
                 with --profile or AWS_PROFILE, or keys in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
            ),
            None => "no AWS credentials: give a profile (--profile NAME or AWS_PROFILE; `aws \
                     configure` or `aws sso login` sets one up) or keys (AWS_ACCESS_KEY_ID and \
                     AWS_SECRET_ACCESS_KEY); for a local stack, AWS_ENDPOINT_URL and any keys"
                .to_owned(),
        });
    }
    if has(&[
        "unrecognizedclient",
        "invalidclienttokenid",
        "security token included in the request is invalid",
        "signaturedoesnotmatch",
        "invalidsignatureexception",
    ]) {
        return everywhere(format!(
            "AWS does not accept these credentials (at {}): check AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY, or the profile's keys (--profile, AWS_PROFILE)",
            at()
        ));
    }
    if has(&["accessdenied", "not authorized to perform", "access denied"]) {
        let between = |start: &str, end: &[char]| {
            message
                .split_once(start)
                .map(|(_, rest)| rest.split(end).next().unwrap_or_default().to_owned())
                .filter(|found| !found.is_empty())
        };
        let action = between("perform: ", &[' ']);
        let resource = between("on resource: ", &[' ']);
        let who = message
            .split_once("User: ")
            .and_then(|(_, rest)| rest.split_once(" is not authorized"))
            .map(|(who, _)| who.to_owned());
        let told = match (action, resource) {
            (Some(action), Some(resource)) => format!(
                "AWS denies {action} on {resource}{}: allow it in that identity's IAM policy, or \
                 use a profile that has it (--profile)",
                who.map(|w| format!(" to {w}")).unwrap_or_default()
            ),
            (Some(action), None) => format!(
                "AWS denies {action}{}: allow it in that identity's IAM policy, or use a profile \
                 that has it (--profile)",
                who.map(|w| format!(" to {w}")).unwrap_or_default()
            ),
            _ => format!(
                "AWS denies the call ({}): allow it in the identity's IAM policy, or use a \
                 profile that has it (--profile)",
                message
                    .rsplit_once("): ")
                    .map_or(message, |(_, said)| said)
                    .trim()
            ),
        };
        return Some(Trouble {
            told,
            everywhere: false,
        });
    }
    if has(&["connection refused"]) {
        return everywhere(match &connection.endpoint {
            Some(endpoint) => format!(
                "nothing answers at {endpoint} ({}): start the local stack there, or unset \
                 AWS_ENDPOINT_URL to reach AWS itself",
                endpoint_source(endpoint)
            ),
            None => format!(
                "{} refused the connection: check the network and any proxy (HTTPS_PROXY), or \
                 set AWS_ENDPOINT_URL for a local stack",
                at()
            ),
        });
    }
    if has(&[
        "dns error",
        "failed to lookup address",
        "name or service not known",
    ]) {
        return everywhere(match &connection.endpoint {
            Some(endpoint) => format!(
                "{endpoint} ({}) cannot be found: its host name does not resolve",
                endpoint_source(endpoint)
            ),
            None => format!(
                "{} cannot be found: check the region (--region, AWS_REGION) and the network",
                at()
            ),
        });
    }
    if has(&["timed out", "dispatch failure: timeout"]) {
        return everywhere(format!(
            "no answer from {}: check the network and any proxy (HTTPS_PROXY){}",
            at(),
            if connection.endpoint.is_some() {
                ", or whether the local stack is up"
            } else {
                ""
            }
        ));
    }
    None
}

/// Which setting names `endpoint`: the variable, else the profile's `endpoint_url`.
fn endpoint_source(endpoint: &str) -> &'static str {
    let from_env = ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SSM"]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|v| v.trim() == endpoint));
    if from_env {
        "AWS_ENDPOINT_URL"
    } else {
        "the profile's endpoint_url"
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

    fn told(message: &str, connection: &Connection) -> Trouble {
        explain_with(&condense(message), connection)
            .unwrap_or_else(|| panic!("not explained: {message}"))
    }

    /// The failures AWS itself answers with, as the SDK renders them: these cannot be produced
    /// without an AWS account, so their text is kept here.
    #[test]
    fn refusals_by_aws_name_the_action_or_the_renewal() {
        let connection = Connection {
            profile: Some("dev".to_owned()),
            region: Some("ap-east-1".to_owned()),
            endpoint: None,
        };
        let denied = told(
            "read secrets: service error: unhandled error (AccessDeniedException): User: arn:aws:iam::123456789012:user/dev is not authorized to perform: ssm:GetParameter on resource: arn:aws:ssm:ap-east-1:123456789012:parameter/kefu/secrets/push because no identity-based policy allows the ssm:GetParameter action (ServiceError(ServiceError { source: Unhandled(Unhandled { source: ErrorMetadata { code: Some(\"AccessDeniedException\") } }) }))",
            &connection,
        );
        assert_eq!(
            denied.told,
            "AWS denies ssm:GetParameter on arn:aws:ssm:ap-east-1:123456789012:parameter/kefu/secrets/push to arn:aws:iam::123456789012:user/dev: allow it in that identity's IAM policy, or use a profile that has it (--profile)"
        );
        assert!(!denied.everywhere);

        for expired in [
            "read rules: service error: unhandled error (ExpiredTokenException): The security token included in the request is expired",
            "read rules: dispatch failure: other: an error occurred while loading credentials: the SSO token has expired",
        ] {
            let trouble = told(expired, &connection);
            assert!(trouble.everywhere);
            assert!(
                trouble.told.starts_with(
                    "the AWS credentials have expired: renew them (`aws sso login --profile dev`"
                ),
                "{}",
                trouble.told
            );
        }
        let unknown = told(
            "list apps: service error: unhandled error (UnrecognizedClientException): The security token included in the request is invalid.",
            &connection,
        );
        assert!(
            unknown
                .told
                .starts_with("AWS does not accept these credentials (at AWS in ap-east-1)"),
            "{}",
            unknown.told
        );
        assert_eq!(
            explain_with(
                "read secrets: service error: unhandled error (ThrottlingException): Rate exceeded",
                &connection
            ),
            None
        );
    }

    #[test]
    fn tell_keeps_what_precedes_the_sdk_text() {
        let _ = CONNECTION.set(Connection::default());
        assert_eq!(
            tell(
                "error: read rules: dispatch failure: other: Invalid Configuration: Missing Region"
            ),
            "error: read rules: no AWS region: give --region REGION, or AWS_REGION, or a region in the profile (`aws configure`)"
        );
        assert_eq!(tell("error: plain"), "error: plain");
        assert_eq!(
            tell("error: reaching kefu dev at http://127.0.0.1:9: Connection refused"),
            "error: reaching kefu dev at http://127.0.0.1:9: Connection refused",
            "not an AWS call"
        );
    }

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
