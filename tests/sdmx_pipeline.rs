//! EMISS SDMX through the pipeline: loaded with its dimensions, mapped to a configured indicator.

mod common;

use std::path::PathBuf;

use axum::routing::get;
use regstat_config::Config;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdmx_documents_load_with_dimensions_under_the_configured_indicator() {
    let sdmx = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/fedstat/sdmx_example.xml"),
    )
    .unwrap();
    let app = axum::Router::new().route(
        "/data/emiss-33459.xml",
        get(move || async move { sdmx.clone() }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        r#"[outputs]
warehouse = "{d}/w.duckdb"
archive = "{d}/archive"
publish = "{d}/publish"

[[sources]]
id = "emiss-mirror"
kind = "workbook"
url = "http://{addr}/data/emiss-33459.xml"
schedule = "0 6 * * *"

{indicator}"#,
        d = dir.path().display(),
        indicator = common::FEMALE_POPULATION_INDICATOR
    );
    let config = Config::parse(&text).unwrap();
    let report = regstat::pipeline::run_once(&config, None).await.unwrap();
    assert!(!report.failed(), "{:?}", report.failures);
    assert_eq!(report.observations_loaded, 22);
    let conn = duckdb::Connection::open(dir.path().join("w.duckdb")).unwrap();
    let (n, dims, period): (i64, String, String) = conn
        .query_row(
            "SELECT count(*), any_value(dimensions), min(period) FROM observation_latest WHERE indicator_id = 'female_population' AND region_code = '643'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(n, 22);
    assert_eq!(period, "1990-01-01");
    assert!(dims.contains("\"s_vozr\":\"Всего\""), "{dims}");
}
