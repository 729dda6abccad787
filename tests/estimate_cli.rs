//! `regstat estimate` on the published reference panels, through the binary.

use std::path::{Path, PathBuf};
use std::process::Command;

fn shared(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/reference/did")
        .join(name)
}

fn regstat(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_regstat"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `regstat estimate` on the base_did files: unit `id`, time `period`, cohort `g`, then `extra`.
fn base_did_estimate(panel: &str, outcome: &str, extra: &[&str]) -> (bool, String, String) {
    let mut args = vec![
        "estimate",
        "--panel",
        panel,
        "--unit",
        "id",
        "--time",
        "period",
        "--outcome",
        outcome,
        "--cohort",
        "g",
    ];
    args.extend_from_slice(extra);
    regstat(&args)
}

/// base_did with a cohort column (6 for treated units, 0 otherwise), written as CSV and Parquet.
fn base_did_files(dir: &Path) -> (String, String) {
    let conn = duckdb::Connection::open_in_memory().unwrap();
    let csv = dir.join("base_did.csv");
    let parquet = dir.join("base_did.parquet");
    conn.execute_batch(&format!(
        "CREATE TABLE p AS SELECT *, CASE WHEN treat = 1 THEN 6 ELSE 0 END AS g, y * 2 AS y2 FROM read_csv('{}');
         COPY p TO '{}' (HEADER); COPY p TO '{}' (FORMAT parquet);",
        shared("base_did.csv").display(),
        csv.display(),
        parquet.display()
    ))
    .unwrap();
    (csv.display().to_string(), parquet.display().to_string())
}

#[test]
fn event_study_json_reproduces_fixest_from_csv_and_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, parquet) = base_did_files(dir.path());
    for panel in [&csv, &parquet] {
        let (ok, stdout, stderr) = base_did_estimate(
            panel,
            "y",
            &[
                "--method",
                "event-study",
                "--covariates",
                "x1",
                "--cluster",
                "id",
                "--json",
            ],
        );
        assert!(ok, "{stderr}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(v["method"], "event-study");
        assert_eq!(v["n_obs"], 1080);
        assert_eq!(v["n_clusters"], 108);
        let es = v["event_study"].as_array().unwrap();
        assert_eq!(es.len(), 10);
        let at = |rel: i64| es.iter().find(|e| e["rel_time"] == rel).unwrap();
        assert!((at(4)["estimate"].as_f64().unwrap() - 6.606229).abs() < 5e-7);
        assert!((at(4)["se"].as_f64().unwrap() - 1.120494).abs() < 5e-7);
        assert_eq!(at(-1)["estimate"], 0.0);
        let x1 = v["estimates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["term"] == "x1")
            .unwrap();
        assert!((x1["estimate"].as_f64().unwrap() - 0.973490).abs() < 5e-7);
        assert!(v["pretrend"]["p"].as_f64().unwrap() > 0.0);
    }
}

#[test]
fn several_outcomes_give_a_list_and_twfe_names_the_treatment() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, _) = base_did_files(dir.path());
    let (ok, stdout, stderr) = base_did_estimate(&csv, "y,y2", &["--method", "twfe", "--json"]);
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), 2);
    let effect = |i: usize| list[i]["estimates"][0]["estimate"].as_f64().unwrap();
    assert_eq!(list[0]["estimates"][0]["term"], "g");
    assert!(
        (effect(1) - 2.0 * effect(0)).abs() < 1e-9,
        "y2 = 2y doubles the effect"
    );
}

#[test]
fn card_krueger_2x2_with_a_wild_bootstrap() {
    let dir = tempfile::tempdir().unwrap();
    let balanced = dir.path().join("ck.csv");
    let conn = duckdb::Connection::open_in_memory().unwrap();
    conn.execute_batch(&format!(
        "COPY (SELECT * FROM read_csv('{}', nullstr = 'NA') WHERE id IN
               (SELECT id FROM read_csv('{}', nullstr = 'NA') WHERE fte IS NOT NULL GROUP BY id HAVING count(*) = 2))
         TO '{}' (HEADER)",
        shared("card_krueger_long.csv").display(),
        shared("card_krueger_long.csv").display(),
        balanced.display()
    ))
    .unwrap();
    let (ok, stdout, stderr) = regstat(&[
        "estimate",
        "--panel",
        balanced.to_str().unwrap(),
        "--unit",
        "id",
        "--time",
        "d",
        "--outcome",
        "fte",
        "--treat",
        "d_nj",
        "--method",
        "did2x2",
        "--bootstrap",
        "wild",
        "--reps",
        "999",
        "--seed",
        "7",
        "--json",
    ]);
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let e = &v["estimates"][0];
    assert_eq!(e["term"], "treated_x_post", "one 2x2: its headline term");
    assert!((e["estimate"].as_f64().unwrap() - 2.75).abs() < 0.005);
    assert!((e["se"].as_f64().unwrap() - 1.34).abs() < 0.005);
    let b = &v["bootstrap"];
    assert_eq!(b["reps"], 999);
    let p = b["p"].as_f64().unwrap();
    assert!(p > 0.0 && p < 0.1, "{b}");
    assert!(b["ci_low"].as_f64().unwrap() < 2.75 && 2.75 < b["ci_high"].as_f64().unwrap());
}

#[test]
fn bad_flags_and_columns_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, _) = base_did_files(dir.path());
    let (ok, _, stderr) = base_did_estimate(&csv, "nope", &["--method", "twfe"]);
    assert!(!ok);
    assert!(stderr.contains("nope"), "{stderr}");
    let (ok, _, stderr) = base_did_estimate(&csv, "y", &["--method", "twfe", "--fe", "unit"]);
    assert!(!ok);
    assert!(stderr.contains("--fe"), "{stderr}");
}

#[test]
fn two_way_clustering_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (csv, _) = base_did_files(dir.path());
    let (ok, stdout, stderr) = base_did_estimate(
        &csv,
        "y",
        &[
            "--method",
            "twfe",
            "--covariates",
            "x1",
            "--cluster",
            "id,period",
            "--json",
        ],
    );
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["vcov"], "two-way CR1 clustered by id and period");
    assert_eq!(v["n_clusters"], 10, "G is the smaller of the two");
    assert_eq!(v["estimates"][0]["df"], 9.0);
    let (ok, _, stderr) = base_did_estimate(
        &csv,
        "y",
        &[
            "--method",
            "twfe",
            "--cluster",
            "id,period",
            "--bootstrap",
            "wild",
        ],
    );
    assert!(
        !ok && stderr.contains("exactly one cluster variable"),
        "{stderr}"
    );
}
