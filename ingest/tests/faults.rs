//! The fetcher against a loopback server that injects faults: timeouts, 503 storms, connection resets,
//! truncated bodies, slow responses, 429 with Retry-After. Bounded loops, 127.0.0.1 only.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use regstat_config::HttpSettings;
use regstat_ingest::{FetchOutcome, Fetcher};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A raw HTTP server: `respond(n)` decides what the n-th connection gets.
async fn raw_server(
    respond: impl Fn(usize) -> Fault + Send + Sync + 'static,
) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let respond = Arc::new(respond);
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let respond = respond.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                match respond(n) {
                    Fault::Reset => drop(socket),
                    Fault::Sleep(d) => {
                        tokio::time::sleep(d).await;
                        let _ = socket.write_all(ok_response(b"late").as_bytes()).await;
                    }
                    Fault::Status(code, extra) => {
                        let _ = socket.write_all(format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\n{extra}Connection: close\r\n\r\n").as_bytes()).await;
                    }
                    Fault::Truncated => {
                        let _ = socket.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\nonly part").await;
                    }
                    Fault::Ok(body) => {
                        let _ = socket
                            .write_all(ok_response(body.as_bytes()).as_bytes())
                            .await;
                    }
                }
            });
        }
    });
    (format!("http://{addr}/doc.xlsx"), hits)
}

fn ok_response(body: &[u8]) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.len(),
        String::from_utf8_lossy(body)
    )
}

enum Fault {
    Reset,
    Sleep(Duration),
    Status(u16, &'static str),
    Truncated,
    Ok(&'static str),
}

fn fetcher(retries: u32, timeout_secs: u64) -> Fetcher {
    Fetcher::new(&HttpSettings {
        retries,
        timeout_secs,
        ..HttpSettings::default()
    })
    .unwrap()
    .with_backoff(Duration::from_millis(20))
}

fn body(outcome: FetchOutcome) -> Vec<u8> {
    match outcome {
        FetchOutcome::Fetched(f) => f.bytes,
        FetchOutcome::NotModified => panic!("unexpected 304"),
    }
}

#[tokio::test]
async fn connection_resets_and_truncated_bodies_are_retried() {
    let (url, hits) = raw_server(|n| match n {
        0 => Fault::Reset,
        1 => Fault::Truncated,
        _ => Fault::Ok("whole"),
    })
    .await;
    assert_eq!(body(fetcher(4, 5).get(&url, None).await.unwrap()), b"whole");
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_503_storm_fails_cleanly_after_the_configured_attempts() {
    let (url, hits) = raw_server(|_| Fault::Status(503, "")).await;
    let err = fetcher(3, 5).get(&url, None).await.unwrap_err().to_string();
    assert!(err.contains("doc.xlsx: HTTP 503"), "{err}");
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn timeouts_are_retried_then_reported_with_the_url() {
    let (url, hits) = raw_server(|_| Fault::Sleep(Duration::from_secs(5))).await;
    let start = Instant::now();
    let err = fetcher(2, 1).get(&url, None).await.unwrap_err().to_string();
    assert!(
        err.contains("doc.xlsx") && err.to_lowercase().contains("timed out"),
        "{err}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn slow_responses_within_the_timeout_succeed() {
    let (url, _) = raw_server(|_| Fault::Sleep(Duration::from_millis(300))).await;
    assert_eq!(body(fetcher(1, 5).get(&url, None).await.unwrap()), b"late");
}

#[tokio::test]
async fn retry_after_is_honoured_on_429() {
    let (url, hits) = raw_server(|n| {
        if n == 0 {
            Fault::Status(429, "Retry-After: 1\r\n")
        } else {
            Fault::Ok("after")
        }
    })
    .await;
    let start = Instant::now();
    assert_eq!(body(fetcher(3, 5).get(&url, None).await.unwrap()), b"after");
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "waited {:?}",
        start.elapsed()
    );
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let (url, hits) = raw_server(|_| Fault::Status(404, "")).await;
    assert!(fetcher(5, 5)
        .get(&url, None)
        .await
        .unwrap_err()
        .to_string()
        .contains("HTTP 404"));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn requests_to_one_host_are_paced() {
    let (url, _) = raw_server(|_| Fault::Ok("x")).await;
    let f = Fetcher::new(&HttpSettings {
        host_delay_ms: 300,
        ..HttpSettings::default()
    })
    .unwrap();
    let start = Instant::now();
    for _ in 0..3 {
        f.get(&url, None).await.unwrap();
    }
    assert!(
        start.elapsed() >= Duration::from_millis(600),
        "{:?}",
        start.elapsed()
    );
}

/// Issue 13: every fetch attempt of a source is recorded with its outcome and the decoded file
/// name — a truncated body too, which leaves no document behind.
#[tokio::test]
async fn a_truncated_document_is_an_attempt_named_by_its_decoded_file_name() {
    use regstat_config::{SourceConfig, SourceKind};
    use regstat_ingest::{Archive, AttemptOutcome, Source};
    let (url, _) = raw_server(|_| Fault::Truncated).await;
    // Percent-encoded Cyrillic, an escape at the very end of the name included.
    let url = url.replace(
        "doc.xlsx",
        "%D0%A0%D0%B0%D0%B7%D0%B4%D0%B5%D0%BB%2010.%D1%85",
    );
    let config = SourceConfig {
        id: "rosstat".into(),
        kind: SourceKind::Workbook,
        url: url.parse().unwrap(),
        schedule: None,
        description: None,
        parser: Default::default(),
    };
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(dir.path()).unwrap();
    let source = Source::new(&config, &HttpSettings::default());
    let run = source.run(&fetcher(1, 5), &archive).await.unwrap();
    assert!(run.documents.is_empty());
    assert_eq!(run.attempts.len(), 1, "{:?}", run.attempts);
    let attempt = &run.attempts[0];
    assert_eq!(attempt.url, url);
    assert_eq!(attempt.file_name, "Раздел 10.х");
    assert_eq!(attempt.outcome, AttemptOutcome::Failed);
    assert!(
        attempt.error.as_deref().is_some_and(|e| !e.is_empty()),
        "{attempt:?}"
    );
    assert!(attempt.sha256.is_none());
    assert!(
        run.failures[0].to_string().contains("Раздел 10.х"),
        "failures name the decoded file: {}",
        run.failures[0]
    );
}
