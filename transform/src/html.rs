//! Tables in HTML: the statistics sites' own pages, and old gks.ru tables saved as HTML under an
//! `.xls` name. Each `<table>` becomes a [`Grid`]: its caption, or the headings and paragraphs just
//! above it, as title lines; `colspan`/`rowspan` as merged areas with the text in the top-left cell.

use scraper::{ElementRef, Html, Selector};

use crate::grid::Grid;

/// Paragraphs above a table kept as its title lines.
const TITLE_LINES: usize = 4;

/// Whether bytes look like an HTML document (after a byte-order mark and blanks).
pub fn looks_like_html(bytes: &[u8]) -> bool {
    let head = bytes
        .strip_prefix(b"\xef\xbb\xbf".as_slice())
        .unwrap_or(bytes);
    let head = head.trim_ascii_start();
    let lower: Vec<u8> = head.iter().take(256).map(u8::to_ascii_lowercase).collect();
    lower.starts_with(b"<!doctype html")
        || lower.starts_with(b"<html")
        || (lower.starts_with(b"<") && lower.windows(6).any(|w| w == b"<table"))
}

fn text_of(e: &ElementRef) -> String {
    e.text()
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The tables of an HTML document (nested tables are text of their outer cell).
pub fn read_html_tables(html: &str) -> Vec<Grid> {
    let doc = Html::parse_document(html);
    let tables = Selector::parse("table").expect("valid selector");
    let caption = Selector::parse("caption").expect("valid selector");
    let mut grids = Vec::new();
    for table in doc.select(&tables) {
        // Only outermost tables.
        if table
            .ancestors()
            .filter_map(ElementRef::wrap)
            .any(|a| a.value().name() == "table")
        {
            continue;
        }
        let mut titles: Vec<String> = table
            .select(&caption)
            .next()
            .map(|c| vec![text_of(&c)])
            .unwrap_or_default();
        if titles.is_empty() {
            let mut above = Vec::new();
            for sibling in table.prev_siblings().filter_map(ElementRef::wrap) {
                if sibling.value().name() == "table" || above.len() == TITLE_LINES {
                    break;
                }
                let text = text_of(&sibling);
                if !text.is_empty() {
                    above.push(text);
                }
            }
            above.reverse();
            titles = above;
        }
        let mut rows: Vec<Vec<String>> = Vec::new();
        let mut merges = Vec::new();
        // (row, column) -> taken by a rowspan from above.
        let mut taken = std::collections::HashSet::new();
        let own_rows = table
            .descendants()
            .filter_map(ElementRef::wrap)
            .filter(|e| e.value().name() == "tr")
            .filter(|tr| {
                tr.ancestors()
                    .filter_map(ElementRef::wrap)
                    .find(|a| a.value().name() == "table")
                    .is_some_and(|t| t.id() == table.id())
            });
        for (r, tr) in own_rows.enumerate() {
            let r = r as u32;
            let mut row = Vec::new();
            let mut c = 0u32;
            for td in tr
                .children()
                .filter_map(ElementRef::wrap)
                .filter(|e| matches!(e.value().name(), "td" | "th"))
            {
                while taken.contains(&(r, c)) {
                    row.push(String::new());
                    c += 1;
                }
                let span = |name: &str| {
                    td.value()
                        .attr(name)
                        .and_then(|v| v.trim().parse::<u32>().ok())
                        .unwrap_or(1)
                        .clamp(1, 1000)
                };
                let (colspan, rowspan) = (span("colspan"), span("rowspan"));
                row.push(text_of(&td));
                for _ in 1..colspan {
                    row.push(String::new());
                }
                for dr in 1..rowspan {
                    for dc in 0..colspan {
                        taken.insert((r + dr, c + dc));
                    }
                }
                if colspan > 1 || rowspan > 1 {
                    merges.push((r, c, r + rowspan - 1, c + colspan - 1));
                }
                c += colspan;
            }
            rows.push(row);
        }
        if rows.iter().all(|r| r.iter().all(String::is_empty)) {
            continue;
        }
        grids.push(Grid {
            name: format!("Таблица {}", grids.len() + 1),
            titles,
            rows,
            merges,
        });
    }
    grids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_html_table_is_a_grid() {
        let html = r#"<!DOCTYPE html><html><body>
            <h2>Среднемесячная номинальная начисленная заработная плата</h2>
            <p>(рублей)</p>
            <table>
              <tr><th rowspan="2"></th><th colspan="2">Годы</th></tr>
              <tr><th>2023</th><th>2024</th></tr>
              <tr><td>Липецкая область</td><td>52 100,5</td><td>60 300</td></tr>
            </table></body></html>"#;
        assert!(looks_like_html(html.as_bytes()));
        let grids = read_html_tables(html);
        assert_eq!(grids.len(), 1);
        let g = &grids[0];
        assert_eq!(
            g.titles,
            [
                "Среднемесячная номинальная начисленная заработная плата",
                "(рублей)"
            ]
        );
        assert_eq!(g.rows[0], ["", "Годы", ""]);
        assert_eq!(g.rows[1], ["", "2023", "2024"]);
        assert_eq!(g.rows[2], ["Липецкая область", "52 100,5", "60 300"]);
        assert_eq!(g.merges, [(0, 0, 1, 0), (0, 1, 0, 2)]);
    }
}
