//! Colour on a terminal, plain text (on stdout) in pipes, files and wherever `NO_COLOR` is set
//! (<https://no-color.org>).

use std::io::IsTerminal as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    Red,
    Green,
    Yellow,
    Cyan,
    Dim,
}

impl Colour {
    fn code(self) -> &'static str {
        match self {
            Self::Red => "31",
            Self::Green => "32",
            Self::Yellow => "33",
            Self::Cyan => "36",
            Self::Dim => "2",
        }
    }
}

/// Whether text written to stdout may carry colour codes.
pub fn enabled() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && std::io::stdout().is_terminal()
}

/// `text` in `colour` when stdout takes colour.
pub fn paint(text: &str, colour: Colour) -> String {
    if enabled() {
        format!("\u{1b}[{}m{text}\u{1b}[0m", colour.code())
    } else {
        text.to_owned()
    }
}
