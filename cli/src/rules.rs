//! `kefu rules`: check rules before they go live, see which rule answers a message, and move
//! rule sets to and from Parameter Store (split across parameters under one path when large).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use kefu::aws::{AppParameter, Published, SsmRules, app_parameter};
use kefu::clock::SystemClock;
use kefu::ports::Clock as _;
use kefu::ports::RuleSource as _;
use kefu::protocol::Message;
use kefu::rules::schedule::Date;
use kefu::rules::{Action, FaqDecision, FaqEntry, Finding, ReplyMessage, Rule, RuleSet, Severity};
use kefu::sample;
use kefu::send::render::{self, Placeholders};

use crate::aws_args::AwsArgs;
use crate::paint::{Colour, paint};
use crate::text::parse_field;

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    command: RulesCommand,
    /// Print the result as JSON (validate, test, diff).
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Print the JSON schema of a rules file (generated from kefu's types; rules/schema.json).
    Schema,
    /// Check a rules file: JSON, schema, what the types cannot say (names, counts, URLs), image
    /// files, transfers on events, rules that can never match.
    #[command(visible_alias = "check")]
    Validate {
        file: PathBuf,
        /// The deployment's images, for `{"file": …}` sources.
        #[arg(
            long,
            env = "KEFU_ASSETS_DIR",
            default_value = "functions/reply/assets"
        )]
        assets: PathBuf,
    },
    /// Which rule answers a message, and what would be sent.
    Test {
        file: PathBuf,
        /// The user's text.
        text: Option<String>,
        /// A message type instead of text (image, miniprogrampage, link).
        #[arg(long, conflicts_with_all = ["text", "event"])]
        r#type: Option<String>,
        /// An event instead of text (user_enter_tempsession, …).
        #[arg(long, conflicts_with = "text")]
        event: Option<String>,
        /// A field of the push, NAME=VALUE (repeatable): `--field SessionFrom=order`,
        /// `--field KfAccount=alice@kefu`.
        #[arg(long = "field", value_name = "NAME=VALUE", value_parser = parse_field)]
        fields: Vec<(String, String)>,
        /// The local time the message arrives, YYYY-MM-DDTHH:MM in the rule set's time zone
        /// (default: now).
        #[arg(long, value_name = "YYYY-MM-DDTHH:MM")]
        at: Option<String>,
    },
    /// Compare a rules file with the rules in Parameter Store: what changed, rule by rule;
    /// exit status 1 when they differ.
    Diff {
        file: PathBuf,
        #[command(flatten)]
        store: Store,
    },
    /// Upload a rules file to Parameter Store (PATH/000, PATH/001, … as needed).
    Push {
        file: PathBuf,
        #[command(flatten)]
        store: Store,
    },
    /// Download the rules from Parameter Store as one file (stdout, or --output).
    Pull {
        #[command(flatten)]
        store: Store,
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
struct Store {
    /// The parameter path (KEFU_RULES_PATH of the deployment). AWS credentials and region come
    /// from the usual places; AWS_ENDPOINT_URL points at another endpoint.
    #[arg(long, env = "KEFU_RULES_PATH", default_value = "/kefu/rules", value_parser = parse_parameter_path)]
    path: String,
    /// The rules of this app of several instead of --path: {apps-path}/{appid}/rules (an app
    /// without rules of its own answers by the shared ones at --path).
    #[arg(long)]
    appid: Option<String>,
    /// Where the apps are (the stack's AppsPath output), with --appid.
    #[arg(long, env = "KEFU_APPS_PATH", default_value = "/kefu/apps", value_parser = parse_parameter_path)]
    apps_path: String,
    #[command(flatten)]
    aws: AwsArgs,
}

impl Store {
    /// The rules path this command works on.
    fn rules_path(&self) -> anyhow::Result<String> {
        match &self.appid {
            None => Ok(self.path.trim_end_matches('/').to_owned()),
            Some(appid) => {
                anyhow::ensure!(
                    kefu::protocol::AppId::parse(appid).is_ok(),
                    "--appid {:?} is not an AppID (wx and 16 letters or digits)",
                    appid.chars().take(40).collect::<String>()
                );
                Ok(app_parameter(&self.apps_path, appid, AppParameter::Rules))
            }
        }
    }
}

/// A Parameter Store path: `/` and then names of letters, digits and `_.-/`.
pub(crate) fn parse_parameter_path(text: &str) -> Result<String, String> {
    if !text.starts_with('/') {
        return Err(format!("{text:?} must start with '/' (e.g. /kefu/rules)"));
    }
    if let Some(bad) = text
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '.' | '-')))
    {
        return Err(format!(
            "{text:?} has {bad:?}: Parameter Store names use letters, digits, '_', '.', '-' and '/'"
        ));
    }
    Ok(text.to_owned())
}

