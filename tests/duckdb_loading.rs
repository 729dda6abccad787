//! DuckDB is loaded when a command needs it, not when `regstat` starts (`scripts/libduckdb-lazy`):
//! extracting a workbook (CSV or Parquet) and estimating on a CSV or snappy Parquet panel never map
//! libduckdb.so, reading a Parquet panel the `parquet` crate cannot (zstd) does, and a missing
//! library fails only the command that needs it, with a message that says what to do.

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

/// base_did with a cohort column as CSV, as snappy Parquet and as zstd Parquet (written by this
/// test's own DuckDB).
struct Panels {
    csv: PathBuf,
    snappy: PathBuf,
    zstd: PathBuf,
}

fn panels(dir: &Path) -> Panels {
    let panels = Panels {
        csv: dir.join("panel.csv"),
        snappy: dir.join("panel.parquet"),
        zstd: dir.join("panel-zstd.parquet"),
    };
    duckdb::Connection::open_in_memory()
        .unwrap()
        .execute_batch(&format!(
            "CREATE TABLE p AS SELECT *, CASE WHEN treat = 1 THEN 6 ELSE 0 END AS g FROM read_csv('{}');
             COPY p TO '{}' (HEADER); COPY p TO '{}' (FORMAT parquet, COMPRESSION snappy);
             COPY p TO '{}' (FORMAT parquet, COMPRESSION zstd);",
            common::shared("reference/did/base_did.csv").display(),
            panels.csv.display(),
            panels.snappy.display(),
            panels.zstd.display()
        ))
        .unwrap();
    panels
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

    let panels = panels(dir.path());
    let estimate = |panel: &Path| {
        let args = estimate_args(panel);
        let run = traced(&args.iter().map(String::as_str).collect::<Vec<_>>(), &[]);
        let trace = String::from_utf8_lossy(&run.stderr).into_owned();
        assert!(run.status.success(), "{trace}");
        let name = panel.file_name().unwrap().to_string_lossy().into_owned();
        // The estimate with the panel's file name aside.
        let json = String::from_utf8_lossy(&run.stdout).replace(&name, "panel");
        (trace.contains("libduckdb"), json, trace)
    };
    let (loaded, from_csv, trace) = estimate(&panels.csv);
    assert!(!loaded, "an estimate on a CSV loaded DuckDB:\n{trace}");
    let (loaded, from_snappy, trace) = estimate(&panels.snappy);
    assert!(!loaded, "a snappy Parquet panel loaded DuckDB:\n{trace}");
    assert_eq!(from_snappy, from_csv);
    let (loaded, from_zstd, trace) = estimate(&panels.zstd);
    assert!(loaded, "a zstd Parquet panel read without DuckDB?\n{trace}");
    assert_eq!(from_zstd, from_csv);
}

#[test]
fn a_missing_libduckdb_fails_only_the_commands_that_need_it() {
    if !lazy_build() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let panels = panels(dir.path());
    let missing = [("REGSTAT_LIBDUCKDB", "/nonexistent/libduckdb.so")];
    let run = |panel: &Path| {
        Command::new(env!("CARGO_BIN_EXE_regstat"))
            .args(estimate_args(panel))
            .envs(missing)
            .output()
            .unwrap()
    };
    for panel in [&panels.csv, &panels.snappy] {
        let out = run(panel);
        assert!(out.status.success(), "{}: {out:?}", panel.display());
    }

    let out = run(&panels.zstd);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("cannot use DuckDB: loading $REGSTAT_LIBDUCKDB: /nonexistent/libduckdb.so"),
        "{stderr}"
    );
    assert!(stderr.contains("set REGSTAT_LIBDUCKDB"), "{stderr}");
}
