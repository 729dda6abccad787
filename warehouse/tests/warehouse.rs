//! The warehouse on a real DuckDB file: migrations, atomic loads, vintages.

use regstat_transform::{Location, ParseProblem};
use regstat_warehouse::{LoadOutcome, PanelUnit, Warehouse};

mod common;
use common::{doc, obs};

fn count(w: &Warehouse, sql: &str) -> i64 {
    w.connection().query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn loads_are_idempotent_vintages_kept_and_latest_wins() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Warehouse::open(&dir.path().join("w.duckdb")).unwrap();
    assert_eq!(w.schema_version().unwrap(), 14);
    let run = w.begin_run().unwrap();
    let first = [
        obs("aaa", "G18", 2005, 25339.0),
        obs("aaa", "H18", 2006, 37382.1),
    ];
    assert_eq!(
        w.load_document(&doc("aaa", 1), &first, &[], run).unwrap(),
        LoadOutcome::Loaded(2)
    );
    assert_eq!(
        w.load_document(&doc("aaa", 1), &first, &[], run).unwrap(),
        LoadOutcome::AlreadyLoaded
    );
    assert_eq!(count(&w, "SELECT count(*) FROM observation"), 2);

    // A revised edition, fetched later: both vintages kept, the view shows the revision.
    let revised = [obs("bbb", "G18", 2005, 25400.0)];
    w.load_document(&doc("bbb", 2), &revised, &[], run).unwrap();
    assert_eq!(count(&w, "SELECT count(*) FROM observation"), 3);
    let latest: f64 = w
        .connection()
        .query_row(
            "SELECT value FROM observation_latest WHERE period = '2005'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(latest, 25400.0);
    assert_eq!(count(&w, "SELECT count(*) FROM observation_latest"), 2);
    drop(w);
    // Reopening runs no migration twice and keeps the data.
    let w = Warehouse::open(&dir.path().join("w.duckdb")).unwrap();
    assert_eq!(count(&w, "SELECT count(*) FROM schema_migration"), 14);
    assert_eq!(count(&w, "SELECT count(*) FROM observation"), 3);
}

#[test]
fn a_failing_load_leaves_nothing_half_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = Warehouse::open(&dir.path().join("w.duckdb")).unwrap();
    let run = w.begin_run().unwrap();
    // The same cell twice violates the primary key: the whole document must roll back.
    let dup = [obs("ccc", "G18", 2005, 1.0), obs("ccc", "G18", 2005, 2.0)];
    assert!(w.load_document(&doc("ccc", 1), &dup, &[], run).is_err());
    assert_eq!(count(&w, "SELECT count(*) FROM observation"), 0);
    assert_eq!(count(&w, "SELECT count(*) FROM source_document"), 0);
    // Recorded as failed, then loaded for real on a later attempt.
    w.record_failed_document(
        &doc("ccc", 1),
        "Раздел 10.xlsx, sheet '10.2.', cell G18: expected a number",
        run,
    )
    .unwrap();
    assert!(!w.is_loaded("ccc").unwrap());
    let problem = ParseProblem {
        location: Location {
            file: "ccc.xlsx".into(),
            sheet: Some("10.2.".into()),
            cell: Some("A40".into()),
        },
        expected: "a region name known to the dictionary".into(),
        found: "Атлантида".into(),
    };
    w.load_document(&doc("ccc", 1), &dup[..1], &[problem], run)
        .unwrap();
    assert!(w.is_loaded("ccc").unwrap());
    assert_eq!(count(&w, "SELECT count(*) FROM source_document"), 1);
    assert_eq!(
        count(
            &w,
            "SELECT count(*) FROM document_problem WHERE found = 'Атлантида'"
        ),
        1
    );
}

