//! `kefu report`: what users asked and what answered them. Read from the deployment's table
//! (the unanswered and suggested questions the reply function keeps, one Query per day) or from
//! a running `kefu dev` (`GET /report.json`, which also knows every outcome it counted): the
//! messages by outcome and their rates, the hand-off rate, the quota refusals, the rules and
//! entries that answer most, and the top unanswered questions grouped by similarity (the FAQ
//! matcher's normalisation and synonyms), each group with its count, up to three examples and
//! the FAQ entry it comes closest to — what to add as a similar question next
//! (`kefu faq add-question`; on the page `kefu dev` serves, a button per group:
//! `dev/report.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use kefu::learn;
use kefu::ports::{AskedQuestion, QuestionLog as _};
use kefu::rules::{Faq, FaqDecision, RuleSet};
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
    /// The FAQ entry the most asked text comes closest to (shares a word with, else the one
    /// the matcher suggests for it), and its score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closest: Option<(String, f32)>,
    /// The entry the FAQ answers the most asked text with now (after a question was added),
    /// and its score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_now: Option<(String, f32)>,
}

/// What `kefu dev` counted since it started: every user message by (app, outcome, id), and by
/// (hour, app, outcome) — `kefu::metrics::tally` and `tally_by_hour`.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub outcomes: Vec<kefu::metrics::Counted>,
    pub hours: Vec<kefu::metrics::Hourly>,
}

/// Messages (or kept questions) by outcome per hour or per day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverTime {
    /// What is counted: `messages` (every outcome: `kefu dev`) or `kept questions` (a
    /// deployment's table: unanswered and suggested).
    pub of: String,
    /// 3 600 000 (hours: when the span is under two days) or 86 400 000 (days).
    pub bucket_ms: i64,
    /// Oldest first, one per hour or day of the span, empty ones too.
    pub buckets: Vec<Bucket>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    pub start_ms: i64,
    /// By outcome; outcomes with none left out.
    pub counts: BTreeMap<String, u64>,
}

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// Counts `(at_ms, outcome, n)` per hour, or per day when the span — from the first count (or
/// `from_ms`, whichever is later) to `to_ms` — is two days or more; at least the last 12 hours
/// or 7 days of the period.
fn over_time<'a>(
    of: &str,
    (from_ms, to_ms): (i64, i64),
    points: impl Iterator<Item = (i64, &'a str, u64)> + Clone,
) -> OverTime {
    let points = points.filter(|(at, ..)| (from_ms..=to_ms).contains(at));
    let Some(first) = points.clone().map(|(at, ..)| at).min() else {
        return OverTime {
            of: of.to_owned(),
            bucket_ms: HOUR_MS,
            buckets: Vec::new(),
        };
    };
    let bucket_ms = if to_ms - first < 2 * DAY_MS {
        HOUR_MS
    } else {
        DAY_MS
    };
    // At least 12 hours or 7 days (within the period), so that one busy hour is one bar of
    // several rather than the whole chart.
    let floor = |ms: i64| ms.div_euclid(bucket_ms) * bucket_ms;
    let least = if bucket_ms == HOUR_MS { 12 } else { 7 };
    let start = floor(first)
        .min(floor(to_ms) - (least - 1) * bucket_ms)
        .max(floor(from_ms));
    let mut buckets: Vec<Bucket> = (start..=to_ms)
        .step_by(usize::try_from(bucket_ms).unwrap_or(usize::MAX))
        .map(|start_ms| Bucket {
            start_ms,
            counts: BTreeMap::new(),
        })
        .collect();
    for (at, outcome, n) in points {
        let slot = usize::try_from((at - start).div_euclid(bucket_ms)).unwrap_or(usize::MAX);
        if let Some(bucket) = buckets.get_mut(slot) {
            *bucket.counts.entry(outcome.to_owned()).or_default() += n;
        }
    }
    OverTime {
        of: of.to_owned(),
        bucket_ms,
        buckets,
    }
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
    /// Messages by outcome per hour or day (`kefu dev`), or the kept questions (a deployment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub over_time: Option<OverTime>,
    /// The kept questions grouped by similarity, largest first.
    pub groups: Vec<Group>,
    /// How many groups there are in all (`groups` lists the top ones).
    pub group_count: usize,
    /// The ids of the FAQ's entries the groups were compared with.
    #[serde(default)]
    pub entries: Vec<String>,
    /// The rules file that FAQ is read from, when it is a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules_file: Option<String>,
    /// The Parameter Store path it is read from, for a deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules_path: Option<String>,
}

