//! A regional office's site in the rosstat.gov.ru markup, served on loopback: folder pages with
//! document items, nested sections, a second list page, relative and absolute links, Cyrillic and
//! percent-encoded file names, documents of every type. The crawl catalogues everything listed,
//! fetches what the source wants, and a second run fetches nothing new.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use regstat_config::{DocumentListOptions, HttpSettings, SourceConfig, SourceKind};
use regstat_ingest::{Archive, Fetcher, Source};

#[derive(Default)]
struct Site {
    base: std::sync::OnceLock<String>,
    /// Requests per path, list pages and files alike.
    hits: std::sync::Mutex<HashMap<String, usize>>,
    files: AtomicUsize,
}

fn item(title: &str, info: &str, href: &str) -> String {
    format!(
        r#"<div class="document-list__item">
             <div class="document-list__item-title">{title}</div>
             <div class="document-list__item-info">{info}</div>
             <div class="document-list__item-link"><a href="{href}">Скачать</a></div>
           </div>"#
    )
}

async fn folder(State(site): State<Arc<Site>>, uri: Uri) -> impl IntoResponse {
    let page = uri.query().and_then(|q| q.strip_prefix("page="));
    *site
        .hits
        .lock()
        .unwrap()
        .entry(uri.to_string())
        .or_default() += 1;
    let base = site.base.get().cloned().unwrap_or_default();
    let menu = r#"<nav class="menu"><a href="/folder/999">Все разделы</a></nav>"#;
    let body = match (uri.path(), page) {
        ("/folder/100", None | Some("1")) => format!(
            r#"{menu}<div class="document-list">{}{}{}</div>
               <div class="toggle-section"><div class="toggle-card">
                 <a href="/folder/200">Муниципальная статистика</a></div></div>
               <div class="pagination"><a href="?page=1">1</a><a href="?page=2">2</a></div>"#,
            item(
                "Численность населения по муниципальным образованиям",
                "45.1 Кб, 28.03.2025",
                "/storage/mediabank/%D0%A7%D0%B8%D1%81%D0%BB%D0%B5%D0%BD%D0%BD%D0%BE%D1%81%D1%82%D1%8C.xlsx"
            ),
            item("Доклад о положении в области", "1,2 Мб, 01.02.2025", "/storage/mediabank/doklad.pdf"),
            item("Итоги года (таблицы)", "30 Кб, 15.01.2025", "../storage/mediabank/itogi.docx"),
        ),
        ("/folder/100", Some("2")) => format!(
            r#"<div class="document-list">{}{}</div>
               <div class="pagination"><a href="?page=1">1</a><a href="?page=2">2</a></div>"#,
            item("Архив таблиц", "2 Мб, 10.12.2024", "/storage/mediabank/arhiv.rar"),
            item(
                "Отгружено товаров: январь-декабрь 2024",
                "20 Кб, 05.02.2025",
                &format!("{base}/storage/mediabank/otgruzka.xlsx")
            ),
        ),
        ("/folder/200", _) => format!(
            r#"<h3>Инвестиции в основной капитал по районам</h3><p>(миллионов рублей)</p>
               <table><tr><td></td><td>2023</td><td>2024</td></tr>
                 <tr><td>Липецкая область</td><td>168 567,3</td><td>170 001</td></tr></table>
               <div class="document-list">{}</div>
               <div class="toggle-section"><a href="/folder/300">Глубже</a>
                 <a href="/folder/404">Раздел, которого нет</a></div>"#,
            item("Инвестиции по районам", "12 Кб, 20.03.2025", "/storage/mediabank/invest_mo.xlsx"),
        ),
        ("/folder/300", _) => format!(
            r#"<div class="document-list">{}</div>"#,
            item("Третий уровень", "1 Кб, 01.01.2025", "/storage/mediabank/deep.xlsx"),
        ),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    Html(body).into_response()
}

async fn file(State(site): State<Arc<Site>>, uri: Uri, headers: HeaderMap) -> impl IntoResponse {
    *site
        .hits
        .lock()
        .unwrap()
        .entry(uri.path().to_string())
        .or_default() += 1;
    let etag = format!("\"{}\"", uri.path().len());
    if headers.get("if-none-match").is_some_and(|v| *v == *etag) {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    site.files.fetch_add(1, Ordering::SeqCst);
    (
        [("etag", etag)],
        format!("bytes of {}", uri.path()).into_bytes(),
    )
        .into_response()
}

async fn serve() -> (String, Arc<Site>) {
    let site = Arc::new(Site::default());
    let app = axum::Router::new()
        .route("/folder/{id}", get(folder))
        .route("/storage/mediabank/{name}", get(file))
        .with_state(site.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    site.base.set(base.clone()).unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, site)
}

fn source(base: &str, list: DocumentListOptions) -> SourceConfig {
    SourceConfig {
        id: "lipetskstat".into(),
        kind: SourceKind::DocumentList(list),
        url: format!("{base}/folder/100").parse().unwrap(),
        schedule: None,
        description: None,
        parser: Default::default(),
    }
}

#[tokio::test]
async fn an_office_site_is_catalogued_and_fetched_once() {
    let (base, site) = serve().await;
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(dir.path()).unwrap();
    let fetcher = Fetcher::new(&HttpSettings::default()).unwrap();
    let list = DocumentListOptions {
        max_depth: 1,
        ..Default::default()
    };
    let src = Source::new(&source(&base, list), &HttpSettings::default());

    let first = src.run(&fetcher, &archive).await.unwrap();
    assert!(first.failures.is_empty(), "{:?}", first.failures);
    // Everything listed on the two pages of folder 100 (its own pages first, as one list) and on
    // folder 200, whatever its type; not
    // folder 300 (depth 2) nor the menu's folder 999.
    let catalogued: Vec<(&str, &str)> = first
        .catalog
        .iter()
        .map(|d| (d.title.as_str(), d.doc_type.as_str()))
        .collect();
    assert_eq!(
        catalogued,
        [
            (
                "Численность населения по муниципальным образованиям",
                "xlsx"
            ),
            ("Доклад о положении в области", "pdf"),
            ("Итоги года (таблицы)", "docx"),
            ("Архив таблиц", "rar"),
            ("Отгружено товаров: январь-декабрь 2024", "xlsx"),
            ("Инвестиции по районам", "xlsx"),
        ]
    );
    let first_doc = &first.catalog[0];
    assert_eq!(first_doc.size.as_deref(), Some("45.1 Кб"));
    assert_eq!(
        first_doc.published,
        chrono::NaiveDate::from_ymd_opt(2025, 3, 28)
    );
    assert_eq!(first_doc.found_on, format!("{base}/folder/100"));
    assert_eq!(
        first.catalog[4].found_on,
        format!("{base}/folder/100?page=2")
    );
    // Relative (`../`), absolute and percent-encoded links all resolve.
    assert_eq!(
        first.catalog[2].url,
        format!("{base}/storage/mediabank/itogi.docx")
    );
    let hits = site.hits.lock().unwrap().clone();
    assert!(!hits.contains_key("/folder/300"), "{hits:?}");
    assert!(!hits.contains_key("/folder/999"), "{hits:?}");
    // Fetched: the default extensions (.xlsx, .xls, .zip, .rar, .docx), not the .pdf.
    let mut fetched: Vec<String> = first
        .documents
        .iter()
        .map(|(d, _)| d.file_name.clone())
        .collect();
    fetched.sort();
    assert_eq!(
        fetched,
        [
            // Folder 200 publishes a table of figures on the page itself: a document too.
            "200",
            "arhiv.rar",
            "invest_mo.xlsx",
            "itogi.docx",
            "otgruzka.xlsx",
            "Численность.xlsx"
        ]
    );
    assert_eq!(site.files.load(Ordering::SeqCst), 5);

    // A second run lists the same and fetches nothing new.
    let second = src.run(&fetcher, &archive).await.unwrap();
    assert_eq!(second.catalog.len(), 6);
    assert!(second.documents.iter().all(|(_, changed)| !changed));
    assert_eq!(
        site.files.load(Ordering::SeqCst),
        5,
        "only 304s the second time"
    );
}

#[tokio::test]
async fn title_phrases_and_depth_choose_what_is_fetched() {
    let (base, site) = serve().await;
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(dir.path()).unwrap();
    let fetcher = Fetcher::new(&HttpSettings::default()).unwrap();
    let list = DocumentListOptions {
        max_depth: 2,
        title_contains: vec!["ИНВЕСТИЦИИ".into(), "третий".into()],
        ..Default::default()
    };
    let run = Source::new(&source(&base, list), &HttpSettings::default())
        .run(&fetcher, &archive)
        .await
        .unwrap();
    assert_eq!(run.catalog.len(), 7, "depth 2 reaches folder 300");
    let mut fetched: Vec<String> = run
        .documents
        .iter()
        .map(|(d, _)| d.file_name.clone())
        .collect();
    fetched.sort();
    assert_eq!(fetched, ["200", "deep.xlsx", "invest_mo.xlsx"]);
    assert_eq!(site.files.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_broken_second_page_fails_alone() {
    let (base, _site) = serve().await;
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(dir.path()).unwrap();
    let fetcher = Fetcher::new(&HttpSettings {
        retries: 1,
        ..HttpSettings::default()
    })
    .unwrap();
    let mut config = source(
        &base,
        DocumentListOptions {
            max_depth: 1,
            ..Default::default()
        },
    );
    // Folder 200's sections link folder 300 and a folder that is gone: that one is a failure of its
    // own, and the rest is read.
    config.url = format!("{base}/folder/200").parse().unwrap();
    let run = Source::new(&config, &HttpSettings::default())
        .run(&fetcher, &archive)
        .await
        .unwrap();
    assert_eq!(run.catalog.len(), 2, "folder 200 and folder 300");
    assert_eq!(run.failures.len(), 1, "{:?}", run.failures);
    assert!(
        run.failures[0].to_string().contains("404"),
        "{}",
        run.failures[0]
    );
    assert_eq!(
        run.documents.len(),
        3,
        "the page's own table, and folder 200's and 300's workbooks"
    );
}
