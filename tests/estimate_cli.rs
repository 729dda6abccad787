//! `regstat estimate` on the published reference panels, through the binary.

use std::path::{Path, PathBuf};

mod common;

/// A file of the DiD reference data.
fn shared(name: &str) -> PathBuf {
    common::shared("reference/did").join(name)
}

fn regstat(args: &[&str]) -> (bool, String, String) {
    let out = common::regstat(args);
    (out.success(), out.stdout, out.stderr)
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

/// Card & Krueger's balanced sample (stores with FTE in both waves), with `g` = 1 for New Jersey
/// stores (their cohort: treated from the second wave) and 0 for Pennsylvania.
fn card_krueger_balanced(dir: &Path) -> PathBuf {
    let path = dir.join("ck.csv");
    let conn = duckdb::Connection::open_in_memory().unwrap();
    conn.execute_batch(&format!(
        "COPY (SELECT *, CASE WHEN nj = 1 THEN 1 ELSE 0 END AS g FROM read_csv('{0}', nullstr = 'NA') WHERE id IN
               (SELECT id FROM read_csv('{0}', nullstr = 'NA') WHERE fte IS NOT NULL GROUP BY id HAVING count(*) = 2))
         TO '{1}' (HEADER)",
        shared("card_krueger_long.csv").display(),
        path.display()
    ))
    .unwrap();
    path
}

/// `regstat estimate` on Card & Krueger's balanced sample in `dir`: unit `id`, time `d`, outcome
/// `fte`, then `extra`.
fn card_krueger_estimate(dir: &Path, extra: &[&str]) -> (bool, String, String) {
    let path = card_krueger_balanced(dir);
    let mut args = vec![
        "estimate",
        "--panel",
        path.to_str().unwrap(),
        "--unit",
        "id",
        "--time",
        "d",
        "--outcome",
        "fte",
    ];
    args.extend_from_slice(extra);
    regstat(&args)
}

#[test]
fn card_krueger_2x2_with_a_wild_bootstrap() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) = card_krueger_estimate(
        dir.path(),
        &[
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
        ],
    );
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

/// Writes `text` as a panel file in `dir` and returns its path.
fn panel_file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// A small balanced panel as CSV text: units r0..r5, periods 2001..2006, r0-r2 treated from 2004,
/// with a lower-case `d` (the treatment) and an upper-case `D` (a different column).
fn small_panel_csv() -> String {
    let mut text = String::from("u,t,y,d,D\n");
    for u in 0..6 {
        for t in 2001..=2006 {
            let on = u < 3 && t >= 2004;
            let y = u as f64
                + 0.1 * (t - 2000) as f64
                + if on { 1.0 } else { 0.0 }
                + ((u * 7 + t) % 5) as f64 / 10.0;
            // D is on for r3-r5 from 2003: another design entirely.
            let big_d = u >= 3 && t >= 2003;
            text.push_str(&format!("r{u},{t},{y},{},{}\n", on as u8, big_d as u8));
        }
    }
    text
}

fn small_estimate(panel: &str, extra: &[&str]) -> (bool, String, String) {
    let mut args = vec![
        "estimate",
        "--panel",
        panel,
        "--unit",
        "u",
        "--time",
        "t",
        "--outcome",
        "y",
    ];
    args.extend_from_slice(extra);
    regstat(&args)
}

/// Issue 10.2: `--treat D` reads the column `D`, not `d`; a name that differs only in case is an
/// error that says so.
#[test]
fn column_names_are_matched_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let csv = panel_file(dir.path(), "p.csv", &small_panel_csv());
    let json = |treat: &str| {
        let (ok, stdout, stderr) =
            small_estimate(&csv, &["--treat", treat, "--method", "twfe", "--json"]);
        assert!(ok, "{stderr}");
        serde_json::from_str::<serde_json::Value>(&stdout).unwrap()
    };
    let lower = json("d");
    let upper = json("D");
    assert_eq!(upper["estimates"][0]["term"], "D");
    assert_ne!(
        lower["estimates"][0]["estimate"],
        upper["estimates"][0]["estimate"]
    );
    let (ok, _, stderr) = small_estimate(&csv, &["--treat", "Y", "--method", "twfe"]);
    assert!(!ok);
    assert!(
        stderr.contains("no column `Y`") && stderr.contains("the file has `y`"),
        "{stderr}"
    );
}

