//! The baseline for docs/benchmarks.md: the smallest lambda_http function, built with
//! receive's dependencies (lambda_http's features as receive resolves them) and the same
//! release profile, so that the cold-start and size figures of receive and reply have a
//! hello-world beside them. `cargo build --release -p receive --example hello_world`.

use lambda_http::{Body, Error, Request, Response, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_request: Request| async {
        Ok::<_, Error>(Response::new(Body::from("success")))
    }))
    .await
}
