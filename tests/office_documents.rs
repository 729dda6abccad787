//! Issue 15 end to end: a regional office's folder listing a Word document with a table of regions
//! and a PDF report. A run catalogues both, parses the Word table into figures citing table and cell,
//! leaves the PDF catalogued and unparsed; a second run fetches nothing new.

mod common;

#[path = "../transform/tests/common/docx.rs"]
mod docx_writer;

use docx_writer::{docx, Block};
use regstat::demo::{DemoDocument, DemoServer};

fn config(base_url: &str, dir: &std::path::Path) -> String {
    format!(
        r#"
{outputs}
[[sources]]
id = "lipetskstat"
kind = "document_list"
url = "{base_url}/folder/regions-of-russia-2023"
"#,
        outputs = common::outputs_in(dir)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_word_table_and_a_pdf_from_an_office_folder() {
    let word = docx(&[
        Block::Paragraph("Таблица 1"),
        Block::Paragraph(
            "ОТГРУЖЕНО ТОВАРОВ СОБСТВЕННОГО ПРОИЗВОДСТВА ПО ОБРАБАТЫВАЮЩИМ ПРОИЗВОДСТВАМ",
        ),
        Block::Paragraph("(в фактически действовавших ценах; миллионов рублей)"),
        Block::Table(vec![
            vec!["", "2023", "2024"],
            vec!["Липецкая область", "1 234 567,8", "1 300 000"],
            vec!["Тамбовская область", "345 678,9", "…"],
        ]),
    ]);
    let server = DemoServer::start(vec![
        DemoDocument {
            name: "Отгружено товаров.docx".into(),
            bytes: word,
            listed: true,
        },
        DemoDocument {
            name: "doklad.pdf".into(),
            bytes: b"%PDF-1.4 not read".to_vec(),
            listed: true,
        },
    ])
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("regstat.toml");
    std::fs::write(&config_path, config(&server.base_url(), dir.path())).unwrap();

    common::run_config(&config_path).await;
    {
        let conn = duckdb::Connection::open(dir.path().join("warehouse.duckdb")).unwrap();
        let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        let (value, sheet, cell, unit, basis): (f64, String, String, String, String) = conn
            .query_row(
                "SELECT value, sheet, cell, unit, basis FROM observation
                 WHERE region_code = '42000000000' AND period = '2023'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap();
        assert_eq!(value, 1234567.8);
        assert_eq!((sheet.as_str(), cell.as_str()), ("Таблица 1", "B5"));
        assert_eq!(
            (unit.as_str(), basis.as_str()),
            ("миллионов рублей", "в фактически действовавших ценах")
        );
        assert_eq!(count("SELECT count(*) FROM observation"), 4);
        // The catalogue: the Word document parsed, the PDF listed and left unparsed; the demo page's
        // own PDF item too.
        assert_eq!(
            count("SELECT count(*) FROM document_catalog WHERE doc_type = 'docx' AND status = 'parsed' AND sha256 IS NOT NULL"),
            1
        );
        assert_eq!(
            count("SELECT count(*) FROM document_catalog WHERE doc_type = 'pdf' AND status = 'unsupported_type'"),
            2
        );
    }

    // Nothing new the second time: the documents answer 304 and nothing loads again.
    common::run_config(&config_path).await;
    let conn = duckdb::Connection::open(dir.path().join("warehouse.duckdb")).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM source_document"), 1);
    assert_eq!(count("SELECT count(*) FROM observation"), 4);
    assert_eq!(
        count("SELECT count(*) FROM fetch_attempt WHERE run_id = 2 AND outcome = 'fetched'"),
        0
    );
    server.stop().await;
}
