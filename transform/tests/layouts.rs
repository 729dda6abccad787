//! Layouts beyond the corpus, made by rust_xlsxwriter: two header levels, sub-periods under a title
//! year, stacked blocks, text numbers with marks, missing markers and ratios.

#[path = "common/rar4.rs"]
mod rar4;

use rar4::{rar4, rar4_raw_names};
use regstat_transform::{parse_workbook, Period, RegionDictionary, Status};
use rust_xlsxwriter::Workbook;

fn parse(build: impl FnOnce(&mut rust_xlsxwriter::Worksheet)) -> regstat_transform::ParsedDocument {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("3.1.").unwrap();
    build(ws);
    let bytes = wb.save_to_buffer().unwrap();
    parse_workbook("test.xlsx", &bytes, RegionDictionary::builtin()).unwrap()
}

/// An archive (or any document) parsed as the pipeline parses it.
fn parse_archive(name: &str, bytes: &[u8]) -> regstat_transform::ParsedDocument {
    regstat_transform::parse_document(name, bytes, RegionDictionary::builtin(), &[]).unwrap()
}

/// The figure read from `cell` (A1).
fn at<'d>(
    doc: &'d regstat_transform::ParsedDocument,
    cell: &str,
) -> &'d regstat_transform::Observation {
    doc.observations
        .iter()
        .find(|o| o.provenance.cell == cell)
        .unwrap_or_else(|| panic!("no figure at {cell}"))
}

#[test]
fn quarters_under_years() {
    let doc = parse(|ws| {
        ws.write_string(1, 0, "3.1. ИНДЕКС ПОТРЕБИТЕЛЬСКИХ ЦЕН")
            .unwrap();
        ws.write_string(2, 0, "(в процентах к предыдущему кварталу)")
            .unwrap();
        ws.write_number(3, 1, 2021.0).unwrap();
        ws.write_number(3, 5, 2022.0).unwrap();
        for (i, q) in ["I квартал", "II квартал", "III квартал", "IV квартал"]
            .iter()
            .enumerate()
        {
            ws.write_string(4, 1 + i as u16, *q).unwrap();
            ws.write_string(4, 5 + i as u16, *q).unwrap();
        }
        ws.write_string(5, 0, "Липецкая область").unwrap();
        for c in 1..9u16 {
            ws.write_number(5, c, 100.0 + c as f64).unwrap();
        }
    });
    assert!(doc.problems.is_empty(), "{:?}", doc.problems);
    assert_eq!(doc.observations.len(), 8);
    let q = at(&doc, "G6");
    assert_eq!(q.period, Period::Quarter(2022, 2));
    assert_eq!(q.value, Some(106.0));
    assert_eq!(&*q.unit, "в процентах к предыдущему кварталу");
}

#[test]
fn months_of_the_year_in_the_title_and_cell_spellings() {
    let doc = parse(|ws| {
        ws.write_string(1, 0, "3.1. ОБОРОТ РОЗНИЧНОЙ ТОРГОВЛИ в 2022 году1)")
            .unwrap();
        ws.write_string(2, 0, "(миллионов рублей)").unwrap();
        for (i, m) in ["январь", "февраль", "март", "апрель"].iter().enumerate()
        {
            ws.write_string(3, 1 + i as u16, *m).unwrap();
        }
        ws.write_string(4, 0, "Липецкая область").unwrap();
        ws.write_string(4, 1, "111,51)").unwrap();
        ws.write_string(4, 2, "…").unwrap();
        ws.write_string(4, 3, "в 5,8 р.").unwrap();
        ws.write_string(4, 4, "x").unwrap();
        ws.write_string(5, 0, "¾¾¾¾¾").unwrap();
        ws.write_string(6, 0, "1) Оценка.").unwrap();
    });
    assert!(doc.problems.is_empty(), "{:?}", doc.problems);
    let by_cell = |c: &str| at(&doc, c);
    assert_eq!(by_cell("B5").period, Period::Month(2022, 1));
    assert_eq!(by_cell("B5").value, Some(111.5));
    assert_eq!(
        by_cell("B5")
            .footnotes
            .iter()
            .map(|f| &**f)
            .collect::<Vec<&str>>(),
        ["1) Оценка."]
    );
    assert_eq!(by_cell("C5").status, Status::NotAvailable);
    assert_eq!(by_cell("C5").value, None);
    assert_eq!(
        (by_cell("D5").status, by_cell("D5").value),
        (Status::RatioTimes, Some(5.8))
    );
    assert_eq!(by_cell("E5").status, Status::NotApplicable);
    let t = &doc.tables[0];
    assert_eq!(
        (t.grid_cells, t.values, t.statuses, t.rejected),
        (4, 2, 2, 0)
    );
}

