//! The push URL's check: a GET signed as WeChat's URL verification signs it, answered with
//! the echostr within WeChat's limit, on a port WeChat pushes to.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kefu::protocol::{Signature, Token};

use super::check::{Check, Status};
use crate::text::{one_line, root_cause};

/// WeChat gives the push URL this long to answer.
const WECHAT_TIMEOUT: Duration = Duration::from_secs(5);

/// A GET signed as WeChat signs its URL verification, with a fresh timestamp, nonce and
/// echostr: the answer must be the echostr, within WeChat's 5 s.
pub(super) async fn check_push_url(url: &str, token: &Token) -> Check {
    let name = "push URL";
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
        .to_string();
    let (nonce, echostr) = match (random_digits(9), random_digits(19)) {
        (Ok(nonce), Ok(echostr)) => (nonce, echostr),
        (Err(err), _) | (_, Err(err)) => return Check::new(name, Status::Fail, err),
    };
    let signature = Signature::of_url(token, &timestamp, &nonce).to_hex();
    let http = match kefu::tls::http_client_builder()
        .timeout(WECHAT_TIMEOUT)
        .build()
    {
        Ok(http) => http,
        Err(err) => return Check::new(name, Status::Fail, err.to_string()),
    };
    let started = Instant::now();
    let answer = http
        .get(url)
        .query(&[
            ("signature", signature.as_str()),
            ("timestamp", timestamp.as_str()),
            ("nonce", nonce.as_str()),
            ("echostr", echostr.as_str()),
        ])
        .send()
        .await;
    let response = match answer {
        Ok(response) => response,
        Err(err) if err.is_timeout() => {
            return Check::new(
                name,
                Status::Fail,
                format!(
                    "{url}: no answer within {} s, WeChat's limit",
                    WECHAT_TIMEOUT.as_secs()
                ),
            );
        }
        Err(err) => {
            return Check::new(
                name,
                Status::Fail,
                format!(
                    "{url} could not be reached ({})",
                    root_cause(&err.without_url())
                ),
            );
        }
    };
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    let ms = started.elapsed().as_millis();
    let said = one_line(&body, 120);
    match status {
        200 if body == echostr => {
            let mut detail = format!(
                "{url} answered the signed GET with its echostr in {ms} ms (WeChat's verification passes)"
            );
            match wechat_port_problem(url) {
                Some(problem) => {
                    detail.push_str("; but ");
                    detail.push_str(&problem);
                    Check::new(name, Status::Warn, detail)
                }
                None => Check::new(name, Status::Ok, detail),
            }
        }
        200 => Check::new(
            name,
            Status::Fail,
            format!(
                "{url} answered 200 but not with the echostr ({said:?}): WeChat's verification would fail"
            ),
        ),
        403 if body.contains("signature") => Check::new(
            name,
            Status::Fail,
            format!(
                "{url} refused the signed GET: HTTP 403 {said} — the deployment's Token is not the token in the secrets"
            ),
        ),
        404 => Check::new(
            name,
            Status::Fail,
            format!(
                "{url}: HTTP 404, no push endpoint at this path (the stack's PushUrl output ends with its PushPath)"
            ),
        ),
        _ => Check::new(
            name,
            Status::Fail,
            format!("{url} answered the signed GET with HTTP {status} {said}"),
        ),
    }
}

/// WeChat pushes only to ports 80 and 443.
fn wechat_port_problem(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let port = host.rsplit_once(':').map(|(_, port)| port)?;
    (port != "80" && port != "443")
        .then(|| format!("WeChat pushes only to ports 80 and 443, and this URL has port {port}"))
}

/// `len` random decimal digits (the first not 0).
fn random_digits(len: usize) -> Result<String, String> {
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).map_err(|e| format!("no randomness from the OS: {e}"))?;
    Ok(bytes
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let digit = if i == 0 { 1 + b % 9 } else { b % 10 };
            char::from(b'0' + digit)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ports_80_and_443_take_pushes() {
        assert_eq!(wechat_port_problem("https://x.example.com/wechat"), None);
        assert_eq!(wechat_port_problem("http://x.example.com:80/wechat"), None);
        assert!(wechat_port_problem("http://127.0.0.1:8080/wechat").is_some());
    }
}
