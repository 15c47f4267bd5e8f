//! `kefu report`: what users asked and what answered them. Read from the deployment's table
//! (the unanswered and suggested questions the reply function keeps, one Query per day) or from
//! a running `kefu dev` (`GET /report.json`, which also knows every outcome it counted): the
//! messages by outcome and their rates, the hand-off rate, the quota refusals, the rules and
//! entries that answer most, and the top unanswered questions grouped by similarity (the FAQ
//! matcher's normalisation and synonyms), each group with its count, up to three examples and
//! the FAQ entry it comes closest to — what to add as a similar question next
//! (`kefu faq add-question`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use kefu::learn;
use kefu::ports::{AskedQuestion, QuestionLog};
use kefu::rule_cache::RuleCache;
use kefu::rules::{Faq, RuleSet};
use serde::{Deserialize, Serialize};

use crate::aws_args::AwsArgs;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// How far back: 7d, 24h, 90m (default 7d).
    #[arg(long, default_value = "7d", value_parser = parse_since)]
    since: Duration,
    /// Only this app's questions and messages (default: every app).
    #[arg(long)]
    appid: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Also write the report as one self-contained HTML page (no CDN, charts as inline SVG).
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Read from a running `kefu dev` at this URL (e.g. http://127.0.0.1:8080) instead of the
    /// deployment's table.
    #[arg(long, value_name = "URL")]
    dev: Option<String>,
    /// The deployment's DynamoDB table (its `TableName` output).
    #[arg(long, env = "KEFU_TABLE")]
    table: Option<String>,
    /// A rules file whose FAQ the groups are compared with (default: the deployment's rules at
    /// --rules-path).
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
    /// The deployment's rules parameter path (KEFU_RULES_PATH).
    #[arg(long, env = "KEFU_RULES_PATH")]
    rules_path: Option<String>,
    /// How many groups of questions to list.
    #[arg(long, default_value_t = 20)]
    top: usize,
    #[command(flatten)]
    aws_args: AwsArgs,
}

/// `7d`, `24h`, `90m`, `3600s`.
fn parse_since(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: a number and a unit, e.g. 7d, 24h, 90m"))?;
    let seconds = match unit {
        "d" => n.saturating_mul(86_400),
        "h" => n.saturating_mul(3_600),
        "m" => n.saturating_mul(60),
        "s" => n,
        _ => return Err(format!("{text:?}: the unit is d, h, m or s")),
    };
    Ok(Duration::from_secs(seconds))
}

/// Messages of one outcome (and one rule or entry, for the top list).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Count {
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub count: u64,
    /// Of all the messages counted (0–1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
}

/// Questions alike, with how often they were asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub count: usize,
    /// How many users asked them (by the keyed hash: never who).
    pub askers: usize,
    /// Up to three of the texts, the most asked first.
    pub examples: Vec<String>,
    /// `unanswered`, `suggested`, … and how many of each.
    pub outcomes: BTreeMap<String, usize>,
    /// The FAQ entry the most asked text comes closest to, and its score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closest: Option<(String, f32)>,
}

/// What `kefu report` shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Where it was read: `kefu dev` or the table's name.
    pub source: String,
    pub from_ms: i64,
    pub to_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appid: Option<String>,
    /// Every user message by outcome: known to `kefu dev` (since it started); a deployment's are
    /// CloudWatch metrics (the dashboard), not in the table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<u64>,
    #[serde(default)]
    pub outcomes: Vec<Count>,
    /// The rules and FAQ entries that answered most.
    #[serde(default)]
    pub top_answers: Vec<Count>,
    /// Transferred to an agent, of all messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handoff_rate: Option<f64>,
    /// Messages whose answer the user's send quota held back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_refusals: Option<u64>,
    /// The questions kept (unanswered and suggested), by outcome.
    pub kept: BTreeMap<String, usize>,
    /// How many users asked them.
    pub askers: usize,
    /// The kept questions grouped by similarity, largest first.
    pub groups: Vec<Group>,
    /// How many groups there are in all (`groups` lists the top ones).
    pub group_count: usize,
}

