//! Glue: read the configuration and secrets once per cold start, build the adapters, serve.

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use kefu::config::Config;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_current_span(false)
        .without_time() // CloudWatch stamps every line
        .init();
    let config = Config::from_env()?;
    let sdk = kefu::aws::sdk_config().await;
    let worker = Arc::new(kefu::aws::worker(&sdk, &config).await?);
    let worker = &worker;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(reply::handle(worker, event.payload).await)
    }))
    .await
}
