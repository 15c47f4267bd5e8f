//! The sandbox's state machine: credentials, each user's send windows and typing state,
//! uploaded media, and the record of what was sent. Pure: every rule takes `now` (ms since the
//! epoch) from the caller's injected clock, and answers with a body or a WeChat errcode.
//!
//! Send windows (protocol doc §7), per openid:
//!
//! * a user **message** opens a 48 h window with 5 sends; the next message restores 5 and
//!   restarts the 48 h (unused sends do not carry over);
//! * a user **entering** the session (`user_enter_tempsession`) opens a 1 min window with
//!   2 sends; entering again restores it;
//! * a send is allowed while either window is open and has sends left. It uses the enter
//!   window first, because that one runs out in a minute anyway;
//! * no open window: 45015; windows open but used up: 45047.
//!
//! Typing (§6.3) needs a user message or entry within the last 30 s (our own sends do not
//! count), for `Typing` and `CancelTyping` alike (45080); `Typing` lasts 15 s and cannot be
//! re-sent meanwhile (45081); `CancelTyping` or a successful send ends it.
//!
//! Media (§6.4) are images only and live 3 days (then 40007 when used).
//!
//! Several apps: each has its own AppSecret, tokens, users and media, as on WeChat. A token
//! works only for the app it was issued to, so the same openid in two apps is two users, and
//! a send never lands in the wrong app.

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use serde::Serialize;
use serde_json::{Value, json};

use super::errcode;
use super::faults::Faults;
use super::message::{parse_send, parse_typing};
use super::tokens::{Tokens, random_chars};

const MESSAGE_WINDOW_MS: i64 = 48 * 3_600_000;
const MESSAGE_WINDOW_SENDS: u32 = 5;
const ENTER_WINDOW_MS: i64 = 60_000;
const ENTER_WINDOW_SENDS: u32 = 2;
const TYPING_NEEDS_INTERACTION_WITHIN_MS: i64 = 30_000;
const TYPING_LASTS_MS: i64 = 15_000;
const MEDIA_LIFETIME_MS: i64 = 3 * 86_400_000;
/// WeChat's limit for a temporary image.
pub(super) const MEDIA_MAX_BYTES: usize = 10 * 1024 * 1024;

/// One successful `custom/send`, as the sandbox received it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SentMessage {
    /// The app whose token sent it.
    pub appid: String,
    /// `touser`.
    pub openid: String,
    /// `msgtype`: `text`, `image`, `link` or `miniprogrampage`.
    pub msgtype: String,
    /// The whole JSON body, as received.
    pub body: Value,
    /// The `access_token` the call used.
    pub access_token: String,
    /// When it was accepted, in ms since the Unix epoch (the sandbox's clock).
    pub at: i64,
    /// When it arrived, in µs since the Unix epoch by the machine's wall clock (not the
    /// sandbox's, which tests may drive by hand): what latency benchmarks compare against.
    pub arrived_us: i64,
}

/// The answer to one API call: a success body, or a WeChat errcode.
pub(super) type Outcome = Result<Value, i64>;

#[derive(Debug, Clone, Copy)]
struct Window {
    opened_at: i64,
    used: u32,
    lasts_ms: i64,
    sends: u32,
}

impl Window {
    fn open(&self, now: i64) -> bool {
        now < self.opened_at + self.lasts_ms
    }

    fn has_room(&self, now: i64) -> bool {
        self.open(now) && self.used < self.sends
    }
}

#[derive(Debug, Default)]
struct User {
    message_window: Option<Window>,
    enter_window: Option<Window>,
    last_interaction: Option<i64>,
    typing_until: Option<i64>,
}

impl User {
    /// Takes one send if some open window has room, counting it in every window: WeChat's
    /// allowance does not accumulate (「可发送客服消息条数不累加」), so after a message and an
    /// enter-session the user can be sent 5 messages, not 7.
    fn take_send(&mut self, now: i64) -> Result<(), i64> {
        let windows = [&mut self.enter_window, &mut self.message_window];
        if windows
            .iter()
            .flat_map(|w| w.as_ref())
            .any(|w| w.has_room(now))
        {
            for window in windows.into_iter().flatten() {
                window.used += 1;
            }
            return Ok(());
        }
        let any_open = [self.enter_window, self.message_window]
            .iter()
            .flatten()
            .any(|w| w.open(now));
        Err(if any_open {
            errcode::OUT_OF_RESPONSE_COUNT
        } else {
            errcode::OUT_OF_TIME_LIMIT
        })
    }
}

/// An uploaded image: kept, bytes and all, so that `kefu dev`'s chat window can show the
/// image a reply would send (`GET /sandbox/media/{media_id}`).
struct Media {
    expires_at: i64,
    bytes: Bytes,
}

impl std::fmt::Debug for Media {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Media")
            .field("expires_at", &self.expires_at)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// One app: its AppSecret and what belongs to it.
#[derive(Debug)]
struct App {
    secret: String,
    tokens: Tokens,
    users: HashMap<String, User>,
    media: HashMap<String, Media>,
}

impl App {
    fn new(secret: &str) -> Self {
        Self {
            secret: secret.to_owned(),
            tokens: Tokens::default(),
            users: HashMap::new(),
            media: HashMap::new(),
        }
    }

