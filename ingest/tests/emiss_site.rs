//! The EMISS client against a loopback server that behaves like fedstat.ru: a cookie session, a
//! single-use token, 302 for a stale token or an empty selection, 503 under load, 403 for library
//! User-Agents, a wrong declared charset. The SDMX it serves is EMISS's real response.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use regstat_config::{EmissOptions, HttpSettings, SourceConfig, SourceKind};
use regstat_ingest::{Archive, Fetcher, Source};

#[derive(Default)]
struct Site {
    next_session: u32,
    /// token -> (session, used)
    tokens: HashMap<String, (String, bool)>,
    log: Vec<String>,
    forms: Vec<Vec<(String, String)>>,
    busy_once: bool,
    stale_once: bool,
    reject_selection: bool,
}

type Shared = Arc<Mutex<Site>>;

fn browser(headers: &HeaderMap) -> bool {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ua| ua.contains("Mozilla"))
}

fn session_of(headers: &HeaderMap) -> Option<String> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    cookies
        .split(';')
        .find_map(|c| c.trim().strip_prefix("JSESSIONID=").map(str::to_string))
}

const PAGE: &str = r#"<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<div id="downloadTokenHolder"><input type="hidden" name="struts.token.name" value="token"/><input type="hidden" name="token" value="TOKEN"/></div>
<script type="text/javascript">
  var grid = new FGrid({
    id: 'grid', indicator: 33459,
    filters: {
      0: { title: 'Показатель', values: { 33459: { title: 'Численность постоянного населения - женщин по возрасту на 1 января', order: 0, checked: true } } },
      3: { title: 'Год', values: { '1990': { title: '1990', order: 0, checked: true }, '1991': { title: '1991', order: 1, checked: true }, '1992': { title: '1992', order: 2, checked: false } } },
      57831: { title: 'Классификатор объектов административно-территориального деления (ОКАТО)', values: {
        '643': { title: 'Российская Федерация', order: 0, checked: true },
        '1688497': { title: 'Липецкая область', order: 1, checked: false } } },
      33560: { title: 'Пол', values: { 1: { title: 'Мужчины', order: 0, checked: false }, 2: { title: 'Женщины', order: 1, checked: true } } }
    },
    left_columns: [57831], top_columns: [3], groups: [], filterObjectIds: [0, 33560],
    onRender: function (g) { if (g) { console.log("}"); } }
  });
</script></body></html>"#;

async fn page(State(site): State<Shared>, headers: HeaderMap) -> Response {
    let mut s = site.lock().unwrap();
    if !browser(&headers) {
        s.log.push("GET 403".into());
        return StatusCode::FORBIDDEN.into_response();
    }
    let session = session_of(&headers).unwrap_or_else(|| {
        s.next_session += 1;
        format!("S{}", s.next_session)
    });
    let token = format!("T{}", s.tokens.len() + 1);
    s.tokens.insert(token.clone(), (session.clone(), false));
    s.log.push("GET page".into());
    (
        [
            (header::SET_COOKIE, format!("JSESSIONID={session}; Path=/")),
            (
                header::CONTENT_TYPE,
                "text/html; charset=windows-1251".into(),
            ),
        ],
        PAGE.replace("TOKEN", &token),
    )
        .into_response()
}