/// Issue 10.6: `--window LO,HI` as documented, and it does not swallow the flag after it.
#[test]
fn window_takes_lo_comma_hi() {
    let dir = tempfile::tempdir().unwrap();
    let csv = panel_file(dir.path(), "p.csv", &small_panel_csv());
    let (ok, stdout, stderr) = small_estimate(
        &csv,
        &[
            "--treat",
            "d",
            "--method",
            "event-study",
            "--window",
            "-2,1",
            "--json",
        ],
    );
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let rels: Vec<i64> = v["event_study"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["rel_time"].as_i64().unwrap())
        .collect();
    assert_eq!(rels, [-2, -1, 0, 1]);
    let (ok, _, stderr) = small_estimate(
        &csv,
        &["--treat", "d", "--method", "event-study", "--window", "3,1"],
    );
    assert!(!ok && stderr.contains("--window"), "{stderr}");
}

/// Issue 10.7: a non-integer period is refused, naming the column, the row and the value.
#[test]
fn non_integer_periods_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = small_panel_csv().replacen("r0,2002,", "r0,2001.5,", 1);
    let csv = panel_file(dir.path(), "p.csv", &text);
    let (ok, _, stderr) = small_estimate(&csv, &["--treat", "d", "--method", "twfe"]);
    assert!(!ok);
    assert!(
        stderr.contains("column `t`, data row 2: 2001.5 is not an integer period"),
        "{stderr}"
    );
}

/// Issue 10.8: an id column that looks numeric for 20,480 rows and holds text later is read as text.
#[test]
fn ids_that_turn_to_text_late_in_the_file_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("u,t,y,d\n");
    for u in 0..2100 {
        let id = if u < 2095 {
            format!("{}", 1000 + u)
        } else {
            format!("r{u}")
        };
        for t in 1..=10 {
            let on = u % 2 == 0 && t >= 6;
            text.push_str(&format!(
                "{id},{t},{},{}\n",
                (u % 13) as f64 + 0.3 * t as f64 + on as u8 as f64 + ((u * t) % 7) as f64 / 7.0,
                on as u8
            ));
        }
    }
    let csv = panel_file(dir.path(), "p.csv", &text);
    let (ok, stdout, stderr) =
        small_estimate(&csv, &["--treat", "d", "--method", "twfe", "--json"]);
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["n_units"], 2100);
    // A non-number in a number column is named.
    let bad = text
        .replacen(",0.3", ",n/a", 0)
        .replacen("\n1000,5,", "\n1000,5,x", 1);
    let csv = panel_file(dir.path(), "bad.csv", &bad);
    let (ok, _, stderr) = small_estimate(&csv, &["--treat", "d", "--method", "twfe"]);
    assert!(!ok);
    assert!(
        stderr.contains("column `y`, data row 5: expected a number"),
        "{stderr}"
    );
}

/// Issue 10.12: messages name the file, column or flag and what was expected, once.
#[test]
fn messages_name_what_was_expected() {
    let dir = tempfile::tempdir().unwrap();
    let empty = panel_file(dir.path(), "empty.csv", "");
    let (ok, _, stderr) = small_estimate(&empty, &["--treat", "d", "--method", "twfe"]);
    assert!(
        !ok && stderr.contains("empty.csv: the file is empty"),
        "{stderr}"
    );
    let header = panel_file(dir.path(), "header.csv", "u,t,y,d\n");
    let (ok, _, stderr) = small_estimate(&header, &["--treat", "d", "--method", "twfe"]);
    assert!(
        !ok && stderr.contains("header.csv: the file has a header but no data rows"),
        "{stderr}"
    );
    let two = small_panel_csv().replace(",1,0\n", ",2,0\n");
    let csv = panel_file(dir.path(), "two.csv", &two);
    let (ok, _, stderr) = small_estimate(&csv, &["--treat", "d", "--method", "twfe"]);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("treatment column `d` must be 0 or 1")
            && stderr.contains("unit r0 has 2 in period 2004"),
        "{stderr}"
    );
    {
        let text = &stderr;
        assert!(
            !text.contains("Error code") && !text.contains("SELECT"),
            "{text}"
        );
        assert_eq!(
            text.matches("must be 0 or 1").count(),
            1,
            "said once: {text}"
        );
    }
    let (ok, stdout, stderr) = small_estimate(
        &panel_file(dir.path(), "p.csv", &small_panel_csv()),
        &["--treat", "d", "--method", "event-study"],
    );
    assert!(ok, "{stderr}");
    assert!(stdout.contains("joint F(2, 5)"), "{stdout}");
    let (ok, _, stderr) = small_estimate(
        &csv,
        &["--treat", "d", "--method", "did2x2", "--fe", "unit,time"],
    );
    assert!(
        !ok && stderr.contains("--fe: did2x2 is the study's OLS"),
        "{stderr}"
    );
    let (ok, _, stderr) = small_estimate(
        &csv,
        &[
            "--treat",
            "d",
            "--method",
            "twfe",
            "--bootstrap",
            "wild",
            "--reps",
            "5000000",
        ],
    );
    assert!(
        !ok && stderr.contains("--reps: expected 99 to 1000000 draws"),
        "{stderr}"
    );
}

