//! `kefu rules`: check rules before they go live, see which rule answers a message, and move
//! rule sets to and from Parameter Store (split across parameters under one path when large).
//! `kefu rules test` is in [`test`], `kefu rules diff`'s comparison in [`diff`].

mod diff;
mod test;

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use kefu::aws::{AppParameter, Published, SsmRules, app_parameter};
use kefu::clock::SystemClock;
use kefu::ports::Clock as _;
use kefu::ports::RuleSource as _;
use kefu::rules::{Action, Finding, RuleSet, Severity};

use self::diff::diff;
use self::test::{local_instant, test, test_message};
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
