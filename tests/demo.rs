//! End to end: `regstat demo` through the real HTTP path into DuckDB and the published files.

use std::path::Path;
use std::process::Command;

use regstat_warehouse::Manifest;
use sha2::{Digest, Sha256};

fn regstat(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_regstat"))
        .args(args)
        .output()
        .expect("regstat runs")
}

fn count(conn: &duckdb::Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[test]
fn demo_fills_the_warehouse_and_publishes_traceable_files() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let out = regstat(&["demo", "--dir", demo.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("documents: 3 fetched"), "{stdout}");
    assert!(stdout.contains("observations loaded: 1240"), "{stdout}");
    assert!(stdout.contains("investment_per_capita"), "{stdout}");

    {
        let conn = duckdb::Connection::open(demo.join("warehouse.duckdb")).unwrap();
        assert_eq!(
            count(
                &conn,
                "SELECT count(*) FROM source_document WHERE load_status = 'loaded'"
            ),
            3
        );
        assert_eq!(count(&conn, "SELECT count(*) FROM observation"), 1240);
        assert_eq!(
            count(&conn, "SELECT count(*) FROM observation_latest"),
            1240
        );
        assert_eq!(
            count(
                &conn,
                "SELECT count(*) FROM estimate WHERE method LIKE 'did2x2%'"
            ),
            6
        );
        assert_eq!(
            count(&conn, "SELECT count(*) FROM estimate WHERE method = 'twfe'"),
            3
        );
        assert_eq!(count(&conn, "SELECT count(*) FROM estimate WHERE method = 'twfe_wild_bootstrap' AND p_value BETWEEN 0 AND 1"), 3);
        assert_eq!(count(&conn, "SELECT count(*) FROM estimate WHERE method = 'event_study' AND term = 'pretrend_wald'"), 3);
        assert_eq!(
            count(&conn, "SELECT count(*) FROM run WHERE status = 'succeeded'"),
            1
        );
        assert_eq!(count(&conn, "SELECT count(*) FROM cluster"), 1);
        // The run's steps: two sources, the estimates, the publish.
        assert_eq!(
            count(
                &conn,
                "SELECT count(*) FROM run_step WHERE status = 'succeeded'"
            ),
            4
        );
        assert_eq!(
            count(
                &conn,
                "SELECT sum(observations) FROM run_step WHERE step = 'source'"
            ),
            1240
        );
        // The demo configures no indicators: the catalogue identifies every table by its title.
        assert_eq!(
            count(
                &conn,
                "SELECT count(*) FROM indicator WHERE origin = 'config'"
            ),
            0
        );
        assert_eq!(
            count(
                &conn,
                "SELECT count(DISTINCT indicator_id) FROM observation WHERE indicator_id IN
                 ('investment_per_capita', 'grp_per_capita', 'manufacturing_index_okved')"
            ),
            3
        );
        assert!(
            count(
                &conn,
                "SELECT count(*) FROM indicator WHERE origin = 'catalogue' AND measure IS NOT NULL"
            ) >= 10
        );
        assert!(count(&conn, "SELECT count(*) FROM region WHERE kind = 'subject'") >= 85);
        // Every table got an indicator id, not the parser's table ids.
        assert_eq!(
            count(
                &conn,
                "SELECT count(*) FROM observation WHERE indicator_id LIKE 'rosstat:%'"
            ),
            0
        );

        // One known value, traced back to its document, sheet and cell (as in the real table 10.2.).
        let (value, file, sheet, cell, url): (f64, String, String, String, String) = conn
            .query_row(
                "SELECT o.value, d.file_name, o.sheet, o.cell, d.url FROM observation_latest o
                 JOIN source_document d ON d.sha256 = o.document_sha256
                 WHERE o.indicator_id = 'investment_per_capita' AND o.region_code = '42000000000' AND o.period = '2005'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap();
        assert_eq!(value, 25339.0);
        assert_eq!(
            (file.as_str(), sheet.as_str(), cell.as_str()),
            ("Раздел 10 - Инвестиции.xlsx", "10.2.", "G18")
        );
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");

        // The archived bytes are the document the observations cite.
        let sha: String = conn.query_row("SELECT sha256 FROM source_document WHERE file_name = 'Раздел 10 - Инвестиции.xlsx'", [], |r| r.get(0)).unwrap();
        let archived =
            std::fs::read(demo.join("archive/objects").join(&sha[..2]).join(&sha)).unwrap();
        assert_eq!(hex::encode(Sha256::digest(&archived)), sha);
    }

    // The published files: manifest entries match the files, and the Parquet reads back.
    let publish = demo.join("publish");
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(publish.join("manifest.json")).unwrap()).unwrap();
    for f in &manifest.files {
        let bytes = std::fs::read(publish.join(&f.path)).unwrap();
        assert_eq!(hex::encode(Sha256::digest(&bytes)), f.sha256, "{}", f.path);
        assert!(!f.columns.is_empty());
    }
    let obs = manifest
        .files
        .iter()
        .find(|f| f.path == "observations.parquet")
        .unwrap();
    assert_eq!(obs.rows, 1240);
    let reader = duckdb::Connection::open_in_memory().unwrap();
    let parquet = publish.join("observations.parquet");
    let (n, lipetsk): (i64, f64) = reader
        .query_row(
            &format!(
                "SELECT count(*), max(value) FILTER (WHERE indicator_id = 'investment_per_capita' AND region_iso = 'RU-LIP' AND period = '2005' AND cell = 'G18')
                 FROM read_parquet('{}')",
                parquet.display()
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((n, lipetsk), (1240, 25339.0));
    let estimates = reader
        .query_row(
            &format!(
                "SELECT count(*) FROM read_parquet('{}') WHERE method = 'did2x2'",
                publish.join("estimates.parquet").display()
            ),
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap();
    assert_eq!(estimates, 3);
    assert_no_partial_files(&publish);

    // The documents are built the same every time.
    // (A second apart: xlsx files carry a creation time, which must not leak into the bytes.)
    let a = regstat::demo::demo_documents().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let b = regstat::demo::demo_documents().unwrap();
    assert!(a.iter().zip(&b).all(|(x, y)| x.bytes == y.bytes));

    // A second run fetches the same documents and adds nothing.
    let again = regstat(&["demo", "--dir", demo.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{stdout}");
    assert!(
        stdout.contains("0 loaded, 3 already in the warehouse"),
        "{stdout}"
    );
    let conn = duckdb::Connection::open(demo.join("warehouse.duckdb")).unwrap();
    assert_eq!(count(&conn, "SELECT count(*) FROM observation"), 1240);
    assert_eq!(count(&conn, "SELECT count(*) FROM source_document"), 3);
    assert_eq!(count(&conn, "SELECT count(*) FROM run"), 2);
}

fn assert_no_partial_files(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            !name.starts_with('.'),
            "leftover {name} in the publish directory"
        );
    }
}
