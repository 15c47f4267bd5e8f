//! Learning from the conversations: what became of each user message (its outcome, counted as
//! a metric), which questions are worth keeping for the operator (the unanswered and the
//! suggested ones), the keyed hash that stands for the user in what is kept, and the grouping
//! of kept questions by similarity that `kefu report` shows. Pure.

use std::collections::BTreeSet;
use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::knowledge::lexicon::{SMALL_TALK, without_stop_words};
use crate::knowledge::normalize::normalize;
use crate::knowledge::tokens::Token;
use crate::protocol::OpenId;
use crate::rules::calendar::Date;
use crate::rules::{Faq, FaqDecision};

/// Why the automatic answer to a user message was held back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// A human agent holds the session (after a transfer).
    Handoff,
    /// Every reply was over the user's send quota (or refused by WeChat for it).
    Quota,
}

/// What became of one user message.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A rule answered it (its name; also when the rule's `otherwise` did).
    Rule(String),
    /// A knowledge-base entry answered it (also a numbered pick among suggestions).
    Faq { entry: String, score: f32 },
    /// The knowledge base was unsure: these entries were suggested.
    Suggested(Vec<String>),
    /// Nothing answered it: the default reply went out.
    Unanswered,
    /// Nothing answered it and nothing was sent (no default, or outside its schedule with no
    /// `default_otherwise`).
    Silent,
    /// Handed to a human agent (by this rule, or `default`).
    Transferred(String),
    /// An answer was due and held back.
    Held(Held),
}

impl Outcome {
    /// The outcome's name: the `outcome` dimension of the `messages` metric.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Rule(_) => "rule",
            Self::Faq { .. } => "faq",
            Self::Suggested(_) => "suggested",
            Self::Unanswered => "unanswered",
            Self::Silent => "silent",
            Self::Transferred(_) => "transferred",
            Self::Held(Held::Handoff) => "held_handoff",
            Self::Held(Held::Quota) => "held_quota",
        }
    }

    /// The rule or entry behind it (the `id` dimension): names the rules hold, so the
    /// metric's dimensions stay as few as the rules' names.
    pub fn id(&self) -> Option<&str> {
        match self {
            Self::Rule(name) | Self::Transferred(name) => Some(name),
            Self::Faq { entry, .. } => Some(entry),
            _ => None,
        }
    }

    /// Whether the question's text is kept for the report (the unanswered and the suggested).
    pub fn keeps_text(&self) -> bool {
        matches!(self, Self::Unanswered | Self::Silent | Self::Suggested(_))
    }

    /// What the rules decided, as an outcome (before any hold or quota).
    pub fn of(rule: Option<&str>, faq: Option<&FaqDecision<'_>>, answered: bool) -> Self {
        if let Some(rule) = rule {
            return Self::Rule(rule.to_owned());
        }
        match faq {
            Some(FaqDecision::Answer { entry, score, .. }) => Self::Faq {
                entry: entry.id.clone(),
                score: *score,
            },
            Some(FaqDecision::Suggest(candidates)) => {
                Self::Suggested(candidates.iter().map(|(e, _)| e.id.clone()).collect())
            }
            _ if answered => Self::Unanswered,
            _ => Self::Silent,
        }
    }
}

/// Whether `text` is worth keeping as a question: not small talk (「你好」「在吗」), not a bare
/// number (a pick among suggestions), not empty.
pub fn worth_keeping(text: &str) -> bool {
    let plain = normalize(text);
    !plain.is_empty()
        && !SMALL_TALK.contains(&plain.as_str())
        && !plain.chars().all(|c| c.is_ascii_digit())
}

/// The longest question text kept (characters); longer messages are cut.
pub const MAX_KEPT_CHARS: usize = 500;

/// The text as kept: trimmed, cut at [`MAX_KEPT_CHARS`].
pub fn kept_text(text: &str) -> String {
    text.trim().chars().take(MAX_KEPT_CHARS).collect()
}

/// The key of the hash that stands for a user in a kept question. Key material: its `Debug`
/// shows none of it.
#[derive(Clone, PartialEq, Eq)]
pub struct AskerKey(Vec<u8>);

