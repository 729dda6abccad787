//! Legacy .xls (BIFF8) workbooks, as the older editions of «Регионы России» ship them.
//!
//! The fixtures are the real corpus workbooks re-encoded as BIFF8 by the project's own writer
//! (`common/biff8.rs`): numbers as RK/MULRK/NUMBER records, strings through the shared string table,
//! merged areas kept. Parsing the .xls must give exactly what the .xlsx gives.

#[path = "common/biff8.rs"]
mod biff8;

use std::io::{Cursor, Write};
use std::path::PathBuf;

use biff8::{write_xls, xlsx_to_xls, XlsSheet, XlsValue};
use calamine::{Data, Reader};
use regstat_transform::{parse_document, parse_workbook, RegionDictionary};

fn corpus(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpus/rosstat")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_corpus_workbook_parses_the_same_as_xls() {
    for name in [
        "Раздел 2 - Труд.xlsx",
        "Раздел 8 - Валовой региональный продукт.xlsx",
        "Раздел 10 - Инвестиции.xlsx",
        "Раздел 12 - Промышленное производство.xlsx",
        "t4.xlsx",
        "Содержание.xlsx",
    ] {
        let xlsx = corpus(name);
        let xls = xlsx_to_xls(name, &xlsx);
        assert!(
            xls.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]),
            "{name}: not a compound file"
        );
        let xls_name = name.replace(".xlsx", ".xls");
        let from_xlsx = parse_workbook(name, &xlsx, RegionDictionary::builtin()).unwrap();
        let from_xls = parse_workbook(&xls_name, &xls, RegionDictionary::builtin())
            .unwrap_or_else(|e| panic!("{xls_name}: {e}"));
        assert!(
            from_xls.problems.is_empty(),
            "{xls_name}: {:#?}",
            from_xls.problems
        );
        assert_eq!(from_xls.tables, from_xlsx.tables, "{xls_name}: tables");
        assert_eq!(
            from_xls.observations.len(),
            from_xlsx.observations.len(),
            "{xls_name}: observations"
        );
        // Whole observations: values exactly as stored (RK, MULRK and NUMBER decoded to the same
        // doubles), regions, periods, footnotes and the sheet and cell of each figure.
        for (a, b) in from_xls.observations.iter().zip(&from_xlsx.observations) {
            assert_eq!(a, b, "{xls_name}");
        }
    }
}

#[test]
fn xls_members_of_a_zip_archive_are_parsed() {
    let xls = xlsx_to_xls("t4", &corpus("t4.xlsx"));
    let mut buf = Vec::new();
    {
        let mut z = zip::ZipWriter::new(Cursor::new(&mut buf));
        z.start_file("t4.xls", zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(&xls).unwrap();
        z.finish().unwrap();
    }
    let doc = parse_document("tables.zip", &buf, RegionDictionary::builtin(), &[]).unwrap();
    assert!(doc.problems.is_empty(), "{:#?}", doc.problems);
    assert!(!doc.observations.is_empty());
    assert!(doc
        .observations
        .iter()
        .all(|o| o.provenance.sheet.starts_with("[t4.xls]")));
}

/// The writer itself: many long Cyrillic strings force the shared string table over CONTINUE
/// records, split inside strings; numbers take every RK form and NUMBER; merged areas survive.
#[test]
fn the_fixture_writer_round_trips_through_calamine() {
    let mut sheet = XlsSheet {
        name: "Лист 1".into(),
        ..XlsSheet::default()
    };
    let strings: Vec<String> = (0..600)
        .map(|i| format!("Строка {i}: {}", "Липецкая область – ".repeat(i % 7 + 1)))
        .collect();
    for (i, s) in strings.iter().enumerate() {
        sheet.cells.push(((i as u16, 0), XlsValue::Text(s.clone())));
    }
    let numbers = [25339.0, 111.5, 12.34, 0.1 + 0.2, -7.0, 1e12, 0.5];
    for (i, v) in numbers.iter().enumerate() {
        sheet.cells.push(((0, 2 + i as u16), XlsValue::Number(*v)));
    }
    sheet.merged.push((0, 1, 10, 12));
    let bytes = write_xls(&[sheet]);

    let mut book: calamine::Xls<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes)).expect("xls opens");
    let range = book.worksheet_range("Лист 1").expect("sheet");
    for (i, s) in strings.iter().enumerate() {
        assert_eq!(
            range.get_value((i as u32, 0)),
            Some(&Data::String(s.clone()))
        );
    }
    for (i, v) in numbers.iter().enumerate() {
        let got = match range.get_value((0, 2 + i as u32)) {
            Some(Data::Float(x)) => *x,
            Some(Data::Int(x)) => *x as f64,
            other => panic!("column {}: {other:?}", 2 + i),
        };
        assert_eq!(got.to_bits(), v.to_bits(), "{v}");
    }
    let merged = book.merge_cells_by_sheet_name("Лист 1").unwrap();
    assert_eq!(merged.len(), 1);
    assert_eq!((merged[0].start, merged[0].end), ((0, 10), (1, 12)));
}

#[test]
fn unreadable_workbooks_say_what_they_are_and_why() {
    let xls = xlsx_to_xls("t4", &corpus("t4.xlsx"));
    let cut = &xls[..xls.len() / 3];
    let err = parse_workbook("old.xls", cut, RegionDictionary::builtin())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("old.xls: not a readable workbook: legacy .xls (BIFF) workbook: "),
        "{err}"
    );
    assert!(!err.contains("Cannot detect file format"), "{err}");

    let page = b"\r\n<html><body><table><tr><td>1</td></tr></table></body></html>";
    let err = parse_workbook("t4.xls", page, RegionDictionary::builtin())
        .unwrap_err()
        .to_string();
    assert!(err.contains("found an HTML or XML document"), "{err}");

    let err = parse_workbook("x.xls", b"\x00\x01garbage", RegionDictionary::builtin())
        .unwrap_err()
        .to_string();
    assert!(err.contains("found bytes 00 01 67 61"), "{err}");
}
