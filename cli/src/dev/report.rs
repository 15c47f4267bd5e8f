//! The report, live: `GET /report.json` (what `kefu report --dev` reads), `GET /report` (the
//! same as a page) and `POST /report/add-question` — a group's question added as a similar
//! question of an entry of the app's rules file, by the function `kefu faq add-question` runs;
//! the rules watcher then reloads the file as after any save. A request it cannot do is refused
//! with a 4xx and its reason (on the page, on the terminal): no such entry, no words, a question
//! already there, rules that are not a file (Parameter Store: `kefu faq add-question` on a pulled
//! file, then `kefu rules push`), a form posted by a page of another site.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use kefu::ports::QuestionLog;
use kefu::rule_cache::RuleCache;
use kefu::rules::Faq;
use serde::Deserialize;

use super::console;
use super::timeline::{Level, Timeline};
use crate::faq::{Added, NotAdded, add_question};
use crate::report::{Page, Report, Tally, build, escape, now_ms};

/// One app served, as the report sees it.
#[derive(Debug)]
pub(super) struct ReportApp {
    pub appid: String,
    pub rules: Arc<RuleCache>,
    /// The rules file, when the rules come from one (what a question is added to).
    pub file: Option<PathBuf>,
    /// Where the rules come from, in words (`Parameter Store /kefu/rules`, …).
    pub origin: String,
}

/// What the report routes share. Clones share it.
#[derive(Debug, Clone)]
pub(super) struct DevReport {
    pub questions: Arc<dyn QuestionLog>,
    /// The apps served (the first's FAQ when no app is asked for).
    pub apps: Arc<Vec<ReportApp>>,
    pub timeline: Timeline,
    /// One question added at a time: each reads, changes and writes the whole file.
    pub writing: Arc<Mutex<()>>,
}

#[derive(Debug, Deserialize)]
struct ReportQuery {
    from_ms: Option<i64>,
    to_ms: Option<i64>,
    appid: Option<String>,
    top: Option<usize>,
    /// The entry a question was just added to (the page says so).
    added: Option<String>,
}

/// `POST /report/add-question`: a form (the page's) or JSON.
#[derive(Debug, Deserialize)]
struct AddRequest {
    /// The app whose rules (default: the first app's).
    appid: Option<String>,
    entry: String,
    text: String,
}

/// A form or JSON body is a question and an entry: this is plenty.
const MAX_BODY: usize = 16 * 1024;

impl DevReport {
    pub(super) fn routes(self) -> axum::Router {
        axum::Router::new()
            .route("/report.json", get(json))
            .route("/report", get(page))
            .route("/report/add-question", post(add))
            .with_state(self)
    }

    /// The app `appid` names, or the first; `None` when no app is served by that id.
    fn app(&self, appid: Option<&str>) -> Option<&ReportApp> {
        match appid.filter(|a| !a.is_empty()) {
            Some(appid) => self.apps.iter().find(|app| app.appid == appid),
            None => self.apps.first(),
        }
    }

    async fn build(&self, q: &ReportQuery) -> anyhow::Result<Report> {
        let to_ms = q.to_ms.unwrap_or_else(now_ms);
        let from_ms = q.from_ms.unwrap_or(to_ms - 7 * 86_400_000);
        let app = self.app(q.appid.as_deref()).or(self.apps.first());
        let faq = match app {
            Some(app) => app
                .rules
                .get()
                .await?
                .faq
                .as_deref()
                .cloned()
                .unwrap_or_default(),
            None => Faq::default(),
        };
        let questions = self
            .questions
            .asked(q.appid.as_deref(), from_ms, to_ms, to_ms)
            .await?;
        let served: Vec<&str> = self.apps.iter().map(|a| a.appid.as_str()).collect();
        let counted = Tally {
            outcomes: kefu::metrics::tally()
                .into_iter()
                .filter(|(app, ..)| served.contains(&app.as_str()))
                .collect(),
            hours: kefu::metrics::tally_by_hour()
                .into_iter()
                .filter(|(_, app, ..)| served.contains(&app.as_str()))
                .collect(),
        };
        let mut report = build(
            "kefu dev (messages since it started)",
            (from_ms, to_ms),
            q.appid.as_deref(),
            &questions,
            Some(&counted),
            &faq,
            q.top.unwrap_or(20),
        );
        report.rules_file = app
            .and_then(|a| a.file.as_ref())
            .map(|f| f.display().to_string());
        Ok(report)
    }

