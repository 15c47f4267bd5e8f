//! Placeholders in a text reply: `{openid}`, `{kf_account}`, `{time}`, … — which names exist
//! and how a text splits into literal pieces and placeholders. Pure; the values are filled in
//! by `policy::render`.
//!
//! `{name}` with a name of lower-case ASCII letters and `_` is a placeholder, and an unknown
//! name is refused at validation. `{{` and `}}` write a literal `{` and `}`. Any other brace
//! (`{}`, `{ 1 }`, `价格{面议`) is literal as written, so texts that were valid before
//! placeholders existed mean what they meant, unless they hold `{name}`, `{{` or `}}`.

/// The placeholders a text reply may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// The user's openid.
    Openid,
    /// The agent of a `kf_create_session` / `kf_close_session` event (`KfAccount`), or the
    /// agent taking over in `kf_switch_session` (`ToKfAccount`); empty otherwise.
    KfAccount,
    /// `kf_switch_session`'s `FromKfAccount`; empty otherwise.
    FromKfAccount,
    /// `kf_switch_session`'s `ToKfAccount`; empty otherwise.
    ToKfAccount,
    /// `user_enter_tempsession`'s `SessionFrom`; empty otherwise.
    SessionFrom,
    /// The user's text (text messages); empty otherwise.
    Content,
    /// `HH:MM` when the message arrived, in the rule set's time zone.
    Time,
    /// `YYYY-MM-DD` when the message arrived, in the rule set's time zone.
    Date,
}

impl Placeholder {
    pub const ALL: [(&'static str, Self); 8] = [
        ("openid", Self::Openid),
        ("kf_account", Self::KfAccount),
        ("from_kf_account", Self::FromKfAccount),
        ("to_kf_account", Self::ToKfAccount),
        ("session_from", Self::SessionFrom),
        ("content", Self::Content),
        ("time", Self::Time),
        ("date", Self::Date),
    ];

    fn named(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, placeholder)| *placeholder)
    }
}

/// One piece of a text: literal text or a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'t> {
    Literal(std::borrow::Cow<'t, str>),
    Placeholder(Placeholder),
}

/// Splits `text` into pieces; an unknown `{name}` is an error naming it and the known ones.
pub fn pieces(text: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(['{', '}']) {
        let (before, from) = rest.split_at(at);
        literal.push_str(before);
        if let Some(after) = from.strip_prefix("{{") {
            literal.push('{');
            rest = after;
        } else if let Some(after) = from.strip_prefix("}}") {
            literal.push('}');
            rest = after;
        } else if let Some((name, after)) = placeholder_at(from) {
            let placeholder = Placeholder::named(name).ok_or_else(|| {
                let known: Vec<String> = Placeholder::ALL
                    .iter()
                    .map(|(name, _)| format!("{{{name}}}"))
                    .collect();
                format!(
                    "unknown placeholder {{{name}}}: use {} (write {{{{ and }}}} for literal braces)",
                    known.join(", ")
                )
            })?;
            if !literal.is_empty() {
                pieces.push(Piece::Literal(std::mem::take(&mut literal).into()));
            }
            pieces.push(Piece::Placeholder(placeholder));
            rest = after;
        } else {
            // A lone brace: literal.
            let (brace, after) = from.split_at(1);
            literal.push_str(brace);
            rest = after;
        }
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal.into()));
    }
    Ok(pieces)
}

/// `{name}…` at the start of `text`: the name and what follows the `}`.
fn placeholder_at(text: &str) -> Option<(&str, &str)> {
    let inner = text.strip_prefix('{')?;
    let end = inner.find('}')?;
    let (name, after) = inner.split_at(end);
    let is_name = !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    is_name.then(|| (name, after.get(1..).unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn lit(text: &str) -> Piece<'_> {
        Piece::Literal(text.into())
    }

    #[test]
    fn placeholders_and_escapes() {
        assert_eq!(
            pieces("客服 {kf_account} 为你服务，现在 {time}").unwrap(),
            [
                lit("客服 "),
                Piece::Placeholder(Placeholder::KfAccount),
                lit(" 为你服务，现在 "),
                Piece::Placeholder(Placeholder::Time)
            ]
        );
        assert_eq!(pieces("{{openid}} }}").unwrap(), [lit("{openid} }")]);
        assert_eq!(pieces("").unwrap(), []);
    }

    #[test]
    fn other_braces_are_literal() {
        for text in [
            "{}",
            "{ 1 }",
            "价格{面议",
            "a}b",
            r#"{"a":1"#,
            "{Name}",
            "{x1}",
        ] {
            assert_eq!(pieces(text).unwrap(), [lit(text)], "{text}");
        }
    }

    #[test]
    fn an_unknown_placeholder_is_refused_with_the_known_ones() {
        let problem = pieces("你好 {nickname}").unwrap_err();
        assert!(
            problem.starts_with("unknown placeholder {nickname}: use {openid}, {kf_account}"),
            "{problem}"
        );
        assert!(problem.contains("{{ and }}"));
    }
}
