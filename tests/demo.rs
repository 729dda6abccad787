//! End to end: `regstat demo` through the real HTTP path into DuckDB and the published files.

mod common;

use std::path::Path;
use std::process::Command;

use common::{count, regstat};

use regstat_publish::Manifest;
use sha2::{Digest, Sha256};

/// Runs `regstat demo` into `dir/demo`, asserting it succeeds; returns the directory and stdout.
fn run_demo(dir: &Path) -> (std::path::PathBuf, String) {
    let demo = dir.join("demo");
    let out = regstat(&["demo", "--dir", demo.to_str().unwrap()]);
    let stdout = out.stdout.clone();
    assert!(
        out.success(),
        "demo failed:\n{stdout}\n{}",
        out.stderr.as_str()
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
                "SELECT count(*) FROM estimate WHERE cluster_id = 'lipetsk-machinery-valley' AND method LIKE 'did2x2%'"
            ),
            6
        );
        assert_eq!(
            count(
                &conn,
                "SELECT count(*) FROM estimate WHERE cluster_id = 'lipetsk-machinery-valley' AND method = 'twfe' AND term = 'treated'"
            ),
            3
        );
        assert_eq!(count(&conn, "SELECT count(*) FROM estimate WHERE cluster_id = 'lipetsk-machinery-valley' AND method = 'twfe' AND term = 'treated:wild_bootstrap' AND p_value BETWEEN 0 AND 1"), 3);
        // Issue 13: a test is not an estimate: the pre-trend F test has its own table and columns.
        assert_eq!(count(&conn, "SELECT count(*) FROM estimate_test WHERE cluster_id = 'lipetsk-machinery-valley' AND method = 'event-study' AND test = 'pretrend_wald' AND statistic >= 0 AND df1 >= 1 AND df2 > 0 AND p_value BETWEEN 0 AND 1 AND tested >= df1"), 3);
        assert_eq!(
            count(
                &conn,
                "SELECT count(*) FROM estimate WHERE term LIKE 'pretrend%'"
            ),
            0
        );
        // Issue 13: placebo effects are keyed by region code: each donor of SC, each control
        // region of the 2x2, every one a region of the cluster's control pool.
        assert_eq!(count(&conn, "SELECT count(*) FROM estimate_placebo p JOIN region r ON r.code = p.region_code WHERE p.method = 'sc' AND p.rmspe_ratio > 0"), count(&conn, "SELECT count(*) FROM estimate_placebo WHERE method = 'sc'"));
        assert!(count(&conn, "SELECT count(*) FROM estimate_placebo WHERE method = 'sc' AND cluster_id = 'lipetsk-machinery-valley'") >= 3 * 3);
        assert_eq!(count(&conn, "SELECT count(*) FROM estimate_placebo p JOIN cluster c ON c.id = p.cluster_id WHERE NOT list_contains(c.control, p.region_code)"), 0);
        assert!(
            count(
                &conn,
                "SELECT count(*) FROM estimate_placebo WHERE method = 'did2x2'"
            ) > 0
        );
        // Issue 13: lists are LIST columns.
        assert_eq!(count(&conn, "SELECT count(*) FROM cluster WHERE len(treated) >= 1 AND len(control) >= 2 AND len(indicators) >= 1"), 2);
        assert_eq!(count(&conn, "SELECT count(*) FROM estimate WHERE method = 'did2x2' AND term = 'treated_x_post' AND cluster_id = 'lipetsk-machinery-valley' AND pre_years = [2005] AND post_years = [2016, 2017]"), 3);
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
        // The Lipetsk cluster and the staggered SEZ cluster.
        assert_eq!(count(&conn, "SELECT count(*) FROM cluster"), 2);
        // Issue 13: every fetch is recorded, by its decoded file name: the list page and three
        // documents.
        assert_eq!(count(&conn, "SELECT count(*) FROM fetch_attempt WHERE outcome = 'fetched' AND sha256 IS NOT NULL AND error IS NULL"), 4);
        assert_eq!(count(&conn, "SELECT count(*) FROM fetch_attempt WHERE file_name = 'Раздел 8 - Валовой региональный продукт.xlsx'"), 1);
        // Issue 15: what the office's page lists is catalogued, fetched and parsed or not: the two
        // workbooks parsed, the report (a PDF) listed with its date and size and left unparsed.
        assert_eq!(
            count(
                &conn,
                "SELECT count(*) FROM document_catalog WHERE source_id = 'lipetskstat-documents'"
            ),
            3
        );
        assert_eq!(count(&conn, "SELECT count(*) FROM document_catalog WHERE doc_type = 'xlsx' AND status = 'parsed' AND sha256 IS NOT NULL AND published_on = DATE '2023-06-15' AND size LIKE '% Кб'"), 2);
        assert_eq!(count(&conn, "SELECT count(*) FROM document_catalog WHERE doc_type = 'pdf' AND status = 'unsupported_type' AND sha256 IS NULL AND title LIKE 'Социально-экономическое положение%' AND size = '1,2 Мб'"), 1);
        // Issue 13: numbers that do not apply are NULL, never NaN; estimate_latest holds each
        // cluster's latest rows.
        assert_eq!(count(&conn, "SELECT count(*) FROM estimate WHERE isnan(estimate) OR isnan(std_error) OR isnan(p_value) OR isnan(ci_low) OR isnan(t_stat) OR isnan(df)"), 0);
        assert_eq!(
            count(&conn, "SELECT count(*) FROM estimate_latest"),
            count(&conn, "SELECT count(*) FROM estimate")
        );
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

    // The published files, read through `latest`: manifest entries match the files, and the
    // Parquet reads back.
    assert_no_partial_files(&demo.join("publish"));
    let publish = demo.join("publish/latest");
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(publish.join("manifest.json")).unwrap()).unwrap();
    for f in &manifest.files {
        let bytes = std::fs::read(publish.join(&f.path)).unwrap();
        assert_eq!(hex::encode(Sha256::digest(&bytes)), f.sha256, "{}", f.path);
        assert_eq!(bytes.len() as u64, f.bytes, "{}", f.path);
        if matches!(f.format.as_str(), "parquet" | "csv") {
            assert!(!f.columns.is_empty() && f.rows.is_some(), "{}", f.path);
        }
    }
    let obs = manifest
        .files
        .iter()
        .find(|f| f.path == "observations.parquet")
        .unwrap();
    assert_eq!(obs.rows, Some(1240));
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
                "SELECT count(*) FROM read_parquet('{}') WHERE cluster_id = 'lipetsk-machinery-valley' AND method = 'did2x2' AND term = 'treated_x_post'",
                publish.join("estimates.parquet").display()
            ),
            [],
            |r| r.get::<_, i64>(0),
        )
        .unwrap();
    assert_eq!(estimates, 3);

    // The documents are built the same every time.
    // (A second apart: xlsx files carry a creation time, which must not leak into the bytes.)
    let a = regstat::demo::demo_documents().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let b = regstat::demo::demo_documents().unwrap();
    assert!(a.iter().zip(&b).all(|(x, y)| x.bytes == y.bytes));

    // A second run fetches the same documents and adds nothing.
    let again = regstat(&["demo", "--dir", demo.to_str().unwrap()]);
    let stdout = again.stdout.as_str();
    assert!(again.success(), "{stdout}");
    assert!(
        stdout.contains("0 loaded, 3 already in the warehouse"),
        "{stdout}"
    );
    // Issue 13: nothing changed, so nothing is re-estimated or rewritten.
    assert!(
        stdout.contains("no figure, design or output changed since run 1"),
        "{stdout}"
    );
    let runs: Vec<String> = std::fs::read_dir(demo.join("publish/runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(runs, ["1"], "no second publish");
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
    let stdout = out.stdout.as_str();
    assert!(out.success(), "{stdout}\n{}", out.stderr.as_str());
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
    // One 2x2 cannot compare before and after when regions adopt in different years: the pooled
    // row says so; each region's own 2x2 starts at its own adoption year.
    assert_eq!(q("SELECT count(*) FROM estimate WHERE run_id = RUN AND cluster_id = 'central-staggered' AND method = 'did2x2' AND term = 'treated_x_post' AND estimate IS NULL AND reason LIKE '%adopt in different years%'"), 1);
    assert_eq!(q("SELECT count(*) FROM estimate WHERE run_id = RUN AND cluster_id = 'central-staggered' AND method = 'did2x2' AND term = 'treated_x_post[70000000000]' AND post_years[1] = 2012 AND estimate IS NOT NULL"), 1);
    assert_eq!(q("SELECT count(*) FROM estimate WHERE run_id = RUN AND cluster_id = 'central-staggered' AND method = 'did2x2' AND term = 'treated_x_post[29000000000]' AND post_years[1] = 2008 AND estimate IS NOT NULL"), 1);
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
    let stdout = out.stdout.as_str();
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
    let publish = demo.join("publish/latest");
    let conn = duckdb::Connection::open_in_memory().unwrap();
    let panels = publish.join("panels.parquet");
    // The event study by relative year with its reference marked, and SDID/SC weights summing to one.
    let event_study = publish.join("event_study.parquet");
    assert_eq!(
        count(&conn, &format!("SELECT count(*) FROM read_parquet('{}') WHERE method = 'event-study' AND is_reference AND rel_time = -1 AND estimate = 0", event_study.display())),
        5,
        "three indicators of the Lipetsk cluster, two of the SEZ cluster"
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
        assert!(out.success(), "{method}: {}", out.stderr.as_str());
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
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

/// Issue 12: every file of the published run is in its manifest with its size, sha256 and format;
/// every table reads back with DuckDB (CSV in its dialect) with the manifest's rows and columns;
/// the demo's staggered cluster brings CS group-time effects and its plots.
#[test]
fn every_published_file_reads_back_as_the_manifest_says() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, _) = run_demo(dir.path());
    let latest = demo.join("publish/latest");
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(latest.join("manifest.json")).unwrap()).unwrap();
    let mut on_disk: Vec<String> = Vec::new();
    let mut stack = vec![latest.canonicalize().unwrap()];
    let root = stack[0].clone();
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                on_disk.push(p.strip_prefix(&root).unwrap().display().to_string());
            }
        }
    }
    on_disk.retain(|p| p != "manifest.json");
    on_disk.sort();
    let mut listed: Vec<String> = manifest.files.iter().map(|f| f.path.clone()).collect();
    listed.sort();
    assert_eq!(
        listed, on_disk,
        "the manifest lists exactly the run's files"
    );
    let conn = duckdb::Connection::open_in_memory().unwrap();
    for f in &manifest.files {
        let path = latest.join(&f.path);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len() as u64, f.bytes, "{}", f.path);
        assert_eq!(hex::encode(Sha256::digest(&bytes)), f.sha256, "{}", f.path);
        let read = match f.format.as_str() {
            "parquet" => format!("read_parquet('{}')", path.display()),
            "csv" => {
                assert_eq!(f.dialect.as_deref(), Some("standard"), "{}", f.path);
                format!(
                    "read_csv('{}', header = true, delim = ',', all_varchar = true)",
                    path.display()
                )
            }
            "png" => {
                assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{}", f.path);
                let img = image::load_from_memory(&bytes).unwrap();
                assert!(img.width() >= 1200, "{}: drawn at twice the size", f.path);
                continue;
            }
            "svg" => {
                let text = String::from_utf8(bytes).unwrap();
                assert!(
                    text.starts_with("<svg") && text.trim_end().ends_with("</svg>"),
                    "{}",
                    f.path
                );
                assert!(
                    !text.contains("<text") && text.contains("<path"),
                    "{}: text as outlines",
                    f.path
                );
                assert!(f.describes.is_some(), "{}", f.path);
                continue;
            }
            "html" => continue,
            other => panic!("{}: unexpected format {other}", f.path),
        };
        let rows = count(&conn, &format!("SELECT count(*) FROM {read}"));
        assert_eq!(Some(rows as u64), f.rows, "{}", f.path);
        let mut stmt = conn
            .prepare(&format!("DESCRIBE SELECT * FROM {read}"))
            .unwrap();
        let names: Vec<String> = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let expected: Vec<&str> = f.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, expected, "{}", f.path);
    }
    // The README's table of columns is the contract: it names exactly the published columns.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for f in manifest.files.iter().filter(|f| f.format == "parquet") {
        let table = f.path.trim_end_matches(".parquet");
        let line = readme
            .lines()
            .find(|l| l.starts_with(&format!("| `{table}` |")))
            .unwrap_or_else(|| panic!("README documents no table {table}"));
        let columns_cell = line.rsplit('|').nth(1).unwrap();
        // Backticked names outside parentheses (which give values and notes).
        let (mut depth, mut names, mut current, mut inside) = (0, Vec::new(), String::new(), false);
        for ch in columns_cell.chars() {
            match ch {
                '(' if !inside => depth += 1,
                ')' if !inside => depth -= 1,
                '`' if depth == 0 => {
                    if inside {
                        names.push(std::mem::take(&mut current));
                    }
                    inside = !inside;
                }
                c if inside => current.push(c),
                _ => {}
            }
        }
        let published: Vec<&str> = f.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, published, "README's columns of {table}");
    }
    let formats = |fmt: &str| manifest.files.iter().filter(|f| f.format == fmt).count();
    assert_eq!(formats("parquet"), 9);
    assert_eq!(formats("csv"), 9);
    assert_eq!(formats("html"), 1);
    assert_eq!(formats("svg"), formats("png"));
    // The staggered cluster: CS group-time effects and a CS event-time figure with its band.
    let att_gt = manifest
        .files
        .iter()
        .find(|f| f.path == "att_gt.parquet")
        .unwrap();
    assert!(att_gt.rows.unwrap() >= 20, "{:?}", att_gt.rows);
    for figure in [
        "plots/central-sez-industrial/grp_per_capita/event_study-cs.svg",
        "plots/central-sez-industrial/grp_per_capita/event_study-sunab.svg",
        "plots/lipetsk-machinery-valley/grp_per_capita/trajectory.png",
        "plots/lipetsk-machinery-valley/grp_per_capita/weights-sdid.svg",
    ] {
        assert!(manifest.files.iter().any(|f| f.path == figure), "{figure}");
    }
}