/// Builds the report from the questions kept and, when known (`kefu dev`), every outcome
/// counted.
pub fn build(
    source: &str,
    (from_ms, to_ms): (i64, i64),
    appid: Option<&str>,
    questions: &[AskedQuestion],
    counted: Option<&Tally>,
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
        over_time: None,
        askers: questions
            .iter()
            .map(|q| q.asker.as_str())
            .collect::<BTreeSet<_>>()
            .len(),
        groups: Vec::new(),
        group_count: 0,
        entries: faq.entries.iter().map(|e| e.id.clone()).collect(),
        rules_file: None,
        rules_path: None,
    };
    for q in questions {
        *report.kept.entry(q.outcome.clone()).or_default() += 1;
    }
    let period = (from_ms, to_ms);
    report.over_time = Some(match counted {
        Some(tally) => over_time(
            "messages",
            period,
            tally
                .hours
                .iter()
                .filter(|(_, app, ..)| appid.is_none_or(|a| a == app))
                .map(|(hour, _, outcome, n)| (*hour, outcome.as_str(), *n)),
        ),
        None => over_time(
            "kept questions",
            period,
            questions.iter().map(|q| (q.at_ms, q.outcome.as_str(), 1)),
        ),
    });
    if let Some(counted) = counted {
        let counted: Vec<_> = counted
            .outcomes
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
            let rounded = |score: f32| (score * 100.0).round() / 100.0;
            let lead = examples.first().map_or("", String::as_str);
            let decision = faq.decide(lead);
            // The entry sharing a word with it, else the one the matcher suggests for it.
            let closest = learn::closest_entry(faq, lead)
                .or_else(|| match &decision {
                    FaqDecision::Suggest(candidates) => candidates
                        .first()
                        .map(|(entry, score)| (entry.id.as_str(), *score)),
                    _ => None,
                })
                .map(|(id, score)| (id.to_owned(), rounded(score)));
            let answered_now = match &decision {
                FaqDecision::Answer { entry, score, .. } => {
                    Some((entry.id.clone(), rounded(*score)))
                }
                _ => None,
            };
            Group {
                count: members.len(),
                askers: askers.len(),
                examples,
                outcomes,
                closest,
                answered_now,
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
    if let Some(over) = report.over_time.as_ref().filter(|o| !o.buckets.is_empty()) {
        let unit = if over.bucket_ms < DAY_MS {
            "hour"
        } else {
            "day"
        };
        let skip = over.buckets.len().saturating_sub(12);
        let listed: Vec<String> = over
            .buckets
            .iter()
            .skip(skip)
            .map(|b| {
                format!(
                    "{} {}",
                    bucket_label(b.start_ms, over.bucket_ms),
                    b.counts.values().sum::<u64>()
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "{} per {unit} (UTC{}): {}",
            over.of,
            if skip > 0 { ", the last 12" } else { "" },
            listed.join(" · ")
        );
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
        "add one as a similar question: {}",
        add_command("ENTRY", "text", report)
    );
    if let Some(path) = &report.rules_path {
        let _ = write!(out, "\n{}", deployment_steps(path));
    }
    out
}

/// `kefu faq add-question ENTRY 'text' --rules FILE`, quoted for a shell.
fn add_command(entry: &str, text: &str, report: &Report) -> String {
    format!(
        "kefu faq add-question {} {} --rules {}",
        shell_word(entry),
        shell_word(text),
        report
            .rules_file
            .as_deref()
            .map_or_else(|| "RULES.json".to_owned(), shell_word)
    )
}

/// For rules in Parameter Store: where the file comes from and where it goes.
fn deployment_steps(path: &str) -> String {
    let path = shell_word(path);
    format!(
        "the rules are in Parameter Store: kefu rules pull --path {path} -o RULES.json first, then kefu rules push RULES.json --path {path}"
    )
}

/// `text` as one shell word: as it is when nothing in it is special to a shell, else in single
/// quotes (a quote in it as `'\''`).
fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| !c.is_ascii() || c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c));
    if plain && !text.chars().any(char::is_whitespace) {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

pub async fn report(args: &ReportArgs) -> anyhow::Result<String> {
    let to_ms = now_ms();
    let from_ms = to_ms.saturating_sub(i64::try_from(args.since.as_millis()).unwrap_or(i64::MAX));
    let report = match &args.dev {
        Some(url) => from_dev(url, from_ms, to_ms, args).await?,
        None => from_table(args, from_ms, to_ms).await?,
    };
    if let Some(file) = &args.html {
        std::fs::write(file, html(&report, &Page::File))
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

pub fn now_ms() -> i64 {
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
    let mut report = build(
        &format!("table {table}"),
        (from_ms, to_ms),
        args.appid.as_deref(),
        &questions,
        None,
        &faq,
        args.top,
    );
    report.rules_file = args.rules.as_ref().map(|f| f.display().to_string());
    report.rules_path = args.rules_path.clone().filter(|_| args.rules.is_none());
    Ok(report)
}

fn rules_file_faq(file: &std::path::Path) -> anyhow::Result<Faq> {
    let json =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let rules = RuleSet::from_json(&json).with_context(|| file.display().to_string())?;
    Ok(rules.faq.as_deref().cloned().unwrap_or_default())
}

/// HTML-escaped text.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Where the page is shown, which decides what each group offers.
#[derive(Debug, Clone, Copy)]
pub enum Page<'a> {
    /// A file (`--html`), read offline: each group shows the command that adds its question.
    File,
    /// Served by `kefu dev` at `/report`: each group has a form that adds its question to the
    /// rules file (`POST /report/add-question`); `added`: the entry one was just added to.
    Live { added: Option<&'a str> },
}

/// The colour an outcome is drawn in, the same in the headline, the chart and the bars:
/// answered green, suggested amber, unanswered red, handed to an agent blue, held back purple.
fn colour(outcome: &str) -> &'static str {
    match outcome {
        "rule" => "#1a7f37",
        "faq" => "#07c160",
        "suggested" => "#e3a008",
        "unanswered" => "#fa5151",
        "silent" => "#ff9c9c",
        "transferred" => "#1e80ff",
        "held_handoff" => "#7cb8ff",
        "held_quota" => "#8250df",
        _ => "#8c959f",
    }
}

/// Bars as rows of HTML (the labels wrap and stay readable at a phone's width), each bar an
/// inline SVG: (label, value, what is written after it, colour).
fn rows(rows: &[(String, f64, String, &str)]) -> String {
    let max = rows.iter().map(|(_, v, ..)| *v).fold(0.0, f64::max);
    let mut out = String::from("<div class=\"rows\">");
    for (label, value, note, colour) in rows {
        let width = if max > 0.0 { value / max * 100.0 } else { 0.0 };
        let _ = write!(
            out,
            "<div class=\"row\"><span>{}</span><svg class=\"bar\" viewBox=\"0 0 100 10\" preserveAspectRatio=\"none\" aria-hidden=\"true\">\
             <rect width=\"{width:.1}\" height=\"10\" fill=\"{colour}\"/></svg><span class=\"val\">{}</span></div>",
            escape(label),
            escape(note)
        );
    }
    out.push_str("</div>");
    out
}

/// A rate as the headline shows it: `42 %`, `4.2 %` under ten.
fn headline_rate(rate: Option<f64>) -> String {
    match rate {
        Some(r) if r * 100.0 < 9.95 => format!("{:.1} %", r * 100.0),
        Some(r) => format!("{:.0} %", r * 100.0),
        None => "–".to_owned(),
    }
}

/// The headline row: one card per key figure, (title, figure, below it, colour).
fn headline(cards: &[(&str, String, String, &str)]) -> String {
    let mut out = String::from("<section class=\"kpis\">");
    for (title, figure, below, colour) in cards {
        let _ = write!(
            out,
            "<div class=\"kpi\" style=\"border-top-color:{colour}\"><span>{}</span><b>{}</b><small>{}</small></div>",
            escape(title),
            escape(figure),
            escape(below)
        );
    }
    out.push_str("</section>");
    out
}

/// The headline of a report that knows every outcome (`kefu dev`).
fn headline_of_messages(report: &Report, total: u64) -> String {
    let count = |outcomes: &[&str]| -> u64 {
        report
            .outcomes
            .iter()
            .filter(|c| outcomes.contains(&c.outcome.as_str()))
            .map(|c| c.count)
            .sum()
    };
    let rate = |n: u64| (total > 0).then(|| n as f64 / total as f64);
    let card = |title, outcomes: &[&str], colour| {
        let n = count(outcomes);
        (
            title,
            headline_rate(rate(n)),
            format!("{n} message{}", plural(n)),
            colour,
        )
    };
    let held = count(&["held_handoff", "held_quota"]);
    headline(&[
        (
            "messages",
            total.to_string(),
            format!(
                "{held} held back · {} over quota",
                report.quota_refusals.unwrap_or(0)
            ),
            "#8c959f",
        ),
        card("answered", &["rule", "faq"], colour("faq")),
        card("suggested", &["suggested"], colour("suggested")),
        card(
            "unanswered",
            &["unanswered", "silent"],
            colour("unanswered"),
        ),
        card("hand-off", &["transferred"], colour("transferred")),
    ])
}

/// The headline of a deployment's report: the questions its table keeps.
fn headline_of_kept(report: &Report) -> String {
    let total: usize = report.kept.values().sum();
    let kept = |outcome: &str| report.kept.get(outcome).copied().unwrap_or(0);
    let share = |n: usize| (total > 0).then(|| n as f64 / total as f64);
    headline(&[
        (
            "questions kept",
            total.to_string(),
            format!(
                "from {} user{}",
                report.askers,
                plural(report.askers as u64)
            ),
            "#8c959f",
        ),
        (
            "unanswered",
            kept("unanswered").to_string(),
            format!("{} of those kept", headline_rate(share(kept("unanswered")))),
            colour("unanswered"),
        ),
        (
            "suggested",
            kept("suggested").to_string(),
            format!("{} of those kept", headline_rate(share(kept("suggested")))),
            colour("suggested"),
        ),
        (
            "groups",
            report.group_count.to_string(),
            "of questions alike".to_owned(),
            "#1e80ff",
        ),
    ])
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A bucket's start as the chart's axis shows it: `12-07 10:00` (hours) or `12-07` (days).
fn bucket_label(start_ms: i64, bucket_ms: i64) -> String {
    let day = learn::day_of(start_ms);
    let day = day.get(5..).unwrap_or(&day).to_owned();
    if bucket_ms < DAY_MS {
        format!("{day} {:02}:00", start_ms.rem_euclid(DAY_MS) / HOUR_MS)
    } else {
        day
    }
}

/// Stacked bars per hour or day by outcome, as inline SVG stretched to the page's width (no
/// text inside: the axis and the legend are HTML, readable at any width); each bar's parts
/// say what they are on hover.
fn chart(over: &OverTime) -> String {
    let unit = if over.bucket_ms < DAY_MS {
        "hour"
    } else {
        "day"
    };
    let total = |b: &Bucket| b.counts.values().sum::<u64>();
    let max = over.buckets.iter().map(total).max().unwrap_or(0);
    if max == 0 {
        return "<p class=\"muted\">Nothing counted in this period yet.</p>".to_owned();
    }
    let shown: Vec<&str> = OUTCOMES
        .iter()
        .map(|(o, _)| *o)
        .filter(|o| over.buckets.iter().any(|b| b.counts.contains_key(*o)))
        .collect();
    let n = over.buckets.len();
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {} 100\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"{} per {unit} by outcome\">\
         <line class=\"grid\" x1=\"0\" x2=\"{0}\" y1=\"50\" y2=\"50\"/><line class=\"grid\" x1=\"0\" x2=\"{0}\" y1=\"99.5\" y2=\"99.5\"/>",
        n * 10,
        escape(&over.of)
    );
    for (i, bucket) in over.buckets.iter().enumerate() {
        let mut bottom = 100.0;
        for outcome in &shown {
            let Some(&count) = bucket.counts.get(*outcome) else {
                continue;
            };
            let height = count as f64 / max as f64 * 96.0;
            bottom -= height;
            let _ = write!(
                svg,
                "<rect x=\"{}\" y=\"{bottom:.2}\" width=\"8\" height=\"{height:.2}\" fill=\"{}\"><title>{} · {}: {count}</title></rect>",
                i * 10 + 1,
                colour(outcome),
                bucket_label(bucket.start_ms, over.bucket_ms),
                escape(label(outcome)),
            );
        }
    }
    svg.push_str("</svg>");
    let first = over.buckets.first().map(|b| b.start_ms).unwrap_or_default();
    let last = over.buckets.last().map(|b| b.start_ms).unwrap_or_default();
    let middle = (n > 2)
        .then(|| over.buckets.get(n / 2))
        .flatten()
        .map(|b| bucket_label(b.start_ms, over.bucket_ms))
        .unwrap_or_default();
    let legend: Vec<String> = shown
        .iter()
        .map(|o| {
            format!(
                "<span><i style=\"background:{}\"></i>{}</span>",
                colour(o),
                escape(label(o))
            )
        })
        .collect();
    format!(
        "<figure class=\"over\"><div class=\"ymax\">{max} per {unit} at most (UTC)</div>{svg}\
         <div class=\"xaxis\"><span>{}</span><span>{middle}</span><span>{}</span></div>\
         <figcaption class=\"legend\">{}</figcaption></figure>",
        bucket_label(first, over.bucket_ms),
        if n > 1 {
            bucket_label(last, over.bucket_ms)
        } else {
            String::new()
        },
        legend.join("")
    )
}

/// One group of questions as a card: how often, by how many users, its examples, the entry it
/// comes closest to, and how to add one of its questions to an entry.
fn group_card(report: &Report, page: &Page<'_>, n: usize, group: &Group, most: usize) -> String {
    let mut card = format!("<li class=\"group\" id=\"g{}\">", n + 1);
    let outcomes: Vec<String> = group
        .outcomes
        .iter()
        .map(|(outcome, count)| format!("{outcome} {count}"))
        .collect();
    let _ = write!(
        card,
        "<div class=\"ghead\"><b>{}×</b> <span class=\"muted\">by {} user{} · {}</span></div>\
         <svg class=\"share\" viewBox=\"0 0 100 4\" preserveAspectRatio=\"none\" role=\"img\">\
         <rect width=\"{:.1}\" height=\"4\" rx=\"1\" fill=\"#fa5151\"/></svg>",
        group.count,
        group.askers,
        if group.askers == 1 { "" } else { "s" },
        escape(&outcomes.join(", ")),
        group.count as f64 / most.max(1) as f64 * 100.0
    );
    let examples: Vec<String> = group
        .examples
        .iter()
        .map(|e| format!("<span class=\"q\">「{}」</span>", escape(e)))
        .collect();
    let _ = write!(card, "<p class=\"examples\">{}</p>", examples.join(" "));
    match (&group.answered_now, &group.closest) {
        (Some((id, score)), _) => {
            let _ = write!(
                card,
                "<p class=\"now\">✓ the FAQ answers it now: <b>{}</b> ({score:.2})</p>",
                escape(id)
            );
        }
        (None, Some((id, score))) => {
            let _ = write!(
                card,
                "<p class=\"closest\">closest entry: <b>{}</b> ({score:.2})</p>",
                escape(id)
            );
        }
        (None, None) => card.push_str("<p class=\"closest muted\">no FAQ entry close</p>"),
    }
    let lead = group.examples.first().map_or("", String::as_str);
    let entry = group
        .closest
        .as_ref()
        .map_or("ENTRY", |(id, _)| id.as_str());
    // Answered now: the control stays, folded, for the group's other questions.
    let folded = group.answered_now.is_some() && !report.entries.is_empty();
    if folded {
        card.push_str("<details><summary>add another of its questions</summary>");
    }
    match page {
        _ if report.entries.is_empty() => {
            card.push_str(
                "<p class=\"muted\">The rules have no FAQ entries to add it to (docs/faq.md).</p>",
            );
        }
        Page::Live { .. } if report.rules_file.is_some() => {
            card.push_str("<form class=\"add\" method=\"post\" action=\"/report/add-question\">");
            if let Some(appid) = &report.appid {
                let _ = write!(
                    card,
                    "<input type=\"hidden\" name=\"appid\" value=\"{}\">",
                    escape(appid)
                );
            }
            card.push_str("<label>Add <select name=\"text\">");
            for example in &group.examples {
                let _ = write!(card, "<option>{}</option>", escape(example));
            }
            card.push_str("</select></label> <label>as a similar question of <select name=\"entry\" required>");
            if group.closest.is_none() {
                card.push_str("<option value=\"\" selected disabled>pick an entry…</option>");
            }
            for id in &report.entries {
                let selected =
                    if Some(id.as_str()) == group.closest.as_ref().map(|(c, _)| c.as_str()) {
                        " selected"
                    } else {
                        ""
                    };
                let _ = write!(
                    card,
                    "<option value=\"{0}\"{selected}>{0}</option>",
                    escape(id)
                );
            }
            card.push_str("</select></label> <button type=\"submit\">Add</button></form>");
        }
        _ => {
            let _ = write!(
                card,
                "<p class=\"command\"><code>{}</code></p>",
                escape(&add_command(entry, lead, report))
            );
        }
    }
    if folded {
        card.push_str("</details>");
    }
    card.push_str("</li>");
    card
}

/// The page's style: system fonts with the Chinese ones named (PingFang, YaHei, Noto, WenQuanYi),
/// readable from a phone's width up, light or dark as the system is.
const STYLE: &str = "\
:root{color-scheme:light dark;--fg:#1f2328;--muted:#656d76;--line:#d8dee4;--card:#f6f8fa;--bg:#fff;--accent:#07c160}\
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--line:#30363d;--card:#161b22;--bg:#0d1117}}\
*{box-sizing:border-box}\
body{font-family:system-ui,-apple-system,\"Segoe UI\",\"PingFang SC\",\"Hiragino Sans GB\",\"Microsoft YaHei\",\"Noto Sans CJK SC\",\"Source Han Sans SC\",\"WenQuanYi Micro Hei\",sans-serif;\
color:var(--fg);background:var(--bg);margin:0 auto;padding:1rem;max-width:60rem;line-height:1.5}\
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.15rem;margin:1.8rem 0 .6rem}\
.muted,.sub{color:var(--muted)}.sub{margin:0 0 1rem}\
svg{display:block}\
.notice{background:#07c16022;border-left:4px solid var(--accent);padding:.6rem .9rem;border-radius:6px}\
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(8.5rem,1fr));gap:.7rem;margin:1rem 0}\
.kpi{background:var(--card);border-radius:12px;border-top:5px solid;padding:.6rem .9rem}\
.kpi span,.kpi small{display:block;color:var(--muted)}.kpi b{display:block;font-size:2rem;line-height:1.2;font-variant-numeric:tabular-nums}\
figure.over{margin:0}.ymax,.xaxis{color:var(--muted);font-size:.8rem}\
svg.chart{width:100%;height:11rem;background:var(--card);border-radius:6px}svg .grid{stroke:var(--line);stroke-width:1;vector-effect:non-scaling-stroke}\
.xaxis{display:flex;justify-content:space-between;gap:.5rem}\
.legend{display:flex;flex-wrap:wrap;gap:.3rem 1rem;font-size:.85rem;margin-top:.4rem}\
.legend i{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:.3em;vertical-align:-.05em}\
.row{display:grid;grid-template-columns:minmax(6.5rem,13rem) 1fr minmax(4.5rem,auto);grid-template-areas:\"l b v\";gap:.6rem;align-items:center;margin:.2rem 0}\
.row>span:first-child{grid-area:l}.row>svg{grid-area:b}.row>.val{grid-area:v}\
@media (max-width:34rem){.row{grid-template-columns:1fr auto;grid-template-areas:\"l v\" \"b b\";gap:0 .6rem;margin:.45rem 0}}\
svg.bar{width:100%;height:.9rem}.val{color:var(--muted);font-variant-numeric:tabular-nums;white-space:nowrap;text-align:right}\
ol.groups{list-style:none;padding:0;margin:0}\
.group{border:1px solid var(--line);border-radius:12px;padding:.7rem 1rem;margin:.7rem 0;background:var(--card)}\
.ghead b{font-size:1.3rem;margin-right:.3rem}\
svg.share{width:100%;height:4px;margin:.3rem 0 .5rem;background:var(--line);border-radius:2px}\
.examples{margin:.2rem 0;font-size:1.05rem}.q{display:inline-block;margin-right:.3rem}\
.closest,.now{margin:.2rem 0}.now{color:var(--accent)}summary{cursor:pointer;color:var(--muted)}\
form.add{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.4rem 0 0}\
select,button{font:inherit;max-width:100%}\
button{background:var(--accent);color:#fff;border:0;border-radius:6px;padding:.3rem .9rem;cursor:pointer}\
code{font-size:.9em;word-break:break-all;background:var(--bg);padding:.1rem .3rem;border-radius:4px}\
footer{margin-top:2rem;color:var(--muted);font-size:.85rem}";

/// The report as one self-contained page: no script, no CDN, charts as inline SVG. The key
/// rates first, then the messages over time, by outcome, what answered most, and the groups
/// of unanswered questions.
pub fn html(report: &Report, page: &Page<'_>) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>kefu report</h1><p class=\"sub\">{}, {} → {}, {}</p>",
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
    let mut head = String::new();
    if let Page::Live { added: Some(entry) } = page {
        let _ = write!(
            body,
            "<p class=\"notice\">Added to <b>{}</b>. kefu dev re-reads the rules file within 2 s; this page reloads in 4 s to show it.</p>",
            escape(entry)
        );
        let _ = write!(
            head,
            "<meta http-equiv=\"refresh\" content=\"4;url=/report{}\">",
            report
                .appid
                .as_deref()
                .map_or_else(String::new, |a| format!("?appid={}", escape(a)))
        );
    }
    body.push_str(&match report.messages {
        Some(total) => headline_of_messages(report, total),
        None => headline_of_kept(report),
    });
    if let Some(over) = &report.over_time {
        let unit = if over.bucket_ms < DAY_MS {
            "hour"
        } else {
            "day"
        };
        let what = match report.messages {
            Some(_) => format!("Messages per {unit}, by outcome"),
            None => format!("Questions kept per {unit} (unanswered, suggested)"),
        };
        let _ = write!(body, "<h2>{what}</h2>{}", chart(over));
    }
    let cloudwatch = "The full outcome counts (answered by a rule or the FAQ, suggested, unanswered, handed to an agent, held back) are the CloudWatch metric <code>messages</code> on the stack's dashboard; the table keeps only the questions nobody answered and those the FAQ was unsure about.";
    match report.messages {
        Some(total) => {
            let outcome_rows: Vec<(String, f64, String, &str)> = report
                .outcomes
                .iter()
                .filter(|c| c.count > 0)
                .map(|c| {
                    (
                        label(&c.outcome).to_owned(),
                        c.count as f64,
                        format!("{} · {}", c.count, percent(c.rate).trim()),
                        colour(&c.outcome),
                    )
                })
                .collect();
            let _ = write!(
                body,
                "<h2>{total} messages by outcome</h2>{}<p class=\"muted\">hand-off rate {} · quota refusals {}</p>",
                rows(&outcome_rows),
                percent(report.handoff_rate).trim(),
                report.quota_refusals.unwrap_or(0)
            );
            if !report.top_answers.is_empty() {
                let answer_rows: Vec<(String, f64, String, &str)> = report
                    .top_answers
                    .iter()
                    .map(|c| {
                        (
                            format!("{} {}", c.outcome, c.id.as_deref().unwrap_or("")),
                            c.count as f64,
                            c.count.to_string(),
                            colour(&c.outcome),
                        )
                    })
                    .collect();
                let _ = write!(body, "<h2>answered most</h2>{}", rows(&answer_rows));
            }
        }
        None => {
            let _ = write!(body, "<p class=\"muted\">{cloudwatch}</p>");
        }
    }
    let total: usize = report.kept.values().sum();
    let _ = write!(
        body,
        "<h2>top unanswered questions</h2><p class=\"muted\">{total} kept from {} user{}, in {} group{} by similarity</p>",
        report.askers,
        plural(report.askers as u64),
        report.group_count,
        plural(report.group_count as u64),
    );
    if !report.groups.is_empty() {
        if let Some(path) = &report.rules_path {
            let _ = write!(
                body,
                "<p class=\"muted\">{}</p>",
                escape(&deployment_steps(path))
            );
        }
        let most = report.groups.iter().map(|g| g.count).max().unwrap_or(1);
        body.push_str("<ol class=\"groups\">");
        for (n, group) in report.groups.iter().enumerate() {
            body.push_str(&group_card(report, page, n, group, most));
        }
        body.push_str("</ol>");
    }
    let _ = write!(
        body,
        "<footer>kefu report · {}{}</footer>",
        when(report.to_ms),
        if report.messages.is_none() {
            ""
        } else {
            " · kefu dev counts the messages since it started; a deployment's are the CloudWatch metric messages"
        }
    );
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">{head}\
         <title>kefu report</title><style>{STYLE}</style></head><body>{body}</body></html>\n"
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
        let tally = Tally {
            outcomes: counted,
            hours: vec![
                (0, "wx1".to_owned(), "faq".to_owned(), 6),
                (HOUR_MS, "wx1".to_owned(), "unanswered".to_owned(), 3),
                (HOUR_MS, "wx2".to_owned(), "rule".to_owned(), 50),
            ],
        };
        let report = build(
            "test",
            (0, HOUR_MS + 1),
            Some("wx1"),
            &questions,
            Some(&tally),
            &faq,
            20,
        );
        let over = report.over_time.as_ref().unwrap();
        assert_eq!((over.of.as_str(), over.bucket_ms), ("messages", HOUR_MS));
        assert_eq!(over.buckets.len(), 2);
        assert_eq!(
            over.buckets[0].counts,
            BTreeMap::from([("faq".to_owned(), 6)])
        );
        assert_eq!(
            over.buckets[1].counts,
            BTreeMap::from([("unanswered".to_owned(), 3)]),
            "only wx1's"
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
        let page = html(&report, &Page::File);
        assert!(page.contains("<svg class=\"chart\""), "{page}");
        assert!(
            page.contains("<b>60 %</b>"),
            "answered: 6 of 10 in the headline"
        );
        for outside in ["<script", "src=", "<link", "@import"] {
            assert!(!page.contains(outside), "{outside} in the page");
        }
        // From a table: the kept questions over time, and where the outcomes are.
        let kept = build("table t", (0, 1), None, &questions, None, &faq, 20);
        assert_eq!(kept.over_time.as_ref().unwrap().of, "kept questions");
        let page = html(&kept, &Page::File);
        assert!(page.contains("Questions kept per hour (unanswered, suggested)"));
        assert!(page.contains("CloudWatch metric <code>messages</code> on the stack's dashboard"));
        assert!(
            page.contains("<b>5</b><small>from 4 users</small>"),
            "{page}"
        );
    }

    #[test]
    fn over_time_is_per_hour_under_two_days_and_per_day_from_two() {
        let day = 20_000 * DAY_MS;
        let hours = over_time(
            "messages",
            (day, day + 5 * HOUR_MS),
            [
                (day + 10, "faq", 2),
                (day + 2 * HOUR_MS, "rule", 1),
                (day - 1, "faq", 9),
            ]
            .into_iter(),
        );
        assert_eq!(hours.bucket_ms, HOUR_MS);
        let totals: Vec<u64> = hours
            .buckets
            .iter()
            .map(|b| b.counts.values().sum())
            .collect();
        assert_eq!(
            totals,
            [2, 0, 1, 0, 0, 0],
            "empty hours too; before the period left out"
        );
        let days = over_time(
            "kept questions",
            (day - 7 * DAY_MS, day + HOUR_MS),
            [
                (day - 3 * DAY_MS, "unanswered", 1),
                (day, "suggested", 1),
                (day + 1, "suggested", 1),
            ]
            .into_iter(),
        );
        assert_eq!(days.bucket_ms, DAY_MS);
        let totals: Vec<u64> = days
            .buckets
            .iter()
            .map(|b| b.counts.values().sum())
            .collect();
        assert_eq!(totals, [0, 0, 0, 1, 0, 0, 2], "the last 7 days");
        let hours = over_time("messages", (0, day), [(day - 1, "faq", 1)].into_iter());
        assert_eq!(hours.buckets.len(), 12, "the last 12 hours");
        assert_eq!(bucket_label(day + 3 * HOUR_MS, HOUR_MS), "10-04 03:00");
        assert!(
            over_time("messages", (0, 1), std::iter::empty())
                .buckets
                .is_empty()
        );
    }
}
