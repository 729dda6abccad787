//! Any supported document: a workbook (.xlsx, legacy .xls) or a ZIP archive of workbooks (the
//! appendix ships as an archive of «Раздел N» workbooks). Members' figures keep the member in their
//! provenance, Excel-style: sheet `[Раздел 10 - Инвестиции.xlsx]10.2.`.

use std::io::{Cursor, Read};

use crate::error::{Location, ParseProblem, TransformError};
use crate::region::{RegionDictionary, Regions};
use crate::rosstat::{parse_workbook_sheets, ParsedDocument};

/// Largest archive member read, uncompressed: a guard against archive bombs.
const MAX_MEMBER_BYTES: u64 = 512 * 1024 * 1024;

/// What a document is, by its name and its first bytes: the one place runs and `regstat extract`
/// decide how to read a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// EMISS SDMX XML, read as a stream.
    Sdmx,
    /// A workbook or an archive of workbooks (`parse_document` tells them apart by their bytes).
    Workbooks,
}

/// The kind of a document: SDMX by a `.xml` name or by an XML head naming SDMX's `GenericData`
/// (an EMISS download saved under another name); anything else is read as workbooks.
pub fn document_kind(file_name: &str, head: &[u8]) -> DocumentKind {
    let head = &head[..head.len().min(512)];
    let head = head
        .strip_prefix(b"\xef\xbb\xbf".as_slice())
        .unwrap_or(head);
    if file_name.to_lowercase().ends_with(".xml")
        || (head.starts_with(b"<?xml") && String::from_utf8_lossy(head).contains("GenericData"))
    {
        DocumentKind::Sdmx
    } else {
        DocumentKind::Workbooks
    }
}

/// [`parse_document`] handing its figures to `emit` as they are read: a workbook sheet by sheet (in
/// sheet order, parsed in parallel), anything else in one part. A caller writes while the rest is
/// parsed and never holds a big workbook's figures whole. `finish` runs on the thread that parsed
/// the part (see [`crate::rosstat::parse_workbook_each_with`]); `&|part| part` hands parts on as
/// they are. A workbook takes `regions` only once its first sheet is read (see [`Regions`]).
pub fn parse_document_each<T: Send>(
    file: &str,
    bytes: &[u8],
    regions: Regions<'_>,
    sheets: &[String],
    finish: &(dyn Fn(ParsedDocument) -> T + Sync),
    emit: &mut dyn FnMut(T),
) -> Result<(), TransformError> {
    let is_workbook = bytes.starts_with(crate::rosstat::OLE2_MAGIC)
        || (bytes.starts_with(b"PK\x03\x04")
            && zip::ZipArchive::new(Cursor::new(bytes)).is_ok_and(|a| {
                a.index_for_name("[Content_Types].xml").is_some() && !crate::docx::is_docx(&a)
            }));
    if is_workbook {
        return crate::rosstat::parse_workbook_each_with(
            file, bytes, regions, sheets, finish, emit,
        );
    }
    emit(finish(parse_document(file, bytes, regions.get(), sheets)?));
    Ok(())
}

