//! The `WeChatApi` adapter: the reqwest (rustls) client for access tokens, custom/send, typing
//! and media upload. It speaks `wechat_types`.
//!
//! The base URL is configurable (`WECHAT_API_BASE`), so the same client talks to
//! api.weixin.qq.com in production and to the project's sandbox in tests and `kefu dev`. The
//! access_token travels in the query string, so no URL is ever logged or put in an error.
//!
//! WeChat documents a backup domain for when api.weixin.qq.com cannot be reached
//! (通用异地容灾域名 api2.weixin.qq.com, in 接口域名说明; docs/reliability.md cites it): a call whose connection
//! failed — so it never reached WeChat — is tried there once. Never a call that may have been
//! delivered: custom/send has no idempotency key.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use crate::ports::WeChatApi;
use crate::protocol::OpenId;
use crate::secret::SecretString;
use crate::wechat_types::{AccessToken, ApiError, FetchedToken, Outbound, TokenKind};

/// WeChat's production API.
pub const DEFAULT_BASE_URL: &str = "https://api.weixin.qq.com";
/// WeChat's backup domain for the production API (通用异地容灾域名).
pub const BACKUP_BASE_URL: &str = "https://api2.weixin.qq.com";

/// The HTTP client, built once per cold start.
#[derive(Debug, Clone)]
pub struct WeChatClient {
    http: reqwest::Client,
    base: String,
    /// Where a call that could not connect to `base` is tried once more.
    backup: Option<String>,
    appid: String,
    secret: SecretString,
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    expires_in: Option<i64>,
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

#[derive(Deserialize)]
struct UploadAnswer {
    media_id: Option<String>,
    #[serde(default)]
    errcode: i64,
    #[serde(default)]
    errmsg: String,
}

impl WeChatClient {
    /// `timeout` bounds each call, connection included: a slow WeChat must not eat the
    /// function's whole time budget.
    pub fn new(
        base_url: &str,
        appid: &str,
        app_secret: SecretString,
        timeout: Duration,
    ) -> Result<Self, ApiError> {
        let http = crate::tls::http_client_builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(3)))
            .build()
            .map_err(transport)?;
        let base = base_url.trim_end_matches('/').to_owned();
        let backup = (base == DEFAULT_BASE_URL).then(|| BACKUP_BASE_URL.to_owned());
        Ok(Self {
            http,
            base,
            backup,
            appid: appid.to_owned(),
            secret: app_secret,
        })
    }

    /// Tries calls that could not connect to the base URL once more at `base_url`.
    pub fn with_backup(mut self, base_url: &str) -> Self {
        self.backup = Some(base_url.trim_end_matches('/').to_owned());
        self
    }

    /// Sends the request `build` makes for a base URL; if no connection could be made (the
    /// request never left), sends it once to the backup.
    async fn call(
        &self,
        build: impl Fn(&str) -> Result<reqwest::RequestBuilder, ApiError>,
    ) -> Result<reqwest::Response, ApiError> {
        match build(&self.base)?.send().await {
            Err(err) if err.is_connect() => match &self.backup {
                Some(backup) => {
                    tracing::warn!(reason = %transport(err), "WeChat API unreachable; trying its backup domain once");
                    build(backup)?.send().await.map_err(transport)
                }
                None => Err(transport(err)),
            },
            other => other.map_err(transport),
        }
    }

    async fn status_call(
        &self,
        build: impl Fn(&str) -> Result<reqwest::RequestBuilder, ApiError>,
    ) -> Result<(), ApiError> {
        let status: Status = read_json(self.call(build).await?).await?;
        match status.errcode {
            0 => Ok(()),
            code => Err(ApiError::Errcode {
                code,
                message: status.errmsg,
            }),
        }
    }
}

