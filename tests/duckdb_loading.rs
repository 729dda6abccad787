//! DuckDB is loaded when a command needs it, not when `regstat` starts (`scripts/libduckdb-lazy`):
//! reading a workbook to CSV never maps libduckdb.so, writing Parquet does, and a missing library
//! fails only the command that needs it, with a message that says what to do.

use std::process::Command;

mod common;

/// The loader's trace of the shared objects a run opened (`LD_DEBUG=files`, on its stderr).
fn run_traced(args: &[&str], envs: &[(&str, &str)]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_regstat"))
        .args(args)
        .env("LD_DEBUG", "files")
        .envs(envs.iter().copied())
        .output()
        .expect("regstat runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn lazy_build() -> bool {
    let link = env!("REGSTAT_DUCKDB_LINK");
    if link != "lazy" {
        eprintln!("this build links DuckDB as `{link}`, not lazily: nothing to check here");
    }
    link == "lazy"
}

#[test]
fn libduckdb_is_loaded_only_by_commands_that_use_it() {
    if !lazy_build() {
        return;
    }
    let book = common::shared("corpus/rosstat/Раздел 10 - Инвестиции.xlsx");
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("out.csv");
    let (code, trace) = run_traced(
        &[
            "extract",
            book.to_str().unwrap(),
            "--out",
            csv.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, Some(0), "{trace}");
    assert!(trace.contains("6 tables, 9643 cells"), "{trace}");
    assert!(
        !trace.contains("libduckdb"),
        "CSV extraction loaded DuckDB:\n{trace}"
    );

    let parquet = dir.path().join("out.parquet");
    let (code, trace) = run_traced(
        &[
            "extract",
            book.to_str().unwrap(),
            "--out",
            parquet.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, Some(0), "{trace}");
    assert!(
        trace.contains("libduckdb.so"),
        "Parquet was written without DuckDB?\n{trace}"
    );
    let rows = common::count(
        &duckdb::Connection::open_in_memory().unwrap(),
        &format!("SELECT count(*) FROM '{}'", parquet.display()),
    );
    assert_eq!(rows, 9643);
}

#[test]
fn a_missing_libduckdb_fails_only_the_commands_that_need_it() {
    if !lazy_build() {
        return;
    }
    let book = common::shared("corpus/rosstat/Раздел 10 - Инвестиции.xlsx");
    let dir = tempfile::tempdir().unwrap();
    let missing = [("REGSTAT_LIBDUCKDB", "/nonexistent/libduckdb.so")];
    let out = Command::new(env!("CARGO_BIN_EXE_regstat"))
        .args(["extract", book.to_str().unwrap(), "--out"])
        .arg(dir.path().join("out.csv"))
        .envs(missing)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    let out = Command::new(env!("CARGO_BIN_EXE_regstat"))
        .args(["extract", book.to_str().unwrap(), "--out"])
        .arg(dir.path().join("out.parquet"))
        .envs(missing)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("cannot use DuckDB: loading $REGSTAT_LIBDUCKDB: /nonexistent/libduckdb.so"),
        "{stderr}"
    );
    assert!(stderr.contains("set REGSTAT_LIBDUCKDB"), "{stderr}");
    // Failed before anything was written.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["out.csv"], "{stderr}");
}
