//! Glue: read the configuration and secrets once per cold start, build the adapters, serve.

use kefu::config::Config;
use lambda_http::{Error, Request, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    kefu::logging::init();
    let config = Config::from_env()?;
    let aws = kefu::aws::Aws::connect().await;
    let apps = kefu::compose::aws::receivers(&aws, &config).await?;
    let apps = &apps;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Error>(receive::respond(apps, request).await)
    }))
    .await
}