#[test]
fn stacked_blocks_are_separate_tables() {
    let doc = parse(|ws| {
        ws.write_string(1, 0, "3.1.1. ПЕРВАЯ ТАБЛИЦА").unwrap();
        ws.write_string(2, 0, "(тонн)").unwrap();
        ws.write_number(3, 1, 2020.0).unwrap();
        ws.write_number(3, 2, 2021.0).unwrap();
        ws.write_string(4, 0, "Липецкая область").unwrap();
        ws.write_number(4, 1, 1.0).unwrap();
        ws.write_number(4, 2, 2.0).unwrap();
        ws.write_string(6, 0, "3.1.2. ВТОРАЯ ТАБЛИЦА").unwrap();
        ws.write_string(7, 0, "(штук)").unwrap();
        ws.write_number(8, 1, 2022.0).unwrap();
        ws.write_number(8, 2, 2023.0).unwrap();
        ws.write_string(9, 0, "Тамбовская область").unwrap();
        ws.write_number(9, 1, 3.0).unwrap();
        ws.write_string(9, 2, "-").unwrap();
        ws.write_string(10, 0, "Атлантида").unwrap();
        ws.write_number(10, 1, 9.0).unwrap();
    });
    assert_eq!(doc.tables.len(), 2, "{:?}", doc.tables);
    assert_eq!(
        (doc.tables[0].code.as_str(), doc.tables[0].unit.as_str()),
        ("3.1.1", "тонн")
    );
    assert_eq!(
        (doc.tables[1].code.as_str(), doc.tables[1].unit.as_str()),
        ("3.1.2", "штук")
    );
    let second: Vec<_> = doc
        .observations
        .iter()
        .filter(|o| &*o.provenance.table_code == "3.1.2")
        .collect();
    assert_eq!(second.len(), 2);
    assert_eq!(second[0].period, Period::Year(2022));
    assert_eq!(second[1].status, Status::NoActivity);
    assert_eq!(doc.problems.len(), 1);
    assert_eq!(doc.problems[0].location.cell.as_deref(), Some("A11"));
    assert_eq!(doc.tables[1].rejected, 1);
}

/// Table 10.2. with Lipetsk oblast's 2005 and 2006 figures, as a sheet of `wb`.
fn add_investment_sheet(wb: &mut Workbook) {
    let ws = wb.add_worksheet();
    ws.set_name("10.2.").unwrap();
    ws.write_string(
        1,
        0,
        "10.2. ИНВЕСТИЦИИ В ОСНОВНОЙ КАПИТАЛ на душу населения",
    )
    .unwrap();
    ws.write_string(2, 0, "(рублей)").unwrap();
    ws.write_number(3, 1, 2005.0).unwrap();
    ws.write_number(3, 2, 2006.0).unwrap();
    ws.write_string(4, 0, "Липецкая область").unwrap();
    ws.write_number(4, 1, 25339.0).unwrap();
    ws.write_number(4, 2, 37382.1).unwrap();
}

fn investment_book() -> Vec<u8> {
    let mut wb = Workbook::new();
    add_investment_sheet(&mut wb);
    wb.save_to_buffer().unwrap()
}

#[test]
fn zip_archives_of_workbooks_keep_the_member_in_provenance() {
    use std::io::Write;
    let book = investment_book();
    let mut buf = Vec::new();
    {
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(&mut buf));
        let opts = zip::write::SimpleFileOptions::default();
        z.start_file("Pril/Раздел 10 - Инвестиции.xlsx", opts)
            .unwrap();
        z.write_all(&book).unwrap();
        z.start_file("readme.txt", opts).unwrap();
        z.write_all(b"not a workbook").unwrap();
        z.start_file("Раздел 99.xlsx", opts).unwrap();
        z.write_all(b"broken").unwrap();
        z.finish().unwrap();
    }
    let doc = parse_archive("Pril_Region_Pokaz_2023.zip", &buf);
    assert_eq!(doc.observations.len(), 2);
    assert_eq!(
        &*doc.observations[0].provenance.sheet,
        "[Раздел 10 - Инвестиции.xlsx]10.2."
    );
    assert_eq!(doc.observations[0].provenance.cell, "B5");
    assert_eq!(
        doc.problems.len(),
        1,
        "the broken member is a problem, not a failure of the archive"
    );
    assert_eq!(
        doc.problems[0].location.file,
        "Pril_Region_Pokaz_2023.zip/Раздел 99.xlsx"
    );
}

#[test]
fn rar_archives_of_workbooks_are_read_member_by_member() {
    let book = investment_book();
    let rar = rar4(&[
        ("Pril/Razdel_10.xlsx", &book),
        ("readme.txt", b"skip me"),
        ("Razdel_99.xlsx", b"broken"),
    ]);
    let doc = parse_archive("Pril_Region_Pokaz_2025.rar", &rar);
    assert_eq!(doc.observations.len(), 2, "{:?}", doc.problems);
    assert_eq!(
        &*doc.observations[0].provenance.sheet,
        "[Razdel_10.xlsx]10.2."
    );
    assert_eq!(doc.observations[0].value, Some(25339.0));
    assert_eq!(doc.problems.len(), 1);
    assert_eq!(
        doc.problems[0].location.file,
        "Pril_Region_Pokaz_2025.rar/Razdel_99.xlsx"
    );
    // A damaged archive is an error naming the file, never a panic.
    let err =
        regstat_transform::parse_document("bad.rar", &rar[..40], RegionDictionary::builtin(), &[])
            .unwrap_err();
    assert!(err.to_string().contains("bad.rar"), "{err}");
}