/// Any supported document, whole: see the module's documentation.
pub fn parse_document(
    file: &str,
    bytes: &[u8],
    regions: &RegionDictionary,
    sheets: &[String],
) -> Result<ParsedDocument, TransformError> {
    if bytes.starts_with(b"Rar!\x1a\x07") {
        return parse_rar(file, bytes, regions, sheets);
    }
    if crate::html::looks_like_html(bytes) {
        return parse_html(file, bytes, regions);
    }
    if !bytes.starts_with(b"PK\x03\x04") {
        return parse_workbook_sheets(file, bytes, regions, sheets);
    }
    let mut archive =
        zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| TransformError::Workbook {
            file: file.into(),
            reason: format!("not a readable ZIP archive: {e}"),
        })?;
    if crate::docx::is_docx(&archive) {
        let grids = crate::docx::read_docx_tables(file, bytes)?;
        return crate::grid::parse_grids(file, &only_named(grids, sheets), regions);
    }
    if archive.index_for_name("[Content_Types].xml").is_some() {
        // An .xlsx is itself a ZIP archive.
        return parse_workbook_sheets(file, bytes, regions, sheets);
    }
    let mut doc = ParsedDocument::default();
    let (mut members, mut workbooks) = (0, 0);
    for i in 0..archive.len() {
        let mut member = archive.by_index(i).map_err(|e| TransformError::Workbook {
            file: file.into(),
            reason: format!("member {i}: {e}"),
        })?;
        // The zip crate reads names without the UTF-8 flag as CP437; Russian Windows wrote CP866.
        let name = member_name_from_bytes(member.name_raw().to_vec());
        if member.is_dir() {
            continue;
        }
        members += 1;
        if !is_workbook_name(&name) {
            tracing::debug!(archive = file, member = %name, "not a workbook; skipped");
            continue;
        }
        workbooks += 1;
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
        add_member(&mut doc, file, &name, &content, regions, sheets);
    }
    if workbooks == 0 {
        doc.problems.push(no_workbook_in(file, members));
    }
    Ok(doc)
}

/// An archive from which no workbook was taken: a problem naming it, so that it never passes for an
/// archive read that had no figures. unrar reads garbage after the RAR signature as the end of the
/// archive, so "no member" is also how a damaged RAR archive shows.
fn no_workbook_in(archive: &str, members: usize) -> ParseProblem {
    let found = match members {
        0 => "no member: an empty or damaged archive".to_string(),
        1 => "1 member, none a workbook".to_string(),
        n => format!("{n} members, none a workbook"),
    };
    ParseProblem {
        location: Location {
            file: archive.into(),
            sheet: None,
            cell: None,
        },
        expected: "an archive holding a workbook (.xlsx or .xls)".into(),
        found,
    }
}

fn is_workbook_name(name: &str) -> bool {
    let lower = name.to_lowercase();
    [".xlsx", ".xls", ".docx", ".htm", ".html"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// The grids a source's `parser.sheets` names (all when it names none).
fn only_named(grids: Vec<crate::grid::Grid>, sheets: &[String]) -> Vec<crate::grid::Grid> {
    if sheets.is_empty() {
        return grids;
    }
    grids
        .into_iter()
        .filter(|g| sheets.iter().any(|s| s.trim() == g.name))
        .collect()
}

/// An HTML document's tables (a page of a statistics site, or an old gks.ru table saved as HTML
/// under an `.xls` name). Its text is UTF-8 or, as old gks.ru pages were, Windows-1251.
fn parse_html(
    file: &str,
    bytes: &[u8],
    regions: &RegionDictionary,
) -> Result<ParsedDocument, TransformError> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => encoding_rs::WINDOWS_1251.decode(bytes).0,
    };
    let grids = crate::html::read_html_tables(&text);
    if grids.is_empty() {
        return Err(TransformError::Workbook {
            file: file.to_string(),
            reason: "an HTML document without tables".into(),
        });
    }
    crate::grid::parse_grids(file, &grids, regions)
}

/// Parses one archive member and adds its figures, its sheets marked with the member's name.
fn add_member(
    doc: &mut ParsedDocument,
    archive: &str,
    name: &str,
    content: &[u8],
    regions: &RegionDictionary,
    sheets: &[String],
) {
    let path = format!("{archive}/{name}");
    let short = name.rsplit(['/', '\\']).next().unwrap_or(name).to_string();
    match parse_document(&path, content, regions, sheets) {
        Ok(mut part) => {
            for o in &mut part.observations {
                o.provenance.sheet = format!("[{short}]{}", o.provenance.sheet).into();
            }
            for t in &mut part.tables {
                t.sheet = format!("[{short}]{}", t.sheet);
            }
            doc.observations.append(&mut part.observations);
            doc.tables.append(&mut part.tables);
            doc.problems.append(&mut part.problems);
        }
        Err(e) => doc.problems.push(ParseProblem {
            location: Location {
                file: path,
                sheet: None,
                cell: None,
            },
            expected: "a readable workbook".into(),
            found: e.to_string(),
        }),
    }
}