/// Issue 11: `--method sdid|sc` on one treated region: the JSON's headline, weights and path.
#[test]
fn synthetic_did_and_control_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("region,year,grp,d\n");
    for u in 0..8 {
        for t in 2005..=2020 {
            let base = u as f64 * 0.5
                + (t - 2005) as f64 * (0.1 + 0.01 * u as f64)
                + ((u * 13 + t) % 5) as f64 / 20.0;
            text.push_str(&format!("r{u},{t},{base},0\n"));
        }
    }
    for t in 2005..=2020 {
        let y = 1.0 + (t - 2005) as f64 * 0.13 + if t >= 2016 { 0.8 } else { 0.0 };
        text.push_str(&format!("lipetsk,{t},{y},{}\n", (t >= 2016) as u8));
    }
    let csv = panel_file(dir.path(), "one.csv", &text);
    let base = [
        "estimate",
        "--panel",
        csv.as_str(),
        "--unit",
        "region",
        "--time",
        "year",
        "--outcome",
        "grp",
        "--treat",
        "d",
    ];
    for method in ["sdid", "sc"] {
        let mut args = base.to_vec();
        args.extend(["--method", method, "--reps", "50", "--json"]);
        let (ok, stdout, stderr) = regstat(&args);
        assert!(ok, "{stderr}");
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(v["method"], method);
        assert_eq!(v["estimates"][0]["term"], "att");
        assert_eq!(v["weights"]["units"].as_array().unwrap().len(), 8);
        assert_eq!(v["weights"]["times"].as_array().unwrap().len(), 11);
        assert_eq!(v["path"].as_array().unwrap().len(), 16);
        assert!(v["vcov"]
            .as_str()
            .unwrap()
            .starts_with("placebo (50 replications)"));
    }
    let mut args = base.to_vec();
    args.extend(["--method", "sdid", "--bootstrap", "wild"]);
    let (ok, _, stderr) = regstat(&args);
    assert!(
        !ok && stderr.contains("--bootstrap applies to did2x2 and twfe, not to sdid"),
        "{stderr}"
    );
}

/// Issue 11, published results: Callaway & Sant'Anna on Card & Krueger's balanced sample (one
/// cohort, New Jersey, adopting in the second wave) is their 2.75 (1.34); Sun & Abraham on base_did
/// (one cohort adopting in period 6) is fixest's published event study.
#[test]
fn new_estimators_reproduce_published_results() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, stdout, stderr) =
        card_krueger_estimate(dir.path(), &["--cohort", "g", "--method", "cs", "--json"]);
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["n_units"], 384);
    let simple = &v["aggregations"]["simple"];
    assert!(
        (simple["estimate"].as_f64().unwrap() - 2.75).abs() < 0.005,
        "{simple}"
    );
    assert!(
        (simple["se"].as_f64().unwrap() - 1.34).abs() < 0.01,
        "{simple}"
    );
    assert_eq!(v["estimates"][0]["estimate"], simple["estimate"]);

    let (csv, _) = base_did_files(dir.path());
    let (ok, stdout, stderr) = base_did_estimate(
        &csv,
        "y",
        &["--method", "sunab", "--covariates", "x1", "--json"],
    );
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let es = v["event_study"].as_array().unwrap();
    let at = |rel: i64| es.iter().find(|e| e["rel_time"] == rel).unwrap();
    // fixest: period 10 x treat (rel 4) 6.606229 (1.120494), period 1 x treat (rel -5) -1.403045 (1.110267).
    assert!((at(4)["estimate"].as_f64().unwrap() - 6.606229).abs() < 5e-7);
    assert!((at(4)["se"].as_f64().unwrap() - 1.120494).abs() < 5e-7);
    assert!((at(-5)["estimate"].as_f64().unwrap() + 1.403045).abs() < 5e-7);
    assert!((at(-5)["se"].as_f64().unwrap() - 1.110267).abs() < 5e-7);
    assert_eq!(
        v["aggregations"]["att"]["estimate"],
        v["estimates"][0]["estimate"]
    );
}

