//! The index of a knowledge base, built once when the rules load: every question's tokens, a
//! weight per token (rarer across entries weighs more; a pair more than a character), and an
//! inverted list from token to questions, so a message touches only the questions that share
//! something with it. Pure.

use std::collections::HashMap;

use super::tokens::{Kind, Lexicon, Token, kind};

/// How much more a pair of characters says than one character. A pair weighs what an
/// ASCII word does less than one would think: many pairs straddle two words (「单选」 in
/// 「下单选成」), and at 1.6 they outweighed the characters the right entry shared (coffee and
/// shop sets: right answers +2.3 and +2.9 points at 1.0, docs/benchmarks.md).
const PAIR_WEIGHT: f32 = 1.0;
const CHAR_WEIGHT: f32 = 0.6;
const WORD_WEIGHT: f32 = 1.6;
/// A token no entry has counts against a match at this share of the rarest token's weight:
/// users add words the questions don't have (「急」「找半天了」), and at full weight those sank
/// right answers below the thresholds; at none, off-topic messages sharing one word would score
/// as if that word were all they said.
const UNKNOWN_SHARE: f32 = 0.5;
/// An entry's score mixes its best question's similarity with how much of the message all its
/// questions together explain (users combine words from several similar questions), half and
/// half.
const ENTRY_SHARE: f32 = 0.5;

/// One question of an entry, as indexed.
#[derive(Debug, Clone)]
struct Question {
    entry: u32,
    /// Its position among the entry's questions.
    nth: u32,
    /// The sum of its tokens' weights.
    mass: f32,
}

/// A knowledge base's index.
#[derive(Debug, Clone, Default)]
pub struct Index {
    lexicon: Lexicon,
    questions: Vec<Question>,
    postings: HashMap<Token, Vec<u32>>,
    /// Token → the entries any of whose questions has it.
    entry_postings: HashMap<Token, Vec<u32>>,
    weights: HashMap<Token, f32>,
    /// The weight of a token no entry has (it counts against a match: the message says
    /// something the question does not).
    unknown: f32,
    entries: usize,
}

/// How well a message matches one entry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    pub entry: usize,
    /// 0..=1.
    pub score: f32,
    /// The entry's question that matched best.
    pub question: usize,
    /// The entry shares a word (two characters or more) with the message, not only single
    /// characters (「服了」 shares 服 with 「服务」 and nothing else).
    pub shares_a_word: bool,
    /// How much of the entry's most covered question the message has (0..=1, by weight): a
    /// message that says only a small part of every question is not answered directly.
    pub covered: f32,
}

impl Index {
    /// Indexes `entries` (each a list of questions) with `lexicon`.
    pub fn build(entries: &[Vec<&str>], lexicon: Lexicon) -> Self {
        let tokenized: Vec<Vec<Vec<Token>>> = entries
            .iter()
            .map(|questions| questions.iter().map(|q| lexicon.tokens(q)).collect())
            .collect();
        // Document frequency by entry: a token every entry has tells none apart.
        let mut df: HashMap<Token, u32> = HashMap::new();
        for questions in &tokenized {
            let mut seen: Vec<Token> = questions.iter().flatten().copied().collect();
            seen.sort_unstable();
            seen.dedup();
            for token in seen {
                *df.entry(token).or_default() += 1;
            }
        }
        let n = entries.len() as f32;
        let idf = |df: f32| ((n + 1.0) / (df + 0.5)).ln().max(0.05);
        let weights: HashMap<Token, f32> = df
            .iter()
            .map(|(&token, &df)| (token, idf(df as f32) * kind_weight(token)))
            .collect();
        let mut questions = Vec::new();
        let mut postings: HashMap<Token, Vec<u32>> = HashMap::new();
        let mut entry_postings: HashMap<Token, Vec<u32>> = HashMap::new();
        for (entry, entry_questions) in tokenized.iter().enumerate() {
            let mut seen: Vec<Token> = entry_questions.iter().flatten().copied().collect();
            seen.sort_unstable();
            seen.dedup();
            for token in seen {
                entry_postings
                    .entry(token)
                    .or_default()
                    .push(u32::try_from(entry).unwrap_or(u32::MAX));
            }
        }
        for (entry, entry_questions) in tokenized.iter().enumerate() {
            for (nth, tokens) in entry_questions.iter().enumerate() {
                let id = u32::try_from(questions.len()).unwrap_or(u32::MAX);
                let mass = tokens
                    .iter()
                    .map(|t| weights.get(t).copied().unwrap_or(0.0))
                    .sum();
                for &token in tokens {
                    postings.entry(token).or_default().push(id);
                }
                questions.push(Question {
                    entry: u32::try_from(entry).unwrap_or(u32::MAX),
                    nth: u32::try_from(nth).unwrap_or(u32::MAX),
                    mass,
                });
            }
        }
        Self {
            lexicon,
            questions,
            postings,
            entry_postings,
            weights,
            unknown: idf(0.0) * UNKNOWN_SHARE,
            entries: entries.len(),
        }
    }

