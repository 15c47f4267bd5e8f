//! The WeChat sandbox enforces WeChat's server-API rules over real HTTP: tokens and their
//! grace periods, send windows and quotas, body formats, media, typing, fault injection and the
//! control routes. Time is a `ManualClock`, so 48 h pass instantly.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test helpers may panic

use std::sync::Arc;
use std::time::{Duration, Instant};

use kefu::clock::ManualClock;
use kefu_sandbox::{Endpoint, Fault, Sandbox};
use serde_json::{Value, json};

const APPID: &str = "wx1234567890abcdef";
const SECRET: &str = "0123456789abcdef0123456789abcdef";
const USER: &str = "oUser-1234567890";
const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

struct Harness {
    sandbox: Sandbox,
    clock: Arc<ManualClock>,
    base: String,
    http: reqwest::Client,
}

async fn start() -> Harness {
    let clock = Arc::new(ManualClock::at(1_714_112_445_000));
    let sandbox = Sandbox::new(APPID, SECRET, clock.clone());
    let (addr, _task) = sandbox
        .clone()
        .serve("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    Harness {
        sandbox,
        clock,
        base: format!("http://{addr}"),
        http: kefu::tls::http_client_builder().build().unwrap(),
    }
}

impl Harness {
    fn advance(&self, millis: i64) {
        self.clock.advance(millis);
    }

