//! What a row or a cell of a sheet is: a table title with its code, a footnote or the separator above
//! the footnotes, a total row; and the text of cells.

use calamine::Data;

pub(super) fn count_grid_cells(cells: &[Data], col0: u32) -> usize {
    cells
        .iter()
        .enumerate()
        .filter(|(i, c)| col0 + *i as u32 > 0 && !is_empty(c))
        .count()
}

/// `10.2. ИНВЕСТИЦИИ ...` -> `Some("10.2")`; also with the space missing, `2.16.ЧИСЛЕННОСТЬ ...`.
pub(super) fn title_code(line: &str) -> Option<String> {
    let code: String = line
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let rest = &line.trim()[code.len()..];
    let valid = code.contains('.')
        && code.starts_with(|c: char| c.is_ascii_digit())
        && (rest.starts_with(char::is_whitespace)
            || code.ends_with('.') && rest.starts_with(char::is_alphabetic));
    valid.then(|| code.trim_end_matches('.').to_string())
}

pub(super) fn looks_like_table_sheet(name: &str) -> bool {
    title_code(&format!("{} x", name.trim())).is_some()
}

/// The first data row of some tables is labelled with the indicator instead of «Российская Федерация»
/// (GRP: «Валовой региональный продукт по субъектам Российской Федерации ... – всего»).
pub(super) fn is_total_label(label: &str) -> bool {
    let l = label.to_lowercase();
    l.contains("всего") || l.contains("российской федерации")
}

pub(super) fn is_separator(label: &str) -> bool {
    let t = label.trim();
    t.chars().count() >= 3 && t.chars().all(|c| matches!(c, '_' | '¾' | '—' | '-' | '–'))
}

/// `1) Данные ...` -> `(1, "Данные ...")`.
pub(super) fn footnote_line(label: &str) -> Option<(u32, String)> {
    let t = label.trim();
    // «*) Без учета ...»: an asterisk footnote.
    let stars = t.chars().take_while(|c| *c == '*').count();
    if stars > 0 {
        let rest = t[stars..].strip_prefix(')')?;
        return Some((
            crate::period::asterisk_mark(stars as u32),
            rest.split_whitespace().collect::<Vec<_>>().join(" "),
        ));
    }
    let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
    let rest = t[digits.len()..].strip_prefix(')')?;
    Some((
        digits.parse().ok()?,
        rest.split_whitespace().collect::<Vec<_>>().join(" "),
    ))
}

pub(super) fn is_empty(cell: &Data) -> bool {
    match cell {
        Data::Empty => true,
        Data::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

pub(super) fn text_of(cell: &Data) -> Option<String> {
    match cell {
        Data::String(s) if !s.trim().is_empty() => Some(s.clone()),
        _ => None,
    }
}

pub(super) fn display(cell: &Data) -> String {
    match cell {
        Data::String(s) => s.clone(),
        other => other.to_string(),
    }
}
