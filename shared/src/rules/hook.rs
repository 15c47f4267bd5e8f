//! A hook: an action answered by the team's own system. kefu calls an HTTPS endpoint or a Lambda
//! function with the message and sends what it answers (`{"reply": [...]}`), or the hook's
//! `fallback` when it fails. Here: what a rule writes, and what makes it valid. The call, and
//! keeping its answer, is the send core's (`send::hook`); the wire format of the request and
//! the answer is `policy::hook`'s.
//!
//! ```json
//! {"hook": {"url": "https://orders.example.com/kefu", "timeout_ms": 4000,
//!           "fallback": [{"type": "text", "content": "查询繁忙，请稍后再试"}]}}
//! ```

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::model::{ReplyMessage, validate_replies};

/// How long a hook is waited for when its `timeout_ms` is not written.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(4000);
/// The shortest `timeout_ms` a hook may ask for.
pub const MIN_TIMEOUT_MS: u64 = 100;
/// The longest: the reply function (30 s) keeps 16 s for the sends after it.
pub const MAX_TIMEOUT_MS: u64 = 10_000;

/// A rule's (or a FAQ entry's) call to the team's own system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hook {
    /// An HTTPS endpoint (`https://…`; `http://` only on loopback, for local development)
    /// that kefu POSTs the request to, signed. Either `url` or `lambda`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The ARN of a Lambda function kefu invokes synchronously (it must be among the
    /// deployment's `HookFunctionArns`). Either `url` or `lambda`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda: Option<String>,
    /// How long to wait for the answer, 100 to 10000 ms (4000 when absent); cut to what the
    /// reply function's deadline leaves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 100, max = 10000))]
    pub timeout_ms: Option<u64>,
    /// What is sent when the hook fails (an error, a timeout, an answer kefu cannot send):
    /// 1–5 messages. Absent: the set's default reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Vec<ReplyMessage>>,
}

/// Where a hook is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookTarget<'h> {
    Url(&'h str),
    Lambda(&'h str),
}

impl Hook {
    /// The endpoint or function called (a valid hook has exactly one).
    pub fn target(&self) -> Option<HookTarget<'_>> {
        match (&self.url, &self.lambda) {
            (Some(url), None) => Some(HookTarget::Url(url)),
            (None, Some(arn)) => Some(HookTarget::Lambda(arn)),
            _ => None,
        }
    }

    /// How long the hook is waited for, as written (the deadline may cut it).
    pub fn timeout(&self) -> Duration {
        self.timeout_ms
            .map_or(DEFAULT_TIMEOUT, Duration::from_millis)
    }

    /// Checks the target, the timeout and the fallback.
    pub fn validate(&self) -> Result<(), String> {
        match (&self.url, &self.lambda) {
            (Some(url), None) => check_url(url).map_err(|p| format!("hook.url: {p}"))?,
            (None, Some(arn)) => check_arn(arn).map_err(|p| format!("hook.lambda: {p}"))?,
            (Some(_), Some(_)) => return Err("hook has both url and lambda: write one".into()),
            (None, None) => return Err("hook needs a url or a lambda".into()),
        }
        if let Some(ms) = self.timeout_ms
            && !(MIN_TIMEOUT_MS..=MAX_TIMEOUT_MS).contains(&ms)
        {
            return Err(format!(
                "hook.timeout_ms is {ms}; it must be {MIN_TIMEOUT_MS} to {MAX_TIMEOUT_MS}"
            ));
        }
        if let Some(fallback) = &self.fallback {
            validate_replies(fallback).map_err(|p| format!("hook.fallback: {p}"))?;
        }
        Ok(())
    }
}

/// The host of an `http(s)://` URL, checked: no user or password in it (a secret in a URL ends
/// up in logs), no whitespace, a host present. Returns (scheme is https, host).
fn url_host(url: &str) -> Result<(bool, &str), String> {
    let (https, rest) = if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err("must start with https://".into());
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("has a space or control character in it".into());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("must not carry a user or password (the request is signed instead)".into());
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        return Err("has no host".into());
    }
    let port = if authority.starts_with('[') {
        authority.rsplit_once("]:").map(|(_, port)| port)
    } else {
        authority.split_once(':').map(|(_, port)| port)
    };
    if let Some(port) = port
        && port.parse::<u16>().is_err()
    {
        return Err(format!("port {port:?} is not a port number"));
    }
    Ok((https, host))
}

/// Whether `host` is this machine (where plain http is allowed, for `kefu dev` and tests).
pub fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host == "::1"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A hook URL: https, or http on loopback only.
pub fn check_url(url: &str) -> Result<(), String> {
    let (https, host) = url_host(url)?;
    if !https && !is_loopback(host) {
        return Err(format!(
            "{url:?} is plain http: a hook is called over https (http only on localhost)"
        ));
    }
    Ok(())
}

