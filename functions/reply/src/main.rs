//! Glue: read the configuration and secrets once per cold start, build the adapters, serve.

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use kefu::config::Config;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    kefu::logging::init();
    let config = Config::from_env()?;
    let sdk = kefu::aws::sdk_config().await;
    let worker = Arc::new(kefu::aws::worker(&sdk, &config).await?);
    let worker = &worker;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(reply::handle(worker, event.payload).await)
    }))
    .await
}