/// Strips the URL (and with it the access_token) from a transport error, and tells whether
/// the request can have reached WeChat: only a failed connection proves it did not.
fn transport(err: reqwest::Error) -> ApiError {
    let unreached = err.is_connect();
    let reason = if err.is_timeout() {
        "timed out".to_owned()
    } else {
        err.without_url().to_string()
    };
    if unreached {
        ApiError::Unreached(reason)
    } else {
        ApiError::NoAnswer(reason)
    }
}

async fn read_json<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
) -> Result<T, ApiError> {
    let status = response.status();
    if !status.is_success() {
        return Err(ApiError::Http(status.as_u16()));
    }
    let bytes = response.bytes().await.map_err(transport)?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::Malformed(e.to_string()))
}

#[async_trait]
impl WeChatApi for WeChatClient {
    async fn fetch_token(
        &self,
        kind: TokenKind,
        force_refresh: bool,
    ) -> Result<FetchedToken, ApiError> {
        let build = |base: &str| {
            Ok(match kind {
                TokenKind::Stable => self.http.post(format!("{base}/cgi-bin/stable_token")).json(
                    &serde_json::json!({
                        "grant_type": "client_credential",
                        "appid": self.appid,
                        "secret": self.secret.expose(),
                        "force_refresh": force_refresh,
                    }),
                ),
                TokenKind::Plain => self.http.get(format!("{base}/cgi-bin/token")).query(&[
                    ("grant_type", "client_credential"),
                    ("appid", self.appid.as_str()),
                    ("secret", self.secret.expose()),
                ]),
            })
        };
        let answer: TokenAnswer = read_json(self.call(build).await?).await?;
        match (answer.errcode, answer.access_token, answer.expires_in) {
            (0, Some(token), Some(expires_in)) if !token.is_empty() => Ok(FetchedToken {
                token: AccessToken::new(token),
                expires_in,
            }),
            (0, _, _) => Err(ApiError::Malformed(
                "token answer without access_token".into(),
            )),
            (code, _, _) => Err(ApiError::Errcode {
                code,
                message: answer.errmsg,
            }),
        }
    }

    async fn send(&self, token: &AccessToken, message: &Outbound) -> Result<(), ApiError> {
        self.status_call(|base| {
            Ok(self
                .http
                .post(format!("{base}/cgi-bin/message/custom/send"))
                .query(&[("access_token", token.expose())])
                .json(message))
        })
        .await
    }

    async fn typing(&self, token: &AccessToken, openid: &OpenId) -> Result<(), ApiError> {
        self.status_call(|base| {
            Ok(self
                .http
                .post(format!("{base}/cgi-bin/message/custom/typing"))
                .query(&[("access_token", token.expose())])
                .json(&serde_json::json!({"touser": openid, "command": "Typing"})))
        })
        .await
    }

    async fn upload_image(
        &self,
        token: &AccessToken,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<String, ApiError> {
        let build = |base: &str| {
            // A form is sent once; the backup (rarely) needs a second one.
            let part = reqwest::multipart::Part::bytes(bytes.clone())
                .file_name(file_name.to_owned())
                .mime_str(mime_for(file_name))
                .map_err(transport)?;
            let form = reqwest::multipart::Form::new().part("media", part);
            Ok(self
                .http
                .post(format!("{base}/cgi-bin/media/upload"))
                .query(&[("access_token", token.expose()), ("type", "image")])
                .multipart(form))
        };
        let answer: UploadAnswer = read_json(self.call(build).await?).await?;
        match (answer.errcode, answer.media_id) {
            (0, Some(media_id)) if !media_id.is_empty() => Ok(media_id),
            (0, _) => Err(ApiError::Malformed("upload answer without media_id".into())),
            (code, _) => Err(ApiError::Errcode {
                code,
                message: answer.errmsg,
            }),
        }
    }
}

fn mime_for(file_name: &str) -> &'static str {
    let lower = file_name.to_ascii_lowercase();
    if lower.ends_with(".png") {
        "image/png"
    } else if lower.ends_with(".gif") {
        "image/gif"
    } else {
        "image/jpeg"
    }
}
