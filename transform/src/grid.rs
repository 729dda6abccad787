//! Tables of documents that are not workbooks (a Word document's tables, an HTML page's tables) as
//! grids of text with their title lines above, read by the workbook parser as sheets: one parser
//! for every layout, whatever the file format carried it.

use calamine::{Data, Dimensions, Range};

use crate::error::TransformError;
use crate::region::RegionDictionary;
use crate::rosstat::ParsedDocument;

/// One table: its title lines (the paragraphs above it), its rows of cell text, and its merged
/// areas (a cell spanning columns or rows), whose text is in their top-left cell as in Excel.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grid {
    /// What the figures' provenance calls the sheet: «Таблица 2».
    pub name: String,
    pub titles: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// (first row, first column, last row, last column) in `rows`' coordinates.
    pub merges: Vec<(u32, u32, u32, u32)>,
}

impl Grid {
    /// The grid as a worksheet: title lines in column A, then the rows; cell references (`B7`)
    /// count the title lines, so they name the table's rows as the parser saw them.
    pub(crate) fn to_range(&self) -> (Range<Data>, Vec<Dimensions>) {
        let width = self.rows.iter().map(Vec::len).max().unwrap_or(0).max(1) as u32;
        let height = (self.titles.len() + self.rows.len()).max(1) as u32;
        let mut range = Range::new((0, 0), (height - 1, width - 1));
        for (r, title) in self.titles.iter().enumerate() {
            range.set_value((r as u32, 0), Data::String(title.clone()));
        }
        let top = self.titles.len() as u32;
        for (r, row) in self.rows.iter().enumerate() {
            for (c, text) in row.iter().enumerate() {
                let text = text.trim();
                if !text.is_empty() {
                    range.set_value((top + r as u32, c as u32), Data::String(text.to_string()));
                }
            }
        }
        let merges = self
            .merges
            .iter()
            .map(|&(r0, c0, r1, c1)| Dimensions {
                start: (top + r0, c0),
                end: (top + r1, c1),
            })
            .collect();
        (range, merges)
    }
}

/// Reads every grid as a sheet of the workbook parser.
pub fn parse_grids(
    file: &str,
    grids: &[Grid],
    regions: &RegionDictionary,
) -> Result<ParsedDocument, TransformError> {
    let mut doc = ParsedDocument::default();
    for grid in grids {
        let (range, merges) = grid.to_range();
        let part = crate::rosstat::parse_range(file, &grid.name, range, &merges, regions)?;
        doc.observations.extend(part.observations);
        doc.tables.extend(part.tables);
        doc.problems.extend(part.problems);
    }
    Ok(doc)
}