/// An archive that yields no workbook, because it holds none or because its headers are garbage
/// after the RAR signature (which unrar reads as the end of the archive), is a problem naming the
/// archive: never an empty document that passes for a read one.
#[test]
fn an_archive_without_a_workbook_is_a_problem_naming_it() {
    use std::io::Write;
    let mut zip_bytes = Vec::new();
    {
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(&mut zip_bytes));
        z.start_file("readme.txt", zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(b"not a workbook").unwrap();
        z.finish().unwrap();
    }
    let rar = rar4(&[("readme.txt", b"not a workbook")]);
    let mut garbage = b"Rar!\x1a\x07\x01\x00".to_vec();
    garbage.extend(b"not the headers of any archive".repeat(4));
    for (name, bytes, found) in [
        ("only_text.zip", &zip_bytes, "1 member, none a workbook"),
        ("only_text.rar", &rar, "1 member, none a workbook"),
        (
            "garbage.rar",
            &garbage,
            "no member: an empty or damaged archive",
        ),
    ] {
        let doc = parse_archive(name, bytes);
        assert!(doc.observations.is_empty(), "{name}");
        assert_eq!(doc.problems.len(), 1, "{name}: {:?}", doc.problems);
        let problem = &doc.problems[0];
        assert_eq!(problem.location.file, name);
        assert_eq!(
            problem.expected,
            "an archive holding a workbook (.xlsx or .xls)"
        );
        assert_eq!(problem.found, found, "{name}");
    }
}

/// Member names outside ASCII, stored without RAR's Unicode flag: as UTF-8 (a Linux `rar`) or in the
/// OEM code page CP866 (WinRAR on Russian Windows). Both keep their Cyrillic in provenance.
#[test]
fn rar_member_names_in_utf8_or_the_oem_code_page_keep_their_cyrillic() {
    let book = investment_book();
    let oem_name = encoding_rs::IBM866
        .encode("Раздел 12 - Промышленность.xlsx")
        .0;
    let rar = rar4_raw_names(&[
        ("Раздел 10 - Инвестиции.xlsx".as_bytes(), &book),
        (&oem_name, &book),
    ]);
    let doc = parse_archive("Pril_Region_Pokaz_2025.rar", &rar);
    assert!(doc.problems.is_empty(), "{:?}", doc.problems);
    let sheets: Vec<&str> = doc
        .observations
        .iter()
        .map(|o| &*o.provenance.sheet)
        .collect();
    assert_eq!(
        sheets,
        [
            "[Раздел 10 - Инвестиции.xlsx]10.2.",
            "[Раздел 10 - Инвестиции.xlsx]10.2.",
            "[Раздел 12 - Промышленность.xlsx]10.2.",
            "[Раздел 12 - Промышленность.xlsx]10.2."
        ]
    );
}

/// A ZIP made on Russian Windows stores names in CP866 without the UTF-8 flag; the zip crate alone
/// would read them as CP437 («Ђ §¤Ґ«»).
#[test]
fn zip_member_names_in_the_oem_code_page_keep_their_cyrillic() {
    let cyrillic = "Раздел 10.xlsx";
    let placeholder = "Razdel 10.xlsx"; // ASCII, as many bytes as the CP866 name
    let oem = encoding_rs::IBM866.encode(cyrillic).0;
    assert_eq!(oem.len(), placeholder.len());
    let mut zip_bytes = Vec::new();
    {
        let mut z = zip::ZipWriter::new(std::io::Cursor::new(&mut zip_bytes));
        z.start_file(placeholder, zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut z, &investment_book()).unwrap();
        z.finish().unwrap();
    }
    // The name sits in the local header and in the central directory; swap both for the OEM bytes.
    let mut swapped = 0;
    for at in 0..zip_bytes.len() - placeholder.len() {
        if &zip_bytes[at..at + placeholder.len()] == placeholder.as_bytes() {
            zip_bytes[at..at + placeholder.len()].copy_from_slice(&oem);
            swapped += 1;
        }
    }
    assert_eq!(swapped, 2);
    let doc = parse_archive("archive.zip", &zip_bytes);
    assert!(doc.problems.is_empty(), "{:?}", doc.problems);
    assert_eq!(
        &*doc.observations[0].provenance.sheet,
        "[Раздел 10.xlsx]10.2."
    );
}

