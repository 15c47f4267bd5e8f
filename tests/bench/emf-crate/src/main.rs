//! A function that counts one user message's outcome per invocation, as `reply` does: with
//! kefu's hand-written line (the baseline: the same code as `kefu::metrics::outcome_line`), or,
//! with `--features exporter`, through the `metrics` facade and the EMF exporter, flushed once
//! per invocation by the exporter's Lambda runner. `size.sh` builds both and compares them.

use lambda_runtime::{Error, LambdaEvent};
use serde_json::Value;

#[cfg(not(feature = "exporter"))]
async fn handler(event: LambdaEvent<Value>) -> Result<(), Error> {
    let app = event.payload["app"].as_str().unwrap_or("wx1");
    println!("{}", emf_crate::outcome_line(app, "faq", Some("refund"), 7));
    Ok(())
}

#[cfg(feature = "exporter")]
async fn handler(event: LambdaEvent<Value>) -> Result<(), Error> {
    let app = event.payload["app"].as_str().unwrap_or("wx1").to_owned();
    metrics::counter!("messages", "app" => app, "outcome" => "faq", "id" => "refund").increment(1);
    Ok(())
}

#[cfg(not(feature = "exporter"))]
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(lambda_runtime::service_fn(handler)).await
}

#[cfg(feature = "exporter")]
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let metrics = metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace("kefu")
        .init()
        .map_err(|e| Error::from(e.to_string()))?;
    metrics_cloudwatch_embedded::lambda::handler::run(metrics, handler).await
}
