//! Structured logs for the Lambda functions: one JSON object per line (CloudWatch stamps the
//! time), level from `RUST_LOG` (default `info`).

/// Installs the JSON log subscriber once per cold start.
pub fn init() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(false)
        .without_time()
        .init();
}
