//! Everything `kefu` prints on stdout goes through here, so that a reader who stops early
//! (`kefu rules schema | head -1`, `kefu completions bash | head`, `kefu dev | head`) ends
//! `kefu` quietly, with exit status 0, as ripgrep, fd and bat do — not with a "Broken pipe"
//! panic (status 101). The reader chose to stop; that is no failure of ours, and a status 0
//! keeps a script under `set -o pipefail` going. (Dying of SIGPIPE, status 141 in the shell,
//! is what C tools do; Rust ignores SIGPIPE, and 141 would fail that same script.)

use std::io::{ErrorKind, Write as _};

/// Writes `text` and a newline to stdout, at once (flushed). A closed stdout ends the process
/// quietly with status 0; any other write error is returned.
pub fn line(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    let written = writeln!(stdout, "{text}").and_then(|()| stdout.flush());
    match written {
        Err(err) if err.kind() == ErrorKind::BrokenPipe => std::process::exit(0),
        other => other,
    }
}

/// `line` for output that has nowhere to report a failure (the `kefu dev` terminal): a closed
/// stdout still ends the process quietly, any other error drops the line.
pub fn say(text: &str) {
    let _ = line(text);
}
