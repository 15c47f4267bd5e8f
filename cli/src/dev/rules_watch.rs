//! The rules file while you edit it: checked at start (a broken file is an error that names
//! the problem, not a server answering 500), then watched — every save is reported on the
//! terminal and in the chat window, good or bad, with the rule's position. The checks are
//! `kefu rules validate`'s, with one verdict: what it calls an error (a JSON or schema error, an
//! image file not among the images, …) is refused at start and on a reload alike, and the last
//! good rules stay in use; its warnings are shown. Each version that passes is handed to the
//! rules' sources, which the functions' rule caches re-read on their own schedule.

use std::path::{Path, PathBuf};
use std::time::Duration;

use std::sync::Arc;

use anyhow::Context as _;
use kefu::memory::StaticRules;
use kefu::rules::{RuleSet, Severity};

use super::console;
use super::timeline::{Level, Timeline};
use crate::rules::{findings, summary};

/// How often the file is looked at.
const EVERY: Duration = Duration::from_millis(500);

/// Reads and checks the rules file as `kefu rules validate` does; the error names the file, and
/// the rule or JSON position. Returns the rules and the checks' warnings.
pub(super) fn load(path: &Path, assets: &Path) -> anyhow::Result<(RuleSet, Vec<String>)> {
    let json =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let rules = RuleSet::from_json(&json).with_context(|| path.display().to_string())?;
    let (errors, warnings): (Vec<_>, Vec<_>) = findings(&rules, Some(assets))
        .into_iter()
        .partition(|finding| finding.severity == Severity::Error);
    if !errors.is_empty() {
        let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::bail!("{}: {}", path.display(), errors.join("; "));
    }
    Ok((rules, warnings.iter().map(ToString::to_string).collect()))
}

/// Reports each change to the file until the process ends, and hands each version that passes
/// the checks to `sources`.
pub(super) async fn watch(
    path: PathBuf,
    assets: PathBuf,
    timeline: Timeline,
    sources: Vec<Arc<StaticRules>>,
) {
    let mut last = fingerprint(&path);
    loop {
        tokio::time::sleep(EVERY).await;
        let now = fingerprint(&path);
        if now == last {
            continue;
        }
        last = now;
        match load(&path, &assets) {
            Ok((rules, warnings)) => {
                for source in &sources {
                    source.set(Ok(rules.clone()));
                }
                let text = format!(
                    "rules reloaded from {}: {} (pushes use them within 2 s)",
                    path.display(),
                    summary(&rules)
                );
                console::say(Level::Good, &text);
                timeline.notice(None, Level::Good, text);
                for warning in warnings {
                    let text = format!("rules: {warning}");
                    console::say(Level::Warn, &text);
                    timeline.notice(None, Level::Warn, text);
                }
            }
            Err(err) => {
                let text = format!("{err:#} — the last good rules stay in use");
                console::say(Level::Error, &text);
                timeline.notice(None, Level::Error, text);
            }
        }
    }
}

/// What changes when the file is saved: its contents (rules files are small).
fn fingerprint(path: &Path) -> Option<Vec<u8>> {
    std::fs::read(path).ok()
}
