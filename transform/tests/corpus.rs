//! The parser against the real Rosstat workbooks in ../shared/corpus/rosstat.

use std::path::PathBuf;

use regstat_transform::{parse_workbook, Period, RegionDictionary, Status};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/rosstat")
}

fn parse(name: &str) -> regstat_transform::ParsedDocument {
    let path = corpus_dir().join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_workbook(name, &bytes, RegionDictionary::builtin()).expect("workbook parses")
}

#[test]
fn investment_per_capita_lipetsk_2005_traces_to_its_cell() {
    let doc = parse("Раздел 10 - Инвестиции.xlsx");
    let obs = doc
        .observations
        .iter()
        .find(|o| {
            &*o.provenance.table_code == "10.2"
                && o.region_code == "42000000000"
                && o.period == Period::Year(2005)
        })
        .expect("Lipetsk 2005 in 10.2");
    assert_eq!(obs.value, Some(25339.0));
    assert_eq!(&*obs.provenance.sheet, "10.2.");
    assert_eq!(obs.provenance.cell, "G18");
    // Issue 13: the unit is a unit; the price basis is beside it.
    assert_eq!(&*obs.unit, "рублей");
    assert_eq!(
        obs.basis.as_deref(),
        Some("в фактически действовавших ценах")
    );
    assert_eq!(
        &*obs.provenance.table_title,
        "ИНВЕСТИЦИИ В ОСНОВНОЙ КАПИТАЛ на душу населения"
    );
    // The title's footnote mark 1) applies to every figure of the table.
    assert!(
        obs.footnotes
            .iter()
            .any(|f| f.starts_with("1) Данные за 2011-2021")),
        "{:?}",
        obs.footnotes
    );
}

#[test]
fn compendium_sections_parse_with_every_cell_accounted_for() {
    for name in [
        "Раздел 2 - Труд.xlsx",
        "Раздел 8 - Валовой региональный продукт.xlsx",
        "Раздел 10 - Инвестиции.xlsx",
        "Раздел 12 - Промышленное производство.xlsx",
    ] {
        let doc = parse(name);
        assert!(
            doc.problems.is_empty(),
            "{name}: {:#?}",
            &doc.problems[..doc.problems.len().min(10)]
        );
        assert!(!doc.tables.is_empty(), "{name}: no tables");
        for t in &doc.tables {
            assert!(t.grid_cells > 0, "{name} {}: empty grid", t.code);
            assert_eq!(
                t.grid_cells,
                t.values + t.statuses + t.rejected,
                "{name} {}",
                t.code
            );
        }
        let n: usize = doc.tables.iter().map(|t| t.values + t.statuses).sum();
        assert_eq!(n, doc.observations.len(), "{name}");
    }
}

#[test]
fn grp_total_row_labelled_with_the_indicator_is_russia() {
    let doc = parse("Раздел 8 - Валовой региональный продукт.xlsx");
    let russia_2000 = doc
        .observations
        .iter()
        .find(|o| {
            &*o.provenance.table_code == "8.1"
                && o.region_code == "643"
                && o.period == Period::Year(2000)
        })
        .expect("Russia 2000 in 8.1");
    assert_eq!(russia_2000.provenance.cell, "B7");
    assert!((russia_2000.value.unwrap() - 5_753_671.6).abs() < 1e-6);
    assert!(doc
        .observations
        .iter()
        .all(|o| o.status == Status::Ok || o.value.is_none() || o.status == Status::RatioTimes));
}

#[test]
fn standalone_mediabank_table_t4() {
    let doc = parse("t4.xlsx");
    assert!(doc.problems.is_empty(), "{:#?}", doc.problems);
    assert_eq!(doc.tables.len(), 1, "{:?}", doc.tables);
    let t = &doc.tables[0];
    assert!(
        t.title
            .starts_with("Среднемесячная номинальная начисленная заработная плата"),
        "{}",
        t.title
    );
    assert_eq!(
        t.code, "t4",
        "a generic sheet name gives way to the file's name"
    );
    assert_eq!(t.grid_cells, t.values + t.statuses + t.rejected);
    let russia_2000 = doc
        .observations
        .iter()
        .find(|o| o.region_code == "643" && o.period == Period::Year(2000))
        .unwrap();
    assert_eq!(
        (russia_2000.value, russia_2000.provenance.cell.as_str()),
        (Some(2223.4), "B6")
    );
    // `Еврейская авт.область` and `Чукотский авт.округ` resolve.
    assert!(doc
        .observations
        .iter()
        .any(|o| o.region_code == "99000000000"));
    assert!(doc
        .observations
        .iter()
        .any(|o| o.region_code == "77000000000"));
}

