//! `regstat extract` on the real corpus: every format, the columns, a spot value, the summary.

use std::path::PathBuf;

mod common;

fn corpus(name: &str) -> PathBuf {
    common::shared("corpus/rosstat").join(name)
}

/// The rows of a JSON-lines file.
fn read_jsonl(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The CSV `extract` writes to standard output for `book` (every column on every row), also
/// saved as `to` for DuckDB to read.
fn full_rows(book: &std::path::Path, to: &std::path::Path) -> String {
    let (code, stdout, stderr) = extract(&[book.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    std::fs::write(to, &stdout).unwrap();
    stdout
}

fn extract(args: &[&str]) -> (i32, String, String) {
    let out = common::regstat(&[&["extract"], args].concat());
    (out.code.unwrap_or(-1), out.stdout, out.stderr)
}

#[test]
fn extracts_csv_jsonl_and_parquet_with_the_documented_columns() {
    let book = corpus("Раздел 10 - Инвестиции.xlsx");
    let (code, csv, stderr) = extract(&[book.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let header = csv.lines().next().unwrap();
    assert_eq!(
        header,
        "source_file,sheet,table_code,table_title,indicator_id,unit,region_label,region_code,region_iso,period,period_type,value,status,footnotes,cell,dimensions,basis"
    );
    assert!(
        stderr.contains("6 tables, 9643 cells, 9642 values, 1 missing, 0 unresolved labels"),
        "{stderr}"
    );
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let lipetsk = reader
        .records()
        .map(|r| r.unwrap())
        .find(|r| &r[2] == "10.2" && &r[7] == "42000000000" && &r[9] == "2005")
        .unwrap();
    assert_eq!(
        (&lipetsk[4], &lipetsk[8], &lipetsk[11], &lipetsk[14]),
        ("investment_per_capita", "RU-LIP", "25339", "G18")
    );
    // Issue 13: the unit is a unit; the price basis is its own column.
    assert_eq!(
        (&lipetsk[5], &lipetsk[16]),
        ("рублей", "в фактически действовавших ценах")
    );

    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("x.jsonl");
    assert_eq!(
        extract(&[book.to_str().unwrap(), "--out", jsonl.to_str().unwrap()]).0,
        0
    );
    let lines: Vec<serde_json::Value> = read_jsonl(&jsonl);
    assert_eq!(lines.len(), 9643);
    let missing = lines
        .iter()
        .find(|l| l["status"] != "ok" && l["status"] != "ratio_times")
        .unwrap();
    assert!(missing["value"].is_null());

    let parquet = dir.path().join("x.parquet");
    assert_eq!(
        extract(&[book.to_str().unwrap(), "--out", parquet.to_str().unwrap()]).0,
        0
    );
    let conn = duckdb::Connection::open_in_memory().unwrap();
    let (n, v): (i64, f64) = conn
        .query_row(
            &format!("SELECT count(*), max(value) FILTER (WHERE cell = 'G18' AND table_code = '10.2') FROM read_parquet('{}')", parquet.display()),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((n, v), (9643, 25339.0));
}

#[test]
fn every_corpus_workbook_extracts_without_unresolved_labels() {
    for entry in std::fs::read_dir(corpus("")).unwrap() {
        let path = entry.unwrap().path();
        let (code, _, stderr) = extract(&[path.to_str().unwrap()]);
        assert_eq!(code, 0, "{}: {stderr}", path.display());
        assert!(
            stderr.contains(" 0 unresolved labels, 0 problems"),
            "{stderr}"
        );
    }
}

#[test]
fn sdmx_extracts_with_the_same_columns_and_dimensions_as_json() {
    let xml = common::shared("corpus/fedstat/sdmx_example.xml");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("emiss.jsonl");
    let (code, _, stderr) = extract(&[xml.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("22 observations"), "{stderr}");
    let rows: Vec<serde_json::Value> = read_jsonl(&out);
    assert_eq!(rows.len(), 22);
    assert_eq!(rows[0]["region_code"], "643");
    assert_eq!(rows[0]["period"], "1990-01-01");
    assert_eq!(rows[0]["period_type"], "date");
    assert_eq!(rows[0]["value"], 78549601.0);
    let dims: serde_json::Value =
        serde_json::from_str(rows[0]["dimensions"].as_str().unwrap()).unwrap();
    assert_eq!(dims["s_vozr"], "Всего");
}

/// `--config` reads with the config's region aliases and indicators, as a run would.
#[test]
fn a_config_lends_its_region_aliases_and_indicators() {
    let dir = tempfile::tempdir().unwrap();
    let book = dir.path().join("Раздел 16.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("16.4.").unwrap();
    ws.write_string(0, 0, "16.4. ОБОРОТ РОЗНИЧНОЙ ТОРГОВЛИ НА ДУШУ НАСЕЛЕНИЯ")
        .unwrap();
    ws.write_number(1, 1, 2021.0).unwrap();
    ws.write_number(1, 2, 2022.0).unwrap();
    ws.write_string(2, 0, "Липецкая обл-ть").unwrap();
    ws.write_number(2, 1, 250_000.0).unwrap();
    ws.write_number(2, 2, 280_000.0).unwrap();
    wb.save(&book).unwrap();
    let config = dir.path().join("regstat.toml");
    std::fs::write(
        &config,
        r#"
[outputs]
warehouse = "w.duckdb"
archive = "a"
publish = "p"

[regions]
aliases = { "Липецкая обл-ть" = "42000000000" }

[[indicators]]
id = "retail_per_capita"
name = "Оборот розничной торговли на душу населения"
unit = "рублей"
title_all = ["оборот розничной торговли", "на душу"]
"#,
    )
    .unwrap();

    let (code, _, stderr) = extract(&[book.to_str().unwrap()]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("1 unresolved labels"), "{stderr}");

    let (code, csv, stderr) =
        extract(&[book.to_str().unwrap(), "--config", config.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(csv.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        assert_eq!(&row[4], "retail_per_capita");
        assert_eq!(&row[7], "42000000000");
        assert_eq!(&row[8], "RU-LIP");
    }
}

/// Issue 13: one format detection for runs and `extract`. An EMISS SDMX file is recognised by its
/// content (here saved without .xml, as a download may be), and `--config` names its indicator by
/// `emiss_ids` exactly as a run does.
#[test]
fn extract_reads_sdmx_by_content_and_names_it_as_a_run_does() {
    let dir = tempfile::tempdir().unwrap();
    let sdmx = dir.path().join("emiss-33459");
    std::fs::copy(common::shared("corpus/fedstat/sdmx_example.xml"), &sdmx).unwrap();
    let config = dir.path().join("regstat.toml");
    std::fs::write(
        &config,
        format!(
            r#"[outputs]
warehouse = "{d}/w.duckdb"
archive = "{d}/archive"
publish = "{d}/publish"

{indicator}"#,
            d = dir.path().display(),
            indicator = common::FEMALE_POPULATION_INDICATOR
        ),
    )
    .unwrap();
    let out = dir.path().join("rows.jsonl");
    let (code, _, stderr) = extract(&[
        sdmx.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let rows: Vec<serde_json::Value> = read_jsonl(&out);
    assert_eq!(rows.len(), 22);
    assert!(
        rows.iter()
            .all(|r| r["indicator_id"] == "female_population"),
        "{}",
        rows[0]
    );
}

/// The Parquet output holds exactly the rows of the CSV on standard output: every column, text
/// as text (an empty field is NULL, as DuckDB reads an empty CSV field), the value a DOUBLE.
#[test]
fn parquet_holds_the_same_rows_as_csv() {
    let book = corpus("Раздел 8 - Валовой региональный продукт.xlsx");
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("x.csv");
    let parquet = dir.path().join("x.parquet");
    full_rows(&book, &csv);
    let (code, _, stderr) = extract(&[book.to_str().unwrap(), "--out", parquet.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let conn = duckdb::Connection::open_in_memory().unwrap();
    let types: Vec<(String, String)> = conn
        .prepare(&format!(
            "DESCRIBE SELECT * FROM read_parquet('{}')",
            parquet.display()
        ))
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let header = std::fs::read_to_string(&csv).unwrap();
    let header: Vec<&str> = header.lines().next().unwrap().split(',').collect();
    assert_eq!(
        types.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        header
    );
    for (name, kind) in &types {
        let expected = if name == "value" { "DOUBLE" } else { "VARCHAR" };
        assert_eq!(kind, expected, "{name}");
    }
    let rows = common::count(
        &conn,
        &format!("SELECT count(*) FROM read_parquet('{}')", parquet.display()),
    );
    assert!(rows > 10_000, "{rows}");
    let csv_rows = format!(
        "SELECT * REPLACE (TRY_CAST(value AS DOUBLE) AS value) FROM read_csv('{}', all_varchar = true, header = true)",
        csv.display()
    );
    let parquet_rows = format!("SELECT * FROM read_parquet('{}')", parquet.display());
    for (a, b) in [(&csv_rows, &parquet_rows), (&parquet_rows, &csv_rows)] {
        let differing = common::count(&conn, &format!("SELECT count(*) FROM ({a} EXCEPT ALL {b})"));
        assert_eq!(differing, 0, "{a}\nEXCEPT ALL\n{b}");
    }
}

/// `--out x.csv` writes the figures to x.csv and the texts they share (title, footnotes) once each
/// to x.texts.csv: joined on `texts`, the two give back the rows of standard output's CSV, all of
/// them and nothing else.
#[test]
fn a_csv_file_and_its_texts_join_back_into_the_full_rows() {
    let book = corpus("Раздел 2 - Труд.xlsx");
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.csv");
    let figures = dir.path().join("x.csv");
    let texts = dir.path().join("x.texts.csv");
    let stdout = full_rows(&book, &full);
    let (code, _, stderr) = extract(&[book.to_str().unwrap(), "--out", figures.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let figures_text = std::fs::read_to_string(&figures).unwrap();
    assert_eq!(
        figures_text.lines().next().unwrap(),
        "source_file,sheet,table_code,texts,indicator_id,unit,region_label,region_code,region_iso,period,period_type,value,status,cell,dimensions,basis"
    );
    assert!(
        figures_text.len() * 2 < stdout.len(),
        "{} bytes of figures against {} of full rows",
        figures_text.len(),
        stdout.len()
    );
    assert_eq!(
        std::fs::read_to_string(&texts)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
        "texts,table_title,footnotes"
    );

    let conn = duckdb::Connection::open_in_memory().unwrap();
    let read = |p: &std::path::Path| {
        format!(
            "read_csv('{}', all_varchar = true, header = true)",
            p.display()
        )
    };
    let (text_rows, keys) = (
        common::count(&conn, &format!("SELECT count(*) FROM {}", read(&texts))),
        common::count(
            &conn,
            &format!("SELECT count(DISTINCT texts) FROM {}", read(&texts)),
        ),
    );
    assert!(text_rows > 10, "{text_rows}");
    assert_eq!(text_rows, keys, "a key given twice");
    let unmatched = common::count(
        &conn,
        &format!(
            "SELECT count(*) FROM {} f WHERE texts IS NOT NULL AND texts NOT IN (SELECT texts FROM {})",
            read(&figures),
            read(&texts)
        ),
    );
    assert_eq!(unmatched, 0);
    // The README's join, its columns put in the full rows' order.
    let joined = format!(
        "SELECT {} FROM (SELECT * EXCLUDE (texts) FROM {} LEFT JOIN {} USING (texts))",
        stdout.lines().next().unwrap(),
        read(&figures),
        read(&texts)
    );
    let full_rows = format!("SELECT * FROM {}", read(&full));
    assert_eq!(
        common::count(&conn, &format!("SELECT count(*) FROM ({joined})")),
        41290
    );
    for (a, b) in [(&joined, &full_rows), (&full_rows, &joined)] {
        let differing = common::count(&conn, &format!("SELECT count(*) FROM ({a} EXCEPT ALL {b})"));
        assert_eq!(differing, 0, "{a}\nEXCEPT ALL\n{b}");
    }
}

/// A document that cannot be read leaves an existing output as it was: the output is opened only
/// once the flags, the config and the document are known good.
#[test]
fn an_unreadable_document_leaves_the_output_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.csv");
    std::fs::write(&out, "kept\n").unwrap();
    let missing = dir.path().join("no such workbook.xlsx");
    let (code, _, stderr) = extract(&[missing.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(stderr.contains("no such workbook.xlsx"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "kept\n");
    assert!(!dir.path().join("x.texts.csv").exists());
}

/// A document that fails once the output is open (here a ZIP whose directory is cut off) leaves
/// every earlier output as it was, in each format, and no partial file beside it: the output is
/// written beside its place and put there only when complete.
#[test]
fn a_failed_extract_leaves_the_earlier_output_and_no_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let book = corpus("t4.xlsx");
    let good = std::fs::read(&book).unwrap();
    let broken = dir.path().join("broken.xlsx");
    std::fs::write(&broken, &good[..good.len() / 2]).unwrap();
    for name in ["x.csv", "x.jsonl", "x.parquet"] {
        let out = dir.path().join(name);
        let (code, _, stderr) = extract(&[book.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        assert_eq!(code, 0, "{stderr}");
        let before = std::fs::read(&out).unwrap();
        let (code, _, stderr) =
            extract(&[broken.to_str().unwrap(), "--out", out.to_str().unwrap()]);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains("broken.xlsx"), "{stderr}");
        let after = std::fs::read(&out).unwrap();
        assert!(
            after == before,
            "{name}: {} bytes before, {} after",
            before.len(),
            after.len()
        );
    }
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            "broken.xlsx",
            "x.csv",
            "x.jsonl",
            "x.parquet",
            "x.texts.csv"
        ]
    );
}

/// Writing over an earlier output keeps what the earlier file was: its permissions, and a symbolic
/// link stays a link whose target gets the new figures.
#[cfg(unix)]
#[test]
fn an_output_written_again_keeps_its_permissions_and_its_link() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let book = corpus("t4.xlsx");
    let real = dir.path().join("real.csv");
    std::fs::write(&real, "old\n").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = dir.path().join("link.csv");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let (code, _, stderr) = extract(&[book.to_str().unwrap(), "--out", link.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let written = std::fs::read_to_string(&real).unwrap();
    assert!(
        written.starts_with("source_file,sheet,table_code,texts,"),
        "{written:.80}"
    );
    let mode = std::fs::metadata(&real).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    // The side file sits beside the link, as its name says.
    assert!(dir.path().join("link.texts.csv").exists());
}
