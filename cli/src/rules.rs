//! `kefu rules`: check rules before they go live, see which rule answers a message, and move
//! rule sets to and from Parameter Store (split across parameters under one path when large).

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use kefu::aws::SsmRules;
use kefu::protocol::Message;
use kefu::rules::{Action, RuleSet};
use kefu::sample;

/// Standard-tier parameters hold 4 KB.
const PARAMETER_LIMIT: usize = 4096;

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
                "32",
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
            let remote = ssm(store).await?.merged().await?;
            Ok(diff(&remote, &local))
        }
        RulesCommand::Push { file, store } => {
            let local = load(file)?;
            let fragments = split(&local)?;
            let client = ssm_client().await;
            let path = store.path.trim_end_matches('/');
            let existing = SsmRules::new(client.clone(), path)
                .fetch()
                .await
                .unwrap_or_default();
            let mut written = Vec::new();
            for (n, fragment) in fragments.iter().enumerate() {
                let name = format!("{path}/{n:03}");
                client
                    .put_parameter()
                    .name(&name)
                    .value(fragment)
                    .r#type(aws_sdk_ssm::types::ParameterType::String)
                    .overwrite(true)
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "writing {name}: {}",
                            aws_sdk_ssm::error::DisplayErrorContext(&e)
                        )
                    })?;
                written.push(name);
            }
            let stale: Vec<String> = existing
                .into_iter()
                .map(|(name, _)| name)
                .filter(|n| !written.contains(n))
                .collect();
            for name in &stale {
                client
                    .delete_parameter()
                    .name(name)
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "deleting {name}: {}",
                            aws_sdk_ssm::error::DisplayErrorContext(&e)
                        )
                    })?;
            }
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
                "32",
            ))
        }
        RulesCommand::Pull { store, output } => {
            let rules = ssm(store).await?.merged().await?;
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

async fn ssm_client() -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(&kefu::aws::sdk_config().await)
}

async fn ssm(store: &Store) -> anyhow::Result<Remote> {
    Ok(Remote(SsmRules::new(
        ssm_client().await,
        store.path.trim_end_matches('/'),
    )))
}

struct Remote(SsmRules);

impl Remote {
    async fn merged(&self) -> anyhow::Result<RuleSet> {
        use kefu::ports::RuleSource as _;
        Ok(self.0.load().await?)
    }
}

fn summary(rules: &RuleSet) -> String {
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
            Some(Action::Reply(messages)) =>
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
        Some((rule, Action::Reply(messages))) => {
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
    Ok(paint(&answer, "36"))
}

/// Rules added, removed or changed (by name), and the default.
fn diff(remote: &RuleSet, local: &RuleSet) -> String {
    let mut lines = Vec::new();
    for rule in &local.rules {
        match remote.rules.iter().find(|r| r.name == rule.name) {
            None => lines.push(paint(&format!("+ {}", rule.name), "32")),
            Some(old) if old != rule => lines.push(paint(&format!("~ {}", rule.name), "33")),
            Some(_) => {}
        }
    }
    for rule in remote
        .rules
        .iter()
        .filter(|r| !local.rules.iter().any(|l| l.name == r.name))
    {
        lines.push(paint(&format!("- {}", rule.name), "31"));
    }
    let order = |set: &RuleSet| set.rules.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
    if lines.is_empty() && order(remote) != order(local) {
        lines.push(paint("~ order of rules", "33"));
    }
    if remote.default != local.default {
        lines.push(paint("~ default", "33"));
    }
    if lines.is_empty() {
        "no differences".to_owned()
    } else {
        lines.join("\n")
    }
}

/// Splits a rule set into parameter-sized fragments, in order; the default rides in the first.
fn split(rules: &RuleSet) -> anyhow::Result<Vec<String>> {
    let mut fragments = Vec::new();
    let mut current = RuleSet {
        rules: Vec::new(),
        default: rules.default.clone(),
    };
    for rule in &rules.rules {
        let mut candidate = current.clone();
        candidate.rules.push(rule.clone());
        if serde_json::to_string(&candidate)?.len() <= PARAMETER_LIMIT {
            current = candidate;
            continue;
        }
        anyhow::ensure!(
            !current.rules.is_empty(),
            "rule {:?} is larger than one parameter ({PARAMETER_LIMIT} bytes)",
            rule.name
        );
        fragments.push(serde_json::to_string(&current)?);
        current = RuleSet {
            rules: vec![rule.clone()],
            default: None,
        };
        anyhow::ensure!(
            serde_json::to_string(&current)?.len() <= PARAMETER_LIMIT,
            "rule {:?} is larger than one parameter ({PARAMETER_LIMIT} bytes)",
            rule.name
        );
    }
    fragments.push(serde_json::to_string(&current)?);
    Ok(fragments)
}

/// Colour on a terminal, plain text in pipes and files.
fn paint(text: &str, colour: &str) -> String {
    if std::io::stdout().is_terminal() {
        format!("\u{1b}[{colour}m{text}\u{1b}[0m")
    } else {
        text.to_owned()
    }
}
