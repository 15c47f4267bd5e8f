//! Glue: read the configuration and secrets once per cold start, build the adapters, serve.
//! `{"file": …}` images come from the ones built into this binary (`build.rs`).

use std::sync::Arc;

use aws_lambda_events::event::sqs::SqsEvent;
use kefu::assets::Images;
use kefu::config::Config;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    kefu::logging::init();
    let config = Config::from_env()?;
    let aws = kefu::aws::Aws::connect().await;
    let images = Images::Shipped(reply::SHIPPED_ASSETS);
    let apps = Arc::new(kefu::compose::aws::senders(&aws, &config, images).await?);
    let sources = reply::Sources {
        outbox_arn: config.outbox_queue_arn.clone(),
        outbox: kefu::send::OutboxSettings {
            during_handoff: config.outbox_during_handoff,
        },
    };
    let (apps, sources) = (&apps, &sources);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let now = kefu::ports::Clock::now_millis(&kefu::clock::SystemClock);
        let deadline = reply::deadline(event.context.deadline, now);
        Ok::<_, Error>(reply::handle_sources(apps, sources, event.payload, deadline).await)
    }))
    .await
}