impl fmt::Debug for AskerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AskerKey(redacted)")
    }
}

impl AskerKey {
    /// Derived from an app secret (never the secret itself): the same on every instance, so a
    /// redelivered job replaces its own kept question.
    pub fn from_app_secret(secret: &str) -> Self {
        let mut mac = hmac(secret.as_bytes());
        mac.update(b"kefu asker key v1");
        Self(mac.finalize().into_bytes().to_vec())
    }

    /// A key of this process's own (an instance without the app's secret, e.g. a test).
    pub fn random() -> Self {
        let mut key = vec![0u8; 32];
        if getrandom::fill(&mut key).is_err() {
            key = std::process::id().to_le_bytes().to_vec();
        }
        Self(key)
    }
}

/// HMAC-SHA256 keyed by `key` (HMAC takes a key of any length).
fn hmac(key: &[u8]) -> Hmac<Sha256> {
    <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| <Hmac<Sha256> as Mac>::new_from_slice(&[0]).expect("any key length"))
}

/// What stands for the user in a kept question: HMAC-SHA256 of the openid, keyed by `key`
/// (derived from the app's AppSecret where deployed), cut to 16 hex digits. It tells users
/// apart within the kept window; without the key nobody can tell whose question it is.
pub fn asker(key: &AskerKey, openid: &OpenId) -> String {
    let mut mac = hmac(&key.0);
    mac.update(b"kefu asked v1\0");
    mac.update(openid.as_str().as_bytes());
    let digest = mac.finalize().into_bytes();
    hex::encode(digest.get(..8).unwrap_or(&[]))
}

/// The UTC day of `ms` (since the epoch), `YYYY-MM-DD`: the partition of kept questions.
pub fn day_of(ms: i64) -> String {
    Date::from_days(ms.div_euclid(86_400_000)).to_string()
}

/// The days from `from_ms` to `to_ms` (both included), oldest first.
pub fn days_between(from_ms: i64, to_ms: i64) -> Vec<String> {
    let mut days = Vec::new();
    let mut at = from_ms.div_euclid(86_400_000) * 86_400_000;
    while at <= to_ms {
        days.push(day_of(at));
        at += 86_400_000;
    }
    days
}

/// The characters that say something in `text`: normalised, function words left out.
fn content_chars(text: &str) -> BTreeSet<char> {
    without_stop_words(normalize(text))
        .chars()
        .filter(|c| *c != ' ')
        .collect()
}

/// What a question says, as [`similarity`] compares it: its content characters, and the
/// matcher's tokens after its synonyms.
struct Said {
    chars: BTreeSet<char>,
    tokens: BTreeSet<Token>,
}

impl Said {
    fn of(faq: &Faq, text: &str) -> Self {
        Self {
            chars: content_chars(text),
            tokens: faq.index().lexicon().tokens(text).into_iter().collect(),
        }
    }

    fn alike(&self, other: &Self) -> f32 {
        fn dice<T: Ord>(a: &BTreeSet<T>, b: &BTreeSet<T>) -> f32 {
            if a.is_empty() || b.is_empty() {
                return 0.0;
            }
            let shared = a.intersection(b).count() as f32;
            2.0 * shared / (a.len() + b.len()) as f32
        }
        dice(&self.chars, &other.chars).max(dice(&self.tokens, &other.tokens))
    }
}

/// How alike two questions are (0–1): the overlap of what they say, as characters (「退钱」
/// and 「钱能退吗」 say the same) and as the matcher's tokens after its synonyms (「退钱」 and
/// 「怎么退款」), whichever is higher.
pub fn similarity(faq: &Faq, a: &str, b: &str) -> f32 {
    Said::of(faq, a).alike(&Said::of(faq, b))
}

/// Two questions at least this alike are one group.
pub const GROUP_SIMILARITY: f32 = 0.6;