    /// Adds the question to the app's rules file: the line to show, or the status and reason.
    fn add(&self, request: &AddRequest) -> Result<String, (StatusCode, String)> {
        let Some(app) = self.app(request.appid.as_deref()) else {
            let served: Vec<&str> = self.apps.iter().map(|a| a.appid.as_str()).collect();
            return Err((
                StatusCode::NOT_FOUND,
                format!(
                    "no app {} here (served: {})",
                    request.appid.as_deref().unwrap_or_default(),
                    served.join(", ")
                ),
            ));
        };
        let Some(file) = &app.file else {
            return Err((StatusCode::CONFLICT, not_a_file(&app.origin)));
        };
        let _one_at_a_time = self.writing.lock().unwrap_or_else(|p| p.into_inner());
        match add_question(&request.entry, &request.text, file) {
            Ok(Added::Written(line)) => Ok(line),
            Ok(Added::Already(line)) => Err((StatusCode::CONFLICT, line)),
            Err(refused) => {
                let status = match &refused {
                    NotAdded::NoWords(_) => StatusCode::BAD_REQUEST,
                    NotAdded::UnknownEntry(_) => StatusCode::NOT_FOUND,
                    NotAdded::OtherEntry(_) | NotAdded::File(_) => StatusCode::CONFLICT,
                    NotAdded::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
                    NotAdded::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
                };
                Err((status, refused.to_string()))
            }
        }
    }
}

/// Why rules that are not a file take no question from the page, and what does.
fn not_a_file(origin: &str) -> String {
    if origin.starts_with("Parameter Store") {
        format!(
            "the rules come from {origin}, not a file: kefu rules pull -o RULES.json, kefu faq add-question ENTRY \"text\" --rules RULES.json, then kefu rules push RULES.json"
        )
    } else {
        format!("the rules are {origin}, not a file: start kefu dev --rules FILE to add questions")
    }
}

async fn json(State(dev): State<DevReport>, Query(q): Query<ReportQuery>) -> Response {
    match dev.build(&q).await {
        Ok(report) => axum::Json(report).into_response(),
        Err(err) => failed(&err),
    }
}

async fn page(State(dev): State<DevReport>, Query(q): Query<ReportQuery>) -> Response {
    match dev.build(&q).await {
        Ok(report) => {
            let added = q
                .added
                .as_deref()
                .filter(|e| report.entries.iter().any(|id| id == e));
            Html(crate::report::html(&report, &Page::Live { added })).into_response()
        }
        Err(err) => failed(&err),
    }
}

fn failed(err: &anyhow::Error) -> Response {
    let reason = format!("the report failed: {err:#}");
    console::say(Level::Error, &reason);
    (StatusCode::INTERNAL_SERVER_ERROR, reason).into_response()
}

