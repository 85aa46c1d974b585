//! TLS to Tableau: the operating system's roots by default, a private CA with `TABLEAU_CA_CERT`,
//! and no way to turn certificate checks off.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

use crate::common::{Invocation, Run, completed_body};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

/// An HTTPS server on 127.0.0.1 with a certificate from the test-only CA. It answers every
/// request with a `serverinfo` of a too-old version, which proves the handshake worked without
/// needing a whole Tableau behind it.
async fn https_server() -> String {
    dbt_tableau_refresh::tls::install_crypto_provider();
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(fixture("tls-test-only-server.cert.pem"))
            .expect("cert file")
            .collect::<Result<_, _>>()
            .expect("cert pem");
    let key = PrivateKeyDer::from_pem_file(fixture("tls-test-only-server.key.pem")).expect("key");
    let config = tokio_rustls::rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let body = r#"{"serverInfo":{"productVersion":{"value":"10.3.0","build":"x"},"restApiVersion":"2.6"}}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    format!("https://127.0.0.1:{}", addr.port())
}

async fn refresh(url: &str, ca_cert: Option<&str>) -> Run {
    let body = completed_body("4242", "Success", 10);
    let mut invocation = Invocation::refresh(url)
        .signed(&body)
        .datasources(&["Orders"]);
    if let Some(value) = ca_cert {
        invocation = invocation.env("TABLEAU_CA_CERT", value);
    }
    invocation.run().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_ca_is_trusted_from_a_file_or_as_text() {
    let url = https_server().await;
    let run = refresh(&url, Some(&fixture("tls-test-only-ca.cert.pem"))).await;
    assert_eq!(run.code, 1);
    assert!(
        run.summary_text().contains("REST API 2.6 is too old"),
        "{}",
        run.summary
    );

    let pem = std::fs::read_to_string(fixture("tls-test-only-ca.cert.pem")).expect("pem");
    let run = refresh(&url, Some(&pem)).await;
    assert!(
        run.summary_text().contains("REST API 2.6 is too old"),
        "{}",
        run.summary
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_ca_is_refused() {
    let url = https_server().await;
    let run = refresh(&url, None).await;
    assert_eq!(run.code, 1);
    let text = run.summary_text();
    assert!(text.contains("Failed while contacting Tableau"), "{text}");
    assert!(text.contains("TLS certificate was refused"), "{text}");
    assert!(
        text.contains("pass it with input tableau-ca-cert"),
        "{text}"
    );
    assert!(
        !run.stdout.contains("retrying"),
        "a refused certificate is not retried"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_ca_value_is_a_usage_error() {
    let url = https_server().await;
    for value in [
        "/no/such/file.pem",
        "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
    ] {
        let run = refresh(&url, Some(value)).await;
        assert_eq!(run.code, 2, "{value}: {}", run.stdout);
    }
    let run = refresh(&url, Some(&fixture("webhook-tricky-bytes.json"))).await;
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout.contains("holds no PEM certificate"),
        "{}",
        run.stdout
    );
}
