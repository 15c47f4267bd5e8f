//! Structured logs for the Lambda functions: one JSON object per line (CloudWatch stamps the
//! time), levels from `RUST_LOG` (default `info`): a level, and `target=level` pairs, comma
//! separated (`info,kefu=debug`). Not `EnvFilter`: its span and field filters bring a regex
//! engine, ~0.2 MB of each binary (docs/benchmarks.md); a value that does not parse is `info`.

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::prelude::*;

/// Installs the JSON log subscriber once per cold start.
pub fn init() {
    let levels = levels(std::env::var("RUST_LOG").ok().as_deref());
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_current_span(false)
                .without_time(),
        )
        .with(levels)
        .init();
}

/// The levels `RUST_LOG` asks for; `info` when it is unset, empty or not understood.
fn levels(rust_log: Option<&str>) -> Targets {
    rust_log
        .filter(|value| !value.trim().is_empty())
        .and_then(|value| value.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn rust_log_sets_the_levels_and_info_is_the_default() {
        for unset in [None, Some(""), Some("  "), Some("kefu=[span]=nonsense")] {
            let levels = levels(unset);
            assert!(levels.would_enable("kefu", &Level::INFO), "{unset:?}");
            assert!(!levels.would_enable("kefu", &Level::DEBUG), "{unset:?}");
        }
        let levels = levels(Some("warn,kefu=debug"));
        assert!(levels.would_enable("kefu::send", &Level::DEBUG));
        assert!(!levels.would_enable("aws_config", &Level::INFO));
        assert!(levels.would_enable("aws_config", &Level::WARN));
    }
}
