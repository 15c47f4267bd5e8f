//! A question as the matcher sees it: normalised, synonyms made one word, function words
//! removed, then cut into tokens: each CJK character, each pair of adjacent characters (what
//! carries most of the meaning in Chinese: 「退款」「发票」), and each run of ASCII letters or
//! digits (`vip`, `app`, `5`). Tokens are 64-bit keys, so matching allocates no strings. Pure.

use std::collections::HashMap;

use super::lexicon::{SYNONYMS, without_stop_words};
use super::normalize::{is_cjk, normalize};

/// A token: a character, a pair of characters, or an ASCII word, as a 64-bit key.
pub type Token = u64;

const PAIR: u64 = 1 << 62;
const WORD: u64 = 3 << 62;

/// What a token stands for (for the explanations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Char,
    Pair,
    Word,
}

pub fn kind(token: Token) -> Kind {
    match token & WORD {
        WORD => Kind::Word,
        PAIR => Kind::Pair,
        _ => Kind::Char,
    }
}

/// The synonyms in force: the built-in groups and the operator's, longest first, each with
/// its canonical word.
#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    /// By first character: (variant, canonical), normalised, longest variant first.
    replacements: HashMap<char, Vec<(String, String)>>,
}

impl Lexicon {
    /// The built-in synonyms and `extra` groups (each group's first word is canonical; an
    /// operator's group may also extend a built-in one).
    pub fn new(extra: &[Vec<String>]) -> Self {
        let mut replacements = Vec::new();
        let mut add = |group: &mut dyn Iterator<Item = String>| {
            let group: Vec<String> = group
                .map(|w| normalize(&w))
                .filter(|w| !w.is_empty())
                .collect();
            if let Some((canonical, variants)) = group.split_first() {
                // The canonical word stands for itself too, so that a shorter variant of
                // another group inside it (「券」 in 「优惠券」) never rewrites it.
                replacements.push((canonical.clone(), canonical.clone()));
                for variant in variants {
                    if variant != canonical {
                        replacements.push((variant.clone(), canonical.clone()));
                    }
                }
            }
        };
        for group in extra {
            add(&mut group.iter().cloned());
        }
        for group in SYNONYMS {
            add(&mut group.iter().map(|w| (*w).to_owned()));
        }
        // Longest first; among equals the operator's (added first) win.
        replacements.sort_by_key(|(variant, _)| std::cmp::Reverse(variant.chars().count()));
        let mut by_first: HashMap<char, Vec<(String, String)>> = HashMap::new();
        for (variant, canonical) in replacements {
            if let Some(first) = variant.chars().next() {
                by_first
                    .entry(first)
                    .or_default()
                    .push((variant, canonical));
            }
        }
        Self {
            replacements: by_first,
        }
    }

    /// `text` normalised, with each synonym replaced by its canonical word (scanning left to
    /// right, longest match first, never rewriting what a replacement wrote).
    pub fn canonical(&self, text: &str) -> String {
        let text = normalize(text);
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_str();
        'scan: while let Some(c) = rest.chars().next() {
            for (variant, canonical) in self.replacements.get(&c).map_or(&[][..], Vec::as_slice) {
                if let Some(after) = rest.strip_prefix(variant.as_str()) {
                    out.push_str(canonical);
                    rest = after;
                    continue 'scan;
                }
            }
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
        out
    }

    /// The content of `text`: canonical, with the function words removed.
    pub fn content(&self, text: &str) -> String {
        without_stop_words(self.canonical(text))
    }

    /// The tokens of `text` (deduplicated, unordered).
    pub fn tokens(&self, text: &str) -> Vec<Token> {
        let mut tokens = tokenize(&self.content(text));
        tokens.sort_unstable();
        tokens.dedup();
        tokens
    }
}

/// The tokens of content text (spaces mark where a function word was: no pair spans one).
fn tokenize(content: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut previous: Option<char> = None;
    let mut word: Option<u64> = None;
    for c in content.chars() {
        if c.is_ascii_alphanumeric() {
            previous = None;
            word = Some(fnv(word.unwrap_or(FNV_OFFSET), c));
            continue;
        }
        if let Some(hash) = word.take() {
            tokens.push(WORD | (hash >> 2));
        }
        if is_cjk(c) {
            tokens.push(u64::from(u32::from(c)));
            if let Some(p) = previous {
                tokens.push(PAIR | (u64::from(u32::from(p)) << 21) | u64::from(u32::from(c)));
            }
            previous = Some(c);
        } else {
            previous = None;
        }
    }
    if let Some(hash) = word {
        tokens.push(WORD | (hash >> 2));
    }
    tokens
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv(hash: u64, c: char) -> u64 {
    (hash ^ u64::from(u32::from(c))).wrapping_mul(0x0000_0100_0000_01b3)
}

/// The text a character or pair token stands for (an ASCII word cannot be shown back).
pub fn show(token: Token) -> Option<String> {
    let char_of = |bits: u64| {
        u32::try_from(bits & 0x1F_FFFF)
            .ok()
            .and_then(char::from_u32)
    };
    match kind(token) {
        Kind::Char => char_of(token).map(String::from),
        Kind::Pair => Some([char_of(token >> 21)?, char_of(token)?].iter().collect()),
        Kind::Word => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(lexicon: &Lexicon, text: &str) -> Vec<String> {
        let mut shown: Vec<String> = lexicon
            .tokens(text)
            .into_iter()
            .map(|t| show(t).unwrap_or_else(|| "<word>".into()))
            .collect();
        shown.sort();
        shown
    }

    #[test]
    fn synonyms_become_one_word_and_function_words_go() {
        let lexicon = Lexicon::new(&[]);
        assert_eq!(lexicon.content("请问咋退钱？"), "  退款");
        assert_eq!(shown(&lexicon, "请问咋退钱？"), ["款", "退", "退款"]);
        assert_eq!(lexicon.tokens("在吗"), lexicon.tokens("在吗"));
    }

    #[test]
    fn a_canonical_word_is_not_rewritten_by_a_shorter_variant_inside_it() {
        let lexicon = Lexicon::new(&[]);
        // 「券」 becomes 「优惠券」, but 「优惠券」 itself stays one word.
        assert_eq!(lexicon.canonical("优惠券怎么用"), "优惠券怎么使用");
        assert_eq!(lexicon.canonical("券怎么用"), "优惠券怎么使用");
    }

    #[test]
    fn operator_synonyms_come_first() {
        let lexicon = Lexicon::new(&[vec!["拿铁".into(), "latte".into()]]);
        assert_eq!(lexicon.canonical("LATTE多少钱"), "拿铁价格");
    }

    #[test]
    fn ascii_words_are_one_token_and_pairs_do_not_span_them() {
        let lexicon = Lexicon::new(&[]);
        let tokens = lexicon.tokens("wifi密码");
        assert_eq!(tokens.iter().filter(|t| kind(**t) == Kind::Word).count(), 1);
        assert_eq!(tokens.len(), 4, "wifi, 密, 码, 密码");
    }
}