/// Issue 15: a list page's documents are catalogued once per URL; a later listing updates what the
/// page says (title, date, size) and when it was last seen.
#[test]
fn a_listing_is_kept_once_per_document_and_updated() {
    let dir = tempfile::tempdir().unwrap();
    let w = Warehouse::open(&dir.path().join("w.duckdb")).unwrap();
    let listed = |title: &str| regstat_warehouse::ListingRecord {
        url: "https://48.rosstat.gov.ru/storage/mediabank/a.pdf".into(),
        title: title.into(),
        found_on: "https://48.rosstat.gov.ru/folder/1".into(),
        published: chrono::NaiveDate::from_ymd_opt(2025, 3, 28),
        size: Some("45.1 Кб".into()),
        doc_type: "pdf".into(),
    };
    w.record_listing(1, "office", &[listed("Доклад")]).unwrap();
    w.record_listing(2, "office", &[listed("Доклад (исправлен)")])
        .unwrap();
    assert_eq!(count(&w, "SELECT count(*) FROM document_listing"), 1);
    assert_eq!(
        count(&w, "SELECT count(*) FROM document_catalog WHERE title = 'Доклад (исправлен)' AND status = 'unsupported_type' AND published_on = DATE '2025-03-28'"),
        1
    );
    assert_eq!(
        count(
            &w,
            "SELECT count(*) FROM document_listing WHERE last_run_id = 2"
        ),
        1
    );
}

/// A table split by category gives several figures per region and year: a panel takes the
/// figures without dimensions, or exactly the category asked for (matched as a map, whatever
/// the key order of the stored text), never a mix.
#[test]
fn a_yearly_panel_takes_one_series_of_a_table_split_by_category() {
    use std::collections::BTreeMap;
    let dir = tempfile::tempdir().unwrap();
    let mut w = Warehouse::open(&dir.path().join("w.duckdb")).unwrap();
    let run = w.begin_run().unwrap();
    let with = |cell: &str, year: i32, value: f64, dims: &[(&str, &str)]| {
        let mut o = obs("aaa", cell, year, value);
        o.dimensions = dims
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        o
    };
    let figures = [
        with("B5", 2020, 100.0, &[]),
        with("C5", 2021, 110.0, &[]),
        with("B6", 2020, 60.0, &[("category", "пенсии"), ("basis", "x")]),
        with("C6", 2021, 66.0, &[("category", "пенсии"), ("basis", "x")]),
        with(
            "B7",
            2020,
            40.0,
            &[("category", "стипендии"), ("basis", "x")],
        ),
        with(
            "C7",
            2021,
            44.0,
            &[("category", "стипендии"), ("basis", "x")],
        ),
    ];
    w.load_document(&doc("aaa", 1), &figures, &[], run).unwrap();
    let regions = ["42000000000".to_string()];
    let values = |dims: &[(&str, &str)]| -> Vec<f64> {
        let wanted: BTreeMap<String, String> = dims
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        w.yearly_panel("rosstat:10.2", PanelUnit::Region, &regions, &wanted)
            .unwrap()
            .iter()
            .map(|p| p.value)
            .collect()
    };
    assert_eq!(values(&[]), [100.0, 110.0]);
    assert_eq!(
        values(&[("basis", "x"), ("category", "пенсии")]),
        [60.0, 66.0]
    );
    assert_eq!(
        values(&[("category", "стипендии"), ("basis", "x")]),
        [40.0, 44.0]
    );
    assert!(values(&[("category", "пособия")]).is_empty());
    let sets = w.yearly_dimension_sets("rosstat:10.2").unwrap();
    assert_eq!(sets.len(), 3);
    assert!(sets[0].1.is_empty());
}

/// A new warehouse appears whole or not at all: it is built beside its path and renamed there, so a
/// process killed while DuckDB writes the new file leaves no file that later runs cannot open, and
/// what such an attempt left beside it is built again.
#[test]
fn a_new_warehouse_is_made_whole_beside_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("warehouse.duckdb");
    // What a first run killed mid-creation leaves: a header and nothing more.
    std::fs::write(dir.path().join(".warehouse.duckdb.new"), vec![0u8; 4096]).unwrap();
    std::fs::write(dir.path().join(".warehouse.duckdb.new.wal"), b"torn").unwrap();
    let w = Warehouse::open(&path).unwrap();
    assert!(w.schema_version().unwrap() > 0);
    assert_eq!(count(&w, "SELECT count(*) FROM observation"), 0);
    drop(w);
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["warehouse.duckdb"]);
    // And it opens again as it is.
    Warehouse::open(&path).unwrap();
}
