//! Issue 15: an analyst's own table as a source. The Lipetsk study's Table 1
//! (../shared/reference/seed-lipetsk/table1.csv) loads as cluster-level figures of «Долина
//! машиностроения», each traceable to its file and cell; an unchanged file adds nothing, a changed
//! one is a new vintage.

mod common;

use common::{count, read_only, regstat, shared};

fn config(dir: &std::path::Path) -> String {
    format!(
        r#"{outputs}
[[sources]]
id = "lipetsk-study"
kind = "file"
path = "table1.csv"
description = "Charykova & Markova (2019), Table 1: the cluster's own figures"

[sources.file]
indicator_column = "indicator_no"
title_column = "indicator_ru"
unit_column = "unit"
region = "42000000000"
dimensions = {{ cluster = "lipetsk-machinery-valley" }}
"#,
        outputs = common::outputs_in(dir)
    )
}

#[test]
fn the_studys_table_loads_as_cluster_figures_with_their_cells() {
    let dir = tempfile::tempdir().unwrap();
    let table = std::fs::read(shared("reference/seed-lipetsk/table1.csv")).unwrap();
    std::fs::write(dir.path().join("table1.csv"), &table).unwrap();
    let cfg = dir.path().join("regstat.toml");
    std::fs::write(&cfg, config(dir.path())).unwrap();

    let out = regstat(&["run", "--config", cfg.to_str().unwrap()]);
    assert!(out.success(), "{}{}", out.stdout, out.stderr);
    let warehouse = dir.path().join("warehouse.duckdb");
    {
        let conn = read_only(&warehouse);
        // Five indicators, four years each (2005, 2012, 2016, 2017); `reported_effect_pct` is not a
        // period and is not read as one.
        assert_eq!(
            count(
                &conn,
                "SELECT count(*) FROM observation WHERE indicator_id LIKE 'lipetsk-study:%'"
            ),
            20
        );
        assert_eq!(
            count(&conn, "SELECT count(*) FROM observation WHERE indicator_id = 'lipetsk-study:2' AND region_code = '42000000000' AND period = '2005' AND value = 4922 AND sheet = 'table1.csv' AND cell = 'E3' AND unit = 'count' AND table_title LIKE 'Число высокопроизводительных рабочих мест%' AND dimensions = '{\"cluster\":\"lipetsk-machinery-valley\"}'"),
            1,
            "row 3, column E (y2005)"
        );
        assert_eq!(count(&conn, "SELECT count(*) FROM source_document WHERE source_id = 'lipetsk-study' AND load_status = 'loaded' AND file_name = 'table1.csv'"), 1);
    }

    // Unchanged: nothing new.
    let out = regstat(&["run", "--config", cfg.to_str().unwrap()]);
    assert!(out.success(), "{}{}", out.stdout, out.stderr);
    {
        let conn = read_only(&warehouse);
        assert_eq!(count(&conn, "SELECT count(*) FROM source_document"), 1);
    }

    // Changed: a new vintage, which the latest view prefers.
    let changed = String::from_utf8(table)
        .unwrap()
        .replace(",4922,", ",4923,");
    std::fs::write(dir.path().join("table1.csv"), changed).unwrap();
    let out = regstat(&["run", "--config", cfg.to_str().unwrap()]);
    assert!(out.success(), "{}{}", out.stdout, out.stderr);
    let conn = read_only(&warehouse);
    assert_eq!(count(&conn, "SELECT count(*) FROM source_document"), 2);
    assert_eq!(count(&conn, "SELECT count(*) FROM observation_latest WHERE indicator_id = 'lipetsk-study:2' AND period = '2005' AND value = 4923"), 1);
}

#[test]
fn a_mapping_that_does_not_fit_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("regstat.toml");
    let text = config(dir.path()).replace("region = \"42000000000\"\n", "");
    std::fs::write(&cfg, text).unwrap();
    let out = regstat(&["config", "check", cfg.to_str().unwrap()]);
    assert!(!out.success());
    assert!(
        out.stderr.contains("sources[0].file") && out.stderr.contains("region_column"),
        "{}",
        out.stderr
    );
}

/// `regstat extract --config --source ID` reads an analyst's table through its source's mapping, as a
/// run does (without `--source` the file would be read as a workbook and its rows not understood).
#[test]
fn extract_reads_an_analysts_table_through_its_sources_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("table1.csv");
    std::fs::copy(shared("reference/seed-lipetsk/table1.csv"), &table).unwrap();
    let cfg = dir.path().join("regstat.toml");
    std::fs::write(&cfg, config(dir.path())).unwrap();
    let args = [
        "extract",
        table.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ];
    let out = regstat(&[&args[..], &["--source", "lipetsk-study"]].concat());
    assert!(out.success(), "{}{}", out.stdout, out.stderr);
    let rows: Vec<&str> = out.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 20, "{}", out.stdout);
    assert!(
        rows.iter().any(|r| r.contains("lipetsk-study:2")
            && r.contains(",4922,")
            && r.contains(",E3,")
            && r.contains("lipetsk-machinery-valley")),
        "{}",
        out.stdout
    );
    let out = regstat(&[&args[..], &["--source", "nowhere"]].concat());
    assert!(!out.success());
    assert!(
        out.stderr.contains("--source nowhere: no such source")
            && out.stderr.contains("lipetsk-study"),
        "{}",
        out.stderr
    );
}