/// A mediabank table in the `VRP_s_1998.xlsx` style: an `Обновлено` line, a title over several rows, the
/// unit, years written `1998г.`, a generic sheet name, footnotes under a separator.
#[test]
fn standalone_table_with_a_title_over_several_rows() {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Лист1").unwrap();
    ws.write_string(0, 0, "Обновлено 01.03.2024").unwrap();
    ws.write_string(1, 0, "Валовой региональный продукт")
        .unwrap();
    ws.write_string(2, 0, "по субъектам Российской Федерации")
        .unwrap();
    ws.write_string(3, 0, "в 1998-2000гг.1)").unwrap();
    ws.write_string(4, 0, "(в текущих основных ценах; миллионов рублей)")
        .unwrap();
    for (i, y) in ["1998г.", "1999г.", "2000 г."].iter().enumerate() {
        ws.write_string(5, 1 + i as u16, *y).unwrap();
    }
    let rows: [(&str, [f64; 3]); 3] = [
        (
            "Российская Федерация",
            [2_342_514.5, 4_377_286.3, 6_534_219.5],
        ),
        (
            "Центральный федеральный округ",
            [809_361.4, 1_467_049.9, 2_253_806.1],
        ),
        ("Липецкая область", [16_512.2, 30_254.6, 43_181.1]),
    ];
    for (r, (label, values)) in rows.iter().enumerate() {
        ws.write_string(6 + r as u32, 0, *label).unwrap();
        for (c, v) in values.iter().enumerate() {
            ws.write_number(6 + r as u32, 1 + c as u16, *v).unwrap();
        }
    }
    ws.write_string(10, 0, "_______________").unwrap();
    ws.write_string(11, 0, "1) Данные за 1998-2000 гг. пересчитаны.")
        .unwrap();
    let bytes = wb.save_to_buffer().unwrap();
    let doc = parse_workbook("VRP_s_1998.xlsx", &bytes, RegionDictionary::builtin()).unwrap();
    assert!(doc.problems.is_empty(), "{:#?}", doc.problems);
    assert_eq!(doc.tables.len(), 1);
    let t = &doc.tables[0];
    assert_eq!(t.code, "VRP_s_1998");
    assert_eq!(
        t.title,
        "Валовой региональный продукт по субъектам Российской Федерации в 1998-2000гг."
    );
    assert_eq!(&*t.unit, "миллионов рублей");
    assert_eq!(t.basis.as_deref(), Some("в текущих основных ценах"));
    // The whole title is what identifies the series as the GRP of the compendium's 8.1 and 9.1.
    assert_eq!(
        regstat_transform::Catalogue::builtin()
            .identify(&t.title)
            .map(|e| e.id.as_str()),
        Some("grp")
    );
    assert_eq!((t.grid_cells, t.values), (9, 9));
    let lipetsk_1999 = doc
        .observations
        .iter()
        .find(|o| o.region_code == "42000000000" && o.period == Period::Year(1999))
        .unwrap();
    assert_eq!(lipetsk_1999.value, Some(30_254.6));
    assert_eq!(lipetsk_1999.provenance.cell, "C9");
    assert_eq!(
        lipetsk_1999
            .footnotes
            .iter()
            .map(|f| &**f)
            .collect::<Vec<&str>>(),
        ["1) Данные за 1998-2000 гг. пересчитаны."]
    );
}

/// An older edition (the 2009 style): districts of their day under their bare names, subjects since
/// merged (Пермская область with Коми-Пермяцкий автономный округ, Читинская область). Each district row
/// takes the code of the composition the table lists under it.
#[test]
fn an_older_edition_keeps_the_districts_of_its_day() {
    let rows: &[&str] = &[
        "Российская Федерация",
        "Южный федеральный округ",
        "Республика Адыгея",
        "Республика Дагестан",
        "Ростовская область",
        "Приволжский федеральный округ",
        "Пермская область",
        "в том числе:",
        "Коми-Пермяцкий автономный округ",
        "Сибирский федеральный округ",
        "Республика Бурятия",
        "Читинская область",
        "Агинский Бурятский авт.округ",
        "Новосибирская область",
        "Дальневосточный федеральный округ",
        "Республика Саха (Якутия)",
        "Корякский автономный округ",
    ];
    let doc = parse(|ws| {
        ws.write_string(0, 0, "9.1. ВАЛОВОЙ РЕГИОНАЛЬНЫЙ ПРОДУКТ")
            .unwrap();
        ws.write_string(1, 0, "(миллионов рублей)").unwrap();
        ws.write_number(2, 1, 2006.0).unwrap();
        ws.write_number(2, 2, 2007.0).unwrap();
        for (i, label) in rows.iter().enumerate() {
            let row = 3 + i as u32;
            ws.write_string(row, 0, *label).unwrap();
            if !label.starts_with("в том") {
                ws.write_number(row, 1, 1.0 + i as f64).unwrap();
                ws.write_number(row, 2, 2.0 + i as f64).unwrap();
            }
        }
    });
    assert!(doc.problems.is_empty(), "{:#?}", doc.problems);
    let code_of = |label: &str| -> Vec<&str> {
        let mut codes: Vec<&str> = doc
            .observations
            .iter()
            .filter(|o| &*o.region_label == label)
            .map(|o| o.region_code.as_str())
            .collect();
        codes.dedup();
        codes
    };
    assert_eq!(code_of("Южный федеральный округ"), ["032"]);
    assert_eq!(code_of("Сибирский федеральный округ"), ["035"]);
    assert_eq!(code_of("Дальневосточный федеральный округ"), ["036"]);
    assert_eq!(code_of("Приволжский федеральный округ"), ["033"]);
    assert_eq!(code_of("Пермская область"), ["57000000000"]);
    assert_eq!(code_of("Коми-Пермяцкий автономный округ"), ["57100000000"]);
    assert_eq!(code_of("Читинская область"), ["76000000000"]);
    assert_eq!(code_of("Корякский автономный округ"), ["30100000000"]);
    assert_eq!(doc.observations.len(), 2 * (rows.len() - 1));
}