/// Issue 12: the report renders in headless Chromium (Debian's `chromium`, which .ci/run installs):
/// the page and its plots are drawn (not blank: text, the figures' blue series and orange
/// counterfactuals), and the page references nothing outside itself (no scripts, styles, fonts or
/// images from elsewhere; its only links are the source documents and its own anchors).
#[test]
fn the_report_renders_in_chromium_and_references_nothing_outside_itself() {
    let dir = tempfile::tempdir().unwrap();
    let (demo, _) = run_demo(dir.path());
    let report = demo.join("publish/latest/report/index.html");
    let html = std::fs::read_to_string(&report).unwrap();

    // Self-contained: every resource is inline.
    for forbidden in [
        "<script", "<link", "<img", "<iframe", "<object", "<embed", "@import", " src=",
    ] {
        assert!(!html.contains(forbidden), "the report contains {forbidden}");
    }
    let mut rest = html.as_str();
    while let Some(i) = rest.find("url(") {
        rest = &rest[i + 4..];
        assert!(
            rest.starts_with("data:"),
            "an external url( in the report: {}",
            &rest[..40.min(rest.len())]
        );
    }
    let conn = duckdb::Connection::open(demo.join("warehouse.snapshot.duckdb")).unwrap();
    let mut stmt = conn.prepare("SELECT url FROM source_document").unwrap();
    let sources: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (i, _) in html.match_indices("href=\"") {
        let target = &html[i + 6..];
        let target = &target[..target.find('"').unwrap()].replace("&amp;", "&");
        assert!(
            target.starts_with('#') || sources.contains(target),
            "the report links to {target}, neither an anchor nor a source document"
        );
    }
    assert!(
        sources
            .iter()
            .all(|s| html.contains(&s.replace('&', "&amp;"))),
        "every source document is linked"
    );
    assert!(html.contains("Долина машиностроения") && html.contains("Callaway–Sant'Anna"));
    assert!(html.contains("не отличим от нуля") || html.contains("отличим от нуля"));

    // Drawn: a tall screenshot of the page.
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()))
        .expect("a headless browser: install Debian's `chromium` (apt-get install chromium); .ci/run does");
    let shot = dir.path().join("report.png");
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-extensions",
            "--window-size=1000,7000",
            &format!("--user-data-dir={}", dir.path().join("chromium").display()),
            &format!("--screenshot={}", shot.display()),
            &format!("file://{}", report.display()),
        ])
        .output()
        .unwrap();
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let img = image::open(&shot).unwrap().to_rgb8();
    let total = (img.width() * img.height()) as usize;
    let near = |p: &image::Rgb<u8>, c: [u8; 3]| p.0.iter().zip(c).all(|(a, b)| a.abs_diff(b) < 40);
    let ink = img
        .pixels()
        .filter(|p| p.0.iter().any(|v| *v < 200))
        .count();
    let blue = img.pixels().filter(|p| near(p, [31, 90, 160])).count();
    let orange = img.pixels().filter(|p| near(p, [214, 110, 20])).count();
    assert!(
        ink * 50 > total,
        "the page is nearly blank: {ink} of {total} pixels inked"
    );
    assert!(
        blue > 5_000,
        "the figures' blue series are not drawn: {blue} pixels"
    );
    assert!(
        orange > 1_000,
        "the counterfactual lines are not drawn: {orange} pixels"
    );
}