/// Builds the report from the questions kept and, when known, every outcome counted
/// (`(app, outcome, id, count)`, as `kefu::metrics::tally` gives them).
pub fn build(
    source: &str,
    (from_ms, to_ms): (i64, i64),
    appid: Option<&str>,
    questions: &[AskedQuestion],
    counted: Option<&[kefu::metrics::Counted]>,
    faq: &Faq,
    top: usize,
) -> Report {
    let mut report = Report {
        source: source.to_owned(),
        from_ms,
        to_ms,
        appid: appid.map(str::to_owned),
        messages: None,
        outcomes: Vec::new(),
        top_answers: Vec::new(),
        handoff_rate: None,
        quota_refusals: None,
        kept: BTreeMap::new(),
        askers: questions
            .iter()
            .map(|q| q.asker.as_str())
            .collect::<BTreeSet<_>>()
            .len(),
        groups: Vec::new(),
        group_count: 0,
    };
    for q in questions {
        *report.kept.entry(q.outcome.clone()).or_default() += 1;
    }
    if let Some(counted) = counted {
        let counted: Vec<_> = counted
            .iter()
            .filter(|(app, ..)| appid.is_none_or(|a| a == app))
            .collect();
        let total: u64 = counted.iter().map(|(.., n)| n).sum();
        let rate = |n: u64| (total > 0).then(|| n as f64 / total as f64);
        let mut by_outcome: BTreeMap<&str, u64> = BTreeMap::new();
        let mut by_id: BTreeMap<(&str, &str), u64> = BTreeMap::new();
        for (_, outcome, id, n) in &counted {
            *by_outcome.entry(outcome.as_str()).or_default() += n;
            if let Some(id) = id
                && matches!(outcome.as_str(), "rule" | "faq")
            {
                *by_id.entry((outcome.as_str(), id.as_str())).or_default() += n;
            }
        }
        report.messages = Some(total);
        report.outcomes = OUTCOMES
            .iter()
            .map(|(outcome, _)| {
                let n = by_outcome.get(outcome).copied().unwrap_or(0);
                Count {
                    outcome: (*outcome).to_owned(),
                    id: None,
                    count: n,
                    rate: rate(n),
                }
            })
            .collect();
        let mut answers: Vec<Count> = by_id
            .into_iter()
            .map(|((outcome, id), n)| Count {
                outcome: outcome.to_owned(),
                id: Some(id.to_owned()),
                count: n,
                rate: rate(n),
            })
            .collect();
        answers.sort_by(|a, b| b.count.cmp(&a.count).then(a.id.cmp(&b.id)));
        answers.truncate(10);
        report.top_answers = answers;
        report.handoff_rate = rate(by_outcome.get("transferred").copied().unwrap_or(0));
        report.quota_refusals = Some(by_outcome.get("held_quota").copied().unwrap_or(0));
    }

    let texts: Vec<&str> = questions.iter().map(|q| q.text.as_str()).collect();
    let groups = learn::group(faq, &texts);
    report.group_count = groups.len();
    report.groups = groups
        .into_iter()
        .take(top)
        .map(|members| {
            let mut examples: Vec<String> = Vec::new();
            let mut outcomes = BTreeMap::new();
            let mut askers = BTreeSet::new();
            for &m in &members {
                let Some(q) = questions.get(m) else { continue };
                *outcomes.entry(q.outcome.clone()).or_default() += 1;
                askers.insert(q.asker.as_str());
                let text = q.text.trim().to_owned();
                if examples.len() < 3 && !examples.contains(&text) {
                    examples.push(text);
                }
            }
            let closest = examples
                .first()
                .and_then(|lead| learn::closest_entry(faq, lead))
                .map(|(id, score)| (id.to_owned(), (score * 100.0).round() / 100.0));
            Group {
                count: members.len(),
                askers: askers.len(),
                examples,
                outcomes,
                closest,
            }
        })
        .collect();
    report
}

/// The outcomes, in the order shown, with their labels.
const OUTCOMES: &[(&str, &str)] = &[
    ("rule", "answered by a rule"),
    ("faq", "answered by the FAQ"),
    ("suggested", "suggested (FAQ unsure)"),
    ("unanswered", "unanswered (the default)"),
    ("silent", "unanswered, nothing sent"),
    ("transferred", "handed to an agent"),
    ("held_handoff", "held: an agent has the user"),
    ("held_quota", "held: over the send quota"),
];