/// A method-specific flag given to a method that does not use it is an error, never ignored.
#[test]
fn flags_a_method_does_not_use_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let csv = panel_file(dir.path(), "p.csv", &small_panel_csv());
    for (flags, expected) in [
        (
            &["--method", "twfe", "--se", "jackknife"][..],
            "--se applies to sc and sdid, not to twfe",
        ),
        (
            &["--method", "sdid", "--control", "notyet"][..],
            "--control applies to cs, not to sdid",
        ),
        (
            &["--method", "twfe", "--window", "-2,2"][..],
            "--window applies to event-study and sunab, not to twfe",
        ),
        (
            &["--method", "cs", "--ref", "-2"][..],
            "--ref applies to event-study and sunab, not to cs",
        ),
    ] {
        let mut args = vec!["--treat", "d"];
        args.extend_from_slice(flags);
        let (ok, _, stderr) = small_estimate(&csv, &args);
        assert!(!ok && stderr.contains(expected), "{flags:?}: {stderr}");
    }
}

/// The small panel with a cohort column `g` (2004 for r0-r2, empty for the never treated) instead
/// of the indicator.
fn small_cohort_panel_csv() -> String {
    let mut text = String::from("u,t,y,g\n");
    for line in small_panel_csv().lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let g = if ["r0", "r1", "r2"].contains(&f[0]) {
            "2004"
        } else {
            ""
        };
        text.push_str(&format!("{},{},{},{g}\n", f[0], f[1], f[2]));
    }
    text
}

/// Period and cohort columns are checked as they are converted to integers: an empty period, a
/// fractional cohort and a cohort that changes within a unit are each refused with the row or
/// unit; an empty cohort is never treated.
#[test]
fn period_and_cohort_cells_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let text = small_cohort_panel_csv();
    let cs = ["--cohort", "g", "--method", "cs", "--reps", "0", "--json"];
    let csv = panel_file(dir.path(), "ok.csv", &text);
    let (ok, stdout, stderr) = small_estimate(&csv, &cs);
    assert!(ok, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let groups: Vec<i64> = v["att_gt"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["group"].as_i64().unwrap())
        .collect();
    assert!(
        !groups.is_empty() && groups.iter().all(|g| *g == 2004),
        "{groups:?}"
    );

    // The panel `text` is refused with a message holding every one of `expected`.
    let refused = |name: &str, text: &str, expected: &[&str]| {
        let csv = panel_file(dir.path(), name, text);
        let (ok, _, stderr) = small_estimate(&csv, &cs);
        assert!(!ok, "{name} was accepted");
        assert!(
            expected.iter().all(|e| stderr.contains(e)),
            "{name}: {stderr}"
        );
    };
    let empty_period = text.replacen("r1,2003,", "r1,,", 1);
    refused(
        "t.csv",
        &empty_period,
        &["column `t`, data row 9: empty; every row needs a period"],
    );
    // A fraction is reported although an empty period comes before it.
    refused(
        "t2.csv",
        &empty_period.replacen("r3,2002,", "r3,2002.5,", 1),
        &["column `t`, data row 20: 2002.5 is not an integer period"],
    );
    refused(
        "g.csv",
        &text.replace(",2004\n", ",2004.5\n"),
        &["column `g`, data row 1: 2004.5 is not an integer period"],
    );
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // r4's third row (data row 27) says 2005 where its others are empty.
    assert!(lines[27].starts_with("r4,2003,"), "{}", lines[27]);
    lines[27].push_str("2005");
    refused(
        "varies.csv",
        &(lines.join("\n") + "\n"),
        &["unit r4", "never (0 or empty)", "2005"],
    );
}
