//! An analyst's own table (CSV, or the first sheet of a workbook) read through a declared mapping:
//! which column names the indicator, its title and unit, where the region is (one fixed region, or a
//! column of labels or codes), and where the periods are (a column per period, `y2005`, `2005`; or a
//! period column and a value column). Every figure keeps its file and cell.

use std::sync::Arc;

use calamine::{Data, Reader};

use crate::error::{Location, ParseProblem, TransformError};
use crate::observation::{Observation, Provenance};
use crate::period::Period;
use crate::region::{RegionDictionary, Resolution};
use crate::rosstat::{ParsedDocument, TableSummary};

/// Where the region of a row is.
#[derive(Debug, Clone, PartialEq)]
pub enum RegionSource {
    /// Every row is about this region (an s_OKATO code).
    Fixed(String),
    /// A column of region names or codes, resolved by the dictionary.
    Column(String),
}

/// Where the periods and values are.
#[derive(Debug, Clone, PartialEq)]
pub enum Layout {
    /// A column per period; the named ones, or every column whose header is a period (`2005`,
    /// `y2005`, `2020-Q1`).
    Wide { period_columns: Vec<String> },
    /// One row per figure.
    Long {
        period_column: String,
        value_column: String,
    },
}

/// How to read an analyst's table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableMapping {
    /// Indicator ids are this prefix and the column's value: `lipetsk-study:1`.
    pub indicator_prefix: String,
    pub indicator_column: String,
    pub title_column: Option<String>,
    pub unit_column: Option<String>,
    pub region: RegionSource,
    pub layout: Layout,
    /// Dimensions every figure carries (`cluster = "lipetsk-machinery-valley"`), so the table's
    /// series never mix with the region's own.
    pub dimensions: Vec<(String, String)>,
}

/// A period from a column header: the canonical forms, or a year with a prefix such as `y2005`.
fn header_period(header: &str) -> Option<Period> {
    let h = header.trim();
    if let Some(p) = Period::parse(h) {
        return Some(p);
    }
    let digits: String = h.chars().skip_while(|c| !c.is_ascii_digit()).collect();
    let prefix_ok = h
        .chars()
        .take_while(|c| !c.is_ascii_digit())
        .all(|c| c.is_alphabetic() || c == '_');
    match (prefix_ok, digits.parse::<i32>()) {
        (true, Ok(y)) if digits.len() == 4 && (1900..=2100).contains(&y) => Some(Period::Year(y)),
        _ => None,
    }
}

fn rows_of(file: &str, bytes: &[u8]) -> Result<(String, Vec<Vec<String>>), TransformError> {
    let error = |reason: String| TransformError::Workbook {
        file: file.to_string(),
        reason,
    };
    let lower = file.to_lowercase();
    if lower.ends_with(".xlsx") || lower.ends_with(".xls") {
        let mut workbook = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes))
            .map_err(|e| error(format!("not a readable workbook: {e}")))?;
        let sheet = workbook
            .sheet_names()
            .first()
            .cloned()
            .ok_or_else(|| error("a workbook without sheets".into()))?;
        let range = workbook
            .worksheet_range(&sheet)
            .map_err(|e| error(format!("sheet '{sheet}': {e}")))?;
        let rows = range
            .rows()
            .map(|r| {
                r.iter()
                    .map(|c| match c {
                        Data::Empty => String::new(),
                        Data::Float(f) => f.to_string(),
                        other => other.to_string(),
                    })
                    .collect()
            })
            .collect();
        return Ok((sheet, rows));
    }
    let text = std::str::from_utf8(
        bytes
            .strip_prefix(b"\xef\xbb\xbf".as_slice())
            .unwrap_or(bytes),
    )
    .map_err(|e| error(format!("expected UTF-8 CSV text: {e}")))?;
    let first = text.lines().next().unwrap_or("");
    let delimiter = if first.matches(';').count() > first.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| error(format!("line {}: {e}", i + 1)))?;
        rows.push(record.iter().map(str::to_string).collect());
    }
    let name = file.rsplit(['/', '\\']).next().unwrap_or(file).to_string();
    Ok((name, rows))
}

