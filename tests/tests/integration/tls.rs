//! The production HTTPS clients — the AWS SDK's, as `aws_config` builds it,
//! and the Graph API client — make real TLS connections (rustls on ring) to
//! local servers whose certificates a test certificate authority signed: a
//! TLS-terminating proxy in front of DynamoDB Local, and one in front of the
//! WhatsApp sandbox. A certificate from an authority they do not trust is refused.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use afterhours_adapters::config::aws_config;
use afterhours_adapters::graph::{GraphClient, GraphError};
use afterhours_adapters::store::Store;
use afterhours_tests::*;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};

/// A certificate authority of our own and a server certificate it signed for 127.0.0.1.
struct TestCa {
    ca_pem: String,
    server: Arc<rustls::ServerConfig>,
}

fn test_ca(name: &str) -> TestCa {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("{name} test CA"));
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let server = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    )
    .unwrap();
    TestCa {
        ca_pem: ca.pem(),
        server: Arc::new(server),
    }
}

/// A TLS-terminating proxy on loopback in front of `upstream` (host:port):
/// its `https://` base URL, and how many handshakes completed.
async fn tls_proxy(
    server: Arc<rustls::ServerConfig>,
    upstream: String,
) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let handshakes = Arc::new(AtomicUsize::new(0));
    let done = handshakes.clone();
    let acceptor = tokio_rustls::TlsAcceptor::from(server);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, upstream, done) = (acceptor.clone(), upstream.clone(), done.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                done.fetch_add(1, Ordering::SeqCst);
                if let Ok(mut plain) = TcpStream::connect(&upstream).await {
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                }
            });
        }
    });
    (url, handshakes)
}

/// DynamoDB Local's address, as `make test` exports it.
fn dynamodb_local() -> String {
    std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .expect("run with make test")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

/// A store made by the production configuration, trusting `roots`, through `endpoint`.
async fn store_via(endpoint: &str, roots: Option<&str>, table: &str) -> Store {
    let mut cfg = config(table);
    cfg.extra_roots = roots.map(|pem| pem.as_bytes().to_vec());
    let shared = aws_config(&cfg).await.unwrap();
    let dynamo = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&shared)
            .endpoint_url(endpoint)
            .build(),
    );
    Store::new(dynamo, table)
}

#[tokio::test]
async fn dynamodb_is_reached_over_tls_through_the_production_client() {
    let ca = test_ca("afterhours");
    let (url, handshakes) = tls_proxy(ca.server.clone(), dynamodb_local()).await;
    let table = unique("tls");
    let store = store_via(&url, Some(&ca.ca_pem), &table).await;
    afterhours_adapters::table::ensure_table(store.client(), &table)
        .await
        .unwrap();
    store
        .put_settings("t1", &json!({"timezone": "Asia/Tokyo"}))
        .await
        .unwrap();
    let back = store.get_settings("t1").await.unwrap().unwrap();
    assert_eq!(back["timezone"], "Asia/Tokyo");
    assert!(handshakes.load(Ordering::SeqCst) >= 1);
}

#[tokio::test]
async fn dynamodb_behind_a_certificate_of_an_unknown_authority_is_refused() {
    let ca = test_ca("afterhours");
    let stranger = test_ca("stranger");
    let (url, handshakes) = tls_proxy(stranger.server.clone(), dynamodb_local()).await;
    let table = unique("tls");
    // Trusting only the platform's roots, or another authority: no connection.
    for roots in [None, Some(ca.ca_pem.as_str())] {
        let store = store_via(&url, roots, &table).await;
        let err = store.get_settings("t1").await.unwrap_err();
        assert!(
            err.to_string().to_lowercase().contains("certificate")
                || err.to_string().contains("dispatch"),
            "{err}"
        );
    }
    assert_eq!(handshakes.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn the_graph_client_reaches_whatsapp_over_tls_and_refuses_an_unknown_authority() {
    let graph = GraphStandIn::start().await;
    graph
        .sandbox
        .set_phone_numbers("710000000000001", &["777000", "777001"]);
    let upstream = graph.base_url.trim_start_matches("http://").to_string();
    let ca = test_ca("afterhours");
    let (url, handshakes) = tls_proxy(ca.server.clone(), upstream.clone()).await;
    let client = |roots: Option<&str>| {
        GraphClient::new(
            &url,
            "v23.0",
            GRAPH_TOKEN,
            std::time::Duration::from_secs(5),
        )
        .unwrap()
        .trusting(roots.map(|pem| pem.as_bytes().to_vec()))
    };
    let numbers = client(Some(&ca.ca_pem))
        .phone_numbers("710000000000001")
        .await
        .unwrap();
    assert_eq!(numbers, ["777000", "777001"]);
    assert!(handshakes.load(Ordering::SeqCst) >= 1);
    // Another authority's certificate: refused before anything is sent.
    let stranger = test_ca("stranger");
    let (bad_url, bad_handshakes) = tls_proxy(stranger.server.clone(), upstream).await;
    let refused = GraphClient::new(
        &bad_url,
        "v23.0",
        GRAPH_TOKEN,
        std::time::Duration::from_secs(5),
    )
    .unwrap()
    .trusting(Some(ca.ca_pem.into_bytes()))
    .phone_numbers("710000000000001")
    .await;
    assert!(
        matches!(
            refused,
            Err(GraphError::NotSent(_)) | Err(GraphError::Unknown(_))
        ),
        "{refused:?}"
    );
    assert_eq!(bad_handshakes.load(Ordering::SeqCst), 0);
}