async fn add(State(dev): State<DevReport>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    // The page's form is answered with pages (back to the report, or the reason); anything
    // else with the reason as text.
    let from_page = content_type.starts_with("application/x-www-form-urlencoded");
    let request = if cross_site(&headers) {
        Err((
            StatusCode::FORBIDDEN,
            "a request from another site is refused: add questions from kefu dev's own /report page"
                .to_owned(),
        ))
    } else if body.len() > MAX_BODY {
        Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request is over {MAX_BODY} bytes"),
        ))
    } else if from_page {
        form(&body)
    } else if content_type.starts_with("application/json") {
        serde_json::from_slice::<AddRequest>(&body).map_err(|e| {
            (
                StatusCode::BAD_REQUEST,
                format!("not the JSON asked for: {e}"),
            )
        })
    } else {
        Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "a form or JSON: {\"entry\", \"text\", \"appid\" (optional)}".to_owned(),
        ))
    };
    let added = request.and_then(|request| dev.add(&request).map(|line| (request, line)));
    match added {
        Ok((request, line)) => {
            let text = format!("report: added as a similar question: {line}");
            console::say(Level::Good, &text);
            dev.timeline.notice(None, Level::Good, text);
            if from_page {
                let mut back = format!("/report?added={}", query_value(&request.entry));
                if let Some(appid) = request.appid.filter(|a| !a.is_empty()) {
                    back.push_str(&format!("&appid={}", query_value(&appid)));
                }
                Redirect::to(&back).into_response()
            } else {
                axum::Json(serde_json::json!({ "added": line })).into_response()
            }
        }
        Err((status, reason)) => {
            let level = if status.is_server_error() {
                Level::Error
            } else {
                Level::Warn
            };
            console::say(
                level,
                &format!("report: question not added ({}): {reason}", status.as_u16()),
            );
            if from_page {
                let page = format!(
                    "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
                     <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
                     <title>not added</title></head><body style=\"font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem\">\
                     <h1>Not added</h1><p>{}</p><p><a href=\"/report\">← back to the report</a></p></body></html>\n",
                    escape(&reason)
                );
                (status, Html(page)).into_response()
            } else {
                (status, reason).into_response()
            }
        }
    }
}

/// A request a page of another site made (a form any page can post to 127.0.0.1): the browser
/// says so in `Sec-Fetch-Site`, or by an `Origin` that is not this server. A request without
/// either (curl, a script) is not a browser's on another site's behalf.
fn cross_site(headers: &HeaderMap) -> bool {
    let value = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = value(header::HeaderName::from_static("sec-fetch-site")) {
        return !matches!(site, "same-origin" | "none");
    }
    match value(header::ORIGIN) {
        Some(origin) => origin.split_once("://").map(|(_, host)| host) != value(header::HOST),
        None => false,
    }
}

/// The form's fields, decoded as a query string is (the same encoding).
fn form(body: &[u8]) -> Result<AddRequest, (StatusCode, String)> {
    let bad = || {
        (
            StatusCode::BAD_REQUEST,
            "the form needs entry and text".to_owned(),
        )
    };
    let text = std::str::from_utf8(body).map_err(|_| bad())?;
    let uri: axum::http::Uri = format!("/?{text}").parse().map_err(|_| bad())?;
    Query::<AddRequest>::try_from_uri(&uri)
        .map(|Query(request)| request)
        .map_err(|_| bad())
}