/// Reads an analyst's table. A missing column is an error naming it; a cell that is not a figure, or
/// a region label the dictionary does not know, is a problem at its cell.
pub fn read_table_file(
    file: &str,
    bytes: &[u8],
    mapping: &TableMapping,
    regions: &RegionDictionary,
) -> Result<ParsedDocument, TransformError> {
    let (sheet, rows) = rows_of(file, bytes)?;
    let Some(header) = rows.first() else {
        return Err(TransformError::Workbook {
            file: file.into(),
            reason: "the file is empty (expected a header row naming the columns)".into(),
        });
    };
    let column = |name: &str| -> Result<usize, TransformError> {
        header
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| TransformError::Workbook {
                file: file.into(),
                reason: format!(
                    "no column {name:?} in the header (found {})",
                    header
                        .iter()
                        .map(|h| format!("{h:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            })
    };
    let indicator_col = column(&mapping.indicator_column)?;
    let title_col = mapping.title_column.as_deref().map(column).transpose()?;
    let unit_col = mapping.unit_column.as_deref().map(column).transpose()?;
    let region_col = match &mapping.region {
        RegionSource::Column(name) => Some(column(name)?),
        RegionSource::Fixed(_) => None,
    };
    // (column, its period, or None for a long layout's period column read per row)
    let (value_cols, period_col): (Vec<(usize, Option<Period>)>, Option<usize>) =
        match &mapping.layout {
            Layout::Wide { period_columns } if period_columns.is_empty() => (
                header
                    .iter()
                    .enumerate()
                    .filter_map(|(i, h)| header_period(h).map(|p| (i, Some(p))))
                    .collect(),
                None,
            ),
            Layout::Wide { period_columns } => {
                let mut cols = Vec::new();
                for name in period_columns {
                    let i = column(name)?;
                    let p = header_period(name).ok_or_else(|| TransformError::Workbook {
                        file: file.into(),
                        reason: format!(
                            "column {name:?}: expected a period in its name (2005, y2005, 2020-Q1)"
                        ),
                    })?;
                    cols.push((i, Some(p)));
                }
                (cols, None)
            }
            Layout::Long {
                period_column,
                value_column,
            } => (
                vec![(column(value_column)?, None)],
                Some(column(period_column)?),
            ),
        };
    if value_cols.is_empty() {
        return Err(TransformError::Workbook {
            file: file.into(),
            reason: "no column header is a period (expected 2005, y2005, 2020-Q1 …); name them in period_columns".into(),
        });
    }
    let fixed_region = match &mapping.region {
        RegionSource::Fixed(code) => {
            Some(regions.get(code).ok_or_else(|| TransformError::Workbook {
                file: file.into(),
                reason: format!("unknown region code {code:?}"),
            })?)
        }
        RegionSource::Column(_) => None,
    };
    let sheet_name: Arc<str> = Arc::from(sheet.as_str());
    let empty: Arc<str> = Arc::from("");
    let mut doc = ParsedDocument::default();
    let problem = |row: usize, col: usize, expected: &str, found: String| ParseProblem {
        location: Location {
            file: file.to_string(),
            sheet: Some(sheet.clone()),
            cell: Some(crate::a1(row as u32, col as u32)),
        },
        expected: expected.to_string(),
        found,
    };
    for (r, row) in rows.iter().enumerate().skip(1) {
        let cell = |i: usize| row.get(i).map(|s| s.trim()).unwrap_or("");
        let key = cell(indicator_col);
        if key.is_empty() && row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        if key.is_empty() {
            doc.problems.push(problem(
                r,
                indicator_col,
                "an indicator",
                "an empty cell".into(),
            ));
            continue;
        }
        let region = match (fixed_region, region_col) {
            (Some(entry), _) => entry,
            (None, Some(c)) => match regions
                .resolve(cell(c))
                .or_else(|| regions.get(cell(c)).map(Resolution::Region))
            {
                Some(Resolution::Region(entry)) => entry,
                _ => {
                    doc.problems.push(problem(
                        r,
                        c,
                        "a region name or code known to the dictionary",
                        cell(c).to_string(),
                    ));
                    continue;
                }
            },
            (None, None) => unreachable!("a region source is fixed or a column"),
        };
        let code: Arc<str> = Arc::from(key);
        let title: Arc<str> = title_col.map_or_else(|| code.clone(), |c| Arc::from(cell(c)));
        let unit: Arc<str> = unit_col.map_or_else(|| empty.clone(), |c| Arc::from(cell(c)));
        let indicator: Arc<str> = Arc::from(format!("{}{key}", mapping.indicator_prefix));
        let mut table = TableSummary {
            sheet: sheet.clone(),
            code: key.to_string(),
            title: title.to_string(),
            unit: unit.to_string(),
            basis: None,
            grid_cells: 0,
            values: 0,
            statuses: 0,
            rejected: 0,
        };
        for &(c, period) in &value_cols {
            let text = cell(c);
            if text.is_empty() {
                continue;
            }
            table.grid_cells += 1;
            let period = match (period, period_col) {
                (Some(p), _) => p,
                (None, Some(pc)) => match header_period(cell(pc)) {
                    Some(p) => p,
                    None => {
                        table.rejected += 1;
                        doc.problems.push(problem(
                            r,
                            pc,
                            "a period (2005, 2020-Q1, 2020-03)",
                            cell(pc).to_string(),
                        ));
                        continue;
                    }
                },
                (None, None) => unreachable!("a long layout has a period column"),
            };
            let Some(parsed) = crate::cell::parse_cell_text(text) else {
                table.rejected += 1;
                doc.problems.push(problem(
                    r,
                    c,
                    "a figure or a missing-value marker",
                    text.to_string(),
                ));
                continue;
            };
            if parsed.value.is_some() {
                table.values += 1;
            } else {
                table.statuses += 1;
            }
            doc.observations.push(Observation {
                indicator: indicator.clone(),
                region_code: region.code.as_str().into(),
                region_label: Arc::from(region.name.as_str()),
                period,
                value: parsed.value,
                unit: unit.clone(),
                basis: None,
                status: parsed.status,
                footnotes: Vec::new(),
                dimensions: mapping.dimensions.clone(),
                provenance: Provenance {
                    document_sha256: empty.clone(),
                    sheet: sheet_name.clone(),
                    cell: crate::a1_cell(r as u32, c as u32),
                    table_code: code.clone(),
                    table_title: title.clone(),
                },
            });
        }
        doc.tables.push(table);
    }
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(layout: Layout, region: RegionSource) -> TableMapping {
        TableMapping {
            indicator_prefix: "study:".into(),
            indicator_column: "indicator_no".into(),
            title_column: Some("indicator_ru".into()),
            unit_column: Some("unit".into()),
            region,
            layout,
            dimensions: vec![("cluster".into(), "lipetsk".into())],
        }
    }

    #[test]
    fn a_wide_table_of_one_region() {
        let csv = "indicator_no,indicator_ru,unit,y2005,y2012,note\n1,Выработка,млн руб.,\"0,9\",1.1,x\n2,Места,count,4922,…,\n";
        let m = mapping(
            Layout::Wide {
                period_columns: vec![],
            },
            RegionSource::Fixed("42000000000".into()),
        );
        let doc =
            read_table_file("t.csv", csv.as_bytes(), &m, RegionDictionary::builtin()).unwrap();
        assert!(doc.problems.is_empty(), "{:?}", doc.problems);
        assert_eq!(doc.observations.len(), 4);
        let o = &doc.observations[0];
        assert_eq!(
            (&*o.indicator, o.period, o.value),
            ("study:1", Period::Year(2005), Some(0.9))
        );
        assert_eq!(
            (&*o.provenance.sheet, o.provenance.cell.as_str()),
            ("t.csv", "D2")
        );
        assert_eq!(&*o.provenance.table_title, "Выработка");
        assert_eq!(
            o.dimensions,
            [("cluster".to_string(), "lipetsk".to_string())]
        );
        assert_eq!(doc.observations[3].value, None);
    }

    #[test]
    fn a_long_table_with_region_labels_and_its_problems() {
        let csv = "indicator_no;indicator_ru;unit;region;year;value\n1;A;%;Липецкая область;2005;3\n1;A;%;Нигдейская область;2005;4\n1;A;%;42000000000;в 2006;5\n";
        let m = mapping(
            Layout::Long {
                period_column: "year".into(),
                value_column: "value".into(),
            },
            RegionSource::Column("region".into()),
        );
        let doc =
            read_table_file("t.csv", csv.as_bytes(), &m, RegionDictionary::builtin()).unwrap();
        assert_eq!(doc.observations.len(), 1);
        let cells: Vec<_> = doc
            .problems
            .iter()
            .map(|p| p.location.cell.clone().unwrap())
            .collect();
        assert_eq!(cells, ["D3", "E4"]);
        let missing =
            read_table_file("t.csv", b"a,b\n1,2\n", &m, RegionDictionary::builtin()).unwrap_err();
        assert!(
            missing.to_string().contains("no column \"indicator_no\""),
            "{missing}"
        );
    }
}
