//! `kefu faq`: the knowledge base's tools. `eval FILE` measures the matcher on an evaluation
//! set (`rules/faq/eval/`): how many user questions it answers right, wrong, suggests, or
//! leaves to the default, and how many off-topic messages it answers — side by side with two
//! baselines on the same set: contains-keyword rules (what keyword rules and SDK routers offer)
//! and plain character-bigram BM25.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::{Args, Subcommand};
use kefu::knowledge::normalize::normalize;
use kefu::rules::{Faq, FaqDecision};
use serde::Deserialize;

#[derive(Debug, Args)]
pub struct FaqArgs {
    #[command(subcommand)]
    command: FaqCommand,
}

#[derive(Debug, Subcommand)]
enum FaqCommand {
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

    let matcher = |text: &str| match set.faq.decide(text) {
        FaqDecision::Answer { entry, .. } => Outcome::Answer(entry.id.clone()),
        FaqDecision::Suggest(list) => {
            Outcome::Suggest(list.iter().map(|(e, _)| e.id.clone()).collect())
        }
        FaqDecision::Nothing(_) | FaqDecision::Choice(_) => Outcome::Nothing,
    };
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
        "{:<22} {:>8} {:>8} {:>10} {:>8} {:>9} {:>12}",
        "method", "right", "wrong", "suggested", "none", "in reach", "off answered"
    )?;
    let mut missed = Vec::new();
    for (name, method) in [
        ("faq (kefu)", &matcher as &dyn Fn(&str) -> Outcome),
        ("contains keywords", &|t: &str| keywords.decide(t)),
        ("bigram bm25", &|t: &str| bm25.decide(t)),
    ] {
        let tally = measure(&set, method, name == "faq (kefu)", &mut missed);
        let pct = |n: usize, of: usize| 100.0 * n as f64 / of.max(1) as f64;
        writeln!(
            out,
            "{name:<22} {:>7.1}% {:>7.1}% {:>9.1}% {:>7.1}% {:>8.1}% {:>5}/{o} ({:.1}%)",
            pct(tally.right, q),
            pct(tally.wrong, q),
            pct(tally.suggested_right + tally.suggested_wrong, q),
            pct(tally.nothing, q),
            pct(tally.right + tally.suggested_right, q),
            tally.off_answered,
            pct(tally.off_answered, o),
        )?;
    }
    writeln!(
        out,
        "(right/wrong: answered directly; suggested: 「您是不是想问」; in reach: right or among the suggestions; off answered: off-topic messages answered directly)"
    )?;
    if misses {
        for line in missed {
            writeln!(out, "{line}")?;
        }
    }
    Ok(out.trim_end().to_owned())
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