/// A Lambda function ARN: `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]` (or the
/// aws-cn / aws-us-gov partitions).
pub fn check_arn(arn: &str) -> Result<(), String> {
    let bad = || {
        Err(format!(
            "{arn:?} is not a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME)"
        ))
    };
    let parts: Vec<&str> = arn.split(':').collect();
    let [
        "arn",
        partition,
        "lambda",
        region,
        account,
        "function",
        name,
        qualifier @ ..,
    ] = parts.as_slice()
    else {
        return bad();
    };
    let word = |s: &str| {
        !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if !matches!(*partition, "aws" | "aws-cn" | "aws-us-gov")
        || !word(region)
        || account.len() != 12
        || !account.chars().all(|c| c.is_ascii_digit())
        || !word(name)
        || qualifier.len() > 1
        || qualifier.iter().any(|q| !word(q))
    {
        return bad();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::rules::RuleSet;

    fn problem(hook: &str) -> String {
        let json = format!(
            r#"{{"rules":[{{"name":"order","match":{{"contains":"订单"}},"action":{{"hook":{hook}}}}}]}}"#
        );
        RuleSet::from_json(&json).unwrap_err().to_string()
    }

    fn valid(hook: &str) -> Hook {
        let json = format!(
            r#"{{"rules":[{{"name":"order","match":{{"contains":"订单"}},"action":{{"hook":{hook}}}}}]}}"#
        );
        let set = RuleSet::from_json(&json).unwrap();
        let crate::rules::Action::Hook(hook) = &set.rules[0].action else {
            panic!("a hook")
        };
        (**hook).clone()
    }

    #[test]
    fn a_hook_is_written_with_a_url_or_a_lambda_and_reads_back_the_same() {
        let hook = valid(
            r#"{"url":"https://orders.example.com/kefu","timeout_ms":2500,"fallback":[{"type":"text","content":"稍后再试"}]}"#,
        );
        assert_eq!(
            hook.target(),
            Some(HookTarget::Url("https://orders.example.com/kefu"))
        );
        assert_eq!(hook.timeout(), Duration::from_millis(2500));
        let hook =
            valid(r#"{"lambda":"arn:aws:lambda:ap-east-1:123456789012:function:orders:live"}"#);
        assert_eq!(hook.timeout(), DEFAULT_TIMEOUT);
        assert!(hook.fallback.is_none());
        let json = r#"{"rules":[{"name":"o","match":{"exact":"a"},"action":{"hook":{"url":"http://127.0.0.1:8080/h","timeout_ms":100}}}]}"#;
        let written = serde_json::to_value(RuleSet::from_json(json).unwrap()).unwrap();
        assert_eq!(
            written,
            serde_json::from_str::<serde_json::Value>(json).unwrap()
        );
    }

    #[test]
    fn bad_hooks_are_refused_with_the_reason() {
        assert_eq!(
            problem(r#"{"url":"http://orders.example.com/kefu"}"#),
            "rules[0] (order): hook.url: \"http://orders.example.com/kefu\" is plain http: a hook is called over https (http only on localhost)"
        );
        assert!(valid(r#"{"url":"http://localhost:9000/"}"#).url.is_some());
        assert!(valid(r#"{"url":"http://[::1]:9000/"}"#).url.is_some());
        assert!(problem(r#"{"url":"ftp://x"}"#).ends_with("hook.url: must start with https://"));
        assert!(problem(r#"{"url":"https://"}"#).ends_with("has no host"));
        assert!(problem(r#"{"url":"https://user:pw@example.com/"}"#).contains("user or password"));
        assert!(problem(r#"{"url":"https://example.com:99999/"}"#).contains("not a port"));
        assert!(problem(r#"{"url":"https://exa mple.com/"}"#).contains("space"));
        assert!(
            problem(r#"{"lambda":"arn:aws:lambda:us-east-1:1234:function:f"}"#)
                .contains("is not a Lambda function ARN")
        );
        assert!(
            problem(r#"{"lambda":"arn:aws:s3:::bucket"}"#).contains("is not a Lambda function ARN")
        );
        assert_eq!(
            problem(
                r#"{"url":"https://a.example","lambda":"arn:aws:lambda:us-east-1:123456789012:function:f"}"#
            ),
            "rules[0] (order): hook has both url and lambda: write one"
        );
        assert_eq!(
            problem(r#"{"timeout_ms":1000}"#),
            "rules[0] (order): hook needs a url or a lambda"
        );
        assert_eq!(
            problem(r#"{"url":"https://a.example","timeout_ms":60000}"#),
            "rules[0] (order): hook.timeout_ms is 60000; it must be 100 to 10000"
        );
        assert_eq!(
            problem(r#"{"url":"https://a.example","timeout_ms":50}"#),
            "rules[0] (order): hook.timeout_ms is 50; it must be 100 to 10000"
        );
        assert_eq!(
            problem(r#"{"url":"https://a.example","fallback":[]}"#),
            "rules[0] (order): hook.fallback: reply has 0 messages; it must have 1 to 5"
        );
        assert!(
            problem(
                r#"{"url":"https://a.example","fallback":[{"type":"text","content":"{nick}"}]}"#
            )
            .contains("hook.fallback: reply[0]: unknown placeholder {nick}")
        );
        assert!(
            problem(r#"{"url":"https://a.example","retries":2}"#)
                .contains("unknown field `retries`")
        );
    }

    #[test]
    fn loopback_is_localhost_127_and_v6_one() {
        for host in ["localhost", "127.0.0.1", "127.1.2.3", "::1"] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "10.0.0.1",
            "example.com",
            "localhost.example.com",
            "0.0.0.0",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