    fn media_exists(&self, media_id: &str, now: i64) -> bool {
        self.media.get(media_id).is_some_and(|m| now < m.expires_at)
    }
}

/// Everything the sandbox knows. Lives behind the [`super::Sandbox`] handle's mutex.
#[derive(Debug)]
pub(super) struct State {
    /// The first app: the one [`super::Sandbox::user_message`] and friends mean.
    first: String,
    apps: BTreeMap<String, App>,
    pub(super) faults: Faults,
    media_serial: u64,
    sent: Vec<SentMessage>,
    pub(super) token_calls: usize,
    pub(super) errcodes: BTreeMap<i64, usize>,
}

impl State {
    pub(super) fn new(appid: &str, secret: &str) -> Self {
        Self {
            first: appid.to_owned(),
            apps: BTreeMap::from([(appid.to_owned(), App::new(secret))]),
            faults: Faults::default(),
            media_serial: 0,
            sent: Vec::new(),
            token_calls: 0,
            errcodes: BTreeMap::new(),
        }
    }

    /// Another app (or a new AppSecret for a known one).
    pub(super) fn add_app(&mut self, appid: &str, secret: &str) {
        self.apps.insert(appid.to_owned(), App::new(secret));
    }

    pub(super) fn first_appid(&self) -> &str {
        &self.first
    }

    /// The user of `appid` (none: the first app) sent a message.
    pub(super) fn user_message(&mut self, appid: Option<&str>, openid: &str, now: i64) {
        let Some(app) = self.app_mut(appid) else {
            return;
        };
        let user = app.users.entry(openid.to_owned()).or_default();
        user.message_window = Some(Window {
            opened_at: now,
            used: 0,
            lasts_ms: MESSAGE_WINDOW_MS,
            sends: MESSAGE_WINDOW_SENDS,
        });
        user.last_interaction = Some(now);
    }

    /// The user of `appid` (none: the first app) entered the session from a contact button.
    pub(super) fn user_entered(&mut self, appid: Option<&str>, openid: &str, now: i64) {
        let Some(app) = self.app_mut(appid) else {
            return;
        };
        let user = app.users.entry(openid.to_owned()).or_default();
        user.enter_window = Some(Window {
            opened_at: now,
            used: 0,
            lasts_ms: ENTER_WINDOW_MS,
            sends: ENTER_WINDOW_SENDS,
        });
        user.last_interaction = Some(now);
    }

    pub(super) fn sent(&self) -> &[SentMessage] {
        &self.sent
    }

    pub(super) fn media_exists(&self, media_id: &str, now: i64) -> bool {
        self.apps
            .values()
            .any(|app| app.media_exists(media_id, now))
    }

    /// The bytes uploaded as `media_id`, while it lives.
    pub(super) fn media_bytes(&self, media_id: &str, now: i64) -> Option<Bytes> {
        self.apps
            .values()
            .filter_map(|app| app.media.get(media_id))
            .find(|m| now < m.expires_at)
            .map(|m| m.bytes.clone())
    }

    /// Every token of every app answers 40001 from now on.
    pub(super) fn revoke_tokens(&mut self, now: i64) {
        for app in self.apps.values_mut() {
            app.tokens.revoke_all(now);
        }
    }

    fn app_mut(&mut self, appid: Option<&str>) -> Option<&mut App> {
        let appid = appid.unwrap_or(&self.first).to_owned();
        self.apps.get_mut(&appid)
    }

    /// The app `token` was issued to, if it may call an API now.
    fn app_of_token(&mut self, token: Option<&str>, now: i64) -> Result<(String, &mut App), i64> {
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Err(errcode::ACCESS_TOKEN_MISSING);
        };
        let (appid, app) = self
            .apps
            .iter_mut()
            .find(|(_, app)| app.tokens.knows(token))
            .ok_or(errcode::INVALID_CREDENTIAL)?;
        app.tokens.check(Some(token), now)?;
        Ok((appid.clone(), app))
    }

    /// Counts the errcode an answer carries, for [`super::Sandbox::counts`].
    pub(super) fn count(&mut self, code: i64) {
        *self.errcodes.entry(code).or_default() += 1;
    }

    /// The app the credentials are right for.
    fn check_app(
        &mut self,
        grant_type: Option<&str>,
        appid: Option<&str>,
        secret: Option<&str>,
    ) -> Result<&mut App, i64> {
        if grant_type != Some("client_credential") {
            return Err(errcode::INVALID_GRANT_TYPE);
        }
        let app = match appid {
            None | Some("") => return Err(errcode::APPID_MISSING),
            Some(appid) => self.apps.get_mut(appid).ok_or(errcode::INVALID_APPID)?,
        };
        match secret {
            None | Some("") => Err(errcode::APPSECRET_MISSING),
            Some(secret) if secret != app.secret => Err(errcode::INVALID_APPSECRET),
            Some(_) => Ok(app),
        }
    }

