//! The WeChat sandbox: a local HTTP stand-in for the WeChat server API endpoints kefu uses,
//! enforcing WeChat's rules, recording what was sent, and injecting faults.
//!
//! It serves, under any base URL (point the client at `http://127.0.0.1:PORT` instead of
//! `https://api.weixin.qq.com`):
//!
//! | path | rules |
//! |---|---|
//! | `GET /cgi-bin/token` | appid/secret/grant_type; a new token per fetch, the previous one kept 5 min |
//! | `POST /cgi-bin/stable_token` | JSON only; same token until 5 min are left; `force_refresh` ≥ 30 s apart |
//! | `POST /cgi-bin/message/custom/send` | token; body as documented; media ids; 48 h / 5 and 1 min / 2 windows |
//! | `POST /cgi-bin/message/custom/typing` | token; interaction in the last 30 s; typing lasts 15 s |
//! | `POST /cgi-bin/media/upload?type=image` | token; multipart field `media`; media ids live 3 days |
//!
//! The rules in detail, and the choices made where WeChat's documents are vague, are in the
//! sources: `tokens.rs` (token lifetimes), `state.rs` (send windows, typing, media),
//! `message.rs` (send bodies).
//!
//! Errors are answered as WeChat does: HTTP 200 with `{"errcode":N,"errmsg":"…"}`. All time
//! comes from the injected [`Clock`], so a test can jump 48 h with
//! [`kefu::clock::ManualClock`]; only [`Fault::Delay`] and [`Fault::AcceptThenHang`] really sleep.
//!
//! Control, from Rust through [`Sandbox`] or over HTTP for scripts:
//!
//! * `POST /sandbox/users/{openid}/message`: [`Sandbox::user_message`] (`?appid=` for another
//!   app than the first: [`Sandbox::user_message_in`]);
//! * `POST /sandbox/users/{openid}/enter`: [`Sandbox::user_entered`] (`?appid=` likewise);
//! * `POST /sandbox/revoke`: [`Sandbox::revoke_tokens`];
//! * `POST /sandbox/faults` with `{"endpoint":"send","errcode":-1,"times":1}`, or `"http":500`,
//!   or `"delay_ms":2000`, `"accept_then_hang_ms":6000` (the call takes effect, its answer comes
//!   too late), `"accept_then_drop":true` (it takes effect, its answer breaks off) or
//!   `"ip_not_whitelisted":true` (40164 naming the caller's address, as WeChat answers when the
//!   API IP whitelist is on) instead of `errcode` ([`Sandbox::inject`]; `times` defaults to 1);
//! * `GET /sandbox/messages`: the recorded sends, oldest first ([`Sandbox::messages`]);
//! * `GET /sandbox/media/{media_id}`: the bytes uploaded as `media_id` while it lives (404
//!   otherwise), so that a reply's image can be shown.
//!
//! Control routes answer 204, or 400 with a reason.

mod errcode;
mod faults;
mod message;
mod routes;
mod state;
mod tokens;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use kefu::ports::Clock;

pub use faults::{Endpoint, Fault};
pub use state::SentMessage;

use state::State;

/// A handle on the sandboxed WeChat apps (one, or several: [`Sandbox::with_app`]). Clones
/// share the same state. `Debug` shows no
/// AppSecret and no token.
#[derive(Clone)]
pub struct Sandbox {
    state: Arc<Mutex<State>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("Sandbox")
            .field("sent", &state.sent().len())
            .field("token_calls", &state.token_calls)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// A sandbox for the app `appid` whose secret is `app_secret`, telling time by `clock`.
    pub fn new(appid: &str, app_secret: &str, clock: Arc<dyn Clock>) -> Self {
        Self {
            state: Arc::new(Mutex::new(State::new(appid, app_secret))),
            clock,
        }
    }

    /// Serves another app too (each app has its own tokens, users and media).
    pub fn with_app(self, appid: &str, app_secret: &str) -> Self {
        self.lock().add_app(appid, app_secret);
        self
    }

    /// The first app's appid.
    pub fn first_appid(&self) -> String {
        self.lock().first_appid().to_owned()
    }

    /// The WeChat API paths and the `/sandbox/…` control routes, for mounting on any server.
    pub fn router(&self) -> axum::Router {
        routes::router(self.clone())
    }

    /// Serves [`Self::router`] on `addr` (port 0 picks a free one) until the task is aborted.
    /// Returns the bound address.
    pub async fn serve(
        self,
        addr: SocketAddr,
    ) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        // With connection info, so that a 40164 names the caller's address.
        let app = self
            .router()
            .into_make_service_with_connect_info::<SocketAddr>();
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "wechat sandbox stopped");
            }
        });
        Ok((bound, task))
    }

    /// The user `openid` sent a message now: opens (or restores) the 48 h window with 5 sends.
    pub fn user_message(&self, openid: &str) {
        let now = self.now();
        self.lock().user_message(None, openid, now);
    }

    /// The same for the user `openid` of the app `appid` (a no-op for an app not served).
    pub fn user_message_in(&self, appid: &str, openid: &str) {
        let now = self.now();
        self.lock().user_message(Some(appid), openid, now);
    }

    /// The user `openid` entered the session now (`user_enter_tempsession`): opens (or
    /// restores) the 1-minute window with 2 sends. Sends use this window first, then the
    /// 48 h one.
    pub fn user_entered(&self, openid: &str) {
        let now = self.now();
        self.lock().user_entered(None, openid, now);
    }

    /// The same for the user `openid` of the app `appid`.
    pub fn user_entered_in(&self, appid: &str, openid: &str) {
        let now = self.now();
        self.lock().user_entered(Some(appid), openid, now);
    }

    /// Every token issued so far, plain and stable, answers 40001 from now on.
    pub fn revoke_tokens(&self) {
        let now = self.now();
        self.lock().revoke_tokens(now);
    }

    /// The next `times` calls to `endpoint` suffer `fault` before any normal handling. Faults
    /// fire oldest first; an [`Endpoint::Any`] fault takes whichever endpoint comes next.
    pub fn inject(&self, endpoint: Endpoint, fault: Fault, times: usize) {
        self.lock().faults.inject(endpoint, fault, times);
    }

    /// The successful `custom/send` calls, oldest first.
    pub fn messages(&self) -> Vec<SentMessage> {
        self.lock().sent().to_vec()
    }

    /// How many calls `token` and `stable_token` received, whatever they answered.
    pub fn token_calls(&self) -> usize {
        self.lock().token_calls
    }

    /// How many answers carried each `errcode`, injected ones included; `0` counts the
    /// successful sends and typing calls (token and upload successes carry no errcode).
    pub fn counts(&self) -> BTreeMap<i64, usize> {
        self.lock().errcodes.clone()
    }

    /// Whether `media_id` was uploaded and has not expired (3 days).
    pub fn media_exists(&self, media_id: &str) -> bool {
        let now = self.now();
        self.lock().media_exists(media_id, now)
    }

    fn now(&self) -> i64 {
        self.clock.now_millis()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere cannot leave the rules half-applied in a way worth refusing over.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