/// `text` percent-encoded for a query string.
fn query_value(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use kefu::clock::SystemClock;
    use kefu::memory::{MemoryTable, StaticRules};
    use kefu::rules::RuleSet;

    use super::*;

    #[test]
    fn a_form_is_read_as_a_query_string_is() {
        let request = form("entry=refund&text=%E6%88%91%E8%A6%81+%E9%80%80".as_bytes()).unwrap();
        assert_eq!(request.entry, "refund");
        assert_eq!(request.text, "我要 退");
        assert_eq!(request.appid, None);
        assert_eq!(form(b"text=x").unwrap_err().0, StatusCode::BAD_REQUEST);
        assert_eq!(
            form(b"entry=a b&text=x").unwrap_err().0,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(query_value("退 a/b"), "%E9%80%80%20a%2Fb");
    }

    #[test]
    fn a_form_posted_from_another_site_is_told_apart() {
        let headers = |pairs: &[(&'static str, &'static str)]| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                headers.insert(*name, axum::http::HeaderValue::from_static(value));
            }
            headers
        };
        assert!(!cross_site(&headers(&[])), "curl, a script");
        assert!(!cross_site(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(cross_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(cross_site(&headers(&[("sec-fetch-site", "same-site")])));
        let here = [
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
        ];
        assert!(!cross_site(&headers(&here)));
        assert!(cross_site(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "https://example.com")
        ])));
        assert!(cross_site(&headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "null")
        ])));
    }

    /// Each request the page cannot do, refused by its status and reason; the file written
    /// once, by the one request that adds a question.
    #[test]
    fn what_cannot_be_added_is_refused_with_a_reason() {
        let dir = std::env::temp_dir().join(format!("kefu-dev-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("rules.json");
        let json = serde_json::json!({"rules": [], "faq": {"entries": [
            {"id": "refund", "questions": ["怎么申请退款"], "action": {"reply": [{"type": "text", "content": "…"}]}},
            {"id": "delivery", "questions": ["多久发货"], "action": {"reply": [{"type": "text", "content": "…"}]}}]}})
        .to_string();
        std::fs::write(&file, &json).unwrap();
        let rules = RuleSet::from_json(&json).unwrap();
        let app = |appid: &str, file: Option<PathBuf>, origin: &str| ReportApp {
            appid: appid.to_owned(),
            rules: Arc::new(RuleCache::new(
                Arc::new(StaticRules::new(rules.clone())),
                Arc::new(SystemClock),
                Duration::from_secs(2),
            )),
            file,
            origin: origin.to_owned(),
        };
        let dev = DevReport {
            questions: Arc::new(MemoryTable::new()),
            apps: Arc::new(vec![
                app("wx1", Some(file.clone()), "rules.json"),
                app("wx2", None, "Parameter Store /kefu/rules"),
                app("wx3", None, "the embedded sample rules"),
            ]),
            timeline: Timeline::new(),
            writing: Arc::default(),
        };
        let ask = |appid: Option<&str>, entry: &str, text: &str| {
            dev.add(&AddRequest {
                appid: appid.map(str::to_owned),
                entry: entry.to_owned(),
                text: text.to_owned(),
            })
        };
        let refused = |result: Result<String, (StatusCode, String)>| result.unwrap_err();

        let (status, reason) = refused(ask(None, "returns", "我要退"));
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(
            reason.contains("no FAQ entry \"returns\" (the entries: refund, delivery)"),
            "{reason}"
        );
        let (status, reason) = refused(ask(None, "refund", " ？ "));
        assert_eq!(
            (status, reason.contains("no words")),
            (StatusCode::BAD_REQUEST, true)
        );
        let (status, reason) = refused(ask(None, "refund", "多久发货"));
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(
            reason.contains("already a question of entry delivery"),
            "{reason}"
        );
        let (status, reason) = refused(ask(Some("wx9"), "refund", "我要退"));
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(
            reason.contains("no app wx9 here (served: wx1, wx2, wx3)"),
            "{reason}"
        );
        let (status, reason) = refused(ask(Some("wx2"), "refund", "我要退"));
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(
            reason.contains("kefu faq add-question") && reason.contains("kefu rules push"),
            "{reason}"
        );
        let (status, reason) = refused(ask(Some("wx3"), "refund", "我要退"));
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(reason.contains("kefu dev --rules FILE"), "{reason}");
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            json,
            "nothing written"
        );

        let line = ask(Some("wx1"), "refund", "我要退").unwrap();
        assert!(line.contains("refund + \"我要退\" (2 questions)"), "{line}");
        let written = RuleSet::from_json(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(
            written.faq.unwrap().entry("refund").unwrap().questions,
            ["怎么申请退款", "我要退"]
        );
        let (status, reason) = refused(ask(None, "refund", "我要退！"));
        assert_eq!(status, StatusCode::CONFLICT);
        assert!(reason.contains("refund already has"), "{reason}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
