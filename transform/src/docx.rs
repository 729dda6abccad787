//! Tables in Word documents (.docx): regional offices publish many of their tables so. Each
//! top-level table of `word/document.xml` becomes a [`Grid`] with the paragraphs above it as its
//! title lines; a cell spanning columns (`w:gridSpan`) or rows (`w:vMerge`) is a merged area with its
//! text in the top-left cell, as a workbook has it.

use std::io::{Cursor, Read};

use quick_xml::events::Event;

use crate::error::TransformError;
use crate::grid::Grid;

/// Paragraphs above a table kept as its title lines (the table's number, title and unit line).
const TITLE_LINES: usize = 4;
/// Largest `word/document.xml` read, uncompressed.
const MAX_XML_BYTES: u64 = 256 * 1024 * 1024;

/// Whether a ZIP archive's bytes are a Word document.
pub fn is_docx(archive: &zip::ZipArchive<Cursor<&[u8]>>) -> bool {
    archive.index_for_name("word/document.xml").is_some()
}

/// The tables of a .docx.
pub fn read_docx_tables(file: &str, bytes: &[u8]) -> Result<Vec<Grid>, TransformError> {
    let error = |reason: String| TransformError::Workbook {
        file: file.to_string(),
        reason,
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| error(format!("not a readable .docx (ZIP): {e}")))?;
    let mut xml = Vec::new();
    archive
        .by_name("word/document.xml")
        .map_err(|e| error(format!("no word/document.xml: {e}")))?
        .take(MAX_XML_BYTES)
        .read_to_end(&mut xml)
        .map_err(|e| error(format!("word/document.xml: {e}")))?;
    read_document_xml(&xml).map_err(|e| error(format!("word/document.xml: {e}")))
}

#[derive(Default)]
struct TableBuilder {
    rows: Vec<Vec<String>>,
    merges: Vec<(u32, u32, u32, u32)>,
    /// Column -> the row where a vertical merge began (`w:vMerge w:val="restart"`).
    open_vertical: std::collections::BTreeMap<u32, u32>,
    /// The cell being read: its column, span and vertical merge state.
    col: u32,
    span: u32,
    vmerge: Option<bool>,
    cell_text: String,
}

impl TableBuilder {
    fn start_row(&mut self) {
        self.rows.push(Vec::new());
        self.col = 0;
    }

    fn start_cell(&mut self) {
        self.span = 1;
        self.vmerge = None;
        self.cell_text.clear();
    }

    fn end_cell(&mut self) {
        let row = self.rows.len().saturating_sub(1) as u32;
        let col = self.col;
        let cells = self.rows.last_mut().expect("a cell is inside a row");
        while cells.len() < col as usize {
            cells.push(String::new());
        }
        let text = self
            .cell_text
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        match self.vmerge {
            // A continuation of the merge above: empty here; the area grows.
            Some(false) => cells.push(String::new()),
            _ => cells.push(text),
        }
        for _ in 1..self.span {
            cells.push(String::new());
        }
        match self.vmerge {
            Some(true) => {
                self.close_vertical(col, row);
                self.open_vertical.insert(col, row);
            }
            Some(false) => {}
            None => self.close_vertical(col, row),
        }
        if self.span > 1 && self.vmerge != Some(true) {
            self.merges.push((row, col, row, col + self.span - 1));
        }
        self.col += self.span;
    }

    /// Ends a vertical merge of `col` that began above `row`.
    fn close_vertical(&mut self, col: u32, row: u32) {
        if let Some(start) = self.open_vertical.remove(&col) {
            if row > start + 1 {
                self.merges.push((start, col, row - 1, col));
            }
        }
    }

    fn finish(mut self, name: String, titles: Vec<String>) -> Grid {
        let last = self.rows.len() as u32;
        let open: Vec<(u32, u32)> = std::mem::take(&mut self.open_vertical)
            .into_iter()
            .collect();
        for (col, start) in open {
            if last > start + 1 {
                self.merges.push((start, col, last - 1, col));
            }
        }
        Grid {
            name,
            titles,
            rows: self.rows,
            merges: self.merges,
        }
    }
}