/// A footnote mark on a header year (`20141)`) applies to every figure of that column, and to the
/// quarters under a marked year.
#[test]
fn marks_on_header_periods_reach_their_columns() {
    let doc = parse(|ws| {
        ws.write_string(0, 0, "3.1. ЧИСЛЕННОСТЬ НАСЕЛЕНИЯ").unwrap();
        ws.write_string(1, 0, "(тысяч человек)").unwrap();
        ws.write_number(2, 1, 2013.0).unwrap();
        ws.write_string(2, 2, "20141)").unwrap();
        ws.write_string(2, 3, "2015 2)").unwrap();
        ws.write_string(3, 0, "Липецкая область").unwrap();
        for c in 1..4u16 {
            ws.write_number(3, c, 1150.0 + c as f64).unwrap();
        }
        ws.write_string(4, 0, "______").unwrap();
        ws.write_string(5, 0, "1) Без учета Республики Крым и г. Севастополя.")
            .unwrap();
        ws.write_string(6, 0, "2) Оценка.").unwrap();
    });
    assert!(doc.problems.is_empty(), "{:?}", doc.problems);
    let notes = |cell: &str| -> Vec<String> {
        at(&doc, cell)
            .footnotes
            .iter()
            .map(|f| f.to_string())
            .collect()
    };
    assert!(notes("B4").is_empty());
    assert_eq!(
        notes("C4"),
        ["1) Без учета Республики Крым и г. Севастополя."]
    );
    assert_eq!(notes("D4"), ["2) Оценка."]);

    let doc = parse(|ws| {
        ws.write_string(0, 0, "3.2. ИНДЕКС ПОТРЕБИТЕЛЬСКИХ ЦЕН")
            .unwrap();
        ws.write_number(1, 1, 2021.0).unwrap();
        ws.write_string(1, 3, "20221)").unwrap();
        for (i, q) in ["I квартал", "II квартал"].iter().enumerate() {
            ws.write_string(2, 1 + i as u16, *q).unwrap();
            ws.write_string(2, 3 + i as u16, *q).unwrap();
        }
        ws.write_string(3, 0, "Липецкая область").unwrap();
        for c in 1..5u16 {
            ws.write_number(3, c, 100.0 + c as f64).unwrap();
        }
        ws.write_string(4, 0, "______").unwrap();
        ws.write_string(5, 0, "1) Предварительные данные.").unwrap();
    });
    assert!(doc.problems.is_empty(), "{:?}", doc.problems);
    let q = |cell: &str| at(&doc, cell);
    assert_eq!(q("C4").period, Period::Quarter(2021, 2));
    assert!(q("C4").footnotes.is_empty());
    assert_eq!(q("E4").period, Period::Quarter(2022, 2));
    assert_eq!(
        q("E4")
            .footnotes
            .iter()
            .map(|f| &**f)
            .collect::<Vec<&str>>(),
        ["1) Предварительные данные."]
    );
}

/// A table whose columns are not periods (age groups on 1 January) is a layout this parser does not
/// read: that sheet is a problem naming it and what it held; the workbook's other tables load.
#[test]
fn a_sheet_of_unknown_layout_fails_alone() {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("4.3.").unwrap();
    ws.write_string(
        0,
        0,
        "4.3. НАСЕЛЕНИЕ ПО ВОЗРАСТНЫМ ГРУППАМ на 1 января 2023 г.",
    )
    .unwrap();
    for (c, group) in ["Все население", "моложе трудоспособного", "трудоспособного"]
        .iter()
        .enumerate()
    {
        ws.write_string(1, 1 + c as u16, *group).unwrap();
        ws.write_number(2, 1 + c as u16, 1000.0 + c as f64).unwrap();
    }
    ws.write_string(2, 0, "Липецкая область").unwrap();
    add_investment_sheet(&mut wb);
    let bytes = wb.save_to_buffer().unwrap();

    let doc = parse_workbook("Раздел 4.xlsx", &bytes, RegionDictionary::builtin()).unwrap();
    assert_eq!(doc.observations.len(), 2);
    assert!(doc
        .observations
        .iter()
        .all(|o| &*o.provenance.sheet == "10.2."));
    assert_eq!(doc.problems.len(), 1, "{:?}", doc.problems);
    assert_eq!(
        doc.problems[0].to_string(),
        "Раздел 4.xlsx, sheet '4.3.': expected a header row of periods (years such as 2005 or \
         1998г.), found \"no such row; the sheet's 8 non-empty cells were not read\""
    );
}

