//! The one TLS stack of every function: rustls on the `ring` provider, for
//! the AWS SDK's HTTPS client and for the Graph API client alike. Both trust
//! the platform's roots, plus the PEM certificates of `EXTRA_CA_BUNDLE` when
//! set (a corporate TLS proxy, or a test certificate authority).

use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// Makes `ring` the process's rustls provider (for the Graph client, which
/// brings none of its own). Idempotent.
pub fn install_provider() {
    // Err only when a provider is installed already, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The AWS SDK's HTTPS client: rustls on ring, the platform's roots and `extra_roots`.
pub fn aws_https_client(extra_roots: Option<&[u8]>) -> Result<SharedHttpClient, String> {
    let mut trust = TrustStore::default();
    if let Some(pem) = extra_roots {
        trust.add_pem_certificate(pem.to_vec());
    }
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .map_err(|e| format!("EXTRA_CA_BUNDLE: {e}"))?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .tls_context(context)
        .build_https())
}

/// A plain `reqwest` client on the same stack (for the secrets extension, the
/// dev CLI and the tests: reqwest brings no crypto provider of its own).
pub fn reqwest_client() -> Result<reqwest::Client, String> {
    reqwest_builder(None)?
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// A `reqwest` client builder on the same stack, trusting `extra_roots` too.
pub fn reqwest_builder(extra_roots: Option<&[u8]>) -> Result<reqwest::ClientBuilder, String> {
    install_provider();
    let mut builder = reqwest::Client::builder();
    if let Some(pem) = extra_roots {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| format!("EXTRA_CA_BUNDLE is not PEM: {e}"))?;
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    Ok(builder)
}