pub async fn rules(args: &RulesArgs) -> anyhow::Result<String> {
    match &args.command {
        RulesCommand::Schema => Ok(serde_json::to_string_pretty(&RuleSet::json_schema())?),
        RulesCommand::Validate { file, assets } => validate(file, assets, args.json),
        RulesCommand::Test {
            file,
            text,
            r#type,
            event,
            fields,
            at,
        } => {
            let rules = load(file)?;
            let now = match at {
                Some(at) => local_instant(&rules, at)?,
                None => SystemClock.now_millis(),
            };
            let message =
                test_message(text.as_deref(), r#type.as_deref(), event.as_deref(), fields)?;
            test(&rules, &message, now, args.json)
        }
        RulesCommand::Diff { file, store } => {
            let local = load(file)?;
            let remote = remote(store).await?.load().await?;
            let changes = diff(&remote, &local);
            let output = if args.json {
                changes.to_json().to_string()
            } else if changes.is_empty() {
                "no differences".to_owned()
            } else {
                changes.lines().join("\n")
            };
            if changes.is_empty() {
                Ok(output)
            } else {
                Err(crate::ExitWith { output, code: 1 }.into())
            }
        }
        RulesCommand::Push { file, store } => {
            let local = load(file)?;
            let Published { written, removed } = remote(store).await?.publish(&local).await?;
            let path = store.rules_path()?;
            let stale = removed;
            Ok(paint(
                &format!(
                    "✓ pushed {} to {path} ({} parameter{}{})",
                    summary(&local),
                    written.len(),
                    if written.len() == 1 { "" } else { "s" },
                    if stale.is_empty() {
                        String::new()
                    } else {
                        format!(", removed {}", stale.join(", "))
                    }
                ),
                Colour::Green,
            ))
        }
        RulesCommand::Pull { store, output } => {
            let rules = remote(store).await?.load().await?;
            let json = serde_json::to_string_pretty(&rules)?;
            match output {
                Some(path) => {
                    std::fs::write(path, format!("{json}\n"))
                        .with_context(|| format!("writing {}", path.display()))?;
                    Ok(format!("✓ {}: {}", path.display(), summary(&rules)))
                }
                None => Ok(json),
            }
        }
    }
}

fn load(file: &Path) -> anyhow::Result<RuleSet> {
    let json =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    RuleSet::from_json(&json).with_context(|| file.display().to_string())
}

/// The rules in Parameter Store (credentials and region from the usual places).
async fn remote(store: &Store) -> anyhow::Result<SsmRules> {
    let path = store.rules_path()?;
    Ok(store.aws.connect().await.rules(&path))
}

/// `kefu rules validate`: valid, and nothing the checks call an error.
fn validate(file: &Path, assets: &Path, json: bool) -> anyhow::Result<String> {
    let rules = match load(file) {
        Ok(rules) => rules,
        Err(err) if json => {
            let output = serde_json::json!({
                "file": file.display().to_string(),
                "valid": false,
                "error": format!("{err:#}"),
            });
            return Err(crate::ExitWith {
                output: output.to_string(),
                code: 1,
            }
            .into());
        }
        Err(err) => return Err(err),
    };
    let findings = findings(&rules, Some(assets));
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let output = if json {
        serde_json::json!({
            "file": file.display().to_string(),
            "valid": errors == 0,
            "rules": rules.rules.len(),
            "summary": summary(&rules),
            "findings": findings,
        })
        .to_string()
    } else {
        let mut lines = Vec::new();
        for finding in &findings {
            let (mark, colour) = match finding.severity {
                Severity::Error => ("error", Colour::Red),
                Severity::Warning => ("warning", Colour::Yellow),
            };
            lines.push(paint(&format!("{mark}: {finding}"), colour));
        }
        if errors == 0 {
            lines.push(paint(
                &format!("✓ {}: {}", file.display(), summary(&rules)),
                Colour::Green,
            ));
        }
        lines.join("\n")
    };
    if errors == 0 {
        Ok(output)
    } else {
        Err(crate::ExitWith { output, code: 1 }.into())
    }
}

/// `5 rules (1 transfer), a default reply of 1 message(s)` (`, 10 faq entries` with a FAQ).
pub(crate) fn summary(rules: &RuleSet) -> String {
    let transfers = rules
        .rules
        .iter()
        .filter(|r| r.action == Action::Transfer)
        .count();
    let faq = rules.faq.as_deref().map_or(String::new(), |faq| {
        let n = faq.entries.len();
        format!(", {n} faq entr{}", if n == 1 { "y" } else { "ies" })
    });
    format!(
        "{} rule{} ({transfers} transfer), {}{faq}",
        rules.rules.len(),
        if rules.rules.len() == 1 { "" } else { "s" },
        match &rules.default {
            Some(Action::Send(messages)) =>
                format!("a default reply of {} message(s)", messages.len()),
            Some(Action::Transfer) => "default: transfer".to_owned(),
            Some(Action::Hook(_)) => "a default hook".to_owned(),
            None => "no default".to_owned(),
        }
    )
}

/// The instant of a local `YYYY-MM-DDTHH:MM` in the rule set's zone.
fn local_instant(rules: &RuleSet, at: &str) -> anyhow::Result<i64> {
    let zone = rules.zone().map_err(anyhow::Error::msg)?;
    let bad = || anyhow::anyhow!("--at {at:?} is not YYYY-MM-DDTHH:MM (e.g. 2026-12-05T22:30)");
    let (date, time) = at.split_once(['T', ' ']).ok_or_else(bad)?;
    let date = Date::parse(date).ok_or_else(bad)?;
    let (hours, minutes) = time.split_once(':').ok_or_else(bad)?;
    let number = |text: &str, below: u16| {
        (text.len() == 2 && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse::<u16>().ok())
            .flatten()
            .filter(|n| *n < below)
    };
    let (hours, minutes) = (
        number(hours, 24).ok_or_else(bad)?,
        number(minutes, 60).ok_or_else(bad)?,
    );
    Ok(zone.instant(date, hours * 60 + minutes))
}

/// The push `kefu rules test` asks about.
fn test_message(
    text: Option<&str>,
    msg_type: Option<&str>,
    event: Option<&str>,
    extra: &[(String, String)],
) -> anyhow::Result<Message> {
    let mut fields = serde_json::Map::new();
    for (key, value) in [
        ("ToUserName", serde_json::json!(sample::ORIGINAL_ID)),
        ("FromUserName", serde_json::json!(sample::OPENID)),
        ("CreateTime", serde_json::json!(1)),
        ("MsgId", serde_json::json!(1)),
    ] {
        fields.insert(key.into(), value);
    }
    match (text, msg_type, event) {
        (_, _, Some(event)) => {
            fields.remove("MsgId");
            fields.insert("MsgType".into(), "event".into());
            fields.insert("Event".into(), event.into());
        }
        (_, Some(msg_type), _) => {
            fields.insert("MsgType".into(), msg_type.into());
        }
        (Some(text), _, _) => {
            fields.insert("MsgType".into(), "text".into());
            fields.insert("Content".into(), text.into());
        }
        _ => anyhow::bail!("give the user's text, --type or --event"),
    }
    for (name, value) in extra {
        fields.insert(name.clone(), value.clone().into());
    }
    let fields = serde_json::Value::Object(fields);
    Ok(Message::from_json(&fields.to_string())?)
}

/// What the knowledge base decided for `kefu rules test`: who answers (`faq entry refund`,
/// `faq suggestion`, …) and the decision as JSON; `None` when it was not asked (a rule
/// answered, or the message is not text).
fn faq_decision(
    rules: &RuleSet,
    message: &Message,
    now: i64,
) -> Option<(String, serde_json::Value)> {
    let decision = rules.decide(message, now);
    let faq = rules.faq.as_deref()?;
    let text = match &message.kind {
        kefu::protocol::MessageKind::Text { content } => content.trim(),
        _ => "",
    };
    let scored = |(entry, score): &(&FaqEntry, f32)| serde_json::json!({"entry": entry.id, "score": rounded(*score)});
    Some(match decision.faq? {
        FaqDecision::Answer {
            entry,
            score,
            runner_up,
        } => (
            format!("faq entry {}", entry.id),
            serde_json::json!({
                "decision": "answer",
                "entry": entry.id,
                "score": rounded(score),
                "runner_up": runner_up.as_ref().map(scored),
                "shared_words": faq.shared_words(text, entry),
            }),
        ),
        FaqDecision::Suggest(candidates) => (
            "faq suggestion".to_owned(),
            serde_json::json!({
                "decision": "suggest",
                "suggestions": candidates.iter().map(scored).collect::<Vec<_>>(),
            }),
        ),
        FaqDecision::Choice(n) => (
            "faq choice".to_owned(),
            serde_json::json!({"decision": "choice", "number": n}),
        ),
        FaqDecision::Nothing(why) => (
            "default".to_owned(),
            serde_json::json!({"decision": "nothing", "why": why}),
        ),
    })
}

/// A score as it is shown: two decimals.
fn rounded(score: f32) -> f64 {
    (f64::from(score) * 100.0).round() / 100.0
}

fn test(rules: &RuleSet, message: &Message, now: i64, json: bool) -> anyhow::Result<String> {
    let explanation = rules.explain(message, now);
    let faq = faq_decision(rules, message, now);
    let zone = rules.zone().map_err(anyhow::Error::msg)?;
    let placeholders = Placeholders::new(message, &zone, now);
    let answer = rules.action_for(message, now);
    let sent: Vec<ReplyMessage> = match (
        explanation.outcome,
        answer.as_ref().map(|(_, action)| action.as_ref()),
    ) {
        ("reply", Some(Action::Send(messages))) => messages
            .iter()
            .map(|m| render::fill(m, &placeholders))
            .collect(),
        _ => Vec::new(),
    };
    // A hook's answer is its own system's: what is known is where it goes and its fallback.
    let hook = match answer.as_ref().map(|(_, action)| action.as_ref()) {
        Some(Action::Hook(hook)) if explanation.outcome == "reply" => Some(hook.as_ref().clone()),
        _ => None,
    };
    let local = zone.local(now);
    if json {
        return Ok(serde_json::json!({
            "hook": hook,
            "rule": explanation.rule,
            "index": explanation.index,
            "why": explanation.why,
            "outcome": explanation.outcome,
            "messages": sent,
            "at": format!("{}T{}", local.date, local.hh_mm()),
            "time_zone": zone.name(),
            "passed_over": explanation.passed_over,
            "faq": faq.as_ref().map(|(_, decision)| decision),
        })
        .to_string());
    }
    let who = match (&explanation.rule, &faq) {
        (Some(rule), _) => rule.clone(),
        (None, Some((who, _))) => who.clone(),
        (None, None) => "default".to_owned(),
    };
    // `faq entry refund: … — score 0.94; runner-up …`, not the entry named twice.
    let why = explanation
        .why
        .strip_prefix(&format!("{who} ("))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or(&explanation.why);
    let mut lines = vec![match explanation.outcome {
        "transfer" => format!(
            "{who}: transfer to a human agent (transfer_customer_service) — {}",
            why
        ),
        "reply" if hook.is_some() => {
            let hook = hook.as_ref().map_or_else(String::new, |hook| {
                let target = hook.url.as_deref().or(hook.lambda.as_deref()).unwrap_or("");
                format!(
                    "a hook, {target} (waits {} ms), sends what it answers; its fallback: {}",
                    hook.timeout().as_millis(),
                    hook.fallback.as_ref().map_or_else(
                        || "the default reply".to_owned(),
                        |f| serde_json::to_string(f).unwrap_or_default()
                    )
                )
            });
            format!("{who}: {hook} — {why}")
        }
        "reply" => format!("{who}: {} message(s) — {}", sent.len(), why),
        _ => format!("no rule answers: acknowledged, nothing sent — {}", why),
    }];
    lines.extend(
        sent.iter()
            .map(|m| format!("  {}", serde_json::to_string(m).unwrap_or_default())),
    );
    lines.extend(explanation.passed_over.iter().map(|passed| {
        format!(
            "  passed over rules[{}] ({}): {}",
            passed.index, passed.rule, passed.why
        )
    }));
    Ok(paint(&lines.join("\n"), Colour::Cyan))
}

/// What differs between the rules in Parameter Store and a file, rule by rule.
#[derive(Debug, Default)]
struct Changes<'a> {
    added: Vec<&'a Rule>,
    removed: Vec<&'a Rule>,
    /// (before, after)
    changed: Vec<(&'a Rule, &'a Rule)>,
    /// The names in order, before and after, when only the order changed.
    order: Option<(Vec<&'a str>, Vec<&'a str>)>,
    default: Option<(Option<&'a Action>, Option<&'a Action>)>,
    /// Set-wide parts that changed (`time_zone`, `schedules`, `default_schedule`,
    /// `default_otherwise`), as (part, before, after) in compact JSON.
    settings: Vec<(&'static str, String, String)>,
}

fn diff<'a>(remote: &'a RuleSet, local: &'a RuleSet) -> Changes<'a> {
    let mut changes = Changes::default();
    for rule in &local.rules {
        match remote.rules.iter().find(|r| r.name == rule.name) {
            None => changes.added.push(rule),
            Some(old) if old != rule => changes.changed.push((old, rule)),
            Some(_) => {}
        }
    }
    changes.removed = remote
        .rules
        .iter()
        .filter(|r| !local.rules.iter().any(|l| l.name == r.name))
        .collect();
    let order = |set: &'a RuleSet| {
        set.rules
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
    };
    let kept = |names: Vec<&'a str>, other: &RuleSet| {
        names
            .into_iter()
            .filter(|n| other.rules.iter().any(|r| r.name == *n))
            .collect::<Vec<_>>()
    };
    let (before, after) = (kept(order(remote), local), kept(order(local), remote));
    if before != after {
        changes.order = Some((before, after));
    }
    if remote.default != local.default {
        changes.default = Some((remote.default.as_ref(), local.default.as_ref()));
    }
    for (part, before, after) in [
        (
            "time_zone",
            compact(&remote.time_zone),
            compact(&local.time_zone),
        ),
        (
            "schedules",
            compact(&remote.schedules),
            compact(&local.schedules),
        ),
        (
            "default_schedule",
            compact(&remote.default_schedule),
            compact(&local.default_schedule),
        ),
        (
            "default_otherwise",
            compact(&remote.default_otherwise),
            compact(&local.default_otherwise),
        ),
    ] {
        if before != after {
            changes.settings.push((part, before, after));
        }
    }
    changes
}