fn label(outcome: &str) -> &str {
    OUTCOMES
        .iter()
        .find(|(o, _)| *o == outcome)
        .map_or(outcome, |(_, label)| label)
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(String::new, |r| format!("{:5.1} %", r * 100.0))
}

/// `2026-12-07 05:40 UTC`.
fn when(ms: i64) -> String {
    let day = learn::day_of(ms);
    let minutes = ms.rem_euclid(86_400_000) / 60_000;
    format!("{day} {:02}:{:02} UTC", minutes / 60, minutes % 60)
}

/// The report in words.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "kefu report: {}, {} → {}, {}",
        report.source,
        when(report.from_ms),
        when(report.to_ms),
        report
            .appid
            .as_deref()
            .map_or_else(|| "every app".to_owned(), |a| format!("app {a}"))
    );
    match report.messages {
        Some(total) => {
            let _ = writeln!(out, "\nmessages: {total}");
            for count in &report.outcomes {
                let _ = writeln!(
                    out,
                    "  {:<30} {:>6}  {}",
                    label(&count.outcome),
                    count.count,
                    percent(count.rate)
                );
            }
            let _ = writeln!(
                out,
                "hand-off rate: {}   quota refusals: {}",
                percent(report.handoff_rate).trim(),
                report.quota_refusals.unwrap_or(0)
            );
            if !report.top_answers.is_empty() {
                let listed: Vec<String> = report
                    .top_answers
                    .iter()
                    .map(|c| {
                        format!(
                            "{} {} {}",
                            c.outcome,
                            c.id.as_deref().unwrap_or(""),
                            c.count
                        )
                    })
                    .collect();
                let _ = writeln!(out, "answered most: {}", listed.join(", "));
            }
        }
        None => {
            let _ = writeln!(
                out,
                "\nmessages by outcome: CloudWatch metric `messages` (the stack's dashboard); the table keeps only the questions below"
            );
        }
    }
    let kept: Vec<String> = report
        .kept
        .iter()
        .map(|(outcome, n)| format!("{outcome} {n}"))
        .collect();
    let total: usize = report.kept.values().sum();
    let _ = writeln!(
        out,
        "\nquestions kept: {total}{} from {} user{}",
        if kept.is_empty() {
            String::new()
        } else {
            format!(" ({})", kept.join(", "))
        },
        report.askers,
        if report.askers == 1 { "" } else { "s" }
    );
    if report.groups.is_empty() {
        let _ = writeln!(out, "no unanswered or suggested question in this period");
        return out.trim_end().to_owned();
    }
    let _ = writeln!(
        out,
        "top unanswered questions, grouped by similarity ({} of {} groups):",
        report.groups.len(),
        report.group_count
    );
    for (n, group) in report.groups.iter().enumerate() {
        let examples: Vec<String> = group.examples.iter().map(|e| format!("「{e}」")).collect();
        let closest = group.closest.as_ref().map_or_else(
            || "no FAQ entry close".to_owned(),
            |(id, score)| format!("closest entry: {id} ({score:.2})"),
        );
        let _ = writeln!(
            out,
            "{:>3}. {:>4}× by {} user{}  {}  → {closest}",
            n + 1,
            group.count,
            group.askers,
            if group.askers == 1 { "" } else { "s" },
            examples.join(" ")
        );
    }
    let _ = write!(
        out,
        "add one as a similar question: kefu faq add-question ENTRY \"text\" --rules FILE"
    );
    out
}