fn read_document_xml(xml: &[u8]) -> Result<Vec<Grid>, String> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut grids: Vec<Grid> = Vec::new();
    // Paragraphs since the last table, for the next table's title lines.
    let mut paragraphs: Vec<String> = Vec::new();
    let mut paragraph = String::new();
    let mut in_text = false;
    // Nested tables are read as text of their outer cell.
    let mut depth = 0usize;
    let mut table: Option<TableBuilder> = None;
    // Paragraphs since the last table have all been its footnotes.
    let mut footnotes_open = false;
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("at byte {}: {e}", reader.buffer_position()))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let empty = matches!(event, Event::Empty(_));
                match e.local_name().as_ref() {
                    "tbl" if !empty => {
                        depth += 1;
                        if depth == 1 {
                            table = Some(TableBuilder::default());
                        }
                    }
                    "tr" if depth == 1 && !empty => {
                        if let Some(t) = &mut table {
                            t.start_row();
                        }
                    }
                    "tc" if depth == 1 && !empty => {
                        if let Some(t) = &mut table {
                            t.start_cell();
                        }
                    }
                    "gridSpan" if depth == 1 => {
                        if let Some(t) = &mut table {
                            t.span = crate::sdmx::attr(e, "val")
                                .and_then(|v| v.parse().ok())
                                .unwrap_or(1)
                                .max(1);
                        }
                    }
                    "vMerge" if depth == 1 => {
                        if let Some(t) = &mut table {
                            t.vmerge =
                                Some(crate::sdmx::attr(e, "val").as_deref() == Some("restart"));
                        }
                    }
                    "t" if !empty => in_text = true,
                    "tab" => paragraph.push(' '),
                    "br" | "cr" => paragraph.push(' '),
                    "p" if !empty => paragraph.clear(),
                    _ => {}
                }
            }
            Event::Text(t) if in_text => paragraph.push_str(&t.xml10_content()),
            Event::GeneralRef(r) if in_text => {
                let name = r.xml10_content();
                paragraph.push_str(match name.as_ref() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    _ => "",
                });
            }
            Event::End(e) => match e.local_name().as_ref() {
                "t" => in_text = false,
                "p" => {
                    let text = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
                    match &mut table {
                        Some(t) if depth >= 1 => {
                            if !t.cell_text.is_empty() && !text.is_empty() {
                                t.cell_text.push(' ');
                            }
                            t.cell_text.push_str(&text);
                        }
                        // Footnotes right under a table («1) Оценка.») are its last rows, where
                        // the workbook parser reads a sheet's footnotes.
                        _ if footnotes_open && crate::rosstat::is_footnote_line(&text) => {
                            if let Some(g) = grids.last_mut() {
                                g.rows.push(vec![text]);
                            }
                        }
                        _ if !text.is_empty() => {
                            footnotes_open = false;
                            paragraphs.push(text);
                        }
                        _ => {}
                    }
                    paragraph.clear();
                }
                "tc" if depth == 1 => {
                    if let Some(t) = &mut table {
                        t.end_cell();
                    }
                }
                "tbl" => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        if let Some(t) = table.take() {
                            let start = paragraphs.len().saturating_sub(TITLE_LINES);
                            let titles = paragraphs.split_off(start);
                            paragraphs.clear();
                            let name = format!("Таблица {}", grids.len() + 1);
                            grids.push(t.finish(name, titles));
                            footnotes_open = true;
                        }
                    }
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(grids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(text: &str, props: &str) -> String {
        format!("<w:tc><w:tcPr>{props}</w:tcPr><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:tc>")
    }

    #[test]
    fn a_word_table_is_a_grid_with_its_title_and_merges() {
        let xml = format!(
            r#"<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>
            <w:p><w:r><w:t>Вступление, далёкое от таблицы</w:t></w:r></w:p>
            <w:p><w:r><w:t xml:space="preserve">Отгружено товаров </w:t></w:r><w:r><w:t>собственного производства</w:t></w:r></w:p>
            <w:p><w:r><w:t>(миллионов рублей)</w:t></w:r></w:p>
            <w:tbl>
              <w:tr>{}{}{}</w:tr>
              <w:tr>{}{}{}</w:tr>
              <w:tr>{}{}{}</w:tr>
              <w:tr>{}{}{}</w:tr>
            </w:tbl>
            <w:p><w:r><w:t>1) Оценка.</w:t></w:r></w:p>
            </w:body></w:document>"#,
            cell("", r#"<w:vMerge w:val="restart"/>"#),
            cell("Годы", r#"<w:gridSpan w:val="2"/>"#),
            "",
            cell("", "<w:vMerge/>"),
            cell("2023", ""),
            cell("2024", ""),
            cell("Липецкая область", ""),
            cell("1 234,5", ""),
            cell("&amp;1 300", ""),
            cell("г. Липецк", ""),
            cell("800", ""),
            cell("…", ""),
        );
        let grids = read_document_xml(xml.as_bytes()).unwrap();
        assert_eq!(grids.len(), 1);
        let g = &grids[0];
        assert_eq!(g.name, "Таблица 1");
        assert_eq!(
            g.titles,
            [
                "Вступление, далёкое от таблицы",
                "Отгружено товаров собственного производства",
                "(миллионов рублей)"
            ]
        );
        assert_eq!(g.rows[0], ["", "Годы", ""]);
        assert_eq!(g.rows[1], ["", "2023", "2024"]);
        assert_eq!(g.rows[2], ["Липецкая область", "1 234,5", "&1 300"]);
        assert_eq!(g.merges, [(0, 1, 0, 2), (0, 0, 1, 0)]);
        assert_eq!(g.rows.last().unwrap(), &["1) Оценка."]);
    }
}
