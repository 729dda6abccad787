//! Publishing a warehouse's contents: tables as Parquet and CSV, the manifest, the run directory.

use regstat_publish::{publish, CsvDialect, Language, Manifest, PublishOptions};
use regstat_transform::{Observation, RegionDictionary};
use regstat_warehouse::Warehouse;

#[path = "../../warehouse/tests/common/mod.rs"]
mod common;
use common::{doc, obs};

/// A warehouse holding `figures` of one document ("ddd"), published into `<dir>/publish`.
fn published(
    figures: &[Observation],
    dialect: CsvDialect,
) -> (tempfile::TempDir, Warehouse, std::path::PathBuf, Manifest) {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Warehouse::open(&dir.path().join("w.duckdb")).unwrap();
    w.sync_reference(RegionDictionary::builtin(), &[], &[])
        .unwrap();
    let run = w.begin_run().unwrap();
    w.load_document(&doc("ddd", 1), figures, &[], run).unwrap();
    let options = PublishOptions {
        dir: dir.path().join("publish"),
        csv_dialect: dialect,
        language: Language::Ru,
        keep_runs: 3,
    };
    let published = publish(&w, Some(run), &options).unwrap();
    // Readers go through `latest`.
    let out = options.dir.join("latest");
    assert_eq!(
        out.canonicalize().unwrap(),
        published.dir.canonicalize().unwrap()
    );
    (dir, w, out, published.manifest)
}

#[test]
fn publishes_parquet_csv_and_manifest() {
    let (dir, w, out, manifest) =
        published(&[obs("ddd", "G18", 2005, 25339.0)], CsvDialect::Standard);
    let file = manifest
        .files
        .iter()
        .find(|f| f.path == "observations.parquet")
        .unwrap();
    assert_eq!(file.rows, Some(1));
    assert!(file.columns.iter().any(|c| c.name == "cell"));
    let back: (String, f64, String) = w
        .connection()
        .query_row(
            &format!(
                "SELECT region_iso, value, cell FROM read_parquet('{}')",
                out.join("observations.parquet").display()
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(back, ("RU-LIP".to_string(), 25339.0, "G18".to_string()));
    assert!(out.join("manifest.json").exists());
    // No estimates yet: no plots; the nine tables in two formats, the report and the manifest.
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names.iter().filter(|n| n.ends_with(".parquet") || n.ends_with(".csv")).count(),
        18,
        "observations, estimates, tests, placebos, panels, event_study, att_gt, weights, documents as Parquet and CSV: {names:?}"
    );
    assert!(names.contains(&"manifest.json".to_string()));
    let runs: Vec<String> = std::fs::read_dir(dir.path().join("publish/runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(runs, ["1"], "no staging directory is left");
}

/// Issue 12, CSV for people: `excel-ru` writes UTF-8 with a byte-order mark, `;` and decimal commas,
/// which Russian-locale Excel opens with a double click; read back with those settings the values
/// equal the Parquet file's, and the manifest names the dialect.
#[test]
fn excel_ru_csv_opens_in_russian_excel() {
    let (_dir, w, out, manifest) = published(
        &[
            obs("ddd", "G18", 2005, 25339.5),
            obs("ddd", "H18", 2006, 0.125),
        ],
        CsvDialect::ExcelRu,
    );
    let csv = out.join("observations.csv");
    let bytes = std::fs::read(&csv).unwrap();
    assert!(
        bytes.starts_with("\u{FEFF}".as_bytes()),
        "a UTF-8 byte-order mark"
    );
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    let header = text.lines().next().unwrap();
    assert!(
        header.starts_with("\"indicator_id\";\"indicator_name\";\"region_code\";"),
        "{header}"
    );
    assert!(
        text.contains(";25339,5;") && text.contains(";0,125;"),
        "{text}"
    );
    // Text columns are quoted: a region code keeps its digits as text.
    assert!(text.contains(";\"42000000000\";"), "{text}");
    let entry = manifest
        .files
        .iter()
        .find(|f| f.path == "observations.csv")
        .unwrap();
    assert_eq!(entry.dialect.as_deref(), Some("excel-ru"));
    assert_eq!(entry.rows, Some(2));
    let parquet = manifest
        .files
        .iter()
        .find(|f| f.path == "observations.parquet")
        .unwrap();
    assert_eq!(parquet.dialect, None);
    let sum: f64 = w
        .connection()
        .query_row(
            &format!(
                "SELECT sum(value) FROM read_csv('{}', delim = ';', decimal_separator = ',', header = true)",
                csv.display()
            ),
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(sum, 25339.5 + 0.125);
}