/// Issue 14: the monthly monitoring workbooks' header: years with a word («2009 год») over single
/// months, cumulated months in any spelling, half-years, «9 месяцев», «год», quarters with a glued
/// mark and a stock at a date. Each column gets its own period type.
#[test]
fn monthly_monitoring_headers_with_cumulated_and_partial_periods() {
    let doc = parse(|ws| {
        ws.write_string(1, 0, "3.1. ОБОРОТ РОЗНИЧНОЙ ТОРГОВЛИ")
            .unwrap();
        ws.write_string(2, 0, "(миллионов рублей)").unwrap();
        ws.write_string(3, 1, "2009 год").unwrap();
        ws.write_string(3, 5, "2010 год ").unwrap();
        for (c, h) in [
            "январь",
            "январь-\nмарт",
            "I полугодие",
            "9 месяцев",
            "январь-   декабрь 2",
            "IV квартал1",
            "год",
            "на 1 июля",
        ]
        .iter()
        .enumerate()
        {
            ws.write_string(4, 1 + c as u16, *h).unwrap();
        }
        ws.write_string(5, 0, "Липецкая область").unwrap();
        for c in 1..9u16 {
            ws.write_number(5, c, 1000.0 + c as f64).unwrap();
        }
    });
    assert!(doc.problems.is_empty(), "{:?}", doc.problems);
    let period = |cell: &str| at(&doc, cell).period.to_string();
    assert_eq!(period("B6"), "2009-01");
    assert_eq!(period("C6"), "2009-01/2009-03");
    assert_eq!(period("D6"), "2009-H1");
    assert_eq!(period("E6"), "2009-01/2009-09");
    assert_eq!(period("F6"), "2010-01/2010-12");
    assert_eq!(period("G6"), "2010-Q4");
    assert_eq!(period("H6"), "2010");
    assert_eq!(period("I6"), "2010-07-01");
    assert_eq!(at(&doc, "C6").period.period_type().as_str(), "months");
    assert_eq!(at(&doc, "I6").period.period_type().as_str(), "date");
    assert_eq!(doc.observations.len(), 8);
}

/// Issue 14: school and season years («2000/2001») head the education section's tables.
#[test]
fn school_years_are_periods_of_their_own() {
    let doc = parse(|ws| {
        ws.write_string(1, 0, "3.1. ЧИСЛЕННОСТЬ СТУДЕНТОВ").unwrap();
        ws.write_string(2, 0, "(на начало учебного года; тысяч человек)")
            .unwrap();
        ws.write_string(3, 1, "2000/2001").unwrap();
        ws.write_string(3, 2, "2001/2002").unwrap();
        ws.write_string(4, 0, "Липецкая область").unwrap();
        ws.write_number(4, 1, 41.5).unwrap();
        ws.write_number(4, 2, 43.0).unwrap();
    });
    assert!(doc.problems.is_empty(), "{:?}", doc.problems);
    assert_eq!(at(&doc, "C5").period.to_string(), "2001/2002");
    assert_eq!(at(&doc, "C5").period.period_type().as_str(), "school_year");
    assert_eq!(at(&doc, "C5").period.year(), 2001);
}

/// Issue 14: a row of sub-headers under the years that are not periods (weeks here) must not let
/// the figures under them pass for whole years: the table is a problem naming the header cells.
#[test]
fn unknown_sub_headers_under_years_are_a_problem_not_years() {
    let doc = parse(|ws| {
        ws.write_string(1, 0, "3.1. ЦЕНЫ НА БЕНЗИН").unwrap();
        ws.write_number(3, 1, 2009.0).unwrap();
        ws.write_number(3, 3, 2010.0).unwrap();
        for (c, h) in ["неделя 1", "неделя 2", "неделя 1", "неделя 2"]
            .iter()
            .enumerate()
        {
            ws.write_string(4, 1 + c as u16, *h).unwrap();
        }
        ws.write_string(5, 0, "Липецкая область").unwrap();
        for c in 1..5u16 {
            ws.write_number(5, c, 20.0 + c as f64).unwrap();
        }
    });
    assert!(doc.observations.is_empty(), "{:?}", doc.observations);
    assert_eq!(doc.problems.len(), 1, "{:?}", doc.problems);
    let p = doc.problems[0].to_string();
    assert!(p.contains("sheet '3.1.'") && p.contains("неделя 1"), "{p}");
}