    /// `GET /cgi-bin/token`.
    pub(super) fn token(
        &mut self,
        grant_type: Option<&str>,
        appid: Option<&str>,
        secret: Option<&str>,
        now: i64,
    ) -> Outcome {
        let app = self.check_app(grant_type, appid, secret)?;
        let (token, expires_in) = app.tokens.fetch_plain(now);
        Ok(json!({ "access_token": token, "expires_in": expires_in }))
    }

    /// `POST /cgi-bin/stable_token` with its raw body.
    pub(super) fn stable_token(&mut self, body: &[u8], now: i64) -> Outcome {
        let body: Value = serde_json::from_slice(body).map_err(|_| errcode::DATA_FORMAT_ERROR)?;
        if !body.is_object() {
            return Err(errcode::DATA_FORMAT_ERROR);
        }
        let text = |field: &str| -> Result<Option<&str>, i64> {
            match body.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.as_str())),
                Some(_) => Err(errcode::DATA_FORMAT_ERROR),
            }
        };
        let force_refresh = match body.get("force_refresh") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(errcode::DATA_FORMAT_ERROR),
        };
        let app = self.check_app(text("grant_type")?, text("appid")?, text("secret")?)?;
        let (token, expires_in) = app.tokens.fetch_stable(force_refresh, now)?;
        Ok(json!({ "access_token": token, "expires_in": expires_in }))
    }

    /// `POST /cgi-bin/message/custom/send`.
    pub(super) fn send(&mut self, access_token: Option<&str>, body: &[u8], now: i64) -> Outcome {
        let (appid, app) = self.app_of_token(access_token, now)?;
        let body: Value = serde_json::from_slice(body).map_err(|_| errcode::DATA_FORMAT_ERROR)?;
        let outgoing = parse_send(&body)?;
        if !outgoing
            .media_ids
            .iter()
            .all(|id| app.media_exists(id, now))
        {
            return Err(errcode::INVALID_MEDIA_ID);
        }
        let user = app
            .users
            .get_mut(&outgoing.touser)
            .ok_or(errcode::OUT_OF_TIME_LIMIT)?;
        user.take_send(now)?;
        user.typing_until = None;
        self.sent.push(SentMessage {
            appid,
            openid: outgoing.touser,
            msgtype: outgoing.msgtype,
            body,
            access_token: access_token.unwrap_or_default().to_owned(),
            at: now,
            arrived_us: wall_clock_micros(),
        });
        Ok(ok())
    }

    /// `POST /cgi-bin/message/custom/typing`.
    pub(super) fn typing(&mut self, access_token: Option<&str>, body: &[u8], now: i64) -> Outcome {
        let (_, app) = self.app_of_token(access_token, now)?;
        let body: Value = serde_json::from_slice(body).map_err(|_| errcode::DATA_FORMAT_ERROR)?;
        let (touser, command) = parse_typing(&body)?;
        let typing = match command.as_str() {
            "Typing" => true,
            "CancelTyping" => false,
            _ => return Err(errcode::BAD_TYPING_COMMAND),
        };
        let user = app
            .users
            .get_mut(&touser)
            .filter(|u| {
                u.last_interaction
                    .is_some_and(|at| now - at <= TYPING_NEEDS_INTERACTION_WITHIN_MS)
            })
            .ok_or(errcode::NO_RECENT_INTERACTION)?;
        if typing {
            if user.typing_until.is_some_and(|until| now < until) {
                return Err(errcode::ALREADY_TYPING);
            }
            user.typing_until = Some(now + TYPING_LASTS_MS);
        } else {
            user.typing_until = None;
        }
        Ok(ok())
    }

    /// `POST /cgi-bin/media/upload`, once the route has read the `media` field (or not).
    pub(super) fn upload(
        &mut self,
        access_token: Option<&str>,
        media_type: Option<&str>,
        media: Option<Bytes>,
        now: i64,
    ) -> Outcome {
        self.app_of_token(access_token, now)?;
        if media_type != Some("image") {
            return Err(errcode::INVALID_MEDIA_TYPE);
        }
        let bytes = media
            .filter(|b| !b.is_empty())
            .ok_or(errcode::MEDIA_DATA_MISSING)?;
        if bytes.len() > MEDIA_MAX_BYTES {
            return Err(errcode::INVALID_MEDIA_SIZE);
        }
        self.media_serial += 1;
        let media_id = format!("{}_{}", self.media_serial, random_chars(60));
        let (_, app) = self.app_of_token(access_token, now)?;
        app.media.insert(
            media_id.clone(),
            Media {
                expires_at: now + MEDIA_LIFETIME_MS,
                bytes,
            },
        );
        Ok(json!({ "type": "image", "media_id": media_id, "created_at": now / 1000 }))
    }
}

fn ok() -> Value {
    json!({ "errcode": errcode::OK, "errmsg": errcode::message(errcode::OK) })
}

/// Microseconds since the Unix epoch, by the machine's clock.
fn wall_clock_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}
