//! Builds the demo's workbooks in the layout of the 2023 «Регионы России» appendix: a contents sheet,
//! then a table sheet with the title rows, the unit line, a header row of years, region rows and
//! footnotes after a separator, cell for cell where the real tables have them.

use std::collections::{BTreeMap, BTreeSet};

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Workbook};

/// Real figures (Russia, the Central federal district and its subjects) from tables 10.2, 8.2 and
/// 12.5.1 of the 2023 appendix, as (table, row label as printed, year, value).
const FIGURES_CSV: &str = include_str!("figures.csv");

pub const INVESTMENT_FILE: &str = "Раздел 10 - Инвестиции.xlsx";
pub const GRP_FILE: &str = "Раздел 8 - Валовой региональный продукт.xlsx";
pub const INDUSTRY_FILE: &str = "Раздел 12 - Промышленное производство.xlsx";

pub struct DemoDocument {
    pub name: String,
    pub bytes: Vec<u8>,
    /// Linked from the regional office page (the GRP workbook is fetched by its own URL).
    pub listed: bool,
}

struct TableLayout {
    file: &'static str,
    contents_sheet: &'static str,
    contents: &'static [(&'static str, &'static str)],
    table: &'static str,
    sheet: &'static str,
    /// Title lines from row 2 down, then the unit line; the header row follows.
    title_rows: &'static [&'static str],
    footnote: &'static str,
}

const LAYOUTS: &[TableLayout] = &[
    TableLayout {
        file: INVESTMENT_FILE,
        contents_sheet: "Раздел 10",
        contents: &[("10.1.", "Инвестиции в основной капитал"), ("10.2.", "Инвестиции в основной капитал на душу населения")],
        table: "10.2",
        sheet: "10.2.",
        title_rows: &[
            "Социально-экономические показатели по субъектам Российской Федерации",
            "10. ИНВЕСТИЦИИ ",
            "ИНВЕСТИЦИИ В ОСНОВНОЙ КАПИТАЛ",
            "10.2. ИНВЕСТИЦИИ В ОСНОВНОЙ КАПИТАЛ на душу населения1)",
            "(в фактически действовавших ценах;  рублей)",
        ],
        footnote: "1) Данные за 2011-2021 годы публикуются без учета итогов ВПН-2020.",
    },
    TableLayout {
        file: GRP_FILE,
        contents_sheet: "Раздел 8",
        contents: &[("8.1.", "Валовой региональный продукт  "), ("8.2.", "Валовой региональный продукт на душу населения  ")],
        table: "8.2",
        sheet: "8.2.",
        title_rows: &[
            "Социально-экономические показатели по субъектам Российской Федерации",
            "8. ВАЛОВОЙ РЕГИОНАЛЬНЫЙ ПРОДУКТ",
            "8.2. ВАЛОВОЙ РЕГИОНАЛЬНЫЙ ПРОДУКТ на душу населения1) ",
            "(рублей)",
        ],
        footnote: "1) Данные за 2011-2021 годы публикуются без учета итогов ВПН-2020.",
    },
    TableLayout {
        file: INDUSTRY_FILE,
        contents_sheet: "Раздел 12",
        contents: &[("12.5.", "Индексы производства по виду экономической деятельности «Обрабатывающие производства»"), ("12.5.1.", "В соответствии с ОКВЭД (2000-2016 гг.)")],
        table: "12.5.1",
        sheet: "12.5.1.",
        title_rows: &[
            "Социально-экономические показатели по субъектам Российской Федерации",
            "12.  ПРОМЫШЛЕННОЕ ПРОИЗВОДСТВО ",
            "12.5. ИНДЕКСЫ ПРОИЗВОДСТВА  по виду экономической деятельности «Обрабатывающие производства»",
            "12.5.1. В соответствии с ОКВЭД (2000-2016 гг.)1) ",
            "(в процентах к предыдущему году)",
        ],
        footnote: "1) Данные сформированы по полному кругу организаций по фактическим видам экономической деятельности в соответствии с ОКВЭД.",
    },
];