/// Issue 14: region labels as other editions print them, and markers: joined and asterisk marks,
/// bare and superscript marks, the country row with its unit, «в том числе:», a hyphen lost, a
/// truncated name, known misprints; «…5», U+2010 and «..» as no-data; a non-region row of dashes
/// is no problem; a footnote paragraph starting with «*)» ends the grid.
#[test]
fn region_labels_and_markers_of_other_editions() {
    let doc = parse(|ws| {
        ws.write_string(1, 0, "3.1. ДОБЫЧА НЕФТИ").unwrap();
        ws.write_number(3, 1, 2021.0).unwrap();
        ws.write_number(3, 2, 2022.0).unwrap();
        let rows: [(&str, &str, &str); 15] = [
            ("Российская Федерация, млн т", "524", "535"),
            ("Московская область1);2)", "1", "2"),
            ("Крымский федеральный округ *)", "3", "4"),
            ("г.Москва 2", "5", "6"),
            ("Тульская область ²", "7", "8"),
            ("в том числе: Ханты-Мансийский авт. округ - Югра", "9", "10"),
            ("Ханты Мансийский автономный округ - Югра", "11", "12"),
            (
                "Тюменская область (без Ханты-Мансийского авт.округа-Югра и Ямало-Ненецкого авт.округа)",
                "13",
                "14",
            ),
            ("Еврейская автономная", "15", "16"),
            ("Владимировская область", "17", "18"),
            ("Республтка Адыгея", "19", "20"),
            ("Липецкая область", "…5", "\u{2010}"),
            ("Курская область", "..", "21"),
            ("Межрегиональное управление", "-", "-"),
            ("Орловская область", "22", "23"),
        ];
        for (r, (label, a, b)) in rows.iter().enumerate() {
            let row = 4 + r as u32;
            ws.write_string(row, 0, *label).unwrap();
            ws.write_string(row, 1, *a).unwrap();
            ws.write_string(row, 2, *b).unwrap();
        }
        ws.write_string(19, 0, "*) Без учета Республики Крым.")
            .unwrap();
        ws.write_string(20, 0, "1) Оценка. 2) Предварительные данные.")
            .unwrap();
    });
    assert!(doc.problems.is_empty(), "{:#?}", doc.problems);
    let region = |cell: &str| at(&doc, cell).region_code.clone();
    assert_eq!(region("B5"), "643");
    assert_eq!(
        &*at(&doc, "B5").unit,
        "млн т",
        "the unit of the country row"
    );
    assert_eq!(region("B6"), "46000000000");
    assert_eq!(at(&doc, "B6").footnotes.len(), 2);
    assert_eq!(region("B7"), "039");
    assert!(at(&doc, "B7").footnotes[0].contains("Без учета Республики Крым"));
    assert_eq!(region("B8"), "45000000000");
    assert_eq!(region("B9"), "70000000000");
    assert_eq!(region("B10"), "71100000000");
    assert_eq!(region("B11"), "71100000000");
    assert_eq!(region("B12"), "71001000000");
    assert_eq!(region("B13"), "99000000000");
    assert_eq!(region("B14"), "17000000000");
    assert_eq!(region("B15"), "79000000000");
    assert_eq!(
        at(&doc, "B16").status,
        regstat_transform::Status::NotAvailable
    );
    assert_eq!(
        at(&doc, "C16").status,
        regstat_transform::Status::NoActivity
    );
    assert_eq!(
        at(&doc, "B17").status,
        regstat_transform::Status::NotAvailable
    );
    assert_eq!(region("C19"), "54000000000");
    assert!(doc.observations.iter().all(|o| o.provenance.cell != "B18"));
}

/// Issue 14: years kept in the hidden bottom halves of vertically merged header cells (the visible
/// top half empty), beside years in the top row: every column keeps its year.
#[test]
fn years_hidden_in_merged_header_cells_keep_their_columns() {
    let doc = parse(|ws| {
        ws.write_string(1, 0, "3.1. ВВОД В ДЕЙСТВИЕ ЖИЛЫХ ДОМОВ")
            .unwrap();
        let blank = rust_xlsxwriter::Format::new();
        for (col, year) in [(1u16, 2005.0), (2, 2006.0)] {
            ws.merge_range(3, col, 4, col, "", &blank).unwrap();
            ws.write_number(4, col, year).unwrap();
        }
        ws.write_number(3, 3, 2007.0).unwrap();
        ws.write_number(3, 4, 2008.0).unwrap();
        ws.write_string(5, 0, "Липецкая область").unwrap();
        for c in 1..5u16 {
            ws.write_number(5, c, 500.0 + c as f64).unwrap();
        }
    });
    assert!(doc.problems.is_empty(), "{:?}", doc.problems);
    let period = |cell: &str| at(&doc, cell).period.to_string();
    assert_eq!(
        [period("B6"), period("C6"), period("D6"), period("E6")],
        ["2005", "2006", "2007", "2008"]
    );
}

