//! The real HTTP path against a loopback server: conditional GET, retries, archiving once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use regstat_config::{DocumentListOptions, HttpSettings, SourceConfig, SourceKind};
use regstat_ingest::{Archive, Fetcher, Source};

#[derive(Default)]
struct Counters {
    workbook: AtomicUsize,
    flaky: AtomicUsize,
    not_modified: AtomicUsize,
}

async fn serve(counters: Arc<Counters>) -> String {
    let c1 = counters.clone();
    let c2 = counters.clone();
    let app = axum::Router::new()
        .route(
            "/storage/mediabank/book.xlsx",
            get(move |headers: HeaderMap| {
                let c = c1.clone();
                async move {
                    c.workbook.fetch_add(1, Ordering::SeqCst);
                    if headers.get("if-none-match").is_some_and(|v| v == "\"v1\"") {
                        c.not_modified.fetch_add(1, Ordering::SeqCst);
                        return StatusCode::NOT_MODIFIED.into_response();
                    }
                    ([("etag", "\"v1\"")], b"PK-workbook-bytes".to_vec()).into_response()
                }
            }),
        )
        .route(
            "/flaky.xlsx",
            get(move || {
                let c = c2.clone();
                async move {
                    // Two 503s before the document, as EMISS and rosstat.gov.ru do under load.
                    if c.flaky.fetch_add(1, Ordering::SeqCst) < 2 {
                        return StatusCode::SERVICE_UNAVAILABLE.into_response();
                    }
                    b"flaky-bytes".to_vec().into_response()
                }
            }),
        )
        .route(
            "/folder",
            get(|| async {
                axum::response::Html(
                    r#"<div class="document-list__item-link"><a href="/storage/mediabank/book.xlsx">book</a></div>
                       <div class="document-list__item-link"><a href="/flaky.xlsx">flaky</a></div>
                       <div class="document-list__item-link"><a href="/missing.xlsx">gone</a></div>"#,
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn source(base: &str) -> SourceConfig {
    SourceConfig {
        id: "lipetsk".into(),
        kind: SourceKind::DocumentList(DocumentListOptions {
            extensions: vec![".xlsx".into()],
            ..Default::default()
        }),
        url: format!("{base}/folder").parse().unwrap(),
        schedule: None,
        description: None,
        parser: Default::default(),
    }
}

#[tokio::test]
async fn document_list_fetches_archives_retries_and_skips_unchanged() {
    let counters = Arc::new(Counters::default());
    let base = serve(counters.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(dir.path()).unwrap();
    let fetcher = Fetcher::new(&HttpSettings {
        retries: 3,
        ..HttpSettings::default()
    })
    .unwrap()
    .with_backoff(Duration::from_millis(10));
    let source = Source::new(&source(&base), &HttpSettings::default());

    let first = source.run(&fetcher, &archive).await.unwrap();
    assert_eq!(first.documents.len(), 2);
    assert!(first.documents.iter().all(|(_, changed)| *changed));
    assert_eq!(
        counters.flaky.load(Ordering::SeqCst),
        3,
        "two 503s, then success"
    );
    assert_eq!(first.failures.len(), 1, "the 404 link fails alone");
    assert!(
        first.failures[0]
            .to_string()
            .contains("missing.xlsx: HTTP 404"),
        "{}",
        first.failures[0]
    );
    let book = &first.documents[0].0;
    assert_eq!(book.file_name, "book.xlsx");
    assert_eq!(book.etag.as_deref(), Some("\"v1\""));
    assert_eq!(archive.read(&book.sha256).unwrap(), b"PK-workbook-bytes");

    let second = source.run(&fetcher, &archive).await.unwrap();
    assert_eq!(
        counters.not_modified.load(Ordering::SeqCst),
        1,
        "conditional GET answered 304"
    );
    assert!(
        second.documents.iter().all(|(_, changed)| !changed),
        "nothing changed"
    );
    assert_eq!(
        second.documents[0].0, *book,
        "the first fetch's record stands"
    );
    // Objects: the page, the book and the flaky document; the second run stored nothing new.
    let objects = std::fs::read_dir(dir.path().join("objects"))
        .unwrap()
        .count();
    assert_eq!(objects, 3);
}
