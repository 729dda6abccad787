//! TLS verification is always on, and the extra CA bundle is how hosts certified by a CA outside the
//! common trust stores (the Russian Trusted Root CA of rosstat.gov.ru and gks.ru) are reached. A test CA
//! made here signs a loopback server's certificate.

use std::sync::Arc;

use regstat_config::HttpSettings;
use regstat_ingest::{FetchOutcome, Fetcher};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct TestPki {
    ca_pem: String,
    server_cert_der: Vec<u8>,
    server_key_der: Vec<u8>,
}

fn pki() -> TestPki {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "regstat test root CA");
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params
        .subject_alt_names
        .push(rcgen::SanType::IpAddress("127.0.0.1".parse().unwrap()));
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca).unwrap();
    TestPki {
        ca_pem: ca.pem(),
        server_cert_der: cert.der().to_vec(),
        server_key_der: key.serialize_der(),
    }
}

async fn https_server(pki: &TestPki) -> String {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![rustls::pki_types::CertificateDer::from(
                pki.server_cert_der.clone(),
            )],
            rustls::pki_types::PrivateKeyDer::Pkcs8(pki.server_key_der.clone().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = [0u8; 4096];
                let _ = tls.read(&mut buf).await;
                let body = b"workbook over TLS";
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = tls.write_all(head.as_bytes()).await;
                let _ = tls.write_all(body).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    format!(
        "https://127.0.0.1:{}/storage/mediabank/doc.xlsx",
        addr.port()
    )
}

#[tokio::test]
async fn an_unknown_ca_is_refused_and_the_extra_bundle_admits_it() {
    let pki = pki();
    let url = https_server(&pki).await;

    // Verification on, the CA unknown: refused, with the reason.
    let plain = Fetcher::new(&HttpSettings {
        retries: 1,
        ..HttpSettings::default()
    })
    .unwrap();
    let err = plain.get(&url, None).await.unwrap_err().to_string();
    assert!(
        err.to_lowercase().contains("certificate") || err.contains("UnknownIssuer"),
        "{err}"
    );

    // The same server through the configured extra CA bundle.
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("russian_trusted_root_ca.pem");
    std::fs::write(&bundle, &pki.ca_pem).unwrap();
    let trusting = Fetcher::new(&HttpSettings {
        retries: 1,
        extra_ca_bundle: Some(bundle),
        ..HttpSettings::default()
    })
    .unwrap();
    match trusting.get(&url, None).await.unwrap() {
        FetchOutcome::Fetched(f) => assert_eq!(f.bytes, b"workbook over TLS"),
        FetchOutcome::NotModified => panic!("unexpected 304"),
    }

    // A bundle without certificates is a configuration error, not a silent fallback.
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate").unwrap();
    let err = Fetcher::new(&HttpSettings {
        extra_ca_bundle: Some(empty),
        ..HttpSettings::default()
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("empty.pem"), "{err}");
}
