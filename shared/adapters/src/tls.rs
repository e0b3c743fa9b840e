//! The one TLS stack of every function: rustls on the `ring` provider, for
//! the AWS SDK's HTTPS client and for the Graph API client alike.
//!
//! The AWS SDK's client talks to AWS endpoints only (DynamoDB, EventBridge),
//! whose certificates chain to the Amazon Trust Services roots: it trusts
//! those five (`aws_roots.pem`, compiled in) and nothing else, plus the PEM
//! certificates of `EXTRA_CA_BUNDLE` when set (a test certificate authority,
//! or an endpoint of your own behind `AWS_ENDPOINT_URL_*`). Besides a smaller
//! trust, it spares every cold start the scan of the system's certificate
//! files: the SDK builds its connector when the client is created, and that
//! scan was about half of a function's init. The Graph client, built on its
//! first call, trusts the platform's roots.

use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// The roots AWS endpoints chain to: Amazon Root CA 1 to 4, and the
/// Starfield Services root that cross-signs them.
pub const AWS_ROOTS_PEM: &[u8] = include_bytes!("aws_roots.pem");

/// Makes `ring` the process's rustls provider (for the Graph client, which
/// brings none of its own). Idempotent.
pub fn install_provider() {
    // Err only when a provider is installed already, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The AWS SDK's HTTPS client: rustls on ring, the Amazon Trust Services
/// roots and `extra_roots`.
pub fn aws_https_client(extra_roots: Option<&[u8]>) -> Result<SharedHttpClient, String> {
    let mut trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(AWS_ROOTS_PEM);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdk_trusts_the_five_roots_aws_endpoints_chain_to() {
        use rustls::pki_types::pem::PemObject;
        // Read as the SDK reads it (its text lines between the certificates included).
        let ders = rustls::pki_types::CertificateDer::pem_slice_iter(AWS_ROOTS_PEM)
            .collect::<Result<Vec<_>, _>>()
            .expect("valid PEM");
        assert_eq!(ders.len(), 5);
        let mut roots = rustls::RootCertStore::empty();
        assert_eq!(roots.add_parsable_certificates(ders), (5, 0));
        let text = std::str::from_utf8(AWS_ROOTS_PEM).unwrap();
        for name in ["Amazon Root CA 1", "Amazon Root CA 4", "Starfield Services"] {
            assert!(text.contains(name), "{name}");
        }
        assert!(aws_https_client(None).is_ok());
    }
}
