//! A document that does not parse is recorded with its error; the others load; the run fails loudly.

use regstat::demo::{demo_config, demo_documents, DemoDocument, DemoServer};
use regstat_config::Config;

/// Section 2's table 2.1. with Lipetsk oblast's row labelled `lipetsk_label`, and, when asked, a row for
/// a region that does not exist.
fn labour_workbook(lipetsk_label: &str, with_atlantis: bool) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("2.1.").unwrap();
    ws.write_string(1, 0, "2.1. ЧИСЛЕННОСТЬ РАБОЧЕЙ СИЛЫ")
        .unwrap();
    ws.write_string(2, 0, "(тысяч человек)").unwrap();
    ws.write_number(3, 1, 2021.0).unwrap();
    ws.write_number(3, 2, 2022.0).unwrap();
    ws.write_string(4, 0, lipetsk_label).unwrap();
    ws.write_number(4, 1, 590.1).unwrap();
    ws.write_number(4, 2, 588.4).unwrap();
    if with_atlantis {
        ws.write_string(5, 0, "Атлантида").unwrap();
        ws.write_number(5, 1, 1.0).unwrap();
        ws.write_string(5, 2, "н/д").unwrap();
    }
    wb.save_to_buffer().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_documents_are_recorded_and_the_rest_loads() {
    let mut documents = demo_documents().unwrap();
    documents.push(DemoDocument {
        name: "Раздел 99 - Сломанный.xlsx".into(),
        bytes: b"<html>not a workbook</html>".to_vec(),
        listed: true,
    });
    documents.push(DemoDocument {
        name: "Раздел 2 - Труд.xlsx".into(),
        bytes: labour_workbook("Липецкая область", true),
        listed: true,
    });
    let server = DemoServer::start(documents).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("regstat.toml");
    std::fs::write(&config_path, demo_config(&server.base_url(), dir.path())).unwrap();

    // Through the binary: a non-zero exit and a summary that names the broken file and cell.
    let exe = env!("CARGO_BIN_EXE_regstat");
    let path = config_path.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(exe)
            .args(["run", "--config"])
            .arg(&path)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("Раздел 99 - Сломанный.xlsx: not a readable workbook"),
        "{stdout}"
    );
    assert!(stdout.contains("Раздел 2 - Труд.xlsx, sheet '2.1.', cell A6: expected a region name known to the dictionary, found \"Атлантида\""), "{stdout}");
    assert!(stdout.contains("FAILED"), "{stdout}");

    let config = Config::load(&config_path).unwrap();
    let conn = duckdb::Connection::open(&config.outputs.warehouse).unwrap();
    let statuses: Vec<(String, String, Option<String>)> = conn
        .prepare("SELECT file_name, load_status, error FROM source_document ORDER BY file_name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(statuses.len(), 5, "{statuses:?}");
    let broken = statuses
        .iter()
        .find(|s| s.0 == "Раздел 99 - Сломанный.xlsx")
        .unwrap();
    assert_eq!(broken.1, "failed");
    assert!(broken
        .2
        .as_deref()
        .unwrap()
        .contains("not a readable workbook"));
    let labour = statuses
        .iter()
        .find(|s| s.0 == "Раздел 2 - Труд.xlsx")
        .unwrap();
    assert_eq!(labour.1, "loaded_with_problems");
    // The good documents all loaded, plus Lipetsk's two labour figures; Атлантида's row is a problem.
    let n: i64 = conn
        .query_row("SELECT count(*) FROM observation", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 1240 + 2);
    let problems: i64 = conn
        .query_row(
            "SELECT count(*) FROM document_problem WHERE cell = 'A6' AND found = 'Атлантида'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(problems, 1);
    let run_status: String = conn
        .query_row("SELECT status FROM run", [], |r| r.get(0))
        .unwrap();
    assert_eq!(run_status, "failed");
    drop(conn);
    server.stop().await;
}

/// A spelling the dictionary lacks is a located problem; ops teach it in the config
/// (`[regions] aliases`) and `regstat backfill` re-reads the archived document: the figures load.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_spelling_is_taught_by_a_config_alias_and_backfilled() {
    let mut documents = demo_documents().unwrap();
    documents.push(DemoDocument {
        name: "Раздел 2 - Труд.xlsx".into(),
        bytes: labour_workbook("Липецкая обл-ть", false),
        listed: true,
    });
    let server = DemoServer::start(documents).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("regstat.toml");
    let config_text = demo_config(&server.base_url(), dir.path());
    std::fs::write(&config_path, &config_text).unwrap();

    let regstat = |command: &'static str| {
        let path = config_path.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_regstat"))
                .args([command, "--config"])
                .arg(&path)
                .output()
                .unwrap()
        })
    };
    let out = regstat("run").await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(
            "cell A5: expected a region name known to the dictionary, found \"Липецкая обл-ть\""
        ),
        "{stdout}"
    );

    std::fs::write(
        &config_path,
        format!(
            "{config_text}\n[regions]\naliases = {{ \"Липецкая обл-ть\" = \"42000000000\" }}\n"
        ),
    )
    .unwrap();
    let out = regstat("backfill").await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let config = Config::load(&config_path).unwrap();
    let conn = duckdb::Connection::open(&config.outputs.warehouse).unwrap();
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(
        count("SELECT count(*) FROM observation WHERE region_code = '42000000000' AND region_label = 'Липецкая обл-ть'"),
        2
    );
    assert_eq!(count("SELECT count(*) FROM document_problem"), 0);
    assert_eq!(
        count("SELECT count(*) FROM source_document WHERE file_name = 'Раздел 2 - Труд.xlsx' AND load_status = 'loaded'"),
        1
    );
    drop(conn);
    server.stop().await;
}
