use crate::observation::Status;
use crate::period::strip_footnote_mark;

/// What one non-empty data cell holds once read.
#[derive(Debug, Clone, PartialEq)]
pub struct CellValue {
    pub value: Option<f64>,
    pub status: Status,
    pub footnote_marks: Vec<u32>,
}

/// Reads a data cell stored as text: `111,51)` is 111.5 with footnote 1; `…`, `...`, `-`, `–`, `—`
/// and `x` are missing with their reason; `в 5,8 р.` is a ratio of 5.8 times. Returns `None` for text
/// that is none of these, which the caller reports as a problem at the cell.
pub fn parse_cell_text(text: &str) -> Option<CellValue> {
    let (body, footnote_marks) = strip_footnote_mark(text.trim());
    let body = body.trim();
    let missing = |status| {
        Some(CellValue {
            value: None,
            status,
            footnote_marks: footnote_marks.clone(),
        })
    };
    // A marker with a bare footnote mark: «…5».
    if let Some(mark) = body
        .strip_prefix('…')
        .filter(|m| !m.is_empty() && m.chars().all(|c| c.is_ascii_digit()))
    {
        let mut marks = footnote_marks.clone();
        marks.extend(mark.parse::<u32>().ok());
        return Some(CellValue {
            value: None,
            status: Status::NotAvailable,
            footnote_marks: marks,
        });
    }
    match body {
        "…" | "..." | "…." | ".." => return missing(Status::NotAvailable),
        // Hyphens (U+2010 too), en dash, em dash, and the minus sign and figure dash some exports put
        // in their place.
        "-" | "\u{2010}" | "–" | "—" | "−" | "‒" => return missing(Status::NoActivity),
        "x" | "х" | "X" | "Х" => return missing(Status::NotApplicable),
        "" => return None,
        _ => {}
    }
    // «в 5,8 р.», also spelt out «в 2,1 раза».
    if let Some(ratio) = body.strip_prefix("в ").and_then(|r| {
        let r = r.trim();
        r.strip_suffix("р.").or_else(|| r.strip_suffix("раза"))
    }) {
        let value = parse_number(ratio.trim())?;
        return Some(CellValue {
            value: Some(value),
            status: Status::RatioTimes,
            footnote_marks,
        });
    }
    parse_number(body).map(|value| CellValue {
        value: Some(value),
        status: Status::Ok,
        footnote_marks,
    })
}

/// A number written as text: decimal comma or point, spaces (including no-break ones) as thousands
/// separators, a Unicode minus.
fn parse_number(text: &str) -> Option<f64> {
    let cleaned: String = text
        .chars()
        .filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}'))
        .map(|c| match c {
            ',' => '.',
            '−' => '-',
            c => c,
        })
        .collect();
    if cleaned.is_empty()
        || !cleaned
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | 'e' | 'E' | '+'))
    {
        return None;
    }
    cleaned.parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(value: Option<f64>, status: Status, marks: &[u32]) -> Option<CellValue> {
        Some(CellValue {
            value,
            status,
            footnote_marks: marks.to_vec(),
        })
    }

    #[test]
    fn rosstat_cell_spellings() {
        assert_eq!(
            parse_cell_text("111,51)"),
            cell(Some(111.5), Status::Ok, &[1])
        );
        assert_eq!(
            parse_cell_text("…4)"),
            cell(None, Status::NotAvailable, &[4])
        );
        assert_eq!(
            parse_cell_text("..."),
            cell(None, Status::NotAvailable, &[])
        );
        assert_eq!(parse_cell_text("–"), cell(None, Status::NoActivity, &[]));
        assert_eq!(parse_cell_text("−"), cell(None, Status::NoActivity, &[]));
        assert_eq!(parse_cell_text("x"), cell(None, Status::NotApplicable, &[]));
        assert_eq!(
            parse_cell_text("в 5,8 р."),
            cell(Some(5.8), Status::RatioTimes, &[])
        );
        assert_eq!(
            parse_cell_text("в 3.7 р."),
            cell(Some(3.7), Status::RatioTimes, &[])
        );
        assert_eq!(
            parse_cell_text("1 234,5"),
            cell(Some(1234.5), Status::Ok, &[])
        );
        assert_eq!(parse_cell_text("−2,5"), cell(Some(-2.5), Status::Ok, &[]));
        assert_eq!(
            parse_cell_text("в 2,1 раза"),
            cell(Some(2.1), Status::RatioTimes, &[])
        );
        assert_eq!(parse_cell_text("н/д"), None);
        assert_eq!(parse_cell_text(""), None);
    }
}