pub async fn report(args: &ReportArgs) -> anyhow::Result<String> {
    let to_ms = now_ms();
    let from_ms = to_ms.saturating_sub(i64::try_from(args.since.as_millis()).unwrap_or(i64::MAX));
    let report = match &args.dev {
        Some(url) => from_dev(url, from_ms, to_ms, args).await?,
        None => from_table(args, from_ms, to_ms).await?,
    };
    if let Some(file) = &args.html {
        std::fs::write(file, html(&report))
            .with_context(|| format!("writing {}", file.display()))?;
    }
    if args.json {
        Ok(serde_json::to_string_pretty(&report)?)
    } else {
        let mut out = text(&report);
        if let Some(file) = &args.html {
            let _ = write!(out, "\nwritten: {}", file.display());
        }
        Ok(out)
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

async fn from_dev(
    url: &str,
    from_ms: i64,
    to_ms: i64,
    args: &ReportArgs,
) -> anyhow::Result<Report> {
    let mut query = vec![
        ("from_ms", from_ms.to_string()),
        ("to_ms", to_ms.to_string()),
        ("top", args.top.to_string()),
    ];
    if let Some(appid) = &args.appid {
        query.push(("appid", appid.clone()));
    }
    let endpoint = format!("{}/report.json", url.trim_end_matches('/'));
    let response = kefu::tls::http_client_builder()
        .build()?
        .get(&endpoint)
        .query(&query)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .with_context(|| format!("reaching kefu dev at {endpoint}"))?;
    anyhow::ensure!(
        response.status().is_success(),
        "{endpoint}: HTTP {}",
        response.status()
    );
    response
        .json::<Report>()
        .await
        .with_context(|| format!("{endpoint}: not a report"))
}

async fn from_table(args: &ReportArgs, from_ms: i64, to_ms: i64) -> anyhow::Result<Report> {
    let table = args
        .table
        .as_deref()
        .context("which table? --table NAME (the stack's TableName output) or KEFU_TABLE; or --dev URL for a running kefu dev")?;
    let aws = args.aws_args.connect().await;
    let faq = match (&args.rules, &args.rules_path) {
        (Some(file), _) => rules_file_faq(file)?,
        (None, Some(path)) => {
            use kefu::ports::RuleSource as _;
            let rules = aws
                .rules_or_starter(path, None)
                .load()
                .await
                .with_context(|| format!("reading the rules at {path}"))?;
            rules.faq.as_deref().cloned().unwrap_or_default()
        }
        (None, None) => Faq::default(),
    };
    let questions = aws
        .table(table)
        .asked(args.appid.as_deref(), from_ms, to_ms, to_ms)
        .await?;
    Ok(build(
        &format!("table {table}"),
        (from_ms, to_ms),
        args.appid.as_deref(),
        &questions,
        None,
        &faq,
        args.top,
    ))
}

fn rules_file_faq(file: &std::path::Path) -> anyhow::Result<Faq> {
    let json =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let rules = RuleSet::from_json(&json).with_context(|| file.display().to_string())?;
    Ok(rules.faq.as_deref().cloned().unwrap_or_default())
}

/// What `kefu dev` serves at `/report.json` (and `/report`): its questions kept in memory,
/// every outcome counted since it started, and each app's rules.
#[derive(Debug, Clone)]
pub struct DevReport {
    pub questions: Arc<dyn QuestionLog>,
    /// The apps served and their rules (the first's FAQ when no app is asked for).
    pub apps: Vec<(String, Arc<RuleCache>)>,
}

#[derive(Debug, Deserialize)]
struct DevQuery {
    from_ms: Option<i64>,
    to_ms: Option<i64>,
    appid: Option<String>,
    top: Option<usize>,
}

impl DevReport {
    /// The routes: `GET /report.json` (what `kefu report --dev` reads) and `GET /report` (the
    /// same as a page).
    pub fn routes(self) -> axum::Router {
        use axum::extract::{Query, State};
        use axum::response::{Html, IntoResponse, Response};
        use axum::routing::get;
        async fn json(State(dev): State<DevReport>, Query(q): Query<DevQuery>) -> Response {
            match dev.build(q).await {
                Ok(report) => axum::Json(report).into_response(),
                Err(err) => (
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    err.to_string(),
                )
                    .into_response(),
            }
        }
        async fn page(State(dev): State<DevReport>, Query(q): Query<DevQuery>) -> Response {
            match dev.build(q).await {
                Ok(report) => Html(html(&report)).into_response(),
                Err(err) => (
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    err.to_string(),
                )
                    .into_response(),
            }
        }
        axum::Router::new()
            .route("/report.json", get(json))
            .route("/report", get(page))
            .with_state(self)
    }

    async fn build(&self, q: DevQuery) -> anyhow::Result<Report> {
        let to_ms = q.to_ms.unwrap_or_else(now_ms);
        let from_ms = q.from_ms.unwrap_or(to_ms - 7 * 86_400_000);
        let rules = self
            .apps
            .iter()
            .find(|(appid, _)| q.appid.as_ref().is_none_or(|a| a == appid))
            .or(self.apps.first())
            .map(|(_, rules)| rules.clone());
        let faq = match rules {
            Some(rules) => rules
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
        let counted = kefu::metrics::tally();
        let served: Vec<&str> = self.apps.iter().map(|(a, _)| a.as_str()).collect();
        let counted: Vec<_> = counted
            .into_iter()
            .filter(|(app, ..)| served.contains(&app.as_str()))
            .collect();
        Ok(build(
            "kefu dev (messages since it started)",
            (from_ms, to_ms),
            q.appid.as_deref(),
            &questions,
            Some(&counted),
            &faq,
            q.top.unwrap_or(20),
        ))
    }
}

/// HTML-escaped text.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Horizontal bars as inline SVG: one row per (label, value).
fn bars(rows: &[(String, f64, String)]) -> String {
    let max = rows.iter().map(|(_, v, _)| *v).fold(0.0, f64::max);
    let height = 24 * rows.len().max(1);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"720\" height=\"{height}\" role=\"img\">"
    );
    for (n, (label, value, note)) in rows.iter().enumerate() {
        let y = n * 24;
        let width = if max > 0.0 { value / max * 380.0 } else { 0.0 };
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{}\" font-size=\"13\">{}</text>\
             <rect x=\"230\" y=\"{}\" width=\"{width:.1}\" height=\"16\" fill=\"#07c160\"/>\
             <text x=\"{:.1}\" y=\"{}\" font-size=\"12\">{}</text>",
            y + 16,
            escape(label),
            y + 3,
            236.0 + width,
            y + 16,
            escape(note)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The report as one self-contained page: no script, no CDN, charts as inline SVG.
pub fn html(report: &Report) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>kefu report</h1><p>{}, {} → {}, {}</p>",
        escape(&report.source),
        when(report.from_ms),
        when(report.to_ms),
        escape(
            &report
                .appid
                .as_deref()
                .map_or_else(|| "every app".to_owned(), |a| format!("app {a}"))
        )
    );
    match report.messages {
        Some(total) => {
            let rows: Vec<(String, f64, String)> = report
                .outcomes
                .iter()
                .map(|c| {
                    (
                        label(&c.outcome).to_owned(),
                        c.count as f64,
                        format!("{} {}", c.count, percent(c.rate).trim()),
                    )
                })
                .collect();
            let _ = write!(
                body,
                "<h2>{total} messages by outcome</h2>{}<p>hand-off rate {} · quota refusals {}</p>",
                bars(&rows),
                percent(report.handoff_rate).trim(),
                report.quota_refusals.unwrap_or(0)
            );
            if !report.top_answers.is_empty() {
                let rows: Vec<(String, f64, String)> = report
                    .top_answers
                    .iter()
                    .map(|c| {
                        (
                            format!("{} {}", c.outcome, c.id.as_deref().unwrap_or("")),
                            c.count as f64,
                            c.count.to_string(),
                        )
                    })
                    .collect();
                let _ = write!(body, "<h2>answered most</h2>{}", bars(&rows));
            }
        }
        None => body.push_str(
            "<p>Messages by outcome: the CloudWatch metric <code>messages</code> (the stack's dashboard).</p>",
        ),
    }
    let total: usize = report.kept.values().sum();
    let _ = write!(
        body,
        "<h2>top unanswered questions</h2><p>{total} kept from {} users, {} groups</p>",
        report.askers, report.group_count
    );
    if !report.groups.is_empty() {
        let rows: Vec<(String, f64, String)> = report
            .groups
            .iter()
            .map(|g| {
                (
                    g.examples.first().cloned().unwrap_or_default(),
                    g.count as f64,
                    g.count.to_string(),
                )
            })
            .collect();
        body.push_str(&bars(&rows));
        body.push_str("<table><tr><th>#</th><th>asked</th><th>users</th><th>examples</th><th>closest FAQ entry</th></tr>");
        for (n, g) in report.groups.iter().enumerate() {
            let examples: Vec<String> = g
                .examples
                .iter()
                .map(|e| format!("「{}」", escape(e)))
                .collect();
            let closest = g.closest.as_ref().map_or_else(
                || "—".to_owned(),
                |(id, score)| format!("{} ({score:.2})", escape(id)),
            );
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{closest}</td></tr>",
                n + 1,
                g.count,
                g.askers,
                examples.join(" ")
            );
        }
        body.push_str("</table><p>Add one as a similar question: <code>kefu faq add-question ENTRY \"text\" --rules FILE</code></p>");
    }
    format!(
        "<!doctype html><html lang=\"zh\"><head><meta charset=\"utf-8\"><title>kefu report</title>\
         <style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:60em}}\
         table{{border-collapse:collapse}}td,th{{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left}}</style>\
         </head><body>{body}</body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    fn asked(text: &str, asker: &str, outcome: &str) -> AskedQuestion {
        AskedQuestion {
            appid: "wx1".into(),
            at_ms: 0,
            asker: asker.into(),
            outcome: outcome.into(),
            text: text.into(),
        }
    }

    #[test]
    fn since_takes_days_hours_minutes_and_seconds() {
        assert_eq!(parse_since("7d").unwrap(), Duration::from_secs(7 * 86_400));
        assert_eq!(parse_since("24h").unwrap(), Duration::from_secs(86_400));
        assert_eq!(parse_since("90m").unwrap(), Duration::from_secs(5_400));
        assert!(parse_since("7").is_err());
        assert!(parse_since("d").is_err());
    }

    #[test]
    fn groups_count_examples_askers_and_the_closest_entry() {
        let faq = RuleSet::from_json(
            &serde_json::json!({"rules": [], "faq": {"entries": [
                {"id": "refund", "questions": ["怎么申请退款", "如何退款"],
                 "action": {"reply": [{"type": "text", "content": "…"}]}}]}})
            .to_string(),
        )
        .unwrap()
        .faq
        .unwrap();
        let questions = [
            asked("退钱", "a", "unanswered"),
            asked("我要退钱", "b", "suggested"),
            asked("钱能退吗", "a", "unanswered"),
            asked("我要退钱", "c", "unanswered"),
            asked("发票怎么开", "d", "unanswered"),
        ];
        let counted = vec![
            (
                "wx1".to_owned(),
                "faq".to_owned(),
                Some("refund".to_owned()),
                6,
            ),
            ("wx1".to_owned(), "unanswered".to_owned(), None, 3),
            (
                "wx1".to_owned(),
                "transferred".to_owned(),
                Some("human".to_owned()),
                1,
            ),
            (
                "wx2".to_owned(),
                "rule".to_owned(),
                Some("x".to_owned()),
                50,
            ),
        ];
        let report = build(
            "test",
            (0, 1),
            Some("wx1"),
            &questions,
            Some(&counted),
            &faq,
            20,
        );
        assert_eq!(report.messages, Some(10));
        assert_eq!(report.handoff_rate, Some(0.1));
        assert_eq!(report.askers, 4);
        assert_eq!(report.group_count, 2);
        let refund = &report.groups[0];
        assert_eq!(refund.count, 4);
        assert_eq!(refund.askers, 3);
        assert_eq!(refund.examples, ["我要退钱", "退钱", "钱能退吗"]);
        assert_eq!(refund.closest.as_ref().unwrap().0, "refund");
        assert_eq!(report.groups[1].examples, ["发票怎么开"]);
        let shown = text(&report);
        assert!(
            shown.contains("「我要退钱」 「退钱」 「钱能退吗」"),
            "{shown}"
        );
        let page = html(&report);
        assert!(page.contains("<svg"));
        for outside in ["<script", "src=", "<link", "@import"] {
            assert!(!page.contains(outside), "{outside} in the page");
        }
    }
}