/// In the appendix a table sheet is named by its table's code, so the code read from the title must
/// be the sheet's name (a title printed without the space after its code, `2.16.ЧИСЛЕННОСТЬ`, once
/// became table «2», titled with the section's name).
#[test]
fn every_appendix_table_takes_its_code_from_its_own_title() {
    for name in [
        "Раздел 2 - Труд.xlsx",
        "Раздел 8 - Валовой региональный продукт.xlsx",
        "Раздел 10 - Инвестиции.xlsx",
        "Раздел 12 - Промышленное производство.xlsx",
    ] {
        for t in &parse(name).tables {
            assert_eq!(
                t.code,
                t.sheet.trim().trim_end_matches('.'),
                "{name}: {t:?}"
            );
            assert!(!t.title.is_empty(), "{name}: {t:?}");
        }
    }
}

/// Sub-tables carry their parent's title and its footnote marks, whether the parent's title line has
/// a code (10.4. over 10.4.1.) or not (the line above 2.18.1.).
#[test]
fn sub_tables_carry_their_parents_title_and_footnotes() {
    let doc = parse("Раздел 10 - Инвестиции.xlsx");
    let t = doc.tables.iter().find(|t| t.code == "10.4.1").unwrap();
    assert_eq!(
        t.title,
        "ПОСТУПЛЕНИЕ ПРЯМЫХ ИНОСТРАННЫХ ИНВЕСТИЦИЙ В РОССИЙСКУЮ ФЕДЕРАЦИЮ. Сальдо"
    );
    let figures: Vec<_> = doc
        .observations
        .iter()
        .filter(|o| &*o.provenance.table_code == "10.4.1")
        .collect();
    assert!(!figures.is_empty());
    assert!(figures.iter().all(|o| o
        .footnotes
        .iter()
        .any(|f| f.starts_with("1) По данным Банка России"))));

    let doc = parse("Раздел 2 - Труд.xlsx");
    let t = doc.tables.iter().find(|t| t.code == "2.18.1").unwrap();
    assert_eq!(
        t.title,
        "ЧИСЛЕННОСТЬ МУНИЦИПАЛЬНЫХ СЛУЖАЩИХ ОРГАНОВ МЕСТНОГО САМОУПРАВЛЕНИЯ. Всего"
    );
    assert!(doc
        .observations
        .iter()
        .filter(|o| &*o.provenance.table_code == "2.18.1")
        .all(|o| o
            .footnotes
            .iter()
            .any(|f| f.starts_with("1) Включая избирательные"))));
}

#[test]
fn the_2023_edition_prints_todays_districts() {
    let doc = parse("Раздел 10 - Инвестиции.xlsx");
    for (label, code) in [
        ("Южный федеральный округ", "040"),
        ("Сибирский федеральный округ", "041"),
        ("Дальневосточный федеральный округ", "042"),
    ] {
        let codes: std::collections::BTreeSet<&str> = doc
            .observations
            .iter()
            .filter(|o| &*o.region_label == label)
            .map(|o| o.region_code.as_str())
            .collect();
        assert_eq!(codes.into_iter().collect::<Vec<_>>(), [code], "{label}");
    }
}

#[test]
fn the_contents_file_has_no_tables_and_no_errors() {
    let doc = parse("Содержание.xlsx");
    assert!(doc.tables.is_empty() && doc.problems.is_empty() && doc.observations.is_empty());
}

