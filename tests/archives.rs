//! The appendix as Rosstat ships it: one RAR archive of section workbooks, here one .xlsx and one
//! legacy .xls, fetched over HTTP by a `workbook` source and loaded member by member, each figure citing
//! its member, sheet and cell.

mod common;

#[path = "../transform/tests/common/biff8.rs"]
#[allow(dead_code)]
mod biff8;
#[path = "../transform/tests/common/rar4.rs"]
mod rar4;

use regstat::demo::{demo_documents, DemoDocument, DemoServer, INDUSTRY_FILE, INVESTMENT_FILE};

const ARCHIVE: &str = "Pril_Region_Pokaz_2023.rar";

fn config(base_url: &str, dir: &std::path::Path) -> String {
    format!(
        r#"
{outputs}
[[sources]]
id = "rosstat-regions-appendix"
kind = "workbook"
url = "{base_url}/storage/mediabank/{ARCHIVE}"
schedule = "0 0 6 * * Mon"
"#,
        outputs = common::outputs_in(dir)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rar_appendix_with_xlsx_and_xls_members_loads_with_member_provenance() {
    let documents = demo_documents().unwrap();
    let bytes_of = |name: &str| {
        documents
            .iter()
            .find(|d| d.name == name)
            .unwrap()
            .bytes
            .clone()
    };
    let investment = bytes_of(INVESTMENT_FILE);
    let industry_xls_name = INDUSTRY_FILE.replace(".xlsx", ".xls");
    let industry_xls = biff8::xlsx_to_xls(INDUSTRY_FILE, &bytes_of(INDUSTRY_FILE));
    let rar = rar4::rar4(&[
        (INVESTMENT_FILE, &investment),
        (&industry_xls_name, &industry_xls),
    ]);
    let server = DemoServer::start(vec![DemoDocument {
        name: ARCHIVE.into(),
        bytes: rar,
        listed: false,
    }])
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("regstat.toml");
    std::fs::write(&config_path, config(&server.base_url(), dir.path())).unwrap();

    common::run_config(&config_path).await;

    let conn = duckdb::Connection::open(dir.path().join("warehouse.duckdb")).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        count("SELECT count(*) FROM source_document WHERE file_name = 'Pril_Region_Pokaz_2023.rar' AND load_status = 'loaded'"),
        1
    );
    // Each member's figures, under the catalogue's ids, citing member, sheet and cell.
    let (value, sheet, cell): (f64, String, String) = conn
        .query_row(
            "SELECT value, sheet, cell FROM observation_latest
             WHERE indicator_id = 'investment_per_capita' AND region_code = '42000000000' AND period = '2005'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(value, 25339.0);
    assert_eq!(
        (sheet.as_str(), cell.as_str()),
        ("[Раздел 10 - Инвестиции.xlsx]10.2.", "G18")
    );
    let from_xls = count(
        "SELECT count(*) FROM observation
         WHERE indicator_id = 'manufacturing_index_okved'
           AND sheet LIKE '[Раздел 12 - Промышленное производство.xls]%'",
    );
    assert!(from_xls > 0, "no figures from the .xls member");
    // Exactly what the two workbooks give when parsed on their own.
    let alone: usize = [
        (INVESTMENT_FILE.to_string(), bytes_of(INVESTMENT_FILE)),
        (INDUSTRY_FILE.to_string(), bytes_of(INDUSTRY_FILE)),
    ]
    .iter()
    .map(|(name, bytes)| {
        regstat_transform::parse_document(
            name,
            bytes,
            regstat_transform::RegionDictionary::builtin(),
            &[],
        )
        .unwrap()
        .observations
        .len()
    })
    .sum();
    assert_eq!(count("SELECT count(*) FROM observation") as usize, alone);

    // The same archive again: fetched, recognised by its sha256, nothing loaded twice.
    drop(conn);
    common::run_config(&config_path).await;
    let conn = duckdb::Connection::open(dir.path().join("warehouse.duckdb")).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM observation", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n as usize, alone);
    server.stop().await;
}