/// unrar's mark before a name whose bytes it could not decode in the current locale: each byte of 0x80
/// and above then comes as U+E000 + byte.
const UNRAR_MAPPED_NAME: char = '\u{fffe}';

/// The member name a RAR 4 archive meant. Names without the archive's Unicode flag are stored in the
/// archiver's own encoding: UTF-8 from `rar` on Linux, the OEM code page (CP866 for Russian) from WinRAR
/// on Windows. unrar hands such bytes back mapped (see [`UNRAR_MAPPED_NAME`]); they are restored and read
/// by [`member_name_from_bytes`], so that «Раздел 10 - Инвестиции.xlsx» keeps its name in
/// the figures' provenance.
fn rar_member_name(name: &str) -> String {
    let Some(mapped) = name.strip_prefix(UNRAR_MAPPED_NAME) else {
        return name.to_string();
    };
    let mut bytes = Vec::with_capacity(mapped.len());
    for c in mapped.chars() {
        match u32::from(c) {
            b @ 0xE080..=0xE0FF => bytes.push((b - 0xE000) as u8),
            b @ 0..=0x7F => bytes.push(b as u8),
            _ => return mapped.to_string(),
        }
    }
    member_name_from_bytes(bytes)
}

/// An archive member's name from the bytes stored: UTF-8 when they are, else the Russian OEM code page
/// CP866 in which Windows archivers wrote names without a Unicode flag.
fn member_name_from_bytes(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(utf8) => utf8,
        Err(e) => encoding_rs::IBM866.decode(e.as_bytes()).0.into_owned(),
    }
}

/// A RAR archive (how Rosstat ships the «Регионы России» appendix), read with the unrar library.
/// The library reads archives from files only, so the bytes go to a temporary file first.
fn parse_rar(
    file: &str,
    bytes: &[u8],
    regions: &RegionDictionary,
    sheets: &[String],
) -> Result<ParsedDocument, TransformError> {
    let fail = |reason: String| TransformError::Workbook {
        file: file.into(),
        reason,
    };
    let mut tmp = tempfile::Builder::new()
        .suffix(".rar")
        .tempfile()
        .map_err(|e| fail(format!("temporary file: {e}")))?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(|e| fail(format!("temporary file: {e}")))?;
    let mut doc = ParsedDocument::default();
    let (mut members, mut workbooks) = (0, 0);
    let mut cursor = unrar::Archive::new(tmp.path())
        .open_for_processing()
        .map_err(|e| fail(format!("not a readable RAR archive: {e}")))?;
    while let Some(header) = cursor
        .read_header()
        .map_err(|e| fail(format!("RAR header: {e}")))?
    {
        let entry = header.entry();
        let name = rar_member_name(&entry.filename.to_string_lossy()).replace('\\', "/");
        members += usize::from(entry.is_file());
        if !entry.is_file() || !is_workbook_name(&name) {
            cursor = header
                .skip()
                .map_err(|e| fail(format!("RAR member {name}: {e}")))?;
            continue;
        }
        workbooks += 1;
        if entry.unpacked_size > MAX_MEMBER_BYTES {
            doc.problems.push(ParseProblem {
                location: Location {
                    file: format!("{file}/{name}"),
                    sheet: None,
                    cell: None,
                },
                expected: "a readable workbook".into(),
                found: format!(
                    "{} bytes uncompressed, over the {MAX_MEMBER_BYTES} limit",
                    entry.unpacked_size
                ),
            });
            cursor = header
                .skip()
                .map_err(|e| fail(format!("RAR member {name}: {e}")))?;
            continue;
        }
        let (content, rest) = header
            .read()
            .map_err(|e| fail(format!("RAR member {name}: {e}")))?;
        add_member(&mut doc, file, &name, &content, regions, sheets);
        cursor = rest;
    }
    if workbooks == 0 {
        doc.problems.push(no_workbook_in(file, members));
    }
    Ok(doc)
}