/// Every table of the corpus has a catalogue identity, and within the 2023 appendix no two tables share
/// one: no figure of it is left under an edition-bound `rosstat:<code>` id.
#[test]
fn the_catalogue_names_every_corpus_table_once() {
    let cat = regstat_transform::Catalogue::builtin();
    let mut seen: std::collections::BTreeMap<String, String> = Default::default();
    for name in [
        "Раздел 2 - Труд.xlsx",
        "Раздел 8 - Валовой региональный продукт.xlsx",
        "Раздел 10 - Инвестиции.xlsx",
        "Раздел 12 - Промышленное производство.xlsx",
    ] {
        for t in &parse(name).tables {
            let id = cat.identify(&t.title).unwrap_or_else(|| {
                panic!("{name} {}: «{}» is in no catalogue entry", t.code, t.title)
            });
            if let Some(other) = seen.insert(id.id.clone(), t.code.clone()) {
                panic!("{} and {} are both {}", other, t.code, id.id);
            }
        }
    }
    assert_eq!(seen.len(), 56 - 1, "the 2023 sections' tables (t4 aside)");
}

#[test]
fn catalogue_identifies_corpus_tables_by_title() {
    let cat = regstat_transform::Catalogue::builtin();
    let expected = [
        ("Раздел 8 - Валовой региональный продукт.xlsx", "8.1", "grp"),
        (
            "Раздел 8 - Валовой региональный продукт.xlsx",
            "8.2",
            "grp_per_capita",
        ),
        (
            "Раздел 8 - Валовой региональный продукт.xlsx",
            "8.3",
            "grp_volume_index",
        ),
        ("Раздел 10 - Инвестиции.xlsx", "10.1", "investment"),
        (
            "Раздел 10 - Инвестиции.xlsx",
            "10.2",
            "investment_per_capita",
        ),
        (
            "Раздел 10 - Инвестиции.xlsx",
            "10.3",
            "investment_volume_index",
        ),
        (
            "Раздел 12 - Промышленное производство.xlsx",
            "12.3.1",
            "industrial_production_index_okved",
        ),
        (
            "Раздел 12 - Промышленное производство.xlsx",
            "12.3.2",
            "industrial_production_index",
        ),
        (
            "Раздел 12 - Промышленное производство.xlsx",
            "12.5.1",
            "manufacturing_index_okved",
        ),
        (
            "Раздел 12 - Промышленное производство.xlsx",
            "12.5.2",
            "manufacturing_index",
        ),
        ("Раздел 2 - Труд.xlsx", "2.1", "labour_force"),
        ("Раздел 2 - Труд.xlsx", "2.10.1", "unemployment_rate"),
        ("t4.xlsx", "t4", "average_monthly_wage"),
    ];
    for (file, code, id) in expected {
        let doc = parse(file);
        let table = doc
            .tables
            .iter()
            .find(|t| t.code == code)
            .unwrap_or_else(|| panic!("{file}: no table {code}"));
        assert_eq!(
            cat.identify(&table.title).map(|e| e.id.as_str()),
            Some(id),
            "{file} {code}: {}",
            table.title
        );
    }
    // No catalogue entry claims two tables of one workbook.
    for file in [
        "Раздел 2 - Труд.xlsx",
        "Раздел 8 - Валовой региональный продукт.xlsx",
        "Раздел 10 - Инвестиции.xlsx",
        "Раздел 12 - Промышленное производство.xlsx",
    ] {
        let doc = parse(file);
        let mut seen = std::collections::HashMap::new();
        for t in &doc.tables {
            if let Some(e) = cat.identify(&t.title) {
                if let Some(other) = seen.insert(e.id.clone(), t.code.clone()) {
                    panic!("{file}: {} claims both {other} and {}", e.id, t.code);
                }
            }
        }
    }
}

/// Issue 13: across the corpus no unit carries a price basis or another qualifier; every one is in
/// `basis`, and each table's figures share its unit and basis.
#[test]
fn units_are_units_across_the_corpus() {
    let mut with_basis = 0;
    for entry in std::fs::read_dir(corpus_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".xlsx") && !name.ends_with(".xls") {
            continue;
        }
        let doc = parse(&name);
        for o in &doc.observations {
            assert!(
                !o.unit
                    .split("; ")
                    .any(regstat_transform::unit::is_qualifier),
                "{name} {} {}: unit {:?}",
                o.provenance.sheet,
                o.provenance.cell,
                o.unit
            );
            with_basis += usize::from(o.basis.is_some());
        }
        for t in &doc.tables {
            assert!(
                !t.unit.contains("ценах"),
                "{name} {}: table unit {:?}",
                t.sheet,
                t.unit
            );
        }
    }
    assert!(with_basis > 1000, "{with_basis} figures with a basis");
}
