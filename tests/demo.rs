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

/// Runs `regstat demo` into `dir/demo`, asserting it succeeds; returns the directory and stdout.
fn run_demo(dir: &Path) -> (std::path::PathBuf, String) {
    let demo = dir.join("demo");
    let out = regstat(&["demo", "--dir", demo.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "demo failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (demo, stdout)
}

#[test]
fn demo_fills_the_warehouse_and_publishes_traceable_files() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, stdout) = run_demo(dir.path());
    assert!(stdout.contains("documents: 3 fetched"), "{stdout}");
    assert!(stdout.contains("observations loaded: 1240"), "{stdout}");
    assert!(stdout.contains("investment_per_capita"), "{stdout}");
    assert!(
        stdout.contains("lipetsk-machinery-valley: sdid because one treated region"),
        "{stdout}"
    );

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
            count(
                &conn,
                "SELECT count(*) FROM estimate WHERE method = 'twfe' AND term = 'treated'"
            ),
            3
        );
        assert_eq!(count(&conn, "SELECT count(*) FROM estimate WHERE method = 'twfe' AND term = 'treated:wild_bootstrap' AND p_value BETWEEN 0 AND 1"), 3);
        assert_eq!(count(&conn, "SELECT count(*) FROM estimate WHERE method = 'event-study' AND term = 'pretrend_wald'"), 3);
        // Issue 11: one treated region, so SDID is the headline with SC beside it, and every row
        // says its part and why; method values are the CLI's method names.
        assert_eq!(count(&conn, "SELECT count(*) FROM estimate WHERE method = 'sdid' AND role = 'headline' AND reason LIKE 'one treated region%' AND std_error > 0"), 3);
        assert_eq!(count(&conn, "SELECT count(*) FROM estimate WHERE method = 'sc' AND term = 'att' AND role = 'beside'"), 3);
        assert_eq!(
            count(
                &conn,
                "SELECT count(*) FROM estimate WHERE role IS NULL OR reason IS NULL"
            ),
            0
        );
        assert_eq!(count(&conn, "SELECT count(*) FROM estimate WHERE method NOT IN ('did2x2', 'twfe', 'event-study', 'sc', 'sdid', 'cs', 'sunab')"), 0);
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
                "SELECT count(*) FROM read_parquet('{}') WHERE method = 'did2x2' AND term = 'treated_x_post'",
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

