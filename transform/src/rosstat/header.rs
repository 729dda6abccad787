//! The header rows of a table: the periods by column (years as numbers or text, quarters or months
//! under them, sub-periods of a year the title names), and the footnote marks on header cells.

use std::collections::BTreeMap;

use calamine::Data;

use crate::period::{strip_footnote_mark, Period, SubPeriod};

use super::lines::{display, is_empty};

/// Footnote marks on header cells, by column.
pub(super) fn header_marks(cells: &[Data], col0: u32) -> BTreeMap<u32, Vec<u32>> {
    cells
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let Data::String(s) = c else { return None };
            let marks = strip_footnote_mark(s).1;
            (i as u32 + col0 > 0 && !marks.is_empty()).then_some((col0 + i as u32, marks))
        })
        .collect()
}

pub(super) fn sub_periods(cells: &[Data], col0: u32) -> BTreeMap<u32, SubPeriod> {
    cells
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let col = col0 + i as u32;
            let Data::String(s) = c else { return None };
            (col > 0)
                .then(|| SubPeriod::from_header_text(s).map(|p| (col, p)))
                .flatten()
        })
        .collect()
}

/// The last plausible year (1900-2100) written in a text, e.g. in «... в 2022 году».
pub(super) fn year_in_text(text: &str) -> Option<i32> {
    let mut found = None;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            if i - start == 4 {
                let year: i32 = chars[start..i].iter().collect::<String>().parse().ok()?;
                if (1900..=2100).contains(&year) {
                    found = Some(year);
                }
            }
        } else {
            i += 1;
        }
    }
    found
}

/// The periods of a header row by column. A typo between two years (`2008, 20009, 2010` in 12.10.)
/// is read as the year between them, since the sequence leaves no doubt.
pub(super) fn header_periods(cells: &[Data], col0: u32) -> BTreeMap<u32, Period> {
    let mut periods: BTreeMap<u32, Period> = cells
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let col = col0 + i as u32;
            (col > 0)
                .then(|| header_period(c).map(|p| (col, p)))
                .flatten()
        })
        .collect();
    if periods.len() >= 2 {
        for (i, c) in cells.iter().enumerate() {
            let col = col0 + i as u32;
            if col == 0 || is_empty(c) || periods.contains_key(&col) {
                continue;
            }
            let before = col.checked_sub(1).and_then(|b| periods.get(&b));
            if let (Some(Period::Year(a)), Some(Period::Year(b))) =
                (before, periods.get(&(col + 1)))
            {
                if b - a == 2 {
                    let found = display(c);
                    tracing::warn!(column = col, found = %found, year = a + 1, "header cell read as the year between its neighbours");
                    periods.insert(col, Period::Year(a + 1));
                }
            }
        }
    }
    periods
}

pub(super) fn header_period(cell: &Data) -> Option<Period> {
    match cell {
        Data::Float(v) => Period::from_header_number(*v),
        Data::Int(v) => Period::from_header_number(*v as f64),
        Data::String(s) => Period::from_header_text(s),
        _ => None,
    }
}
