//! Colour on a terminal, plain text (on stdout) in pipes, files and wherever `NO_COLOR` is set
//! (<https://no-color.org>): the decision is anstream's, the same that clap makes for its help
//! (it also honours `CLICOLOR`, `CLICOLOR_FORCE` and `TERM=dumb`), and the codes are anstyle's.

use anstyle::{AnsiColor, Effects, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    Red,
    Green,
    Yellow,
    Cyan,
    Dim,
}

impl Colour {
    fn style(self) -> Style {
        match self {
            Self::Red => AnsiColor::Red.on_default(),
            Self::Green => AnsiColor::Green.on_default(),
            Self::Yellow => AnsiColor::Yellow.on_default(),
            Self::Cyan => AnsiColor::Cyan.on_default(),
            Self::Dim => Style::new().effects(Effects::DIMMED),
        }
    }
}

/// Whether text written to stdout may carry colour codes.
pub fn enabled() -> bool {
    anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never
}

/// `text` in `colour` when stdout takes colour.
pub fn paint(text: &str, colour: Colour) -> String {
    if enabled() {
        let style = colour.style();
        format!("{style}{text}{style:#}")
    } else {
        text.to_owned()
    }
}