async fn download(State(site): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let mut s = site.lock().unwrap();
    if !browser(&headers) {
        s.log.push("POST 403".into());
        return StatusCode::FORBIDDEN.into_response();
    }
    if s.busy_once {
        s.busy_once = false;
        s.log.push("POST 503".into());
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    s.forms.push(form.clone());
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let redirect = |s: &mut Site, why: &str| {
        s.log.push(format!("POST 302 {why}"));
        (StatusCode::FOUND, [(header::LOCATION, "/indicator/33459")]).into_response()
    };
    let referer_ok = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|r| r.ends_with("/indicator/33459"));
    let token = field("token").unwrap_or_default();
    let valid = match (s.tokens.get(&token), session_of(&headers)) {
        (Some((session, used)), Some(cookie)) => !used && *session == cookie,
        _ => false,
    };
    if !valid || !referer_ok {
        return redirect(&mut s, "bad token");
    }
    s.tokens.get_mut(&token).unwrap().1 = true;
    if s.stale_once {
        s.stale_once = false;
        return redirect(&mut s, "stale token");
    }
    let regions: HashSet<String> = form
        .iter()
        .filter(|(k, v)| k == "selectedFilterIds" && v.starts_with("57831_"))
        .map(|(_, v)| v.clone())
        .collect();
    if regions.is_empty() || s.reject_selection {
        return redirect(&mut s, "empty selection");
    }
    s.log.push("POST 200".into());
    let sdmx = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/corpus/fedstat/sdmx_example.xml"),
    )
    .unwrap();
    // The site declares a charset the body is not in.
    (
        [(header::CONTENT_TYPE, "text/xml; charset=windows-1251")],
        sdmx,
    )
        .into_response()
}

/// The older form: no token, the same selection fields.
async fn legacy(State(site): State<Shared>, body: String) -> Response {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let mut s = site.lock().unwrap();
    s.log.push(format!(
        "POST data.do token={}",
        form.iter().any(|(k, _)| k == "token")
    ));
    s.forms.push(form);
    let sdmx = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/corpus/fedstat/sdmx_example.xml"),
    )
    .unwrap();
    ([(header::CONTENT_TYPE, "text/xml")], sdmx).into_response()
}