    async fn get_token(&self, query: &str) -> Value {
        let url = format!("{}/cgi-bin/token?{query}", self.base);
        let response = self.http.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    async fn token(&self) -> String {
        let body = self
            .get_token(&format!(
                "grant_type=client_credential&appid={APPID}&secret={SECRET}"
            ))
            .await;
        body["access_token"].as_str().unwrap().to_owned()
    }

    async fn stable(&self, force_refresh: bool) -> Value {
        self.post_json(
            "/cgi-bin/stable_token",
            &json!({"grant_type":"client_credential","appid":APPID,"secret":SECRET,"force_refresh":force_refresh}),
        )
        .await
    }

    async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    async fn post_json(&self, path: &str, body: &Value) -> Value {
        self.post_raw(path, serde_json::to_vec(body).unwrap()).await
    }

    async fn send(&self, token: &str, body: &Value) -> Value {
        self.post_json(
            &format!("/cgi-bin/message/custom/send?access_token={token}"),
            body,
        )
        .await
    }

    async fn send_text(&self, token: &str, content: &str) -> i64 {
        errcode(&self.send(token, &text(USER, content)).await)
    }

    async fn typing(&self, token: &str, command: &str) -> i64 {
        errcode(
            &self
                .post_json(
                    &format!("/cgi-bin/message/custom/typing?access_token={token}"),
                    &json!({"touser": USER, "command": command}),
                )
                .await,
        )
    }

    async fn upload_form(
        &self,
        token: &str,
        media_type: &str,
        form: reqwest::multipart::Form,
    ) -> Value {
        let url = format!(
            "{}/cgi-bin/media/upload?access_token={token}&type={media_type}",
            self.base
        );
        let response = self.http.post(url).multipart(form).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    async fn upload(&self, token: &str) -> String {
        let body = self.upload_form(token, "image", image_form()).await;
        body["media_id"].as_str().unwrap().to_owned()
    }

    async fn control(&self, path: &str, body: Option<Value>) -> reqwest::Response {
        let mut request = self.http.post(format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }
}

fn text(openid: &str, content: &str) -> Value {
    json!({"touser": openid, "msgtype": "text", "text": {"content": content}})
}

fn image_form() -> reqwest::multipart::Form {
    let part = reqwest::multipart::Part::bytes(vec![0xff, 0xd8, 0xff, 0xe0, 1, 2, 3])
        .file_name("card.jpg")
        .mime_str("image/jpeg")
        .unwrap();
    reqwest::multipart::Form::new().part("media", part)
}

fn errcode(body: &Value) -> i64 {
    body["errcode"]
        .as_i64()
        .unwrap_or_else(|| panic!("no errcode in {body}"))
}

// ---- cgi-bin/token ----

#[tokio::test]
async fn token_is_long_random_and_announced_for_7200_seconds() {
    let h = start().await;
    let body = h
        .get_token(&format!(
            "grant_type=client_credential&appid={APPID}&secret={SECRET}"
        ))
        .await;
    let token = body["access_token"].as_str().unwrap();
    assert!(token.len() >= 100, "{token}");
    assert_eq!(body["expires_in"], 7200);
    assert!(body.get("errcode").is_none());
    assert_ne!(h.token().await, token);
    assert_eq!(h.sandbox.token_calls(), 2);
}

#[tokio::test]
async fn token_request_with_wrong_grant_type_appid_or_secret_is_refused() {
    let h = start().await;
    let wrong_grant = h
        .get_token(&format!(
            "grant_type=password&appid={APPID}&secret={SECRET}"
        ))
        .await;
    assert_eq!(errcode(&wrong_grant), 40002);
    let wrong_appid = h
        .get_token(&format!(
            "grant_type=client_credential&appid=wxother&secret={SECRET}"
        ))
        .await;
    assert_eq!(errcode(&wrong_appid), 40013);
    let wrong_secret = h
        .get_token(&format!(
            "grant_type=client_credential&appid={APPID}&secret=nope"
        ))
        .await;
    assert_eq!(errcode(&wrong_secret), 40125);
    assert!(
        wrong_secret["errmsg"]
            .as_str()
            .unwrap()
            .starts_with("invalid appsecret")
    );
    assert!(wrong_secret.get("access_token").is_none());
}

#[tokio::test]
async fn refetched_token_leaves_the_previous_one_valid_for_five_minutes() {
    let h = start().await;
    h.sandbox.user_message(USER);
    let old = h.token().await;
    let new = h.token().await;
    h.advance(5 * MINUTE - 1);
    assert_eq!(h.send_text(&old, "still in grace").await, 0);
    h.advance(1);
    assert_eq!(h.send_text(&old, "too late").await, 40001);
    assert_eq!(h.send_text(&new, "fresh").await, 0);
}

#[tokio::test]
async fn a_token_two_fetches_old_is_invalid_at_once() {
    let h = start().await;
    h.sandbox.user_message(USER);
    let oldest = h.token().await;
    let previous = h.token().await;
    let _current = h.token().await;
    assert_eq!(h.send_text(&oldest, "hi").await, 40001);
    assert_eq!(h.send_text(&previous, "hi").await, 0);
}

#[tokio::test]
async fn token_older_than_7200_seconds_answers_42001() {
    let h = start().await;
    h.sandbox.user_message(USER);
    let token = h.token().await;
    h.advance(2 * HOUR - 1);
    h.sandbox.user_message(USER);
    assert_eq!(h.send_text(&token, "last second").await, 0);
    h.advance(1);
    assert_eq!(h.send_text(&token, "expired").await, 42001);
}

#[tokio::test]
async fn missing_or_unknown_access_token_is_refused() {
    let h = start().await;
    h.sandbox.user_message(USER);
    let missing = h
        .post_json("/cgi-bin/message/custom/send", &text(USER, "hi"))
        .await;
    assert_eq!(errcode(&missing), 41001);
    assert_eq!(h.send_text("not-a-token", "hi").await, 40001);
}

#[tokio::test]
async fn revoked_tokens_answer_40001_and_a_new_fetch_works() {
    let h = start().await;
    h.sandbox.user_message(USER);
    let plain = h.token().await;
    let stable = h.stable(false).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    h.sandbox.revoke_tokens();
    assert_eq!(h.send_text(&plain, "hi").await, 40001);
    assert_eq!(h.send_text(&stable, "hi").await, 40001);
    let fresh = h.token().await;
    assert_eq!(h.send_text(&fresh, "hi").await, 0);
    let fresh_stable = h.stable(false).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(fresh_stable, stable);
    assert_eq!(h.send_text(&fresh_stable, "hi").await, 0);
}

// ---- cgi-bin/stable_token ----

#[tokio::test]
async fn stable_token_is_reused_until_five_minutes_before_it_expires() {
    let h = start().await;
    let first = h.stable(false).await;
    assert_eq!(first["expires_in"], 7200);
    let token = first["access_token"].as_str().unwrap().to_owned();
    assert!(token.len() >= 100);

    h.advance(HOUR);
    let again = h.stable(false).await;
    assert_eq!(again["access_token"], token.as_str());
    assert_eq!(again["expires_in"], 3600);

    // 5 minutes left: the platform refreshes early; the old token lives out its life.
    h.advance(HOUR - 5 * MINUTE);
    let renewed = h.stable(false).await;
    assert_ne!(renewed["access_token"], token.as_str());
    assert_eq!(renewed["expires_in"], 7200);
    h.sandbox.user_message(USER);
    assert_eq!(h.send_text(&token, "old still valid").await, 0);
    h.advance(5 * MINUTE);
    assert_eq!(h.send_text(&token, "old expired").await, 42001);
}

#[tokio::test]
async fn stable_token_force_refresh_issues_a_new_one_and_keeps_the_old_five_minutes() {
    let h = start().await;
    h.sandbox.user_message(USER);
    let old = h.stable(false).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let forced = h.stable(true).await;
    let new = forced["access_token"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(forced["expires_in"], 7200);
    assert_eq!(h.stable(false).await["access_token"], new.as_str());
    h.advance(5 * MINUTE - 1);
    assert_eq!(h.send_text(&old, "grace").await, 0);
    h.advance(1);
    assert_eq!(h.send_text(&old, "gone").await, 40001);
    assert_eq!(h.send_text(&new, "new").await, 0);
}

#[tokio::test]
async fn stable_token_force_refresh_within_30_seconds_answers_45011() {
    let h = start().await;
    assert!(h.stable(true).await.get("access_token").is_some());
    h.advance(29_999);
    assert_eq!(errcode(&h.stable(true).await), 45011);
    h.advance(1);
    assert!(h.stable(true).await.get("access_token").is_some());
    assert_eq!(h.sandbox.counts().get(&45011), Some(&1));
}

#[tokio::test]
async fn stable_token_force_refresh_is_limited_to_20_a_day() {
    let h = start().await;
    for n in 1..=20 {
        let forced = h.stable(true).await;
        assert!(
            forced.get("access_token").is_some(),
            "refresh {n}: {forced}"
        );
        h.advance(MINUTE);
    }
    assert_eq!(errcode(&h.stable(true).await), 45009);
    // Normal mode still works, and the oldest refresh leaves the 24 h window eventually.
    assert!(h.stable(false).await.get("access_token").is_some());
    h.advance(24 * HOUR - 20 * MINUTE);
    assert!(h.stable(true).await.get("access_token").is_some());
}

#[tokio::test]
async fn stable_token_is_isolated_from_token() {
    let h = start().await;
    h.sandbox.user_message(USER);
    let stable = h.stable(false).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let plain = h.token().await;
    let _newer_plain = h.token().await;
    let _newest_plain = h.token().await;
    assert_ne!(stable, plain);
    assert_eq!(h.stable(false).await["access_token"], stable.as_str());
    assert_eq!(
        h.send_text(&stable, "stable survives token fetches").await,
        0
    );
    assert_eq!(h.sandbox.token_calls(), 5);
}

#[tokio::test]
async fn stable_token_wants_a_json_body_with_the_right_credentials() {
    let h = start().await;
    assert_eq!(
        errcode(
            &h.post_raw("/cgi-bin/stable_token", "grant_type=client_credential")
                .await
        ),
        47001
    );
    let bad_secret = h
        .post_json(
            "/cgi-bin/stable_token",
            &json!({"grant_type":"client_credential","appid":APPID,"secret":"nope"}),
        )
        .await;
    assert_eq!(errcode(&bad_secret), 40125);
    let bad_appid = h
        .post_json(
            "/cgi-bin/stable_token",
            &json!({"grant_type":"client_credential","appid":"wxother","secret":SECRET}),
        )
        .await;
    assert_eq!(errcode(&bad_appid), 40013);
    let bad_grant = h
        .post_json(
            "/cgi-bin/stable_token",
            &json!({"grant_type":"password","appid":APPID,"secret":SECRET}),
        )
        .await;
    assert_eq!(errcode(&bad_grant), 40002);
    let no_force_field = h
        .post_json(
            "/cgi-bin/stable_token",
            &json!({"grant_type":"client_credential","appid":APPID,"secret":SECRET}),
        )
        .await;
    assert_eq!(no_force_field["expires_in"], 7200);
}

// ---- custom/send: windows and quotas ----

#[tokio::test]
async fn send_to_a_user_who_never_wrote_answers_45015() {
    let h = start().await;
    let token = h.token().await;
    assert_eq!(h.send_text(&token, "unsolicited").await, 45015);
    assert!(h.sandbox.messages().is_empty());
}

#[tokio::test]
async fn sixth_send_after_a_user_message_answers_45047() {
    let h = start().await;
    let token = h.token().await;
    h.sandbox.user_message(USER);
    for n in 1..=5 {
        assert_eq!(
            h.send_text(&token, &format!("reply {n}")).await,
            0,
            "reply {n}"
        );
    }
    assert_eq!(h.send_text(&token, "reply 6").await, 45047);
    assert_eq!(h.sandbox.counts().get(&45047), Some(&1));
    assert_eq!(h.sandbox.counts().get(&0), Some(&5));
    assert_eq!(h.sandbox.messages().len(), 5);
}

#[tokio::test]
async fn next_user_message_restores_five_sends_without_carrying_over() {
    let h = start().await;
    let token = h.token().await;
    h.sandbox.user_message(USER);
    for _ in 0..3 {
        assert_eq!(h.send_text(&token, "a").await, 0);
    }
    h.sandbox.user_message(USER);
    for _ in 0..5 {
        assert_eq!(h.send_text(&token, "b").await, 0);
    }
    assert_eq!(h.send_text(&token, "c").await, 45047);
}

#[tokio::test]
async fn window_closes_48_hours_after_the_last_user_message() {
    let h = start().await;
    h.sandbox.user_message(USER);
    h.advance(48 * HOUR - 1);
    let token = h.token().await;
    assert_eq!(h.send_text(&token, "just in time").await, 0);
    h.advance(1);
    assert_eq!(h.send_text(&token, "too late").await, 45015);
}

#[tokio::test]
async fn entering_the_session_allows_two_sends_within_the_minute() {
    let h = start().await;
    let token = h.token().await;
    h.sandbox.user_entered(USER);
    assert_eq!(h.send_text(&token, "welcome").await, 0);
    assert_eq!(h.send_text(&token, "how can we help").await, 0);
    assert_eq!(h.send_text(&token, "third").await, 45047);
    h.advance(MINUTE);
    assert_eq!(h.send_text(&token, "after the minute").await, 45015);
    h.sandbox.user_entered(USER);
    assert_eq!(h.send_text(&token, "entered again").await, 0);
}

#[tokio::test]
async fn the_allowance_does_not_accumulate() {
    // 「可发送客服消息条数不累加」: a message then an enter-session allow 5 sends, not 5 + 2.
    let h = start().await;
    let token = h.token().await;
    h.sandbox.user_message(USER);
    h.sandbox.user_entered(USER);
    for n in 1..=5 {
        assert_eq!(h.send_text(&token, "x").await, 0, "send {n}");
    }
    assert_eq!(h.send_text(&token, "sixth").await, 45047);
    h.advance(MINUTE);
    assert_eq!(h.send_text(&token, "later").await, 45047);
}

#[tokio::test]
async fn entering_after_the_fifth_send_restores_two_for_the_minute() {
    let h = start().await;
    let token = h.token().await;
    h.sandbox.user_message(USER);
    for n in 1..=5 {
        assert_eq!(h.send_text(&token, "x").await, 0, "send {n}");
    }
    assert_eq!(h.send_text(&token, "sixth").await, 45047);
    h.sandbox.user_entered(USER);
    assert_eq!(h.send_text(&token, "welcome").await, 0);
    assert_eq!(h.send_text(&token, "welcome 2").await, 0);
    assert_eq!(h.send_text(&token, "third").await, 45047);
    h.advance(MINUTE);
    assert_eq!(
        h.send_text(&token, "after the minute").await,
        45047,
        "the message's window is open, and spent"
    );
}

#[tokio::test]
async fn quotas_are_per_user() {
    let h = start().await;
    let token = h.token().await;
    h.sandbox.user_message(USER);
    assert_eq!(
        errcode(&h.send(&token, &text("oSomeoneElse", "hi")).await),
        45015
    );
    assert_eq!(h.send_text(&token, "hi").await, 0);
}

// ---- custom/send: bodies and media ----

#[tokio::test]
async fn malformed_send_bodies_answer_47001() {
    let h = start().await;
    let token = h.token().await;
    h.sandbox.user_message(USER);
    let path = format!("/cgi-bin/message/custom/send?access_token={token}");
    assert_eq!(errcode(&h.post_raw(&path, "{not json").await), 47001);
    let bodies = [
        json!({"msgtype":"text","text":{"content":"no touser"}}),
        json!({"touser":USER,"text":{"content":"no msgtype"}}),
        json!({"touser":USER,"msgtype":"text"}),
        json!({"touser":USER,"msgtype":"text","text":{"content":42}}),
        json!({"touser":USER,"msgtype":"text","content":"flat"}),
        json!({"touser":USER,"msgtype":"link","link":{"title":"t","description":"d","url":"https://example.com"}}),
        json!({"touser":USER,"msgtype":"miniprogrampage","miniprogrampage":{"title":"t","thumb_media_id":"m"}}),
        json!({"touser":USER,"msgtype":"image","image":{}}),
        json!(["touser", USER]),
    ];
    for body in &bodies {
        assert_eq!(errcode(&h.send(&token, body).await), 47001, "{body}");
    }
    let unknown_type = json!({"touser":USER,"msgtype":"video","video":{"media_id":"m"}});
    assert_eq!(errcode(&h.send(&token, &unknown_type).await), 40008);
    assert!(h.sandbox.messages().is_empty());
    // Refused bodies use none of the quota.
    for _ in 0..5 {
        assert_eq!(h.send_text(&token, "ok").await, 0);
    }
}

#[tokio::test]
async fn link_with_all_documented_fields_is_accepted() {
    let h = start().await;
    let token = h.token().await;
    h.sandbox.user_message(USER);
    let link = json!({"touser":USER,"msgtype":"link","link":{
        "title":"Happy Day","description":"Is Really A Happy Day",
        "url":"https://example.com","thumb_url":"https://example.com/t.jpg"}});
    assert_eq!(errcode(&h.send(&token, &link).await), 0);
}

#[tokio::test]
async fn image_with_an_unknown_media_id_answers_40007() {
    let h = start().await;
    let token = h.token().await;
    h.sandbox.user_message(USER);
    let image = json!({"touser":USER,"msgtype":"image","image":{"media_id":"MEDIA_ID"}});
    assert_eq!(errcode(&h.send(&token, &image).await), 40007);
    let card = json!({"touser":USER,"msgtype":"miniprogrampage","miniprogrampage":{
        "title":"t","pagepath":"pages/index/index","thumb_media_id":"THUMB"}});
    assert_eq!(errcode(&h.send(&token, &card).await), 40007);
}

#[tokio::test]
async fn uploaded_image_can_be_sent_and_its_media_id_expires_after_three_days() {
    let h = start().await;
    let token = h.token().await;
    let upload = h.upload_form(&token, "image", image_form()).await;
    assert_eq!(upload["type"], "image");
    assert_eq!(upload["created_at"], 1_714_112_445);
    let media_id = upload["media_id"].as_str().unwrap().to_owned();
    assert!(h.sandbox.media_exists(&media_id));
    // The bytes, for kefu dev's chat window to show.
    let served = h
        .http
        .get(format!("{}/sandbox/media/{media_id}", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/jpeg");
    assert_eq!(
        served.bytes().await.unwrap().as_ref(),
        [0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]
    );

    h.sandbox.user_message(USER);
    let image = json!({"touser":USER,"msgtype":"image","image":{"media_id":media_id}});
    assert_eq!(errcode(&h.send(&token, &image).await), 0);
    let card = json!({"touser":USER,"msgtype":"miniprogrampage","miniprogrampage":{
        "title":"Order","pagepath":"pages/order/index?id=7","thumb_media_id":media_id}});
    assert_eq!(errcode(&h.send(&token, &card).await), 0);

    h.advance(72 * HOUR);
    assert!(!h.sandbox.media_exists(&media_id));
    let expired = h
        .http
        .get(format!("{}/sandbox/media/{media_id}", h.base))
        .send()
        .await
        .unwrap();
    assert_eq!(expired.status(), 404);
    h.sandbox.user_message(USER);
    let token = h.token().await;
    assert_eq!(errcode(&h.send(&token, &image).await), 40007);
}

#[tokio::test]
async fn upload_without_the_media_field_or_of_another_type_is_refused() {
    let h = start().await;
    let token = h.token().await;
    let no_media = reqwest::multipart::Form::new().text("file", "not the media field");
    assert_eq!(
        errcode(&h.upload_form(&token, "image", no_media).await),
        41005
    );
    assert_eq!(
        errcode(&h.upload_form(&token, "voice", image_form()).await),
        40004
    );
    let not_multipart = h
        .post_raw(
            &format!("/cgi-bin/media/upload?access_token={token}&type=image"),
            "raw bytes",
        )
        .await;
    assert_eq!(errcode(&not_multipart), 41005);
    assert_eq!(
        errcode(&h.upload_form("stale", "image", image_form()).await),
        40001
    );
}

#[tokio::test]
async fn image_over_10_mib_answers_40006() {
    let h = start().await;
    let token = h.token().await;
    let part = reqwest::multipart::Part::bytes(vec![0u8; 10 * 1024 * 1024 + 1])
        .file_name("huge.jpg")
        .mime_str("image/jpeg")
        .unwrap();
    let form = reqwest::multipart::Form::new().part("media", part);
    assert_eq!(errcode(&h.upload_form(&token, "image", form).await), 40006);
}

// ---- custom/typing ----

#[tokio::test]
async fn typing_needs_an_interaction_in_the_last_30_seconds() {
    let h = start().await;
    let token = h.token().await;
    assert_eq!(h.typing(&token, "Typing").await, 45080);
    h.sandbox.user_message(USER);
    h.advance(30_001);
    assert_eq!(h.typing(&token, "Typing").await, 45080);
    h.sandbox.user_entered(USER);
    assert_eq!(h.typing(&token, "Typing").await, 0);
}

#[tokio::test]
async fn typing_cannot_be_resent_while_active_for_15_seconds() {
    let h = start().await;
    let token = h.token().await;
    h.sandbox.user_message(USER);
    assert_eq!(h.typing(&token, "Typing").await, 0);
    h.advance(14_999);
    assert_eq!(h.typing(&token, "Typing").await, 45081);
    h.advance(1);
    assert_eq!(h.typing(&token, "Typing").await, 0);
}

#[tokio::test]
async fn cancel_typing_or_a_sent_message_ends_the_typing_state() {
    let h = start().await;
    let token = h.token().await;
    h.sandbox.user_message(USER);
    assert_eq!(h.typing(&token, "Typing").await, 0);
    assert_eq!(h.typing(&token, "CancelTyping").await, 0);
    assert_eq!(h.typing(&token, "Typing").await, 0);
    assert_eq!(h.send_text(&token, "here is your answer").await, 0);
    assert_eq!(h.typing(&token, "Typing").await, 0);
}

#[tokio::test]
async fn typing_with_a_bad_command_answers_45072() {
    let h = start().await;
    let token = h.token().await;
    h.sandbox.user_message(USER);
    assert_eq!(h.typing(&token, "typing").await, 45072);
    assert_eq!(h.typing(&token, "").await, 45072);
    assert_eq!(h.typing("stale", "Typing").await, 40001);
}

// ---- faults ----

#[tokio::test]
async fn injected_errcode_is_answered_for_its_count_then_service_resumes() {
    let h = start().await;
    let token = h.token().await;
    h.sandbox.user_message(USER);
    h.sandbox.inject(Endpoint::Send, Fault::Errcode(-1), 2);
    let busy = h.send(&token, &text(USER, "1")).await;
    assert_eq!(errcode(&busy), -1);
    assert!(busy["errmsg"].as_str().unwrap().starts_with("system error"));
    assert_eq!(h.send_text(&token, "2").await, -1);
    assert_eq!(h.send_text(&token, "3").await, 0);
    assert_eq!(h.sandbox.counts().get(&-1), Some(&2));
    // Faulted calls are not sends and use no quota.
    assert_eq!(h.sandbox.messages().len(), 1);
    for _ in 0..4 {
        assert_eq!(h.send_text(&token, "more").await, 0);
    }
}

#[tokio::test]
async fn injected_http_status_is_a_bare_status_with_a_text_body() {
    let h = start().await;
    h.sandbox.inject(Endpoint::Token, Fault::Http(502), 1);
    let response = h
        .http
        .get(format!(
            "{}/cgi-bin/token?grant_type=client_credential&appid={APPID}&secret={SECRET}",
            h.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 502);
    assert!(response.json::<Value>().await.is_err());
    assert!(h.token().await.len() >= 100);
    assert_eq!(h.sandbox.token_calls(), 2);
}

#[tokio::test]
async fn injected_delay_stalls_the_call_then_answers_normally() {
    let h = start().await;
    let token = h.token().await;
    h.sandbox.user_message(USER);
    h.sandbox
        .inject(Endpoint::Send, Fault::Delay(Duration::from_millis(200)), 1);
    let started = Instant::now();
    assert_eq!(h.send_text(&token, "slow").await, 0);
    assert!(started.elapsed() >= Duration::from_millis(200));
    let started = Instant::now();
    assert_eq!(h.send_text(&token, "fast").await, 0);
    assert!(started.elapsed() < Duration::from_millis(200));
}

#[tokio::test]
async fn fault_for_any_endpoint_hits_whichever_is_called_next() {
    let h = start().await;
    h.sandbox.inject(Endpoint::Upload, Fault::Errcode(45009), 1);
    h.sandbox.inject(Endpoint::Any, Fault::Errcode(48001), 1);
    let token = h.stable(false).await;
    assert_eq!(errcode(&token), 48001);
    let token = h.token().await;
    assert_eq!(
        errcode(&h.upload_form(&token, "image", image_form()).await),
        45009
    );
    assert!(h.upload(&token).await.len() > 10);
    assert_eq!(h.typing(&token, "Typing").await, 45080);
}

#[tokio::test]
async fn an_ip_whitelist_fault_answers_40164_naming_the_callers_address() {
    let h = start().await;
    h.sandbox
        .inject(Endpoint::StableToken, Fault::IpNotWhitelisted, 1);
    let refused = h.stable(false).await;
    assert_eq!(errcode(&refused), 40164);
    let message = refused["errmsg"].as_str().unwrap();
    assert!(
        message.starts_with("invalid ip 127.0.0.1 ipv6 ::ffff:127.0.0.1, not in whitelist rid: "),
        "{message}"
    );
    assert!(refused.get("access_token").is_none());
    assert!(
        h.stable(false).await["access_token"].is_string(),
        "one call only"
    );

    // Over HTTP, for scripts and for `kefu dev`.
    let injected = h
        .control(
            "/sandbox/faults",
            Some(json!({"endpoint":"token","ip_not_whitelisted":true})),
        )
        .await;
    assert_eq!(injected.status(), 204);
    let refused = h
        .get_token(&format!(
            "grant_type=client_credential&appid={APPID}&secret={SECRET}"
        ))
        .await;
    assert_eq!(errcode(&refused), 40164);
    assert_eq!(h.sandbox.counts().get(&40164), Some(&2));
}

// ---- control routes and the record ----

#[tokio::test]
async fn http_control_routes_drive_users_tokens_and_faults() {
    let h = start().await;
    let token = h.token().await;
    let opened = h
        .control(&format!("/sandbox/users/{USER}/message"), None)
        .await;
    assert_eq!(opened.status(), 204);
    assert_eq!(h.send_text(&token, "after message route").await, 0);

    assert_eq!(
        h.control("/sandbox/users/oOther/enter", None)
            .await
            .status(),
        204
    );
    assert_eq!(errcode(&h.send(&token, &text("oOther", "a")).await), 0);
    assert_eq!(errcode(&h.send(&token, &text("oOther", "b")).await), 0);
    assert_eq!(errcode(&h.send(&token, &text("oOther", "c")).await), 45047);

    let injected = h
        .control(
            "/sandbox/faults",
            Some(json!({"endpoint":"send","errcode":-1,"times":1})),
        )
        .await;
    assert_eq!(injected.status(), 204);
    assert_eq!(h.send_text(&token, "x").await, -1);

    h.control(
        "/sandbox/faults",
        Some(json!({"endpoint":"typing","http":500})),
    )
    .await;
    let typing = h
        .http
        .post(format!(
            "{}/cgi-bin/message/custom/typing?access_token={token}",
            h.base
        ))
        .json(&json!({"touser":USER,"command":"Typing"}))
        .send()
        .await
        .unwrap();
    assert_eq!(typing.status(), 500);

    h.control(
        "/sandbox/faults",
        Some(json!({"endpoint":"send","delay_ms":150,"times":1})),
    )
    .await;
    let started = Instant::now();
    assert_eq!(h.send_text(&token, "delayed").await, 0);
    assert!(started.elapsed() >= Duration::from_millis(150));

    for bad in [
        json!({"endpoint":"send"}),
        json!({"endpoint":"send","errcode":-1,"http":500}),
        json!({"endpoint":"nowhere","errcode":-1}),
    ] {
        let refused = h.control("/sandbox/faults", Some(bad.clone())).await;
        assert_eq!(refused.status(), 400, "{bad}");
    }

    assert_eq!(h.control("/sandbox/revoke", None).await.status(), 204);
    assert_eq!(h.send_text(&token, "revoked").await, 40001);
}

#[tokio::test]
async fn sandbox_messages_lists_the_recorded_sends_oldest_first() {
    let h = start().await;
    let token = h.token().await;
    h.sandbox.user_message(USER);
    let first = text(USER, "您好，请问有什么可以帮您？");
    assert_eq!(errcode(&h.send(&token, &first).await), 0);
    h.advance(1_000);
    let link = json!({"touser":USER,"msgtype":"link","link":{
        "title":"Help","description":"FAQ","url":"https://example.com/faq","thumb_url":"https://example.com/t.png"}});
    assert_eq!(errcode(&h.send(&token, &link).await), 0);
    assert_eq!(h.send_text(&token, "").await, 44004);

    let listed: Value = h
        .http
        .get(format!("{}/sandbox/messages", h.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["openid"], USER);
    assert_eq!(listed[0]["msgtype"], "text");
    assert_eq!(listed[0]["body"], first);
    assert_eq!(listed[0]["access_token"], token.as_str());
    assert_eq!(listed[0]["at"], 1_714_112_445_000_i64);
    assert_eq!(listed[1]["msgtype"], "link");
    assert_eq!(listed[1]["body"], link);
    assert_eq!(listed[1]["at"], 1_714_112_446_000_i64);

    let recorded = h.sandbox.messages();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[0].body, first);
    assert_eq!(recorded[1].access_token, token);
}

#[tokio::test]
async fn router_mounts_under_a_prefix_on_another_server() {
    let clock = Arc::new(ManualClock::at(1_714_112_445_000));
    let sandbox = Sandbox::new(APPID, SECRET, clock);
    let app = axum::Router::new().nest("/wechat", sandbox.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let listed: Value = kefu::tls::http_client_builder()
        .build()
        .unwrap()
        .get(format!("http://{addr}/wechat/sandbox/messages"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed, json!([]));
}

#[test]
fn debug_output_shows_no_app_secret_or_token() {
    let clock: Arc<dyn kefu::ports::Clock> = Arc::new(ManualClock::at(0));
    let sandbox = Sandbox::new("wx-debug", "the-real-app-secret", clock);
    let shown = format!("{sandbox:?}");
    assert!(shown.starts_with("Sandbox"));
    assert!(!shown.contains("the-real-app-secret"), "{shown}");
}

/// Two apps in one sandbox, as on WeChat: each has its own AppSecret, tokens, users and media.
/// A token sends only as its own app; the same openid in both apps is two users.
#[tokio::test]
async fn two_apps_keep_their_tokens_users_and_media_apart() {
    const OTHER: &str = "wxfedcba0987654321";
    const OTHER_SECRET: &str = "fedcba9876543210fedcba9876543210";
    let h = start().await;
    let _ = h.sandbox.clone().with_app(OTHER, OTHER_SECRET);

    // Each app's secret is checked against its own.
    let wrong = h
        .get_token(&format!(
            "grant_type=client_credential&appid={OTHER}&secret={SECRET}"
        ))
        .await;
    assert_eq!(errcode(&wrong), 40125, "{wrong}");
    let other_token = h
        .get_token(&format!(
            "grant_type=client_credential&appid={OTHER}&secret={OTHER_SECRET}"
        ))
        .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = h.token().await;

    // USER wrote to the first app only: the other app has no window open for them.
    h.sandbox.user_message(USER);
    assert_eq!(h.send_text(&other_token, "from the other app").await, 45015);
    assert_eq!(h.send_text(&token, "from the first app").await, 0);
    // Through the control route with ?appid=, the other app's user (same openid) writes too.
    let opened = h
        .control(
            &format!("/sandbox/users/{USER}/message?appid={OTHER}"),
            None,
        )
        .await;
    assert_eq!(opened.status(), 204);
    assert_eq!(h.send_text(&other_token, "now it may").await, 0);

    // A media id is the uploading app's own.
    let media_id = h.upload(&other_token).await;
    let image = json!({"touser": USER, "msgtype": "image", "image": {"media_id": media_id}});
    assert_eq!(errcode(&h.send(&token, &image).await), 40007);
    assert_eq!(errcode(&h.send(&other_token, &image).await), 0);

    let sent: Vec<(String, String)> = h
        .sandbox
        .messages()
        .into_iter()
        .map(|m| (m.appid, m.msgtype))
        .collect();
    assert_eq!(
        sent,
        [
            (APPID.to_owned(), "text".to_owned()),
            (OTHER.to_owned(), "text".to_owned()),
            (OTHER.to_owned(), "image".to_owned()),
        ]
    );
}
