//! An .xlsx sheet's merged areas read from its XML in one plain scan. calamine's reader tokenizes a
//! sheet's whole XML a second time to reach `<mergeCells>`, which sits after the cells: a tenth of
//! the time of a big section. This finds the element by a byte search and reads only it.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use calamine::Dimensions;
use quick_xml::events::Event;

/// Largest sheet XML read for its merges, uncompressed.
const MAX_SHEET_BYTES: u64 = 512 * 1024 * 1024;

/// One reader's view of a workbook's sheets, by name.
pub(crate) struct RawMerges<'b> {
    zip: zip::ZipArchive<Cursor<&'b [u8]>>,
    paths: HashMap<String, String>,
    /// The last sheet's XML: one buffer for every sheet this reader scans, sized once for the
    /// largest (a fresh buffer per sheet, grown by doubling, faulted in fresh pages each time).
    xml: Vec<u8>,
}

fn read_entry(zip: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    read_entry_into(zip, name, &mut out)?;
    Some(out)
}

/// Replaces `out`'s bytes with the entry's, reserving its declared size first.
fn read_entry_into(
    zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
    out: &mut Vec<u8>,
) -> Option<()> {
    let entry = zip.by_name(name).ok()?;
    out.clear();
    // The declared size is a hint only (a damaged archive may lie): the read is capped anyway.
    out.reserve(entry.size().min(MAX_SHEET_BYTES) as usize);
    entry.take(MAX_SHEET_BYTES).read_to_end(out).ok()?;
    Some(())
}

/// (name or id, path or target) of each `tag` element with those attributes.
fn pairs(xml: &[u8], tag: &str, key: &str, value: &str) -> Vec<(String, String)> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut out = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().as_ref() == tag => {
                if let (Some(k), Some(v)) =
                    (crate::sdmx::attr(&e, key), crate::sdmx::attr(&e, value))
                {
                    out.push((k, v));
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
        buf.clear();
    }
    out
}

impl<'b> RawMerges<'b> {
    /// The workbook's sheet paths; `None` when the package is not laid out as expected (the caller
    /// then asks calamine).
    pub(crate) fn new(bytes: &'b [u8]) -> Option<Self> {
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
        let workbook = read_entry(&mut zip, "xl/workbook.xml")?;
        let rels = read_entry(&mut zip, "xl/_rels/workbook.xml.rels")?;
        let targets: HashMap<String, String> = pairs(&rels, "Relationship", "Id", "Target")
            .into_iter()
            .collect();
        let paths = pairs(&workbook, "sheet", "name", "id")
            .into_iter()
            .filter_map(|(name, id)| {
                let target = targets.get(&id)?;
                let path = match target.strip_prefix('/') {
                    Some(absolute) => absolute.to_string(),
                    None => format!("xl/{target}"),
                };
                Some((name, path))
            })
            .collect();
        Some(Self {
            zip,
            paths,
            xml: Vec::new(),
        })
    }

    /// A sheet's merged areas; `None` when it cannot be read here.
    pub(crate) fn of(&mut self, sheet: &str) -> Option<Vec<Dimensions>> {
        let path = self.paths.get(sheet)?;
        read_entry_into(&mut self.zip, path, &mut self.xml)?;
        let text = std::str::from_utf8(&self.xml).ok()?;
        let Some(start) = text.rfind("<mergeCells") else {
            return Some(Vec::new());
        };
        let end = text[start..]
            .find("</mergeCells>")
            .map_or(text.len(), |e| start + e);
        let mut areas = Vec::new();
        for part in text[start..end].split("ref=\"").skip(1) {
            let reference = part.split('"').next()?;
            let (a, b) = reference.split_once(':').unwrap_or((reference, reference));
            areas.push(Dimensions {
                start: cell(a)?,
                end: cell(b)?,
            });
        }
        Some(areas)
    }
}

/// `C12` -> (11, 2), zero-based (row, column).
fn cell(reference: &str) -> Option<(u32, u32)> {
    let letters = reference
        .bytes()
        .take_while(u8::is_ascii_alphabetic)
        .count();
    if letters == 0 || letters == reference.len() {
        return None;
    }
    let col = reference[..letters].bytes().try_fold(0u32, |n, b| {
        n.checked_mul(26)?
            .checked_add(u32::from(b.to_ascii_uppercase() - b'A' + 1))
    })?;
    let row: u32 = reference[letters..].parse().ok()?;
    Some((row.checked_sub(1)?, col - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scan finds what calamine's reader finds, sheet by sheet.
    #[test]
    fn the_same_areas_as_calamine() {
        use calamine::Reader;
        let mut wb = rust_xlsxwriter::Workbook::new();
        let fmt = rust_xlsxwriter::Format::new();
        for (name, areas) in [
            ("Лист 1", vec![(0u32, 1u16, 0u32, 3u16), (1, 0, 3, 0)]),
            ("2.1.", vec![]),
            ("10.2.", vec![(4, 2, 9, 2)]),
        ] {
            let ws = wb.add_worksheet();
            ws.set_name(name).unwrap();
            ws.write_number(20, 5, 1.0).unwrap();
            for (r0, c0, r1, c1) in areas {
                ws.merge_range(r0, c0, r1, c1, "", &fmt).unwrap();
            }
        }
        let bytes = wb.save_to_buffer().unwrap();
        let mut raw = RawMerges::new(&bytes).unwrap();
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(Cursor::new(&bytes[..])).unwrap();
        for name in book.sheet_names() {
            let theirs = book.merge_cells_by_sheet_name(&name).unwrap();
            assert_eq!(raw.of(&name), Some(theirs), "{name}");
        }
        assert_eq!(raw.of("Лист 1").unwrap().len(), 2);
    }

    #[test]
    fn references() {
        assert_eq!(cell("A1"), Some((0, 0)));
        assert_eq!(cell("C12"), Some((11, 2)));
        assert_eq!(cell("AA3"), Some((2, 26)));
        assert_eq!(cell("A0"), None);
        assert_eq!(cell("12"), None);
    }
}
