//! One TLS stack: rustls on aws-lc-rs, the crypto provider the AWS SDK already uses, for every
//! HTTP client kefu builds (the WeChat API, image downloads). Without this, reqwest would bring
//! a second provider (ring) into each Lambda binary.

/// A reqwest client builder whose TLS uses the process-wide aws-lc-rs provider.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another thread that installed the same provider is fine.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }
    reqwest::Client::builder()
}