/// Issue 14: categories under a year — several under each year, and a year split in two — are a
/// dimension of the figures, each column its own: never dropped, never merged.
#[test]
fn categories_under_a_year_are_a_dimension() {
    let doc = parse(|ws| {
        ws.write_string(1, 0, "3.1. СОЦИАЛЬНЫЕ ВЫПЛАТЫ").unwrap();
        ws.write_string(2, 0, "(миллионов рублей)").unwrap();
        ws.write_number(3, 1, 2016.0).unwrap();
        ws.write_number(3, 3, 2017.0).unwrap();
        ws.write_number(3, 5, 2018.0).unwrap();
        ws.write_number(3, 6, 2019.0).unwrap();
        for (c, h) in [
            "пенсии",
            "стипендии",
            "не включая единовременную выплату 2017",
            "включая единовременную выплату1)",
            "пенсии",
        ]
        .iter()
        .enumerate()
        {
            ws.write_string(4, 1 + c as u16, *h).unwrap();
        }
        ws.write_string(5, 0, "Липецкая область").unwrap();
        for c in 1..7u16 {
            ws.write_number(5, c, 100.0 + c as f64).unwrap();
        }
        ws.write_string(6, 0, "1) С учетом выплаты 5 тыс. рублей.")
            .unwrap();
    });
    assert!(doc.problems.is_empty(), "{:?}", doc.problems);
    let fig = |cell: &str| {
        let o = at(&doc, cell);
        (o.period.to_string(), o.dimensions.clone())
    };
    let cat = |c: &str| vec![("category".to_string(), c.to_string())];
    assert_eq!(fig("B6"), ("2016".into(), cat("пенсии")));
    assert_eq!(fig("C6"), ("2016".into(), cat("стипендии")));
    assert_eq!(
        fig("D6"),
        ("2017".into(), cat("не включая единовременную выплату 2017"))
    );
    assert_eq!(
        fig("E6"),
        ("2017".into(), cat("включая единовременную выплату"))
    );
    assert_eq!(
        at(&doc, "E6")
            .footnotes
            .iter()
            .map(|f| &**f)
            .collect::<Vec<&str>>(),
        ["1) С учетом выплаты 5 тыс. рублей."]
    );
    assert_eq!(fig("F6"), ("2018".into(), cat("пенсии")));
    assert_eq!(
        fig("G6"),
        ("2019".into(), vec![]),
        "a year's column with no category"
    );
}

/// Issue 14: a sheet never loses its figures silently. Here the labels stand in column B (a layout
/// this parser does not read): the figures are a problem naming the sheet, not "0 read".
#[test]
fn a_sheet_whose_figures_are_not_read_says_so() {
    let doc = parse(|ws| {
        ws.write_string(1, 0, "3.1. ЧИСЛЕННОСТЬ НАСЕЛЕНИЯ").unwrap();
        ws.write_number(3, 2, 2021.0).unwrap();
        ws.write_number(3, 3, 2022.0).unwrap();
        ws.write_string(4, 1, "Липецкая область").unwrap();
        ws.write_number(4, 2, 1139.0).unwrap();
        ws.write_number(4, 3, 1131.0).unwrap();
    });
    assert!(doc.observations.is_empty());
    assert_eq!(doc.problems.len(), 1, "{:?}", doc.problems);
    let p = doc.problems[0].to_string();
    assert!(p.contains("sheet '3.1.'") && p.contains("2 numbers"), "{p}");
}

/// Issue 14: a workbook is handed over sheet by sheet, in the workbook's order, whatever the threads
/// parsing it did; the parts together are the whole document.
#[test]
fn sheets_are_emitted_in_order_and_together_are_the_document() {
    let mut wb = Workbook::new();
    for (i, size) in [30u16, 2, 50, 3, 20, 5].iter().enumerate() {
        let ws = wb.add_worksheet();
        ws.set_name(format!("2.{}.", i + 1)).unwrap();
        ws.write_string(0, 0, format!("2.{}. ТАБЛИЦА {}", i + 1, i + 1))
            .unwrap();
        ws.write_string(1, 0, "(человек)").unwrap();
        for y in 0..*size {
            ws.write_number(2, 1 + y, 1990.0 + f64::from(y)).unwrap();
            ws.write_number(3, 1 + y, f64::from(y)).unwrap();
        }
        ws.write_string(3, 0, "Липецкая область").unwrap();
    }
    let bytes = wb.save_to_buffer().unwrap();
    let mut order = Vec::new();
    let mut figures = 0;
    regstat_transform::parse_workbook_each(
        "order.xlsx",
        &bytes,
        RegionDictionary::builtin(),
        &[],
        &mut |part| {
            order.extend(part.tables.iter().map(|t| t.sheet.clone()));
            figures += part.observations.len();
        },
    )
    .unwrap();
    assert_eq!(order, ["2.1.", "2.2.", "2.3.", "2.4.", "2.5.", "2.6."]);
    let whole = parse_workbook("order.xlsx", &bytes, RegionDictionary::builtin()).unwrap();
    assert_eq!(figures, whole.observations.len());
    assert_eq!(figures, 30 + 2 + 50 + 3 + 20 + 5);
}

/// Issue 15: a table of a single year (regional offices publish many) is read, not dropped.
#[test]
fn a_table_of_one_year_is_read() {
    let doc = parse(|ws| {
        ws.write_string(0, 0, "2.4. ТАБЛИЦА").unwrap();
        ws.write_string(1, 0, "(человек)").unwrap();
        ws.write_number(2, 1, 1990.0).unwrap();
        ws.write_string(3, 0, "Липецкая область").unwrap();
        ws.write_number(3, 1, 7.0).unwrap();
    });
    assert_eq!(doc.observations.len(), 1, "{:?}", doc.problems);
}
