//! Glue: read the configuration and secrets once per cold start, build the adapters, serve.

use kefu::config::Config;
use lambda_http::{Error, Request, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    kefu::logging::init();
    let config = Config::from_env()?;
    let aws = kefu::aws::Aws::connect().await;
    let receiver = kefu::compose::aws::receiver(&aws, &config).await?;
    let receiver = &receiver;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(receive::respond(receiver, request).await)
    }))
    .await
}
