//! `kefu rules`: check rules before they go live, see which rule answers a message, and move
//! rule sets to and from Parameter Store (split across parameters under one path when large).

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use kefu::aws::{Aws, Published, SsmRules};
use kefu::ports::RuleSource as _;
use kefu::protocol::Message;
use kefu::rules::{Action, Finding, RuleSet};
use kefu::sample;

use crate::paint::{Colour, paint};

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    command: RulesCommand,
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    /// Print the JSON schema of a rules file (generated from kefu's types; rules/schema.json).
    Schema,
    /// Check a rules file: JSON, schema, and what the types cannot say (names, counts, URLs).
    Validate { file: PathBuf },
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
    },
    /// Compare a rules file with the rules in Parameter Store.
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
    #[arg(long, env = "KEFU_RULES_PATH", default_value = "/kefu/rules")]
    path: String,
}

pub async fn rules(args: &RulesArgs) -> anyhow::Result<String> {
    match &args.command {
        RulesCommand::Schema => Ok(serde_json::to_string_pretty(&RuleSet::json_schema())?),
        RulesCommand::Validate { file } => {
            let rules = load(file)?;
            Ok(paint(
                &format!("✓ {}: {}", file.display(), summary(&rules)),
                Colour::Green,
            ))
        }
        RulesCommand::Test {
            file,
            text,
            r#type,
            event,
        } => test(
            &load(file)?,
            text.as_deref(),
            r#type.as_deref(),
            event.as_deref(),
        ),
        RulesCommand::Diff { file, store } => {
            let local = load(file)?;
            let remote = remote(store).await.load().await?;
            Ok(diff(&remote, &local))
        }
        RulesCommand::Push { file, store } => {
            let local = load(file)?;
            let Published { written, removed } = remote(store).await.publish(&local).await?;
            let path = store.path.trim_end_matches('/');
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
            let rules = remote(store).await.load().await?;
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
async fn remote(store: &Store) -> SsmRules {
    Aws::connect().await.rules(&store.path)
}

/// `5 rules (1 transfer), a default reply of 1 message(s)`.
pub(crate) fn summary(rules: &RuleSet) -> String {
    let transfers = rules
        .rules
        .iter()
        .filter(|r| r.action == Action::Transfer)
        .count();
    format!(
        "{} rule{} ({transfers} transfer), {}",
        rules.rules.len(),
        if rules.rules.len() == 1 { "" } else { "s" },
        match &rules.default {
            Some(Action::Send(messages)) =>
                format!("a default reply of {} message(s)", messages.len()),
            Some(Action::Transfer) => "default: transfer".to_owned(),
            None => "no default".to_owned(),
        }
    )
}

fn test(
    rules: &RuleSet,
    text: Option<&str>,
    msg_type: Option<&str>,
    event: Option<&str>,
) -> anyhow::Result<String> {
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
    let fields = serde_json::Value::Object(fields);
    let message = Message::from_json(&fields.to_string())?;
    let answer = match rules.action_for(&message) {
        None => "no rule answers: acknowledged, nothing sent".to_owned(),
        Some((rule, Action::Transfer)) => format!(
            "{}: transfer to a human agent (transfer_customer_service){}",
            rule.unwrap_or("default"),
            if matches!(message.kind, kefu::protocol::MessageKind::Event(_)) {
                " — not for events: nothing happens"
            } else {
                ""
            }
        ),
        Some((rule, Action::Send(messages))) => {
            let mut lines = vec![format!(
                "{}: {} message(s)",
                rule.unwrap_or("default"),
                messages.len()
            )];
            lines.extend(
                messages
                    .iter()
                    .map(|m| format!("  {}", serde_json::to_string(m).unwrap_or_default())),
            );
            lines.join("\n")
        }
    };
    Ok(paint(&answer, Colour::Cyan))
}

/// Rules added, removed or changed (by name), and the default.
fn diff(remote: &RuleSet, local: &RuleSet) -> String {
    let mut lines = Vec::new();
    for rule in &local.rules {
        match remote.rules.iter().find(|r| r.name == rule.name) {
            None => lines.push(paint(&format!("+ {}", rule.name), Colour::Green)),
            Some(old) if old != rule => {
                lines.push(paint(&format!("~ {}", rule.name), Colour::Yellow))
            }
            Some(_) => {}
        }
    }
    for rule in remote
        .rules
        .iter()
        .filter(|r| !local.rules.iter().any(|l| l.name == r.name))
    {
        lines.push(paint(&format!("- {}", rule.name), Colour::Red));
    }
    let order = |set: &RuleSet| set.rules.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
    if lines.is_empty() && order(remote) != order(local) {
        lines.push(paint("~ order of rules", Colour::Yellow));
    }
    if remote.default != local.default {
        lines.push(paint("~ default", Colour::Yellow));
    }
    if lines.is_empty() {
        "no differences".to_owned()
    } else {
        lines.join("\n")
    }
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