impl Changes<'_> {
    fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.order.is_none()
            && self.default.is_none()
            && self.settings.is_empty()
    }

    /// `+`/`-` lines with the content, as a reviewer wants to see it.
    fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for rule in &self.added {
            lines.push(paint(
                &format!("+ {}: {}", rule.name, compact(*rule)),
                Colour::Green,
            ));
        }
        for rule in &self.removed {
            lines.push(paint(
                &format!("- {}: {}", rule.name, compact(*rule)),
                Colour::Red,
            ));
        }
        for (before, after) in &self.changed {
            lines.push(paint(&format!("~ {}", after.name), Colour::Yellow));
            for (part, old, new) in [
                ("match", compact(&before.when), compact(&after.when)),
                (
                    "schedule",
                    compact(&before.schedule),
                    compact(&after.schedule),
                ),
                ("action", compact(&before.action), compact(&after.action)),
                (
                    "otherwise",
                    compact(&before.otherwise),
                    compact(&after.otherwise),
                ),
            ] {
                if old != new {
                    lines.push(paint(&format!("  - {part}: {old}"), Colour::Red));
                    lines.push(paint(&format!("  + {part}: {new}"), Colour::Green));
                }
            }
        }
        if let Some((before, after)) = &self.order {
            lines.push(paint("~ order of rules", Colour::Yellow));
            lines.push(paint(&format!("  - {}", before.join(", ")), Colour::Red));
            lines.push(paint(&format!("  + {}", after.join(", ")), Colour::Green));
        }
        if let Some((before, after)) = &self.default {
            let shown = |a: &Option<&Action>| a.map_or("(none)".to_owned(), compact);
            lines.push(paint("~ default", Colour::Yellow));
            lines.push(paint(&format!("  - {}", shown(before)), Colour::Red));
            lines.push(paint(&format!("  + {}", shown(after)), Colour::Green));
        }
        for (part, before, after) in &self.settings {
            lines.push(paint(&format!("~ {part}"), Colour::Yellow));
            lines.push(paint(&format!("  - {before}"), Colour::Red));
            lines.push(paint(&format!("  + {after}"), Colour::Green));
        }
        lines
    }

    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "differences": !self.is_empty(),
            "added": self.added,
            "removed": self.removed,
            "changed": self.changed.iter().map(|(before, after)| serde_json::json!({
                "name": after.name, "before": before, "after": after,
            })).collect::<Vec<_>>(),
            "order": self.order.as_ref().map(|(before, after)| serde_json::json!({
                "before": before, "after": after,
            })),
            "default": self.default.as_ref().map(|(before, after)| serde_json::json!({
                "before": before, "after": after,
            })),
            "settings": self.settings.iter().map(|(part, before, after)| serde_json::json!({
                "part": part, "before": before, "after": after,
            })).collect::<Vec<_>>(),
        })
    }
}

/// One line of JSON, for display.
fn compact<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The checks of `kefu::rules::checks`, with image files looked up in `assets` (not checked
/// without one).
pub(crate) fn findings(rules: &RuleSet, assets: Option<&Path>) -> Vec<Finding> {
    rules.check(&|name: &str| {
        let relative = Path::new(name);
        let plain = !relative.is_absolute()
            && relative
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
        assets.is_none_or(|dir| plain && dir.join(relative).is_file())
    })
}
