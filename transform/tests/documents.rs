//! Tables in documents that are not workbooks: Word (.docx) and HTML, read by the workbook parser.

#[path = "common/docx.rs"]
mod docx_writer;

use docx_writer::{docx, Block};
use regstat_transform::{parse_document, Period, RegionDictionary, Status};

#[test]
fn a_word_table_of_regions_reads_like_a_sheet() {
    let bytes = docx(&[
        Block::Paragraph("Таблица 1"),
        Block::Paragraph("ИНВЕСТИЦИИ В ОСНОВНОЙ КАПИТАЛ"),
        Block::Paragraph("(в фактически действовавших ценах; миллионов рублей)"),
        Block::Table(vec![
            vec!["", "2023", "20241)"],
            vec!["Российская Федерация", "34 035 663", "40 034 210"],
            vec!["Центральный федеральный округ", "10 925 010", "12 745 111"],
            vec!["Липецкая область", "168 567,3", "…"],
            vec!["г. Липецк", "80 000", "90 000"],
        ]),
        Block::Paragraph("1) Предварительные данные."),
    ]);
    let doc = parse_document("invest.docx", &bytes, RegionDictionary::builtin(), &[]).unwrap();
    let lipetsk: Vec<_> = doc
        .observations
        .iter()
        .filter(|o| o.region_code == "42000000000")
        .collect();
    assert_eq!(lipetsk.len(), 2, "{:?}", doc.observations);
    let y2023 = lipetsk
        .iter()
        .find(|o| o.period == Period::Year(2023))
        .unwrap();
    assert_eq!(y2023.value, Some(168567.3));
    assert_eq!(&*y2023.provenance.sheet, "Таблица 1");
    // Three title lines, the header, then Russia, the district, Lipetsk: row 7.
    assert_eq!(y2023.provenance.cell, "B7");
    assert_eq!(&*y2023.unit, "миллионов рублей");
    assert_eq!(
        y2023.basis.as_deref(),
        Some("в фактически действовавших ценах")
    );
    assert_eq!(
        &*y2023.provenance.table_title,
        "ИНВЕСТИЦИИ В ОСНОВНОЙ КАПИТАЛ"
    );
    let y2024 = lipetsk
        .iter()
        .find(|o| o.period == Period::Year(2024))
        .unwrap();
    assert_eq!(y2024.status, Status::NotAvailable);
    assert_eq!(
        y2024.footnotes.iter().map(|f| &**f).collect::<Vec<_>>(),
        ["1) Предварительные данные."]
    );
    // A municipal label is a problem naming file, sheet and cell, never guessed.
    let problem = doc
        .problems
        .iter()
        .find(|p| p.found.contains("Липецк") && p.location.cell.as_deref() == Some("A8"))
        .unwrap_or_else(|| panic!("{:?}", doc.problems));
    assert_eq!(problem.location.file, "invest.docx");
    assert_eq!(problem.location.sheet.as_deref(), Some("Таблица 1"));
}

#[test]
fn an_html_table_reads_like_a_sheet_in_utf8_or_windows_1251() {
    let html = r#"<!DOCTYPE html><html><head><meta charset="windows-1251"></head><body>
        <h3>Среднемесячная номинальная начисленная заработная плата работников</h3>
        <p>(рублей)</p>
        <table border="1">
          <tr><td rowspan="2"></td><td colspan="2">Годы</td></tr>
          <tr><td>2023</td><td>2024</td></tr>
          <tr><td>Липецкая область</td><td>52 100,5</td><td>60 300</td></tr>
          <tr><td>Тамбовская область</td><td>45 000</td><td>51 200</td></tr>
        </table></body></html>"#;
    let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode(html);
    for bytes in [html.as_bytes().to_vec(), cp1251.into_owned()] {
        // Old gks.ru pages were saved as HTML under an .xls name.
        let doc = parse_document("zarplata.xls", &bytes, RegionDictionary::builtin(), &[]).unwrap();
        assert!(doc.problems.is_empty(), "{:?}", doc.problems);
        assert_eq!(doc.observations.len(), 4);
        let o = doc
            .observations
            .iter()
            .find(|o| o.region_code == "42000000000" && o.period == Period::Year(2024))
            .unwrap();
        assert_eq!(o.value, Some(60300.0));
        assert_eq!(&*o.unit, "рублей");
        assert_eq!(o.provenance.cell, "C5");
    }
}

#[test]
fn an_html_page_without_tables_is_an_error_naming_the_file() {
    let err = parse_document(
        "error.xlsx",
        b"<!DOCTYPE html><html><body><h1>503 Service Unavailable</h1></body></html>",
        RegionDictionary::builtin(),
        &[],
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("error.xlsx") && text.contains("without tables"),
        "{text}"
    );
}