/// One table's figures: row labels in printed order, and values by (row, year).
struct TableFigures {
    labels: Vec<String>,
    years: BTreeSet<i32>,
    values: BTreeMap<(usize, i32), f64>,
}

fn figures() -> anyhow::Result<BTreeMap<String, TableFigures>> {
    let mut tables: BTreeMap<String, TableFigures> = BTreeMap::new();
    let mut reader = csv::Reader::from_reader(FIGURES_CSV.as_bytes());
    for (i, record) in reader.records().enumerate() {
        let record = record?;
        let field = |n: usize| {
            record
                .get(n)
                .ok_or_else(|| anyhow::anyhow!("figures.csv record {}: missing field {n}", i + 2))
        };
        let table = tables
            .entry(field(0)?.to_string())
            .or_insert_with(|| TableFigures {
                labels: Vec::new(),
                years: BTreeSet::new(),
                values: BTreeMap::new(),
            });
        let label = field(1)?.to_string();
        let row = match table.labels.iter().position(|l| *l == label) {
            Some(r) => r,
            None => {
                table.labels.push(label);
                table.labels.len() - 1
            }
        };
        let year: i32 = field(2)?.parse()?;
        table.years.insert(year);
        table.values.insert((row, year), field(3)?.parse()?);
    }
    Ok(tables)
}

/// The demo's documents, built fresh; the same bytes every time.
pub fn demo_documents() -> anyhow::Result<Vec<DemoDocument>> {
    let figures = figures()?;
    LAYOUTS
        .iter()
        .map(|layout| {
            let table = figures
                .get(layout.table)
                .ok_or_else(|| anyhow::anyhow!("no figures for table {}", layout.table))?;
            Ok(DemoDocument {
                name: layout.file.to_string(),
                bytes: build_workbook(layout, table)?,
                listed: layout.file != GRP_FILE,
            })
        })
        .collect()
}

fn build_workbook(layout: &TableLayout, figures: &TableFigures) -> anyhow::Result<Vec<u8>> {
    let mut workbook = Workbook::new();
    // A fixed creation time keeps the bytes, and so the document's sha256, the same on every run.
    let created = ExcelDateTime::from_ymd(2023, 12, 20)?;
    workbook.set_properties(&DocProperties::new().set_creation_datetime(&created));
    let contents = workbook.add_worksheet();
    contents.set_name(layout.contents_sheet)?;
    contents.write_string(
        1,
        0,
        "Социально-экономические показатели по субъектам Российской Федерации",
    )?;
    for (i, (code, title)) in layout.contents.iter().enumerate() {
        contents.write_string(3 + i as u32, 0, *code)?;
        contents.write_string(3 + i as u32, 1, *title)?;
    }

    let sheet = workbook.add_worksheet();
    sheet.set_name(layout.sheet)?;
    let mut row = 1u32;
    for line in layout.title_rows {
        sheet.write_string(row, 0, *line)?;
        row += 1;
    }
    let years: Vec<i32> = figures.years.iter().copied().collect();
    for (c, year) in years.iter().enumerate() {
        sheet.write_number(row, 1 + c as u16, *year as f64)?;
    }
    row += 1;
    for (r, label) in figures.labels.iter().enumerate() {
        sheet.write_string(row, 0, label)?;
        for (c, year) in years.iter().enumerate() {
            match figures.values.get(&(r, *year)) {
                Some(v) => sheet.write_number(row, 1 + c as u16, *v)?,
                // Where the source has no figure, Rosstat prints «…».
                None => sheet.write_string(row, 1 + c as u16, "…")?,
            };
        }
        row += 1;
    }
    sheet.write_string(row, 0, "¾¾¾¾¾")?;
    sheet.write_string(row + 1, 0, layout.footnote)?;
    Ok(workbook.save_to_buffer()?)
}

/// Percent-encodes a file name for a URL path: every byte but unreserved characters (RFC 3986).
pub fn percent_encode(name: &str) -> String {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    const UNRESERVED: &percent_encoding::AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    utf8_percent_encode(name, UNRESERVED).to_string()
}
