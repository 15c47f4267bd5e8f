//! One TLS stack: rustls on ring, for every HTTP client kefu builds — the AWS SDK's (DynamoDB,
//! SQS, Parameter Store) and reqwest's (the WeChat API, image downloads) — so each binary
//! carries one crypto provider. ring rather than aws-lc (the SDK's default): 0.5 MB less in
//! each arm64 Lambda binary (docs/benchmarks.md, docs/dependencies.md).
//!
//! Whom each client trusts, with nothing read from the file system at start:
//! - reqwest: the Mozilla root set compiled in (`webpki-roots`): WeChat's API (DigiCert
//!   Global Root CA and G2 today) and any host an image is fetched from.
//! - the AWS SDK in the functions: the five roots of Amazon Trust Services, which sign every
//!   AWS service endpoint ([`AMAZON_ROOTS`]); reading and parsing the system's bundle was
//!   ~16 % of `receive`'s init CPU.
//! - the AWS SDK in the CLI: the system's bundle as well, as before (a proxy or a local
//!   endpoint the machine trusts).

use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// The root certificates of Amazon Trust Services, as its repository publishes them: Amazon
/// Root CA 1 to 4 (RSA 2048, RSA 4096, ECDSA P-256, ECDSA P-384) and Starfield Services Root
/// Certificate Authority - G2 (the older root that cross-signs them). AWS's service endpoints
/// chain to these; Amazon Trust Services recommends all five for a custom trust store.
pub const AMAZON_ROOTS: &str = include_str!("tls/amazon_roots.pem");

/// Whom the AWS SDK's HTTPS client trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsRoots {
    /// [`AMAZON_ROOTS`] only, compiled in: the functions, which speak to AWS's endpoints only.
    Amazon,
    /// [`AMAZON_ROOTS`] and the system's bundle: the CLI, on machines whose own trust store
    /// may hold a proxy's or a local endpoint's root.
    AmazonAndSystem,
}

/// A reqwest client builder whose TLS uses the process-wide ring provider.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    install_provider();
    reqwest::Client::builder()
}

/// The AWS SDK's HTTPS client (hyper, rustls on ring), trusting `roots`.
pub fn aws_http_client(roots: AwsRoots) -> SharedHttpClient {
    install_provider();
    let trust = TrustStore::empty()
        .with_native_roots(roots == AwsRoots::AmazonAndSystem)
        .with_pem_certificate(AMAZON_ROOTS);
    let context = TlsContext::builder().with_trust_store(trust).build();
    let builder = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring));
    match context {
        Ok(context) => builder.tls_context(context).build_https(),
        // Building a context cannot fail for rustls (only s2n-tls checks it here); the default
        // context (the system's roots) is the safe fallback if it ever did.
        Err(_) => builder.build_https(),
    }
}

fn install_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another thread that installed the same provider is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use rustls::pki_types::{CertificateDer, pem::PemObject};
    use sha2::{Digest, Sha256};

    /// The SHA-256 of each root's SubjectPublicKeyInfo, as Amazon Trust Services publishes it.
    const PUBLISHED: [&str; 5] = [
        "fbe3018031f9586bcbf41727e417b7d1c45c2f47f93be372a17b96b50757d5a2", // Amazon Root CA 1
        "7f4296fc5b6a4e3b35d3c369623e364ab1af381d8fa7121533c9d6c633ea2461", // Amazon Root CA 2
        "36abc32656acfc645c61b71613c4bf21c787f5cabbee48348d58597803d7abc9", // Amazon Root CA 3
        "f7ecded5c66047d28ed6466b543c40e0743abe81d109254dcf845d4c2c7853c5", // Amazon Root CA 4
        "2b071c59a0a0ae76b0eadb2bad23bad4580b69c3601b630c2eaf0613afa83f92", // Starfield Services G2
    ];

    #[test]
    fn the_compiled_in_roots_are_amazon_trust_services_five() {
        let certs = CertificateDer::pem_slice_iter(AMAZON_ROOTS.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("the roots are PEM certificates");
        let mut store = rustls::RootCertStore::empty();
        let (added, refused) = store.add_parsable_certificates(certs.clone());
        assert_eq!((added, refused), (5, 0), "each is a usable trust anchor");
        let spki_hashes: Vec<String> = store
            .roots
            .iter()
            .map(|anchor| {
                // A trust anchor keeps the SPKI's contents; the published hash is of the whole
                // DER SEQUENCE around them.
                let inner = anchor.subject_public_key_info.as_ref();
                hex::encode(Sha256::digest(der_sequence(inner)))
            })
            .collect();
        assert_eq!(spki_hashes, PUBLISHED);
    }

    #[test]
    fn both_trust_stores_build_a_client() {
        let _functions = aws_http_client(AwsRoots::Amazon);
        let _cli = aws_http_client(AwsRoots::AmazonAndSystem);
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    }

    /// `contents` wrapped in a DER SEQUENCE header.
    fn der_sequence(contents: &[u8]) -> Vec<u8> {
        let len = contents.len();
        let mut out = vec![0x30];
        if len < 0x80 {
            out.push(u8::try_from(len).unwrap());
        } else if len < 0x100 {
            out.extend([0x81, u8::try_from(len).unwrap()]);
        } else {
            out.extend([
                0x82,
                u8::try_from(len >> 8).unwrap(),
                u8::try_from(len & 0xff).unwrap(),
            ]);
        }
        out.extend_from_slice(contents);
        out
    }
}
