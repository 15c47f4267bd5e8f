//! The access_token's check: a fetch from `stable_token` without `force_refresh` (the
//! deployment's own token is neither replaced nor cut short), and WeChat's errcodes told in
//! words, the API IP whitelist above all.

use std::time::Duration;

use kefu::ports::WeChatApi as _;
use kefu::secret::SecretString;
use kefu::wechat_api::WeChatClient;
use kefu::wechat_types::{ApiError, TokenKind};

use super::check::{Check, SETTINGS, Status};
use crate::text::one_line;

/// How long the token fetch may take.
const API_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) async fn check_token(
    base: &str,
    appid: &str,
    secret: SecretString,
    parameter: &str,
) -> Check {
    let name = "access_token";
    let client = match WeChatClient::new(base, appid, secret, API_TIMEOUT) {
        Ok(client) => client,
        Err(err) => return Check::new(name, Status::Fail, err.to_string()),
    };
    match client.fetch_token(TokenKind::Stable, false).await {
        Ok(fetched) => Check::new(
            name,
            Status::Ok,
            format!(
                "fetched from {base} (stable_token, valid {} s more; the deployment's token is not replaced)",
                fetched.expires_in
            ),
        ),
        Err(err) => Check::new(
            name,
            Status::Fail,
            explain_api_error(&err, base, appid, parameter),
        ),
    }
}

/// A failed token fetch in words: what it means and where to fix it.
fn explain_api_error(err: &ApiError, base: &str, appid: &str, parameter: &str) -> String {
    let ApiError::Errcode { code, message } = err else {
        return match err {
            ApiError::Unreached(reason) => format!("{base} could not be reached: {reason}"),
            ApiError::Http(status) => format!("{base} answered HTTP {status}"),
            other => format!("{base}: {other}"),
        };
    };
    let said = one_line(message, 160);
    match code {
        40164 => {
            let ip = whitelist_ip(message).unwrap_or("(not named)");
            format!(
                "WeChat refuses API calls from this machine's address {ip}: the API IP whitelist is on \
                 (errcode 40164: {said}). Add {ip} in {SETTINGS} → IP白名单 — in production it is the \
                 reply function's outbound (NAT) address that must be listed — or turn the whitelist off"
            )
        }
        40125 => format!(
            "WeChat rejects the AppSecret (errcode 40125: {said}): app_secret in {parameter} is not \
             the current AppSecret of {appid}; copy it from {SETTINGS} (resetting it there invalidates the old one)"
        ),
        40013 => format!(
            "WeChat does not know the AppID {appid} (errcode 40013: {said}): check KEFU_APPID / --appid \
             against {SETTINGS}"
        ),
        40001 => format!(
            "the AppSecret does not belong to {appid} (errcode 40001: {said}): check app_secret in {parameter}"
        ),
        41002 | 41004 => {
            format!("WeChat says the AppID or AppSecret is missing (errcode {code}: {said})")
        }
        -1 => format!("WeChat is busy (errcode -1: {said}): try again in a moment"),
        45009 | 45011 => {
            format!("WeChat's token quota is used up (errcode {code}: {said}): try again later")
        }
        _ => format!("WeChat answered errcode {code}: {said}"),
    }
}

/// The caller's address in WeChat's 40164 message: `invalid ip 1.2.3.4 ipv6 ::ffff:1.2.3.4, not
/// in whitelist rid: …`.
fn whitelist_ip(message: &str) -> Option<&str> {
    let rest = message.split("invalid ip ").nth(1)?;
    let ip = rest.split([' ', ',']).next()?;
    (!ip.is_empty()
        && ip
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == '.' || c == ':'))
    .then_some(ip)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kefu::wechat_api::DEFAULT_BASE_URL;

    #[test]
    fn the_whitelist_refusal_names_the_address_wechat_saw() {
        let err = ApiError::Errcode {
            code: 40164,
            message: "invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist rid: 6650e1c7-1a2b"
                .into(),
        };
        let told = explain_api_error(
            &err,
            DEFAULT_BASE_URL,
            "wx5ea1c0de5ea1c0de",
            "/kefu/secrets",
        );
        assert!(
            told.starts_with("WeChat refuses API calls from this machine's address 203.0.113.7: the API IP whitelist is on"),
            "{told}"
        );
        assert!(told.contains("IP白名单"), "{told}");
        for (code, says) in [
            (40125, "WeChat rejects the AppSecret"),
            (40013, "WeChat does not know the AppID wx5ea1c0de5ea1c0de"),
        ] {
            let err = ApiError::Errcode {
                code,
                message: "invalid rid: x".into(),
            };
            let told = explain_api_error(
                &err,
                DEFAULT_BASE_URL,
                "wx5ea1c0de5ea1c0de",
                "/kefu/secrets",
            );
            assert!(told.starts_with(says), "{told}");
        }
    }
}
