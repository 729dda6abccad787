//! Turns source documents into tidy [`Observation`]s.
//!
//! The crate knows nothing of HTTP or of the warehouse: it takes bytes and a document's name and
//! returns observations with provenance down to sheet and cell, plus the problems it met, each
//! located. Region labels in all their real spellings resolve through [`RegionDictionary`].

pub mod catalogue;
mod cell;
mod district;
mod document;
pub mod docx;
mod error;
pub mod grid;
pub mod html;
pub mod municipal;
mod observation;
mod period;
pub mod region;
pub mod rosstat;
pub mod sdmx;
pub mod table_file;
pub mod unit;
mod xlsx;

pub use catalogue::{Catalogue, IndicatorEntry};
pub use cell::{parse_cell_text, CellValue};
pub use document::{document_kind, parse_document, parse_document_each, DocumentKind};
pub use error::{Location, ParseProblem, TransformError};
pub use observation::{Observation, Provenance, Status};
pub use period::{Period, PeriodType, SubPeriod};
pub use region::{RegionDictionary, RegionEntry, RegionKind, Regions, Resolution};
pub use rosstat::{
    parse_workbook, parse_workbook_each, parse_workbook_each_with, parse_workbook_sheets,
    ParsedDocument, TableSummary,
};
pub use sdmx::{read_sdmx, SdmxSummary};

/// A1-style reference for a zero-based (row, column) pair, e.g. `(7, 1)` -> `B8`.
pub fn a1(row: u32, col: u32) -> String {
    let (buf, at) = a1_bytes(row, col);
    // ASCII letters and digits only.
    String::from_utf8_lossy(&buf[at..]).into_owned()
}

/// [`a1`] as a figure's cell, kept inline: no allocation a figure.
pub fn a1_cell(row: u32, col: u32) -> compact_str::CompactString {
    let (buf, at) = a1_bytes(row, col);
    // ASCII letters and digits only.
    compact_str::CompactString::from_utf8_lossy(&buf[at..])
}

/// The reference's bytes, at the end of a stack buffer from the returned index on.
fn a1_bytes(row: u32, col: u32) -> ([u8; 20], usize) {
    // Written right to left into one stack buffer: every figure carries its cell, and the
    // formatting machinery with its intermediate strings was a few percent of a section's read.
    let mut buf = [0u8; 20];
    let mut at = buf.len();
    let mut r = u64::from(row) + 1;
    loop {
        at -= 1;
        buf[at] = b'0' + (r % 10) as u8;
        r /= 10;
        if r == 0 {
            break;
        }
    }
    let mut c = u64::from(col) + 1;
    while c > 0 {
        at -= 1;
        buf[at] = b'A' + ((c - 1) % 26) as u8;
        c = (c - 1) / 26;
    }
    (buf, at)
}

#[cfg(test)]
mod tests {
    use super::a1;

    #[test]
    fn a1_references() {
        assert_eq!(a1(0, 0), "A1");
        assert_eq!(a1(7, 1), "B8");
        assert_eq!(a1(9, 25), "Z10");
        assert_eq!(a1(0, 26), "AA1");
        assert_eq!(a1(0, 701), "ZZ1");
        assert_eq!(a1(0, 702), "AAA1");
        assert_eq!(a1(u32::MAX, u32::MAX), "MWLQKWV4294967296");
    }
}