async fn serve(site: Shared) -> String {
    let app = axum::Router::new()
        .route("/indicator/33459", get(page))
        .route("/indicator/downloadData.do", post(download))
        .route("/indicator/data.do", post(legacy))
        .with_state(site);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn source(base: &str, emiss: EmissOptions) -> SourceConfig {
    SourceConfig {
        id: "emiss-33459".into(),
        kind: SourceKind::Emiss(emiss),
        url: format!("{base}/indicator/33459").parse().unwrap(),
        schedule: None,
        description: None,
        parser: Default::default(),
    }
}

async fn run(
    site: &Shared,
    http: HttpSettings,
    emiss: EmissOptions,
) -> (
    Result<regstat_ingest::SourceRun, regstat_ingest::IngestError>,
    tempfile::TempDir,
) {
    let base = serve(site.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(dir.path()).unwrap();
    let fetcher = Fetcher::new(&http)
        .unwrap()
        .with_backoff(Duration::from_millis(5));
    let src = Source::new(&source(&base, emiss), &http);
    (src.run(&fetcher, &archive).await, dir)
}

#[tokio::test]
async fn downloads_through_busy_and_stale_token_with_the_selection() {
    let site: Shared = Arc::new(Mutex::new(Site {
        busy_once: true,
        stale_once: true,
        ..Site::default()
    }));
    let options = EmissOptions {
        from_year: Some(1991),
        to_year: Some(1992),
        ..EmissOptions::default()
    };
    let (result, dir) = run(&site, HttpSettings::default(), options).await;
    let run = result.unwrap();
    let s = site.lock().unwrap();
    assert_eq!(
        s.log,
        [
            "GET page",
            "POST 503",
            "POST 302 stale token",
            "GET page",
            "POST 200"
        ]
    );
    let form = s.forms.last().unwrap();
    let values = |k: &str| {
        form.iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(values("id"), ["33459"]);
    assert_eq!(
        values("title"),
        ["Численность постоянного населения - женщин по возрасту на 1 января"],
        "the indicator's title, as the site's form sends it"
    );
    assert_eq!(
        values("token"),
        ["T2"],
        "the fresh token of the second page"
    );
    assert_eq!(values("lineObjectIds"), ["57831"]);
    assert_eq!(values("columnObjectIds"), ["3"]);
    assert_eq!(values("filterObjectIds"), ["0", "33560"]);
    let selected = values("selectedFilterIds");
    for expected in [
        "0_33459",
        "3_1991",
        "3_1992",
        "57831_643",
        "57831_1688497",
        "33560_2",
    ] {
        assert!(
            selected.contains(&expected),
            "{expected} not in {selected:?}"
        );
    }
    assert!(
        !selected.contains(&"3_1990"),
        "1990 is outside the configured years"
    );
    assert!(
        !selected.contains(&"33560_1"),
        "unselected on the site, not asked for"
    );

    let (doc, changed) = &run.documents[0];
    assert!(changed);
    assert_eq!(doc.file_name, "emiss-33459.xml");
    // The run records what was asked of what the page offers, per field.
    assert_eq!(
        run.attempts[0].detail.as_deref(),
        Some("Показатель 1/1, Год 2/3, Классификатор объектов административно-территориального деления (ОКАТО) 2/2, Пол 1/2 (site default)")
    );
    assert_eq!(
        doc.content_type.as_deref(),
        Some("text/xml; charset=windows-1251")
    );
    let archive = Archive::open(dir.path()).unwrap();
    let bytes = archive.read(&doc.sha256).unwrap();
    let summary = regstat_transform_check(&bytes);
    assert_eq!(summary, 22);
}

/// The archived SDMX parses (the transform crate is not a dependency of ingest; count the Obs).
fn regstat_transform_check(bytes: &[u8]) -> usize {
    String::from_utf8_lossy(bytes)
        .matches("<generic:Obs>")
        .count()
}

#[tokio::test]
async fn a_library_user_agent_is_refused_with_a_clear_error() {
    let site: Shared = Arc::new(Mutex::new(Site::default()));
    let http = HttpSettings {
        user_agent: "reqwest/0.12".into(),
        ..HttpSettings::default()
    };
    let (result, _dir) = run(&site, http, EmissOptions::default()).await;
    let err = result.unwrap_err().to_string();
    assert!(err.contains("403") && err.contains("User-Agent"), "{err}");
    assert_eq!(site.lock().unwrap().log, ["GET 403"]);
}

#[tokio::test]
async fn an_empty_selection_on_the_site_is_named() {
    let site: Shared = Arc::new(Mutex::new(Site {
        reject_selection: true,
        ..Site::default()
    }));
    let (result, _dir) = run(&site, HttpSettings::default(), EmissOptions::default()).await;
    let err = result.unwrap_err().to_string();
    assert!(err.contains("selection is empty"), "{err}");
    assert!(
        err.contains("Пол (1 values)"),
        "the selection is named: {err}"
    );
    assert_eq!(
        site.lock().unwrap().log,
        [
            "GET page",
            "POST 302 empty selection",
            "GET page",
            "POST 302 empty selection"
        ]
    );
}

#[tokio::test]
async fn an_unknown_value_title_fails_before_any_download() {
    let site: Shared = Arc::new(Mutex::new(Site::default()));
    let mut filters = std::collections::BTreeMap::new();
    filters.insert("Пол".to_string(), vec!["Неизвестно".to_string()]);
    let (result, _dir) = run(
        &site,
        HttpSettings::default(),
        EmissOptions {
            filters,
            ..EmissOptions::default()
        },
    )
    .await;
    let err = result.unwrap_err().to_string();
    assert!(
        err.contains("no value titled \"Неизвестно\" in field \"Пол\""),
        "{err}"
    );
    assert_eq!(site.lock().unwrap().log, ["GET page"]);
}

#[tokio::test]
async fn the_legacy_form_is_a_configured_fallback() {
    let site: Shared = Arc::new(Mutex::new(Site::default()));
    let (result, _dir) = run(
        &site,
        HttpSettings::default(),
        EmissOptions {
            legacy: true,
            ..EmissOptions::default()
        },
    )
    .await;
    assert_eq!(result.unwrap().documents.len(), 1);
    assert_eq!(
        site.lock().unwrap().log,
        ["GET page", "POST data.do token=false"]
    );
}