/// Issue 11: a cluster whose regions joined in different years gets Callaway & Sant'Anna as its
/// headline, with Sun & Abraham and TWFE beside, from the config alone.
#[test]
fn a_staggered_cluster_is_answered_by_callaway_santanna() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, _) = run_demo(dir.path());
    // Two Central regions adopting in 2008 and 2012 against the other Central regions: an
    // illustrative programme on the demo's figures.
    let config = demo.join("regstat.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(
        r#"
[[clusters]]
id = "central-staggered"
name = "illustrative staggered programme"
treated = ["29000000000", "70000000000"]
treatment_start = 2008
adoption = { "70000000000" = 2012 }
indicators = ["investment_per_capita"]
control = ["14000000000", "15000000000", "17000000000", "20000000000", "24000000000", "28000000000", "34000000000", "38000000000", "42000000000", "54000000000", "61000000000", "66000000000", "68000000000", "78000000000"]
"#,
    );
    std::fs::write(&config, text).unwrap();
    // The demo's server is gone: backfill re-reads the archive and estimates, without fetching.
    let out = regstat(&["backfill", "--config", config.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(
            "central-staggered: cs because 2 treated regions adopting in 2 different years"
        ),
        "{stdout}"
    );
    let conn = duckdb::Connection::open(demo.join("warehouse.duckdb")).unwrap();
    let run: i64 = count(&conn, "SELECT max(run_id) FROM estimate");
    // (Closed before the next backfill: an open connection holds the warehouse.)
    let q = |sql: &str| count(&conn, &sql.replace("RUN", &run.to_string()));
    assert_eq!(q("SELECT count(*) FROM estimate WHERE run_id = RUN AND cluster_id = 'central-staggered' AND method = 'cs' AND role = 'headline' AND std_error > 0"), 1);
    assert_eq!(q("SELECT count(*) FROM estimate WHERE run_id = RUN AND cluster_id = 'central-staggered' AND method = 'sunab' AND role = 'beside' AND std_error > 0"), 1);
    assert_eq!(q("SELECT count(*) FROM estimate WHERE run_id = RUN AND cluster_id = 'central-staggered' AND method = 'twfe' AND role = 'beside'"), 2);
    // Its group-time effects and the CS dynamic effects with their uniform band.
    assert!(q("SELECT count(*) FROM estimate_group_time WHERE run_id = RUN AND cluster_id = 'central-staggered'") >= 10);
    assert!(q("SELECT count(*) FROM estimate_event_time WHERE run_id = RUN AND cluster_id = 'central-staggered' AND method = 'cs' AND band_low <= ci_low AND band_high >= ci_high") >= 5);
    assert!(q("SELECT count(*) FROM estimate_event_time WHERE run_id = RUN AND cluster_id = 'central-staggered' AND method = 'sunab'") >= 5);
    drop(conn);
    // A headline set in the config wins, and says so.
    let mut text = std::fs::read_to_string(&config).unwrap();
    text = text.replace(
        "adoption = { \"70000000000\" = 2012 }",
        "adoption = { \"70000000000\" = 2012 }\nheadline = \"sunab\"",
    );
    std::fs::write(&config, text).unwrap();
    let out = regstat(&["backfill", "--config", config.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("central-staggered: sunab because set in the config"),
        "{stdout}"
    );
}

/// Issue 12: the published `panels` table is the exact panel each design used, traceable to its
/// cells: rerun with `regstat estimate`, it gives the run's TWFE and SDID numbers to the digit.
#[test]
fn published_panels_reproduce_the_runs_estimates() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, _) = run_demo(dir.path());
    let publish = demo.join("publish");
    let conn = duckdb::Connection::open_in_memory().unwrap();
    let panels = publish.join("panels.parquet");
    // The event study by relative year with its reference marked, and SDID/SC weights summing to one.
    let event_study = publish.join("event_study.parquet");
    assert_eq!(
        count(&conn, &format!("SELECT count(*) FROM read_parquet('{}') WHERE method = 'event-study' AND is_reference AND rel_time = -1 AND estimate = 0", event_study.display())),
        3
    );
    assert!(count(&conn, &format!("SELECT count(*) FROM read_parquet('{}') WHERE method = 'event-study' AND NOT is_reference AND std_error > 0", event_study.display())) >= 3 * 5);
    let weights = publish.join("weights.parquet");
    assert_eq!(
        count(&conn, &format!(
            "SELECT count(*) FROM (SELECT indicator_id, method, abs(sum(weight) - 1) < 1e-9 AS ok FROM read_parquet('{}')
             WHERE kind = 'unit' GROUP BY ALL) WHERE ok AND method IN ('sdid', 'sc')",
            weights.display()
        )),
        6,
        "three indicators, sdid and sc"
    );
    // Every figure names its document and cell.
    assert_eq!(
        count(&conn, &format!("SELECT count(*) FROM read_parquet('{}') WHERE document_url IS NULL OR cell IS NULL", panels.display())),
        0
    );
    let one = dir.path().join("lipetsk_investment.csv");
    conn.execute_batch(&format!(
        "COPY (SELECT unit, year, outcome, cohort FROM read_parquet('{}')
               WHERE cluster_id = 'lipetsk-machinery-valley' AND indicator_id = 'investment_per_capita')
         TO '{}' (HEADER)",
        panels.display(),
        one.display()
    ))
    .unwrap();
    let stored = |method: &str, term: &str| -> (f64, f64) {
        conn.query_row(
            &format!(
                "SELECT estimate, std_error FROM read_parquet('{}') WHERE cluster_id = 'lipetsk-machinery-valley'
                 AND indicator_id = 'investment_per_capita' AND method = '{method}' AND term = '{term}'",
                publish.join("estimates.parquet").display()
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    };
    for (method, term) in [("twfe", "treated"), ("sdid", "att")] {
        let out = regstat(&[
            "estimate",
            "--panel",
            one.to_str().unwrap(),
            "--unit",
            "unit",
            "--time",
            "year",
            "--outcome",
            "outcome",
            "--cohort",
            "cohort",
            "--method",
            method,
            "--json",
        ]);
        assert!(
            out.status.success(),
            "{method}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let (estimate, se) = stored(method, term);
        let mine = &v["estimates"][0];
        assert!(
            (mine["estimate"].as_f64().unwrap() - estimate).abs() < 1e-10,
            "{method}: {mine} vs {estimate}"
        );
        assert!(
            (mine["se"].as_f64().unwrap() - se).abs() < 1e-10,
            "{method}: {mine} vs {se}"
        );
    }
}
