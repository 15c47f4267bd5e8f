//! `kefu faq`: the knowledge base's tools. `import FILE.csv --into RULES.json` merges a
//! spreadsheet's FAQ (id, standard question, similar questions, answer) into a rules file's
//! `faq` with a report of what changed, and `export RULES.json` writes that spreadsheet back
//! (docs/faq.md). `eval FILE` measures the matcher on an evaluation set (`rules/faq/eval/`):
//! how many user questions it answers right, wrong, suggests, or leaves to the default, and how
//! many off-topic messages it answers — side by side with two baselines on the same set:
//! contains-keyword rules (what keyword rules and SDK routers offer) and plain character-bigram
//! BM25.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use kefu::knowledge::normalize::normalize;
use kefu::rules::{Action, Faq, FaqDecision, FaqEntry, ReplyMessage, RuleSet};
use serde::Deserialize;

use crate::faq_csv::{self, Row};
use crate::paint::{Colour, paint};

#[derive(Debug, Args)]
pub struct FaqArgs {
    #[command(subcommand)]
    command: FaqCommand,
}

#[derive(Debug, Subcommand)]
enum FaqCommand {
    /// Merge a spreadsheet's FAQ (CSV) into a rules file's `faq`, entries matched by id.
    ///
    /// The CSV: UTF-8, a header row, then one row per entry: id, standard question, similar
    /// questions (separated by line breaks or |), answer (a blank line starts another message).
    /// Prints what was added, changed (which fields), unchanged, and kept (entries not in the
    /// CSV); the result is validated before it is written.
    Import {
        /// The CSV (Excel: save as 「CSV UTF-8」).
        file: PathBuf,
        /// The rules file to merge into (created when it does not exist).
        #[arg(long, value_name = "RULES.json")]
        into: PathBuf,
        /// Print the report, write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write a rules file's `faq` as CSV, the columns `import` reads.
    ///
    /// An entry whose answer is not only text (a transfer, an image, a link) gets a note in a
    /// fifth column; `import` leaves its answer as it is.
    Export {
        file: PathBuf,
        /// Write the CSV here instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Leave out the byte-order mark (written to files and pipes so that Excel reads the
        /// CSV as UTF-8; never to a terminal).
        #[arg(long)]
        no_bom: bool,
    },
    /// Add a similar question to an entry of a rules file (e.g. one `kefu report` lists as
    /// unanswered), and say what the knowledge base now decides for it.
    ///
    /// The result is validated before it is written (atomically); the same question already
    /// there (as the matcher normalises it) writes nothing. For a deployment, `kefu rules push`
    /// the file afterwards.
    AddQuestion {
        /// The entry's id.
        entry: String,
        /// The question, as users ask it.
        text: String,
        /// The rules file holding the entry.
        #[arg(long, value_name = "RULES.json")]
        rules: PathBuf,
    },
    /// Measure the FAQ matcher on an evaluation set (a `faq`, user `questions` with the entry
    /// each expects, `off_topic` messages), beside two baselines.
    Eval {
        file: PathBuf,
        /// Print every question the matcher does not answer right.
        #[arg(long)]
        misses: bool,
    },
}

pub fn faq(args: &FaqArgs) -> anyhow::Result<String> {
    match &args.command {
        FaqCommand::Eval { file, misses } => eval(file, *misses),
        FaqCommand::AddQuestion { entry, text, rules } => {
            Ok(add_question(entry, text, rules)?.line().to_owned())
        }
        FaqCommand::Import {
            file,
            into,
            dry_run,
        } => import(file, into, *dry_run),
        FaqCommand::Export {
            file,
            output,
            no_bom,
        } => export(file, output.as_deref(), *no_bom),
    }
}

/// The CSV's header row, as `export` writes it (`import` reads the columns by position).
const HEADER: [&str; 5] = [
    "id",
    "standard question 标准问题",
    "similar questions 相似问题",
    "answer 答案",
    "note 备注",
];

/// What a spreadsheet's answer cell is for `action`: its text messages, a blank line between
/// two; `None` when the action is not only text (a transfer, or images, links, pages too).
fn answer_text(action: &Action) -> Option<String> {
    let Action::Send(messages) = action else {
        return None;
    };
    messages
        .iter()
        .map(|m| match m {
            ReplyMessage::Text { content } => Some(content.trim()),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()
        .map(|texts| texts.join("\n\n"))
}

/// The note `export` writes for an entry whose answer is not only text.
fn not_only_text(action: &Action) -> Option<String> {
    let what = match action {
        Action::Transfer => "transfer (hands the user to an agent)".to_owned(),
        Action::Hook(_) => "hook (answered by the team's own system)".to_owned(),
        Action::Send(messages) => {
            let others: Vec<&str> = messages
                .iter()
                .filter_map(|m| match m {
                    ReplyMessage::Text { .. } => None,
                    ReplyMessage::Image { .. } => Some("image"),
                    ReplyMessage::Link { .. } => Some("link"),
                    ReplyMessage::MiniProgramPage { .. } => Some("miniprogrampage"),
                })
                .collect();
            if others.is_empty() {
                return None;
            }
            format!("also sends {} (only its text is shown)", others.join(", "))
        }
    };
    Some(format!(
        "{what}: the answer column is ignored on import; edit this answer in the rules file"
    ))
}

/// An answer cell as messages: a blank line starts another message.
fn messages(answer: &str) -> Vec<ReplyMessage> {
    let mut messages = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in answer.lines().chain(std::iter::once("")) {
        if line.trim().is_empty() {
            if !current.is_empty() {
                messages.push(ReplyMessage::Text {
                    content: current.join("\n").trim().to_owned(),
                });
                current.clear();
            }
        } else {
            current.push(line);
        }
    }
    messages
}

/// Similar questions as a cell holds them: one a line, or separated by `|` (or `｜`).
fn similar(cell: &str) -> Vec<String> {
    cell.split(['\n', '|', '｜'])
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(str::to_owned)
        .collect()
}

/// One entry read from the CSV, where it was, and how it compares with the file's.
struct Imported {
    row: Row,
    entry: FaqEntry,
    /// The fields that differ from the file's entry; `None`: a new entry.
    changed: Option<Vec<String>>,
    /// The answer cell differs from an answer the CSV cannot hold (not only text).
    answer_ignored: Option<&'static str>,
}

fn import(file: &Path, into: &Path, dry_run: bool) -> anyhow::Result<String> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let rows = faq_csv::read(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let (rules, new_file) = match std::fs::read_to_string(into) {
        Ok(json) => (
            RuleSet::from_json(&json).with_context(|| into.display().to_string())?,
            false,
        ),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => (RuleSet::default(), true),
        Err(err) => return Err(err).with_context(|| format!("reading {}", into.display())),
    };
    let faq = rules.faq.as_deref().cloned().unwrap_or_default();
    let imported =
        read_entries(&rows, &faq).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;

    // The file's entries in their order, each replaced by the CSV's; then the CSV's new ones.
    let mut merged: Vec<FaqEntry> = faq
        .entries
        .iter()
        .map(|old| {
            imported
                .iter()
                .find(|i| i.entry.id == old.id)
                .map_or_else(|| old.clone(), |i| i.entry.clone())
        })
        .collect();
    merged.extend(
        imported
            .iter()
            .filter(|i| i.changed.is_none())
            .map(|i| i.entry.clone()),
    );
    let kept: Vec<&str> = faq
        .entries
        .iter()
        .filter(|old| !imported.iter().any(|i| i.entry.id == old.id))
        .map(|old| old.id.as_str())
        .collect();
    let total = merged.len();
    let mut result = rules.clone();
    result.faq = Some(Box::new(faq.with_entries(merged)));
    let json = format!("{}\n", serde_json::to_string_pretty(&result)?);
    RuleSet::from_json(&json).map_err(|e| {
        anyhow::anyhow!(
            "the merged rules are not valid, {} is unchanged: {e}",
            into.display()
        )
    })?;

    let added: Vec<&Imported> = imported.iter().filter(|i| i.changed.is_none()).collect();
    let changed: Vec<&Imported> = imported
        .iter()
        .filter(|i| i.changed.as_ref().is_some_and(|c| !c.is_empty()))
        .collect();
    let unchanged: Vec<&str> = imported
        .iter()
        .filter(|i| i.changed.as_ref().is_some_and(Vec::is_empty))
        .map(|i| i.entry.id.as_str())
        .collect();

    let mut lines = vec![format!(
        "{} → {}{}: {} entr{} in the CSV",
        file.display(),
        into.display(),
        if new_file { " (a new file)" } else { "" },
        imported.len(),
        if imported.len() == 1 { "y" } else { "ies" }
    )];
    for i in &added {
        let n = i.entry.questions.len().saturating_sub(1);
        lines.push(paint(
            &format!(
                "+ {}: {} ({n} similar question{})",
                i.entry.id,
                i.entry.questions.first().map_or("", String::as_str),
                if n == 1 { "" } else { "s" }
            ),
            Colour::Green,
        ));
    }
    for i in &changed {
        let fields = i.changed.as_deref().unwrap_or_default().join(", ");
        lines.push(paint(
            &format!("~ {}: {fields}", i.entry.id),
            Colour::Yellow,
        ));
    }
    for i in &imported {
        if let Some(what) = i.answer_ignored {
            lines.push(paint(
                &format!(
                    "! {}, {}: the answer column is ignored: the entry's answer is {what}, which the CSV cannot hold; edit it in {}",
                    i.entry.id,
                    i.row.at(),
                    into.display()
                ),
                Colour::Yellow,
            ));
        }
    }
    if !unchanged.is_empty() {
        lines.push(format!("unchanged: {}", listed(&unchanged)));
    }
    if !kept.is_empty() {
        lines.push(format!("not in the CSV (kept): {}", listed(&kept)));
    }
    let counts = format!(
        "{} added, {} changed, {} unchanged, {} kept",
        added.len(),
        changed.len(),
        unchanged.len(),
        kept.len()
    );
    if added.is_empty() && changed.is_empty() {
        lines.push(paint(
            &format!("no changes: {counts}; {} left as it is", into.display()),
            Colour::Green,
        ));
        return Ok(lines.join("\n"));
    }
    let status = if dry_run {
        "dry run, nothing written"
    } else {
        write_atomically(into, &json)?;
        "written"
    };
    lines.push(paint(
        &format!(
            "{status}: {}: {counts} ({total} faq entr{})",
            into.display(),
            if total == 1 { "y" } else { "ies" }
        ),
        Colour::Green,
    ));
    Ok(lines.join("\n"))
}

/// Up to 12 ids, then how many more.
fn listed(ids: &[&str]) -> String {
    let shown = ids.iter().take(12).copied().collect::<Vec<_>>().join(", ");
    match ids.len() {
        n if n > 12 => format!("{shown} … and {} more", n - 12),
        _ => shown,
    }
}

/// The CSV's rows as entries, each checked as the rules' validation would (named by its line),
/// and compared with `faq`'s entry of the same id.
fn read_entries(rows: &[Row], faq: &Faq) -> Result<Vec<Imported>, String> {
    let Some((header, rows)) = rows.split_first() else {
        return Err("empty: a header row, then one row per entry".into());
    };
    if header.cells.len() < 4 {
        return Err(format!(
            "line 1: the header has {} column(s); the columns are id, standard question, similar questions, answer, separated by commas",
            header.cells.len()
        ));
    }
    let mut imported: Vec<Imported> = Vec::new();
    for row in rows.iter().filter(|r| !r.is_blank()) {
        let at = row.at();
        let id = row.cell(0);
        if id.is_empty() {
            return Err(format!("{at}: the id is empty"));
        }
        if let Some(earlier) = imported.iter().find(|i| i.entry.id == id) {
            return Err(format!(
                "{at}: id {id:?} is already on line {}",
                earlier.row.line
            ));
        }
        let standard = row.cell(1);
        if standard.is_empty() {
            return Err(format!("{at}: the standard question is empty"));
        }
        let mut questions = vec![standard.to_owned()];
        questions.extend(similar(row.cell(2)));
        let answer = row.cell(3);
        let old = faq.entry(id);
        let old_text = old.map(|e| answer_text(&e.action));
        let mut answer_ignored = None;
        let action = match (old, old_text) {
            (Some(old), Some(None)) => {
                if !answer.is_empty() && answer != not_texts(&old.action) {
                    answer_ignored = Some(match &old.action {
                        Action::Transfer => "a transfer",
                        Action::Send(_) => "not only text",
                        Action::Hook(_) => "a hook",
                    });
                }
                old.action.clone()
            }
            (Some(old), Some(Some(text))) if text == answer => old.action.clone(),
            _ if answer.is_empty() => return Err(format!("{at}: {id}: the answer is empty")),
            _ => Action::Send(messages(answer)),
        };
        let entry = FaqEntry {
            id: id.to_owned(),
            questions,
            action,
            not: old.and_then(|e| e.not.clone()),
        };
        Faq::default()
            .with_entries(vec![entry.clone()])
            .validate()
            .map_err(|problem| {
                let problem = problem
                    .strip_prefix(&format!("entries[0] ({id}): "))
                    .unwrap_or(&problem);
                let hint = if problem.contains("messages; it must have") {
                    " (a blank line in the answer starts another message)"
                } else {
                    ""
                };
                format!("{at}: {id}: {problem}{hint}")
            })?;
        let changed = old.map(|old| {
            let mut fields = Vec::new();
            if old.questions.first() != entry.questions.first() {
                fields.push("standard question".to_owned());
            }
            let before = old.questions.get(1..).unwrap_or_default();
            let after = entry.questions.get(1..).unwrap_or_default();
            if before != after {
                let added = after.iter().filter(|q| !before.contains(q)).count();
                let removed = before.iter().filter(|q| !after.contains(q)).count();
                fields.push(if added + removed == 0 {
                    "similar questions (order)".to_owned()
                } else {
                    format!("similar questions (+{added} −{removed})")
                });
            }
            if old.action != entry.action {
                fields.push("answer".to_owned());
            }
            fields
        });
        imported.push(Imported {
            row: row.clone(),
            entry,
            changed,
            answer_ignored,
        });
    }
    Ok(imported)
}

/// The text an entry whose answer is not only text is exported with: its text messages.
fn not_texts(action: &Action) -> String {
    match action {
        Action::Transfer | Action::Hook(_) => String::new(),
        Action::Send(messages) => messages
            .iter()
            .filter_map(|m| match m {
                ReplyMessage::Text { content } => Some(content.trim()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n\n"),
    }
}

/// What [`add_question`] did; either way, the line to show.
#[derive(Debug, Clone, PartialEq)]
pub enum Added {
    /// Written; the line says what the FAQ now decides for the question.
    Written(String),
    /// The entry already has it (as the matcher normalises it): nothing written.
    Already(String),
}

impl Added {
    pub fn line(&self) -> &str {
        match self {
            Self::Written(line) | Self::Already(line) => line,
        }
    }
}

/// Why [`add_question`] wrote nothing: what was asked (the first four: the caller's to fix),
/// the file as it is, or reading and writing it.
#[derive(Debug)]
pub enum NotAdded {
    /// The question is empty, or only punctuation.
    NoWords(String),
    /// No entry of that id (the line lists the ids).
    UnknownEntry(String),
    /// Another entry already has the question.
    OtherEntry(String),
    /// With the question the rules would not be valid.
    Invalid(String),
    /// The file is not rules, or has no `faq` section.
    File(String),
    /// Reading or writing the file failed.
    Io(anyhow::Error),
}

impl std::fmt::Display for NotAdded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoWords(line)
            | Self::UnknownEntry(line)
            | Self::OtherEntry(line)
            | Self::Invalid(line)
            | Self::File(line) => f.write_str(line),
            Self::Io(err) => write!(f, "{err:#}"),
        }
    }
}

impl std::error::Error for NotAdded {}

/// Adds `text` as a similar question of entry `id` of the rules file `file`: `kefu faq
/// add-question`, and the report page of `kefu dev`. The result is validated before it is
/// written (atomically, so that a watcher never reads half).
pub fn add_question(id: &str, text: &str, file: &Path) -> Result<Added, NotAdded> {
    let text = text.trim();
    if normalize(text).is_empty() {
        return Err(NotAdded::NoWords(format!(
            "the question {text:?} has no words"
        )));
    }
    let json = std::fs::read_to_string(file)
        .with_context(|| format!("reading {}", file.display()))
        .map_err(NotAdded::Io)?;
    let rules = RuleSet::from_json(&json)
        .map_err(|e| NotAdded::File(format!("{}: {e}", file.display())))?;
    let faq = rules
        .faq
        .as_deref()
        .ok_or_else(|| NotAdded::File(format!("{} has no faq section", file.display())))?;
    let Some(entry) = faq.entry(id) else {
        let ids: Vec<&str> = faq.entries.iter().map(|e| e.id.as_str()).collect();
        return Err(NotAdded::UnknownEntry(format!(
            "{}: no FAQ entry {id:?} (the entries: {})",
            file.display(),
            ids.join(", ")
        )));
    };
    let plain = normalize(text);
    if entry.questions.iter().any(|q| normalize(q) == plain) {
        return Ok(Added::Already(format!(
            "{id} already has {text:?}; {} left as it is",
            file.display()
        )));
    }
    if let Some(other) = faq
        .entries
        .iter()
        .find(|e| e.id != id && e.questions.iter().any(|q| normalize(q) == plain))
    {
        return Err(NotAdded::OtherEntry(format!(
            "{text:?} is already a question of entry {}: one question answers one entry",
            other.id
        )));
    }
    let entries: Vec<FaqEntry> = faq
        .entries
        .iter()
        .map(|e| {
            let mut e = e.clone();
            if e.id == id {
                e.questions.push(text.to_owned());
            }
            e
        })
        .collect();
    let mut result = rules.clone();
    result.faq = Some(Box::new(faq.with_entries(entries)));
    let written = serde_json::to_string_pretty(&result)
        .map(|json| format!("{json}\n"))
        .map_err(|e| NotAdded::Io(e.into()))?;
    let checked = RuleSet::from_json(&written).map_err(|e| {
        NotAdded::Invalid(format!(
            "with {text:?} the rules are not valid, {} is unchanged: {e}",
            file.display()
        ))
    })?;
    write_atomically(file, &written).map_err(NotAdded::Io)?;
    let now = match checked.faq.as_deref().map(|faq| faq.decide(text)) {
        Some(FaqDecision::Answer { entry, score, .. }) => {
            format!("the FAQ now answers it with {} ({score:.2})", entry.id)
        }
        Some(FaqDecision::Suggest(candidates)) => format!(
            "the FAQ now suggests {} for it",
            candidates
                .iter()
                .map(|(e, s)| format!("{} ({s:.2})", e.id))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => "the FAQ still does not answer it".to_owned(),
    };
    Ok(Added::Written(format!(
        "{}: {id} + {text:?} ({} questions); {now}",
        file.display(),
        entry.questions.len() + 1
    )))
}

/// Writes `text` to `path` through a temporary file beside it: a reader never sees half.
fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .map_or_else(|| "rules.json".into(), |n| n.to_string_lossy().into_owned());
    let temporary = path.with_file_name(format!(".{name}.kefu-import"));
    std::fs::write(&temporary, text).with_context(|| format!("writing {}", temporary.display()))?;
    std::fs::rename(&temporary, path).with_context(|| format!("writing {}", path.display()))
}

fn export(file: &Path, output: Option<&Path>, no_bom: bool) -> anyhow::Result<String> {
    use std::io::IsTerminal as _;
    let json =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let rules = RuleSet::from_json(&json).with_context(|| file.display().to_string())?;
    let Some(faq) = rules.faq.as_deref() else {
        anyhow::bail!("{}: no faq to export", file.display());
    };
    let mut rows = vec![faq_csv::write_row(&HEADER)];
    for entry in &faq.entries {
        for question in &entry.questions {
            if question.contains(['|', '｜', '\n']) {
                eprintln!(
                    "warning: {}: question {question:?} holds a | or a line break, which import reads as two questions",
                    entry.id
                );
            }
        }
        let standard = entry.questions.first().map_or("", String::as_str);
        let similar = entry.questions.get(1..).unwrap_or_default().join("\n");
        let answer = answer_text(&entry.action).unwrap_or_else(|| not_texts(&entry.action));
        let note = not_only_text(&entry.action).unwrap_or_default();
        rows.push(faq_csv::write_row(&[
            &entry.id, standard, &similar, &answer, &note,
        ]));
    }
    let bom = if no_bom { "" } else { "\u{feff}" };
    let csv = rows.join("\n");
    match output {
        Some(path) => {
            std::fs::write(path, format!("{bom}{csv}\n"))
                .with_context(|| format!("writing {}", path.display()))?;
            Ok(paint(
                &format!(
                    "✓ {}: {} entries from {}",
                    path.display(),
                    faq.entries.len(),
                    file.display()
                ),
                Colour::Green,
            ))
        }
        None if std::io::stdout().is_terminal() => Ok(csv),
        None => Ok(format!("{bom}{csv}")),
    }
}

/// An evaluation set, as `rules/faq/eval/*.json` hold them.
#[derive(Debug, Deserialize)]
struct EvalSet {
    faq: Faq,
    questions: Vec<Asked>,
    off_topic: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Asked {
    text: String,
    expect: String,
}

/// What a method made of a message.
#[derive(Debug, Clone, PartialEq)]
enum Outcome {
    Answer(String),
    Suggest(Vec<String>),
    Nothing,
}

#[derive(Debug, Default)]
struct Tally {
    right: usize,
    wrong: usize,
    suggested_right: usize,
    suggested_wrong: usize,
    nothing: usize,
    off_answered: usize,
    off_suggested: usize,
    /// The expected entry ranked first (answered whatever the thresholds say).
    first: usize,
}

fn eval(file: &Path, misses: bool) -> anyhow::Result<String> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let set: EvalSet = serde_json::from_str(&text)
        .with_context(|| format!("{}: not an evaluation set", file.display()))?;
    set.faq
        .validate()
        .map_err(|e| anyhow::anyhow!("{}: faq: {e}", file.display()))?;
    let started = std::time::Instant::now();
    set.faq.index();
    let built = started.elapsed();

    let matcher = |text: &str| decided(&set.faq, text);
    let keywords = KeywordRules::new(&set.faq);
    let bm25 = Bm25::new(&set.faq);

    let mut out = String::new();
    let q = set.questions.len();
    let o = set.off_topic.len();
    writeln!(
        out,
        "{}: {} entries, {q} user questions, {o} off-topic messages (index built in {:.1} ms)",
        file.display(),
        set.faq.entries.len(),
        built.as_secs_f64() * 1000.0
    )?;
    writeln!(
        out,
        "{:<22} {:>8} {:>8} {:>10} {:>8} {:>9} {:>12} {:>14}   first",
        "method",
        "right",
        "wrong",
        "suggested",
        "none",
        "in reach",
        "off answered",
        "off suggested"
    )?;
    let mut missed = Vec::new();
    let first = |text: &str| {
        let index = set.faq.index();
        index
            .scores(&index.lexicon().tokens(text))
            .first()
            .and_then(|s| set.faq.entries.get(s.entry))
            .map_or(Outcome::Nothing, |e| Outcome::Answer(e.id.clone()))
    };
    for (name, method, ranked) in [
        (
            "faq (kefu)",
            &matcher as &dyn Fn(&str) -> Outcome,
            &first as &dyn Fn(&str) -> Outcome,
        ),
        (
            "contains keywords",
            &|t: &str| keywords.decide(t),
            &|t: &str| keywords.decide(t),
        ),
        ("bigram bm25", &|t: &str| bm25.decide(t), &|t: &str| {
            bm25.decide(t)
        }),
    ] {
        let mut tally = measure(&set, method, name == "faq (kefu)", &mut missed);
        tally.first = set
            .questions
            .iter()
            .filter(|a| ranked(&a.text) == Outcome::Answer(a.expect.clone()))
            .count();
        let pct = |n: usize, of: usize| 100.0 * n as f64 / of.max(1) as f64;
        writeln!(
            out,
            "{name:<22} {:>7.1}% {:>7.1}% {:>9.1}% {:>7.1}% {:>8.1}% {:>5}/{o} ({:.1}%) {:>8}/{o}   {:.1}%",
            pct(tally.right, q),
            pct(tally.wrong, q),
            pct(tally.suggested_right + tally.suggested_wrong, q),
            pct(tally.nothing, q),
            pct(tally.right + tally.suggested_right, q),
            tally.off_answered,
            pct(tally.off_answered, o),
            tally.off_suggested,
            pct(tally.first, q),
        )?;
    }
    writeln!(
        out,
        "(right/wrong: answered directly; suggested: 「您是不是想问」; in reach: right or among the suggestions; off answered / suggested: off-topic messages answered directly / given a suggestion; first: the expected entry ranked first, as if the best were always answered)"
    )?;
    if misses {
        for line in missed {
            writeln!(out, "{line}")?;
        }
    }
    Ok(out.trim_end().to_owned())
}

/// What the knowledge base decides for `text`, as the evaluation counts it.
fn decided(faq: &Faq, text: &str) -> Outcome {
    match faq.decide(text) {
        FaqDecision::Answer { entry, .. } => Outcome::Answer(entry.id.clone()),
        FaqDecision::Suggest(list) => {
            Outcome::Suggest(list.iter().map(|(e, _)| e.id.clone()).collect())
        }
        FaqDecision::Nothing(_) | FaqDecision::Choice(_) => Outcome::Nothing,
    }
}

fn measure(
    set: &EvalSet,
    method: &dyn Fn(&str) -> Outcome,
    record: bool,
    missed: &mut Vec<String>,
) -> Tally {
    let mut tally = Tally::default();
    for asked in &set.questions {
        let outcome = method(&asked.text);
        match &outcome {
            Outcome::Answer(id) if *id == asked.expect => tally.right += 1,
            Outcome::Answer(_) => tally.wrong += 1,
            Outcome::Suggest(ids) if ids.contains(&asked.expect) => tally.suggested_right += 1,
            Outcome::Suggest(_) => tally.suggested_wrong += 1,
            Outcome::Nothing => tally.nothing += 1,
        }
        if record && outcome != Outcome::Answer(asked.expect.clone()) {
            missed.push(format!(
                "miss  {:<28} want {:<22} got {outcome:?} {}",
                asked.text,
                asked.expect,
                top(set, &asked.text)
            ));
        }
    }
    for text in &set.off_topic {
        let outcome = method(text);
        match &outcome {
            Outcome::Answer(_) => tally.off_answered += 1,
            Outcome::Suggest(_) => tally.off_suggested += 1,
            Outcome::Nothing => {}
        }
        if record && outcome != Outcome::Nothing {
            missed.push(format!(
                "off   {text:<28} got {outcome:?} {}",
                top(set, text)
            ));
        }
    }
    tally
}

/// The three best entries' scores for `text`, for `--misses`.
fn top(set: &EvalSet, text: &str) -> String {
    let index = set.faq.index();
    index
        .scores(&index.lexicon().tokens(text))
        .iter()
        .take(3)
        .filter_map(|s| {
            set.faq
                .entries
                .get(s.entry)
                .map(|e| format!("{}={:.2}", e.id, s.score))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn bigrams(text: &str) -> Vec<String> {
    let chars: Vec<char> = normalize(text).chars().collect();
    if chars.len() == 1 {
        return vec![chars.iter().collect()];
    }
    chars.windows(2).map(|w| w.iter().collect()).collect()
}

/// Contains-keyword rules as an operator writes them from the FAQ: each entry's keywords are
/// the two-character words of its questions that no other entry's questions use; the first
/// entry (in order) with a keyword in the message answers.
struct KeywordRules {
    rules: Vec<(String, Vec<String>)>,
}

impl KeywordRules {
    fn new(faq: &Faq) -> Self {
        let words: Vec<HashSet<String>> = faq
            .entries
            .iter()
            .map(|e| e.questions.iter().flat_map(|q| bigrams(q)).collect())
            .collect();
        let mut count: HashMap<&str, usize> = HashMap::new();
        for set in &words {
            for w in set {
                *count.entry(w).or_default() += 1;
            }
        }
        let rules = faq
            .entries
            .iter()
            .zip(&words)
            .map(|(entry, set)| {
                let mut own: Vec<String> = set
                    .iter()
                    .filter(|w| count.get(w.as_str()) == Some(&1))
                    .cloned()
                    .collect();
                own.sort();
                (entry.id.clone(), own)
            })
            .collect();
        Self { rules }
    }

    fn decide(&self, text: &str) -> Outcome {
        let text = normalize(text);
        self.rules
            .iter()
            .find(|(_, words)| words.iter().any(|w| text.contains(w.as_str())))
            .map_or(Outcome::Nothing, |(id, _)| Outcome::Answer(id.clone()))
    }
}

/// Okapi BM25 over character bigrams, each question a document; the best question's entry
/// answers whenever anything matches.
struct Bm25 {
    docs: Vec<(String, HashMap<String, f64>, f64)>,
    df: HashMap<String, f64>,
    average: f64,
}

impl Bm25 {
    fn new(faq: &Faq) -> Self {
        let mut docs = Vec::new();
        let mut df: HashMap<String, f64> = HashMap::new();
        for entry in &faq.entries {
            for q in &entry.questions {
                let grams = bigrams(q);
                let mut tf: HashMap<String, f64> = HashMap::new();
                for g in &grams {
                    *tf.entry(g.clone()).or_default() += 1.0;
                }
                for g in tf.keys() {
                    *df.entry(g.clone()).or_default() += 1.0;
                }
                docs.push((entry.id.clone(), tf, grams.len() as f64));
            }
        }
        let average = docs.iter().map(|d| d.2).sum::<f64>() / (docs.len().max(1) as f64);
        Self { docs, df, average }
    }

    fn decide(&self, text: &str) -> Outcome {
        let (k1, b) = (1.2, 0.75);
        let n = self.docs.len() as f64;
        let query = bigrams(text);
        let mut best: Option<(f64, &str)> = None;
        for (id, tf, len) in &self.docs {
            let mut score = 0.0;
            for g in &query {
                if let (Some(f), Some(df)) = (tf.get(g), self.df.get(g)) {
                    let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
                    score += idf * f * (k1 + 1.0) / (f + k1 * (1.0 - b + b * len / self.average));
                }
            }
            if score > 0.0 && best.is_none_or(|(s, _)| score > s) {
                best = Some((score, id));
            }
        }
        best.map_or(Outcome::Nothing, |(_, id)| Outcome::Answer(id.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// On every evaluation set (the held-out clinic too), the defaults keep to the goal's
    /// limits on wrong answers (≤ 3 %) and off-topic messages answered (≤ 1 in 20), and the
    /// right answers and the reach do not slip below what docs/benchmarks.md reports (floors a
    /// little under it): a tuning that buys one figure with another fails here.
    #[test]
    fn the_defaults_keep_wrong_and_off_topic_answers_within_the_goal_on_every_set() {
        for (name, right_floor, reach_floor) in
            [("coffee", 48, 85), ("shop", 58, 85), ("clinic", 65, 93)]
        {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(format!("../rules/faq/eval/{name}.json"));
            let set: EvalSet =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let tally = measure(&set, &|t| decided(&set.faq, t), false, &mut Vec::new());
            let (q, o) = (set.questions.len(), set.off_topic.len());
            let reach = tally.right + tally.suggested_right;
            assert!(
                tally.wrong * 100 <= q * 3,
                "{name}: {} of {q} wrong",
                tally.wrong
            );
            assert!(
                tally.off_answered * 20 <= o,
                "{name}: {} of {o} off-topic answered",
                tally.off_answered
            );
            assert!(
                tally.right * 100 >= q * right_floor,
                "{name}: {} of {q} right",
                tally.right
            );
            assert!(
                reach * 100 >= q * reach_floor,
                "{name}: {reach} of {q} in reach"
            );
        }
    }
}
