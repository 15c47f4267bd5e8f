//! Glue: read the configuration and secrets once per cold start, build the adapters, serve.

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use kefu::config::Config;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    kefu::logging::init();
    let config = Config::from_env()?;
    let aws = kefu::aws::Aws::connect().await;
    let sender = Arc::new(kefu::compose::aws::sender(&aws, &config).await?);
    let sender = &sender;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let deadline = i64::try_from(event.context.deadline).unwrap_or(i64::MAX);
        Ok::<_, Error>(reply::handle(sender, event.payload, deadline).await)
    }))
    .await
}
