//! How the commands put things in words: an error's innermost cause, text folded onto one
//! line, a `NAME=VALUE` argument. One copy each, for every command that prints them.

/// The innermost error of a chain (`Connection refused`, `timed out`), which says what
/// happened; reqwest's own message is only "error sending request".
pub fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// `text` on one line (its whitespace runs as one space), at most `max` characters (then `…`).
pub fn one_line(text: &str, max: usize) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > max {
        format!("{}…", line.chars().take(max).collect::<String>())
    } else {
        line
    }
}

/// A `NAME=VALUE` argument (`--field SessionFrom=order`, an event's extra fields): the name
/// may not be empty, the value may.
pub fn parse_field(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_owned(), value.to_owned())),
        _ => Err(format!(
            "{text:?} is not NAME=VALUE (e.g. SessionFrom=order)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_folds_whitespace_and_cuts_at_max_characters() {
        assert_eq!(one_line(" a\n  b\tc ", 10), "a b c");
        assert_eq!(one_line("退款已到账了", 3), "退款已…");
    }

    #[test]
    fn a_field_needs_a_name_and_an_equals_sign() {
        assert_eq!(
            parse_field("SessionFrom=order"),
            Ok(("SessionFrom".into(), "order".into()))
        );
        assert_eq!(parse_field("Empty="), Ok(("Empty".into(), String::new())));
        assert!(parse_field("=x").is_err());
        assert!(parse_field("nothing").unwrap_err().contains("NAME=VALUE"));
    }

    #[test]
    fn the_root_cause_is_the_innermost_error() {
        let inner = std::io::Error::other("Connection refused");
        let outer = anyhow::Error::new(inner).context("error sending request");
        assert_eq!(root_cause(outer.as_ref()), "Connection refused");
    }
}
