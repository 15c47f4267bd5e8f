//! The knowledge base's matcher: which FAQ entry a message asks about, in the user's own
//! words. Pure, no model and no service: normalisation (`normalize`), built-in and operator
//! synonyms and function words (`lexicon`, `tokens`), an index built once when the rules load
//! (`index`), and the decision below — answer when one entry is clearly the one, suggest up to
//! three when unsure, nothing for small talk and off-topic messages. The FAQ's rule-set model
//! (`faq` in a rules file) is `rules::faq`, which calls this.

pub mod index;
pub mod lexicon;
pub mod normalize;
pub mod tokens;

use index::{Index, Score};
use lexicon::{CHATTER, SMALL_TALK};
use normalize::normalize;
use tokens::show;

/// When to answer and when to suggest.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// The best entry is answered at or above this score (0–1)…
    pub answer: f32,
    /// …when it is at least this far ahead of the runner-up (scores are 0–1; else the two
    /// are suggested)…
    pub lead: f32,
    /// …and the message has at least this share (by weight) of one of its questions: a
    /// message that says only a small part of every question is suggested, not answered.
    pub coverage: f32,
    /// Entries at or above this score are suggested when none is answered.
    pub suggest: f32,
}

impl Default for Thresholds {
    fn default() -> Self {
        // Tuned on rules/faq/eval/coffee.json and shop.json together, checked on the held-out
        // clinic.json (docs/benchmarks.md): fewer wrong answers is worth more suggestions. The
        // lead is an absolute gap, not a ratio: close entries share their topic's words, so
        // the runner-up of a clear question often scores 0.8 × the best, while a 0.13 gap
        // means the best has words of its own the message used.
        Self {
            answer: 0.3,
            lead: 0.13,
            coverage: 0.4,
            suggest: 0.1,
        }
    }
}

/// Up to this many entries are suggested.
pub const MAX_SUGGESTIONS: usize = 3;
/// An entry is suggested only when it scores at least this share of the best one.
const SUGGEST_SHARE: f32 = 0.5;
/// Below this score, an entry is suggested only when it shares a word (two characters or
/// more) with the message: one character in common is too little to offer it (「发票怎么开」
/// shares 发 with 「多久发货」 and nothing else).
const WORDLESS_SUGGEST: f32 = 0.15;

/// What the knowledge base says about a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// This entry answers it.
    Answer {
        best: Score,
        runner_up: Option<Score>,
    },
    /// Unsure: these entries (best first, 2–3 of them, or one below the answer threshold).
    Suggest(Vec<Score>),
    /// Nothing here answers it, and why.
    Nothing(&'static str),
}

/// Decides for `text` among the entries `index` holds, leaving out those `excluded` says.
pub fn decide(
    index: &Index,
    text: &str,
    thresholds: Thresholds,
    excluded: impl Fn(usize) -> bool,
) -> Verdict {
    let plain = normalize(text);
    if plain.is_empty() {
        return Verdict::Nothing("no words");
    }
    if SMALL_TALK.contains(&plain.as_str())
        || plain.chars().all(|c| c.is_ascii_digit())
        || CHATTER.iter().any(|w| plain.contains(w))
    {
        return Verdict::Nothing("small talk");
    }
    let tokens = index.lexicon().tokens(text);
    if tokens.is_empty() {
        return Verdict::Nothing("only function words");
    }
    let scores: Vec<Score> = index
        .scores(&tokens)
        .into_iter()
        .filter(|s| !excluded(s.entry))
        .collect();
    let Some(&best) = scores.first() else {
        return Verdict::Nothing("no entry shares a word with it");
    };
    let runner_up = scores.get(1).copied();
    let clear = best.score - runner_up.map_or(0.0, |r| r.score) >= thresholds.lead
        && best.covered >= thresholds.coverage;
    if best.score >= thresholds.answer && clear && best.shares_a_word {
        return Verdict::Answer { best, runner_up };
    }
    let floor = thresholds.suggest.max(best.score * SUGGEST_SHARE);
    let suggested: Vec<Score> = scores
        .iter()
        .copied()
        .filter(|s| s.score >= floor && (s.shares_a_word || s.score >= WORDLESS_SUGGEST))
        .take(MAX_SUGGESTIONS)
        .collect();
    if suggested.is_empty() {
        Verdict::Nothing("no entry close enough")
    } else {
        Verdict::Suggest(suggested)
    }
}

/// The words `text` and `question` share, as the matcher counts them (characters and pairs),
/// for explanations.
pub fn shared_words(index: &Index, text: &str, question: &str) -> Vec<String> {
    let theirs = index.lexicon().tokens(question);
    let mut words: Vec<String> = index
        .lexicon()
        .tokens(text)
        .into_iter()
        .filter(|t| theirs.binary_search(t).is_ok())
        .filter(|t| tokens::kind(*t) != tokens::Kind::Char)
        .filter_map(show)
        .collect();
    words.sort();
    words
}
