//! DuckDB is loaded when a command needs it, not when `regstat` starts (`scripts/libduckdb-lazy`):
//! extracting a workbook (CSV or Parquet) and estimating on a CSV panel never map libduckdb.so,
//! reading a Parquet panel does, and a missing library fails only the command that needs it, with
//! a message that says what to do.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

fn lazy_build() -> bool {
    let link = env!("REGSTAT_DUCKDB_LINK");
    if link != "lazy" {
        eprintln!("this build links DuckDB as `{link}`, not lazily: nothing to check here");
    }
    link == "lazy"
}

/// `regstat` with the loader tracing the shared objects it opens (`LD_DEBUG=files`, on stderr).
fn traced(args: &[&str], envs: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_regstat"))
        .args(args)
        .env("LD_DEBUG", "files")
        .envs(envs.iter().copied())
        .output()
        .expect("regstat runs")
}

/// base_did with a cohort column, as CSV and as Parquet (written by this test's own DuckDB).
fn panels(dir: &Path) -> (PathBuf, PathBuf) {
    let csv = dir.join("panel.csv");
    let parquet = dir.join("panel.parquet");
    duckdb::Connection::open_in_memory()
        .unwrap()
        .execute_batch(&format!(
            "CREATE TABLE p AS SELECT *, CASE WHEN treat = 1 THEN 6 ELSE 0 END AS g FROM read_csv('{}');
             COPY p TO '{}' (HEADER); COPY p TO '{}' (FORMAT parquet);",
            common::shared("reference/did/base_did.csv").display(),
            csv.display(),
            parquet.display()
        ))
        .unwrap();
    (csv, parquet)
}

fn estimate_args(panel: &Path) -> Vec<String> {
    let mut args = vec![
        "estimate".to_string(),
        "--panel".into(),
        panel.display().to_string(),
    ];
    args.extend(
        [
            "--unit",
            "id",
            "--time",
            "period",
            "--outcome",
            "y",
            "--cohort",
            "g",
            "--method",
            "twfe",
            "--json",
        ]
        .map(String::from),
    );
    args
}

#[test]
fn libduckdb_is_loaded_only_by_commands_that_use_it() {
    if !lazy_build() {
        return;
    }
    let book = common::shared("corpus/rosstat/Раздел 10 - Инвестиции.xlsx");
    let dir = tempfile::tempdir().unwrap();
    for out in ["out.csv", "out.parquet"] {
        let out = dir.path().join(out);
        let run = traced(
            &[
                "extract",
                book.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
            &[],
        );
        let trace = String::from_utf8_lossy(&run.stderr);
        assert!(run.status.success(), "{trace}");
        assert!(trace.contains("6 tables, 9643 cells"), "{trace}");
        assert!(
            !trace.contains("libduckdb"),
            "{} loaded DuckDB:\n{trace}",
            out.display()
        );
        assert!(out.exists());
    }

    let (csv, parquet) = panels(dir.path());
    let args = estimate_args(&csv);
    let run = traced(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    let trace = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{trace}");
    assert!(
        !trace.contains("libduckdb"),
        "an estimate on a CSV loaded DuckDB:\n{trace}"
    );
    let from_csv = String::from_utf8_lossy(&run.stdout).into_owned();

    let args = estimate_args(&parquet);
    let run = traced(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
    let trace = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{trace}");
    assert!(
        trace.contains("libduckdb.so"),
        "a Parquet panel read without DuckDB?\n{trace}"
    );
    // The same estimate through the loaded library (the panel's file name aside).
    let from_parquet = String::from_utf8_lossy(&run.stdout).replace("panel.parquet", "panel.csv");
    assert_eq!(from_parquet, from_csv);
}

#[test]
fn a_missing_libduckdb_fails_only_the_commands_that_need_it() {
    if !lazy_build() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (csv, parquet) = panels(dir.path());
    let missing = [("REGSTAT_LIBDUCKDB", "/nonexistent/libduckdb.so")];
    let run = |panel: &Path| {
        Command::new(env!("CARGO_BIN_EXE_regstat"))
            .args(estimate_args(panel))
            .envs(missing)
            .output()
            .unwrap()
    };
    let out = run(&csv);
    assert!(out.status.success(), "{out:?}");

    let out = run(&parquet);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot use DuckDB: loading $REGSTAT_LIBDUCKDB: /nonexistent/libduckdb.so"),
        "{stderr}"
    );
    assert!(stderr.contains("set REGSTAT_LIBDUCKDB"), "{stderr}");
}
