//! Issue 15: a regional office's table by municipal formation, read in the subject it is about with
//! the OKTMO classifier: districts with « - всего», settlements, a city okrug, a category row under a
//! formation, and an unknown label named by its cell. The classifier lines are the printed
//! classifier's (volume 3, Республика Адыгея), so the check digits are the real ones.

use std::sync::Arc;

use regstat_transform::municipal::MunicipalDictionary;
use regstat_transform::{parse_workbook, Period, RegionDictionary};
use rust_xlsxwriter::Workbook;

const ADYGEA: &str = "79 000 000    ;3;Муниципальные образования Республики Адыгеи (Адыгеи);\n\
79 600 000    ;0;Муниципальные районы Республики Адыгеи (Адыгеи);\n\
79 605 000    ;2;Гиагинский муниципальный район;ст-ца Гиагинская\n\
79 605 400    ;4;Сельские поселения Гиагинского муниципального района/;\n\
79 605 402    ;9;- Айрюмовское;п Новый\n\
79 605 407    ;5;- Гиагинское;ст-ца Гиагинская\n\
79 700 000    ;2;Городские округа Республики Адыгеи (Адыгеи)/;\n\
79 701 000    ;7;- город Майкоп;г Майкоп\n\
;;;\n";

fn workbook() -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("oktmo_79").unwrap();
    ws.write_string(
        0,
        0,
        "Численность постоянного населения по муниципальным образованиям",
    )
    .unwrap();
    ws.write_string(1, 0, "(человек)").unwrap();
    ws.write_number(2, 1, 2022.0).unwrap();
    ws.write_number(2, 2, 2023.0).unwrap();
    let rows: [(&str, f64); 7] = [
        ("Республика Адыгея", 496_000.0),
        ("Гиагинский муниципальный район - всего", 31_000.0),
        ("в том числе: сельское население", 31_000.0),
        ("Айрюмовское сельское поселение", 2_100.0),
        ("Гиагинское сельское поселение", 13_500.0),
        ("г. Майкоп", 140_000.0),
        ("Неведомский район", 1.0),
    ];
    for (i, (label, value)) in rows.iter().enumerate() {
        let r = 3 + i as u32;
        ws.write_string(r, 0, *label).unwrap();
        ws.write_number(r, 1, *value).unwrap();
        ws.write_number(r, 2, value + 1.0).unwrap();
    }
    wb.save_to_buffer().unwrap()
}

fn dimensions(doc: &regstat_transform::ParsedDocument, cell: &str) -> Vec<(String, String)> {
    doc.observations
        .iter()
        .find(|o| o.provenance.cell == cell)
        .unwrap_or_else(|| panic!("no figure at {cell}"))
        .dimensions
        .clone()
}

fn pair(k: &str, v: &str) -> (String, String) {
    (k.to_string(), v.to_string())
}

#[test]
fn municipal_rows_resolve_in_their_subject_and_unknown_ones_are_named() {
    let bytes = workbook();
    // Without a classifier every municipal label is a problem, as before.
    let plain = parse_workbook("mo.xlsx", &bytes, RegionDictionary::builtin()).unwrap();
    assert_eq!(plain.observations.len(), 2, "only the subject's row");
    assert_eq!(plain.problems.len(), 6, "{:?}", plain.problems);

    let classifier = Arc::new(
        MunicipalDictionary::from_volumes([("tom3_oktmo_1.csv", ADYGEA.as_bytes())]).unwrap(),
    );
    let regions = RegionDictionary::builtin()
        .with_municipalities("79000000000", classifier)
        .unwrap();
    let doc = parse_workbook("mo.xlsx", &bytes, &regions).unwrap();
    assert_eq!(doc.observations.len(), 12, "{:?}", doc.problems);
    assert!(doc
        .observations
        .iter()
        .all(|o| o.region_code == "79000000000"));
    assert!(dimensions(&doc, "B4").is_empty(), "the subject's own total");
    assert_eq!(dimensions(&doc, "B5"), [pair("municipality", "79605000")]);
    assert_eq!(
        dimensions(&doc, "C6"),
        [
            pair("municipality", "79605000"),
            pair("category", "сельское население")
        ]
    );
    assert_eq!(dimensions(&doc, "B7"), [pair("municipality", "79605402")]);
    assert_eq!(dimensions(&doc, "B8"), [pair("municipality", "79605407")]);
    assert_eq!(dimensions(&doc, "C9"), [pair("municipality", "79701000")]);
    let c9 = doc
        .observations
        .iter()
        .find(|o| o.provenance.cell == "C9")
        .unwrap();
    assert_eq!(c9.period, Period::Year(2023));
    assert_eq!(c9.value, Some(140_001.0));
    assert_eq!(&*c9.region_label, "г. Майкоп");
    // The unknown district: one problem naming its cell, nothing guessed.
    assert_eq!(doc.problems.len(), 1, "{:?}", doc.problems);
    let p = &doc.problems[0];
    assert_eq!(p.location.cell.as_deref(), Some("A10"));
    assert!(p.found.contains("Неведомский"), "{p:?}");
}

#[test]
fn a_subject_without_formations_in_the_classifier_is_refused() {
    let classifier = Arc::new(
        MunicipalDictionary::from_volumes([("tom3_oktmo_1.csv", ADYGEA.as_bytes())]).unwrap(),
    );
    let err = RegionDictionary::builtin()
        .with_municipalities("42000000000", classifier.clone())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no municipal formation of") && err.contains("OKTMO 42"),
        "{err}"
    );
    let err = RegionDictionary::builtin()
        .with_municipalities("643", classifier)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a subject"), "{err}");
}