/// Questions grouped by similarity: each group's members (indices into the input), the most
/// asked text first; groups largest first.
pub fn group(faq: &Faq, texts: &[&str]) -> Vec<Vec<usize>> {
    // The same text asked again is one candidate, counted by how often.
    let mut distinct: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let plain = normalize(text);
        match distinct.iter_mut().find(|(p, _)| *p == plain) {
            Some((_, members)) => members.push(i),
            None => distinct.push((plain, vec![i])),
        }
    }
    distinct.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
    // Greedy: the most asked question not yet grouped leads a group and takes every other
    // question alike enough to it (to the leader only: chaining through members would merge
    // 「点多少钱可以免运费」 with 「想加盟你们要多少钱」 by way of a third).
    // What each says, worked out once: every pair is compared.
    let said: Vec<Said> = distinct
        .iter()
        .map(|(text, _)| Said::of(faq, text))
        .collect();
    let mut taken = vec![false; distinct.len()];
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (lead, lead_said) in said.iter().enumerate() {
        if taken.get(lead).copied().unwrap_or(true) {
            continue;
        }
        let mut members = vec![lead];
        for (other, other_said) in said.iter().enumerate().skip(lead + 1) {
            if !taken.get(other).copied().unwrap_or(true)
                && lead_said.alike(other_said) >= GROUP_SIMILARITY
            {
                members.push(other);
            }
        }
        for &m in &members {
            if let Some(t) = taken.get_mut(m) {
                *t = true;
            }
        }
        groups.push(
            members
                .iter()
                .filter_map(|&m| distinct.get(m))
                .flat_map(|(_, indices)| indices.iter().copied())
                .collect(),
        );
    }
    groups.sort_by_key(|g| std::cmp::Reverse(g.len()));
    groups
}

/// The knowledge-base entry a question comes closest to, with its score, if one shares a word
/// with it (two characters or more: a single shared character says nothing).
pub fn closest_entry<'f>(faq: &'f Faq, text: &str) -> Option<(&'f str, f32)> {
    let index = faq.index();
    let tokens = index.lexicon().tokens(text);
    let best = index
        .scores(&tokens)
        .into_iter()
        .find(|score| score.shares_a_word)?;
    faq.entries
        .get(best.entry)
        .map(|entry| (entry.id.as_str(), best.score))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn days_are_utc_calendar_days() {
        assert_eq!(day_of(0), "1970-01-01");
        assert_eq!(day_of(1_767_225_600_000), "2026-01-01");
        assert_eq!(day_of(1_767_225_599_999), "2025-12-31");
        assert_eq!(day_of(951_782_400_000), "2000-02-29");
        assert_eq!(
            days_between(1_767_225_599_999, 1_767_225_600_000 + 86_400_000),
            ["2025-12-31", "2026-01-01", "2026-01-02"]
        );
    }

    #[test]
    fn the_asker_is_a_keyed_hash_of_the_openid() {
        let key = AskerKey::from_app_secret("secret");
        let user = |openid: &str| OpenId::parse(openid).unwrap();
        let a = asker(&key, &user("oUser1"));
        assert_eq!(a.len(), 16);
        assert_eq!(a, asker(&key, &user("oUser1")));
        assert_ne!(a, asker(&key, &user("oUser2")));
        assert_ne!(
            a,
            asker(&AskerKey::from_app_secret("other secret"), &user("oUser1"))
        );
        assert!(!a.contains("oUser1"));
        assert_eq!(format!("{key:?}"), "AskerKey(redacted)");
    }

    #[test]
    fn small_talk_and_numbers_are_not_kept() {
        assert!(!worth_keeping("你好"));
        assert!(!worth_keeping(" 2 "));
        assert!(!worth_keeping("？？"));
        assert!(worth_keeping("我要退钱"));
    }

    #[test]
    fn ways_of_asking_for_a_refund_fall_in_one_group() {
        let faq = Faq::default();
        let texts = [
            "退钱",
            "我要退钱",
            "钱能退吗",
            "发票怎么开",
            "我要退钱",
            "能开发票吗",
            "今天天气不错",
        ];
        let groups = group(&faq, &texts);
        assert_eq!(groups, vec![vec![1, 4, 0, 2], vec![3, 5], vec![6]]);
    }
}
