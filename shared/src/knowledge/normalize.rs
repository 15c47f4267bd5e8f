//! Text as the matcher compares it: full-width forms folded to half-width, ASCII lower-cased,
//! common traditional characters folded to simplified, and everything that is not a letter,
//! a digit or a CJK character (punctuation, spaces, emoji) dropped. Pure.

use super::lexicon::simplified;

/// The normalised form of `text`.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = half_width(c);
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if is_cjk(c) {
            out.push(simplified(c));
        }
    }
    out
}

/// Full-width ASCII forms (`Ａ`, `１`, `？`) as their ASCII counterparts; the ideographic space
/// as a space.
fn half_width(c: char) -> char {
    match u32::from(c) {
        0x3000 => ' ',
        code @ 0xFF01..=0xFF5E => char::from_u32(code - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// A CJK unified ideograph (the basic block and extension A: what users type).
pub fn is_cjk(c: char) -> bool {
    matches!(u32::from(c), 0x4E00..=0x9FFF | 0x3400..=0x4DBF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_case_punctuation_and_traditional_characters_are_folded() {
        assert_eq!(normalize("請問ＶＩＰ怎麼退款？？ 😊"), "请问vip怎么退款");
        assert_eq!(normalize("App 闪退了!!!"), "app闪退了");
        assert_eq!(normalize("  "), "");
    }
}