    pub fn lexicon(&self) -> &Lexicon {
        &self.lexicon
    }

    /// Whether any question of entry `entry` has `token`.
    pub fn in_entry(&self, token: Token, entry: usize) -> bool {
        let Ok(entry) = u32::try_from(entry) else {
            return false;
        };
        // Each list is in entry order (built entry by entry).
        self.entry_postings
            .get(&token)
            .is_some_and(|list| list.binary_search(&entry).is_ok())
    }

    /// The weight of `token` in this knowledge base.
    pub fn weight(&self, token: Token) -> f32 {
        self.weights
            .get(&token)
            .copied()
            .unwrap_or(self.unknown * kind_weight(token))
    }

    /// Each entry's best score for `tokens` (a message's), best first; entries sharing nothing
    /// with it are left out.
    pub fn scores(&self, tokens: &[Token]) -> Vec<Score> {
        let mut shared = vec![0.0f32; self.questions.len()];
        let mut touched = Vec::new();
        let mut mass = 0.0;
        for &token in tokens {
            let weight = self.weight(token);
            mass += weight;
            if let Some(list) = self.postings.get(&token) {
                for &q in list {
                    let q = q as usize;
                    if let Some(slot) = shared.get_mut(q) {
                        if *slot == 0.0 {
                            touched.push(q);
                        }
                        *slot += weight;
                    }
                }
            }
        }
        // How much of the message the entry's words explain, all its questions together.
        let mut explained = vec![0.0f32; self.entries];
        let mut words = vec![false; self.entries];
        for &token in tokens {
            let weight = self.weight(token);
            let word = kind(token) != Kind::Char;
            for &e in self
                .entry_postings
                .get(&token)
                .map_or(&[][..], Vec::as_slice)
            {
                if let Some(slot) = explained.get_mut(e as usize) {
                    *slot += weight;
                }
                if word && let Some(slot) = words.get_mut(e as usize) {
                    *slot = true;
                }
            }
        }
        let mut best: Vec<Option<Score>> = vec![None; self.entries];
        let mut covered = vec![0.0f32; self.entries];
        for q in touched {
            let (Some(question), Some(&overlap)) = (self.questions.get(q), shared.get(q)) else {
                continue;
            };
            let score = similarity(overlap, question.mass, mass);
            let entry = question.entry as usize;
            if let Some(slot) = covered.get_mut(entry)
                && question.mass > 0.0
            {
                *slot = slot.max((overlap / question.mass).min(1.0));
            }
            if let Some(slot) = best.get_mut(entry)
                && slot.is_none_or(|s| s.score < score)
            {
                *slot = Some(Score {
                    entry,
                    score,
                    question: question.nth as usize,
                    shares_a_word: false,
                    covered: 0.0,
                });
            }
        }
        let union = ENTRY_SHARE;
        let mut scores: Vec<Score> = best
            .into_iter()
            .flatten()
            .map(|mut s| {
                let share = explained.get(s.entry).map_or(0.0, |e| (e / mass).min(1.0));
                s.score = (1.0 - union) * s.score + union * share;
                s.shares_a_word = words.get(s.entry).copied().unwrap_or(false);
                s.covered = covered.get(s.entry).copied().unwrap_or(0.0);
                s
            })
            .collect();
        scores.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.entry.cmp(&b.entry)));
        scores
    }
}

fn kind_weight(token: Token) -> f32 {
    match kind(token) {
        Kind::Char => CHAR_WEIGHT,
        Kind::Pair => PAIR_WEIGHT,
        Kind::Word => WORD_WEIGHT,
    }
}

/// How much of the question the message covers, and of the message the question explains,
/// combined as their geometric mean.
fn similarity(overlap: f32, question: f32, message: f32) -> f32 {
    if question <= 0.0 || message <= 0.0 {
        return 0.0;
    }
    let recall = (overlap / question).min(1.0);
    let precision = (overlap / message).min(1.0);
    recall.sqrt() * precision.sqrt()
}
