//! Any supported document: a workbook (.xlsx, legacy .xls) or a ZIP archive of workbooks (the
//! appendix ships as an archive of «Раздел N» workbooks). Members' figures keep the member in their
//! provenance, Excel-style: sheet `[Раздел 10 - Инвестиции.xlsx]10.2.`.

use std::io::{Cursor, Read};

use crate::error::{Location, ParseProblem, TransformError};
use crate::region::RegionDictionary;
use crate::rosstat::{parse_workbook_sheets, ParsedDocument};

/// Largest archive member read, uncompressed: a guard against archive bombs.
const MAX_MEMBER_BYTES: u64 = 512 * 1024 * 1024;

pub fn parse_document(
    file: &str,
    bytes: &[u8],
    regions: &RegionDictionary,
    sheets: &[String],
) -> Result<ParsedDocument, TransformError> {
    if bytes.starts_with(b"Rar!\x1a\x07") {
        return Err(TransformError::Workbook {
            file: file.into(),
            reason: "RAR archives are not supported yet; unpack it and fetch the workbooks".into(),
        });
    }
    if !bytes.starts_with(b"PK\x03\x04") {
        return parse_workbook_sheets(file, bytes, regions, sheets);
    }
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| TransformError::Workbook {
            file: file.into(),
            reason: format!("not a readable ZIP archive: {e}"),
        })?;
    if archive.index_for_name("[Content_Types].xml").is_some() {
        // An .xlsx is itself a ZIP archive.
        return parse_workbook_sheets(file, bytes, regions, sheets);
    }
    let mut doc = ParsedDocument::default();
    for i in 0..archive.len() {
        let mut member = archive.by_index(i).map_err(|e| TransformError::Workbook {
            file: file.into(),
            reason: format!("member {i}: {e}"),
        })?;
        let name = match member.name() {
            Ok(n) => n.to_string(),
            Err(e) => {
                doc.problems.push(ParseProblem {
                    location: Location {
                        file: file.into(),
                        sheet: None,
                        cell: None,
                    },
                    expected: format!("a readable name for archive member {i}"),
                    found: e.to_string(),
                });
                continue;
            }
        };
        let lower = name.to_lowercase();
        if member.is_dir() || !(lower.ends_with(".xlsx") || lower.ends_with(".xls")) {
            tracing::debug!(archive = file, member = %name, "not a workbook; skipped");
            continue;
        }
        let path = format!("{file}/{name}");
        let problem = |found: String| ParseProblem {
            location: Location {
                file: path.clone(),
                sheet: None,
                cell: None,
            },
            expected: "a readable workbook".into(),
            found,
        };
        if member.size() > MAX_MEMBER_BYTES {
            doc.problems.push(problem(format!(
                "{} bytes uncompressed, over the {MAX_MEMBER_BYTES} limit",
                member.size()
            )));
            continue;
        }
        let mut content = Vec::with_capacity(member.size() as usize);
        if let Err(e) = member
            .by_ref()
            .take(MAX_MEMBER_BYTES)
            .read_to_end(&mut content)
        {
            doc.problems.push(problem(e.to_string()));
            continue;
        }
        let short = name.rsplit('/').next().unwrap_or(&name).to_string();
        match parse_workbook_sheets(&path, &content, regions, sheets) {
            Ok(mut part) => {
                for o in &mut part.observations {
                    o.provenance.sheet = format!("[{short}]{}", o.provenance.sheet);
                }
                for t in &mut part.tables {
                    t.sheet = format!("[{short}]{}", t.sheet);
                }
                doc.observations.append(&mut part.observations);
                doc.tables.append(&mut part.tables);
                doc.problems.append(&mut part.problems);
            }
            Err(e) => doc.problems.push(problem(e.to_string())),
        }
    }
    Ok(doc)
}
