//! A fast reader of .xlsx worksheets into calamine's `Range<Data>`.
//!
//! calamine reads any workbook, but for a short-lived `regstat extract` of a Rosstat section it
//! was most of the work: each parsing thread opened the package anew (shared strings, styles and
//! theme parsed once per thread), every sheet's XML went through a general XML tokenizer, and the
//! merged areas took a second inflate of the sheet. This reader opens the package once, shares
//! its strings and number formats between the threads, and walks each sheet's XML once with byte
//! searches for its cells and its merged areas.
//!
//! It builds the same `Range<Data>` calamine builds (same positions, same values, same dates;
//! tests compare the two on every corpus sheet and on hand-made packages). What it does not read
//! exactly as calamine does (an unknown cell type or child element, an entity it does not know,
//! a number format it cannot classify, a damaged part) makes it step aside with [`StepAside`]:
//! the caller then reads that sheet, or the whole workbook, with calamine, whose answer (or error)
//! is the reference.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use calamine::{Cell, CellErrorType, Data, Dimensions, ExcelDateTime, ExcelDateTimeType, Range};
use memchr::{memchr, memmem};

/// Largest part read, uncompressed (a damaged archive may declare anything).
const MAX_PART_BYTES: u64 = 1 << 30;

/// This reader does not read the part as calamine would; calamine is to read it. The reason is
/// for the tests and the debug log, never for users: calamine's own error, if any, is theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StepAside(pub(crate) &'static str);

type Step<T> = Result<T, StepAside>;

/// How a cell style shows a number: as a number, a date and time, or a duration (`[h]:mm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NumberFormat {
    Number,
    DateTime,
    TimeDelta,
}

/// A workbook's package, opened once: its sheets, shared strings and number formats, shared by
/// every thread that reads its sheets (each through its own [`SheetReader`]).
pub(crate) struct XlsxBook<'b> {
    zip: zip::ZipArchive<Cursor<&'b [u8]>>,
    /// (name, part path, is a worksheet) in workbook order.
    sheets: Vec<(String, String, bool)>,
    strings: Vec<String>,
    /// By cell style index (`s`), as the workbook's `cellXfs` list them.
    formats: Vec<NumberFormat>,
    is_1904: bool,
}

impl<'b> XlsxBook<'b> {
    pub(crate) fn open(bytes: &'b [u8]) -> Step<Self> {
        let mut zip =
            zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| StepAside("not a ZIP archive"))?;
        let mut part = Vec::new();
        read_part(&mut zip, "xl/_rels/workbook.xml.rels", &mut part)?
            .ok_or(StepAside("no xl/_rels/workbook.xml.rels"))?;
        let relationships = relationships(&part)?;
        read_part(&mut zip, "xl/workbook.xml", &mut part)?
            .ok_or(StepAside("no xl/workbook.xml"))?;
        let (sheets, is_1904) = workbook_sheets(&part, &relationships)?;
        let strings = match read_part(&mut zip, "xl/sharedStrings.xml", &mut part)? {
            Some(()) => shared_strings(&part)?,
            None => Vec::new(),
        };
        let formats = match read_part(&mut zip, "xl/styles.xml", &mut part)? {
            Some(()) => number_formats(&part)?,
            None => Vec::new(),
        };
        Ok(XlsxBook {
            zip,
            sheets,
            strings,
            formats,
            is_1904,
        })
    }

    /// The sheet names in workbook order, as calamine lists them.
    pub(crate) fn sheet_names(&self) -> Vec<String> {
        self.sheets.iter().map(|(name, ..)| name.clone()).collect()
    }

    /// A reader of this book's sheets for one thread.
    pub(crate) fn reader(&self) -> SheetReader<'_, 'b> {
        SheetReader {
            book: self,
            zip: self.zip.clone(),
            xml: Vec::new(),
        }
    }
}

/// One thread's reader of a book's sheets; its buffer is reused from sheet to sheet.
pub(crate) struct SheetReader<'a, 'b> {
    book: &'a XlsxBook<'b>,
    zip: zip::ZipArchive<Cursor<&'b [u8]>>,
    xml: Vec<u8>,
}

impl SheetReader<'_, '_> {
    /// A sheet's cells and merged areas.
    pub(crate) fn sheet(&mut self, name: &str) -> Step<(Range<Data>, Vec<Dimensions>)> {
        let (_, path, is_worksheet) = self
            .book
            .sheets
            .iter()
            .find(|(n, ..)| n == name)
            .ok_or(StepAside("no such sheet"))?;
        if !is_worksheet {
            return Err(StepAside("a chart or dialog sheet"));
        }
        read_part(&mut self.zip, path, &mut self.xml)?.ok_or(StepAside("sheet part missing"))?;
        read_sheet(&self.xml, self.book)
    }
}

/// Replaces `out` with the part's bytes; `None` when the package has no such part.
fn read_part(
    zip: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &str,
    out: &mut Vec<u8>,
) -> Step<Option<()>> {
    let Some(index) = zip.index_for_name(name) else {
        // calamine finds parts whatever their case or slashes: a part this exact name misses
        // but calamine would find is calamine's to read.
        let loose = |n: &str| n.replace('\\', "/").to_ascii_lowercase();
        let wanted = loose(name);
        if zip
            .file_names()
            .any(|n| n.is_ok_and(|n| loose(&n) == wanted))
        {
            return Err(StepAside("a part named in another case"));
        }
        return Ok(None);
    };
    let entry = zip
        .by_index(index)
        .map_err(|_| StepAside("unreadable part"))?;
    out.clear();
    // The declared size sizes the buffer once; it is a hint only, the read is capped anyway.
    out.reserve(entry.size().min(MAX_PART_BYTES) as usize);
    entry
        .take(MAX_PART_BYTES)
        .read_to_end(out)
        .map_err(|_| StepAside("part does not inflate"))?;
    Ok(Some(()))
}

// ---------------------------------------------------------------------------------------------
// The tag scanner.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagKind {
    Start,
    /// `<x/>`: calamine expands it to a start and an end.
    Empty,
    End,
}

/// One tag: its local name (the part after a namespace prefix) and its raw attribute text.
struct Tag<'x> {
    kind: TagKind,
    local: &'x [u8],
    attrs: &'x [u8],
}

impl<'x> Tag<'x> {
    fn is(&self, local: &[u8]) -> bool {
        self.local == local
    }

    /// The raw (undecoded) value of the attribute with this exact qualified name.
    fn attr(&self, name: &[u8]) -> Step<Option<&'x [u8]>> {
        self.find_attr(|key| key == name)
    }

    /// An attribute matched on its local name (`r:id` as `id`).
    fn attr_local(&self, local: &[u8]) -> Step<Option<&'x [u8]>> {
        self.find_attr(|key| local_of(key) == local)
    }

    fn find_attr(&self, mut wanted: impl FnMut(&[u8]) -> bool) -> Step<Option<&'x [u8]>> {
        let mut attrs = Attributes(self.attrs);
        while let Some((key, value)) = attrs.next_pair()? {
            if wanted(key) {
                return Ok(Some(value));
            }
        }
        Ok(None)
    }
}

/// A tag's attributes, `key="value"` pairs in turn (values raw).
struct Attributes<'x>(&'x [u8]);

impl<'x> Attributes<'x> {
    fn next_pair(&mut self) -> Step<Option<(&'x [u8], &'x [u8])>> {
        let rest = self.0.trim_ascii_start();
        if rest.is_empty() {
            return Ok(None);
        }
        let eq = rest
            .iter()
            .position(|&b| b == b'=')
            .ok_or(StepAside("attribute without a value"))?;
        let key = rest[..eq].trim_ascii_end();
        let after = rest[eq + 1..].trim_ascii_start();
        let quote = *after
            .first()
            .ok_or(StepAside("attribute without a value"))?;
        if quote != b'"' && quote != b'\'' {
            return Err(StepAside("unquoted attribute"));
        }
        let len = after[1..]
            .iter()
            .position(|&b| b == quote)
            .ok_or(StepAside("unterminated attribute"))?;
        self.0 = &after[len + 2..];
        Ok(Some((key, &after[1..1 + len])))
    }
}

fn local_of(name: &[u8]) -> &[u8] {
    match memchr::memrchr(b':', name) {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

/// A cursor over a part's XML.
struct Scanner<'x> {
    xml: &'x [u8],
    pos: usize,
}

impl<'x> Scanner<'x> {
    fn new(xml: &'x [u8]) -> Self {
        Scanner { xml, pos: 0 }
    }

    /// The next tag after the cursor, skipping text, comments, declarations and CDATA; `None` at
    /// the end of the part.
    fn next_tag(&mut self) -> Step<Option<Tag<'x>>> {
        loop {
            // In a sheet's cells tags follow each other with nothing between them: no search.
            if self.xml.get(self.pos) != Some(&b'<') {
                let Some(lt) = memchr(b'<', &self.xml[self.pos..]) else {
                    self.pos = self.xml.len();
                    return Ok(None);
                };
                self.pos += lt;
            }
            if let Some(tag) = self.tag_here()? {
                return Ok(Some(tag));
            }
        }
    }

    /// The tag at the cursor (which is at a `<`), or `None` after skipping a comment,
    /// declaration or CDATA section there.
    fn tag_here(&mut self) -> Step<Option<Tag<'x>>> {
        let rest = &self.xml[self.pos..];
        let skip_past = |end: &[u8]| {
            memmem::find(rest, end)
                .map(|i| i + end.len())
                .ok_or(StepAside("unterminated markup"))
        };
        match rest.get(1) {
            Some(b'?') => {
                self.pos += skip_past(b"?>")?;
                return Ok(None);
            }
            Some(b'!') => {
                self.pos += if rest.starts_with(b"<!--") {
                    skip_past(b"-->")?
                } else if rest.starts_with(b"<![CDATA[") {
                    skip_past(b"]]>")?
                } else {
                    return Err(StepAside("a DOCTYPE or other declaration"));
                };
                return Ok(None);
            }
            None => return Err(StepAside("a lone '<' at the end")),
            _ => {}
        }
        let end = tag_end(rest).ok_or(StepAside("unterminated tag"))?;
        let inner = &rest[1..end];
        self.pos += end + 1;
        let (kind, inner) = if let Some(name) = inner.strip_prefix(b"/") {
            (TagKind::End, name)
        } else if let Some(inner) = inner.strip_suffix(b"/") {
            (TagKind::Empty, inner)
        } else {
            (TagKind::Start, inner)
        };
        let name_len = inner
            .iter()
            .position(|b| b.is_ascii_whitespace())
            .unwrap_or(inner.len());
        Ok(Some(Tag {
            kind,
            local: local_of(&inner[..name_len]),
            attrs: &inner[name_len..],
        }))
    }

    /// The content up to the next tag (text with its entities, CDATA), appended to `out` as
    /// calamine's reader gives it: line ends normalized, entities resolved. Stops at the first
    /// tag, which is left for [`Scanner::next_tag`].
    fn text_into(&mut self, out: &mut String) -> Step<()> {
        loop {
            let rest = &self.xml[self.pos..];
            let lt = memchr(b'<', rest).unwrap_or(rest.len());
            decode_text(&rest[..lt], out)?;
            self.pos += lt;
            if self.xml[self.pos..].starts_with(b"<![CDATA[") {
                let body = &self.xml[self.pos + 9..];
                let end = memmem::find(body, b"]]>").ok_or(StepAside("unterminated CDATA"))?;
                push_normalized(&body[..end], out)?;
                self.pos += 9 + end + 3;
                continue;
            }
            if self.xml[self.pos..].starts_with(b"<!--") {
                let body = &self.xml[self.pos..];
                let end = memmem::find(body, b"-->").ok_or(StepAside("unterminated comment"))?;
                self.pos += end + 3;
                continue;
            }
            return Ok(());
        }
    }

    /// The raw text up to the end tag of `local`, which must come next (no CDATA, comment or
    /// child element); the cursor ends after that tag.
    fn raw_text(&mut self, local: &[u8]) -> Step<&'x [u8]> {
        let rest = &self.xml[self.pos..];
        let lt = memchr(b'<', rest).ok_or(StepAside("unterminated element"))?;
        self.pos += lt;
        match self.tag_here()? {
            Some(tag) if tag.kind == TagKind::End && tag.is(local) => Ok(&rest[..lt]),
            _ => Err(StepAside("markup inside a value")),
        }
    }

    /// Skips to the end tag of `local`, nested same-named elements included.
    fn skip_element(&mut self, local: &[u8]) -> Step<()> {
        let mut depth = 1usize;
        while let Some(tag) = self.next_tag()? {
            if tag.is(local) {
                match tag.kind {
                    TagKind::Start => depth += 1,
                    TagKind::End => depth -= 1,
                    TagKind::Empty => {}
                }
                if depth == 0 {
                    return Ok(());
                }
            }
        }
        Err(StepAside("unterminated element"))
    }
}

/// The index of the `>` closing the tag that starts `rest`, quotes respected. A byte loop: tags
/// are a few dozen bytes, shorter than a vector search pays for.
fn tag_end(rest: &[u8]) -> Option<usize> {
    let mut quote = None;
    for (i, &b) in rest.iter().enumerate().skip(1) {
        match (quote, b) {
            (None, b'>') => return Some(i),
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), _) if q == b => quote = None,
            _ => {}
        }
    }
    None
}

/// XML text with its entity and character references resolved and its line ends normalized
/// (`\r\n` and a lone `\r` read as `\n`, as XML 1.0 says), appended to `out`.
fn decode_text(raw: &[u8], out: &mut String) -> Step<()> {
    let mut rest = raw;
    while let Some(amp) = memchr(b'&', rest) {
        push_normalized(&rest[..amp], out)?;
        let semi = memchr(b';', &rest[amp..]).ok_or(StepAside("unterminated entity"))?;
        let name = &rest[amp + 1..amp + semi];
        match name {
            b"amp" => out.push('&'),
            b"lt" => out.push('<'),
            b"gt" => out.push('>'),
            b"quot" => out.push('"'),
            b"apos" => out.push('\''),
            _ => {
                let code = match name {
                    [b'#', b'x', hex @ ..] => u32::from_str_radix(ascii(hex)?, 16),
                    [b'#', dec @ ..] => ascii(dec)?.parse(),
                    _ => return Err(StepAside("an entity other than the five of XML")),
                }
                .map_err(|_| StepAside("a malformed character reference"))?;
                out.push(char::from_u32(code).ok_or(StepAside("a reference to no character"))?);
            }
        }
        rest = &rest[amp + semi + 1..];
    }
    push_normalized(rest, out)
}

fn ascii(bytes: &[u8]) -> Step<&str> {
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_alphanumeric) {
        return Err(StepAside("a malformed character reference"));
    }
    std::str::from_utf8(bytes).map_err(|_| StepAside("not UTF-8"))
}

fn push_normalized(raw: &[u8], out: &mut String) -> Step<()> {
    let text = std::str::from_utf8(raw).map_err(|_| StepAside("not UTF-8"))?;
    if memchr(b'\r', raw).is_none() {
        out.push_str(text);
        return Ok(());
    }
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            out.push('\n');
        } else {
            out.push(c);
        }
    }
    Ok(())
}

/// An attribute value as text, its references resolved.
fn attr_text(raw: &[u8]) -> Step<String> {
    let mut out = String::with_capacity(raw.len());
    decode_text(raw, &mut out)?;
    Ok(out)
}

/// Excel's own escapes in strings, `_xHHHH_` (a UTF-16 code unit: `_x000D_` for a carriage
/// return; a pair of them for a character beyond the BMP). An unpaired surrogate reads as U+FFFD.
fn unescape_excel(text: String) -> String {
    fn unit_at(bytes: &[u8], i: usize) -> Option<u16> {
        let e = bytes.get(i..i + 7)?;
        if e[0] != b'_'
            || e[1] != b'x'
            || e[6] != b'_'
            || !e[2..6].iter().all(u8::is_ascii_hexdigit)
        {
            return None;
        }
        u16::from_str_radix(std::str::from_utf8(&e[2..6]).ok()?, 16).ok()
    }
    let bytes = text.as_bytes();
    let Some(first) = memmem::find_iter(bytes, b"_x").find(|&i| unit_at(bytes, i).is_some()) else {
        return text;
    };
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..first]);
    let mut i = first;
    while i < bytes.len() {
        match unit_at(bytes, i) {
            Some(unit) => {
                i += 7;
                let c = match unit {
                    0xD800..=0xDBFF => match unit_at(bytes, i) {
                        Some(low @ 0xDC00..=0xDFFF) => {
                            i += 7;
                            char::from_u32(
                                0x10000
                                    + ((u32::from(unit) - 0xD800) << 10)
                                    + (u32::from(low) - 0xDC00),
                            )
                        }
                        _ => None,
                    },
                    _ => char::from_u32(u32::from(unit)),
                };
                out.push(c.unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            None => {
                // Up to the next `_`, which may start an escape; text is UTF-8 and `_` is ASCII.
                let next = memchr(b'_', &bytes[i + 1..]).map_or(bytes.len(), |j| i + 1 + j);
                out.push_str(&text[i..next]);
                i = next;
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The package's parts.

/// Relationship id -> (target, type).
fn relationships(xml: &[u8]) -> Step<HashMap<String, (String, String)>> {
    let mut scan = Scanner::new(xml);
    let mut out = HashMap::new();
    while let Some(tag) = scan.next_tag()? {
        if tag.kind != TagKind::End && tag.is(b"Relationship") {
            let (Some(id), Some(target)) = (tag.attr(b"Id")?, tag.attr(b"Target")?) else {
                continue;
            };
            let kind = tag.attr(b"Type")?.unwrap_or_default();
            out.insert(attr_text(id)?, (attr_text(target)?, attr_text(kind)?));
        }
    }
    Ok(out)
}

/// The sheets in workbook order, and whether dates count from 1904.
#[allow(clippy::type_complexity)]
fn workbook_sheets(
    xml: &[u8],
    relationships: &HashMap<String, (String, String)>,
) -> Step<(Vec<(String, String, bool)>, bool)> {
    let mut scan = Scanner::new(xml);
    let mut sheets = Vec::new();
    let mut is_1904 = false;
    while let Some(tag) = scan.next_tag()? {
        if tag.kind == TagKind::End {
            continue;
        }
        if tag.is(b"sheet") {
            let name = attr_text(tag.attr(b"name")?.unwrap_or_default())?;
            if let Some(state) = tag.attr(b"state")? {
                if !matches!(state, b"visible" | b"hidden" | b"veryHidden") {
                    return Err(StepAside("an unknown sheet state"));
                }
            }
            let id = attr_text(tag.attr_local(b"id")?.unwrap_or_default())?;
            let (target, kind) = relationships
                .get(&id)
                .ok_or(StepAside("a sheet without its relationship"))?;
            let path = match target.strip_prefix('/') {
                Some(absolute) => absolute.to_string(),
                None => format!("xl/{target}"),
            };
            let is_worksheet = match kind.rsplit('/').next() {
                Some("worksheet") => true,
                Some("chartsheet" | "dialogsheet") => false,
                _ => return Err(StepAside("an unknown sheet type")),
            };
            sheets.push((name, path, is_worksheet));
        } else if tag.is(b"workbookPr") {
            if let Some(v) = tag.attr(b"date1904")? {
                is_1904 = v == b"1" || v == b"true";
            }
        }
    }
    Ok((sheets, is_1904))
}

/// The shared strings table.
fn shared_strings(xml: &[u8]) -> Step<Vec<String>> {
    let mut scan = Scanner::new(xml);
    let mut strings = Vec::new();
    while let Some(tag) = scan.next_tag()? {
        if tag.kind != TagKind::End && tag.is(b"sst") {
            if let Some(n) = tag.attr(b"uniqueCount")?.and_then(digits) {
                strings.reserve(n.min(1 << 20));
            }
            if tag.kind == TagKind::Empty {
                return Ok(strings);
            }
            break;
        }
    }
    while let Some(tag) = scan.next_tag()? {
        match tag.kind {
            TagKind::Start | TagKind::Empty if tag.is(b"si") => {
                let text = if tag.kind == TagKind::Empty {
                    String::new()
                } else {
                    rich_text(&mut scan, b"si")?
                };
                strings.push(text);
            }
            TagKind::End if tag.is(b"sst") => return Ok(strings),
            _ => {}
        }
    }
    Err(StepAside("unterminated shared strings"))
}

/// A string item (`<si>`, `<is>`): its `<t>` texts, runs joined, phonetic runs (`<rPh>`) left
/// out; whitespace around a text trimmed unless `xml:space="preserve"`.
fn rich_text(scan: &mut Scanner<'_>, closing: &[u8]) -> Step<String> {
    let mut out: Option<String> = None;
    let mut phonetic = false;
    let mut text = String::new();
    while let Some(tag) = scan.next_tag()? {
        match tag.kind {
            TagKind::End if tag.is(closing) => return Ok(out.unwrap_or_default()),
            TagKind::End if tag.is(b"rPh") => phonetic = false,
            TagKind::Start | TagKind::Empty if tag.is(b"rPh") => {
                phonetic = tag.kind == TagKind::Start;
            }
            TagKind::Start | TagKind::Empty if tag.is(b"r") => {
                out.get_or_insert_with(String::new);
            }
            TagKind::Start | TagKind::Empty if tag.is(b"t") && !phonetic => {
                let preserve = tag.attr(b"xml:space")? == Some(b"preserve");
                text.clear();
                if tag.kind == TagKind::Start {
                    scan.text_into(&mut text)?;
                    let end = scan.next_tag()?.ok_or(StepAside("unterminated text"))?;
                    if !(end.kind == TagKind::End && end.is(b"t")) {
                        return Err(StepAside("markup inside a text"));
                    }
                }
                let kept = if preserve {
                    text.as_str()
                } else {
                    text.trim_matches([' ', '\t', '\r', '\n'])
                };
                let value = unescape_excel(kept.to_string());
                match &mut out {
                    Some(s) => s.push_str(&value),
                    None => out = Some(value),
                }
            }
            _ => {}
        }
    }
    Err(StepAside("unterminated string item"))
}

/// Each cell style's number format, classified.
fn number_formats(xml: &[u8]) -> Step<Vec<NumberFormat>> {
    let mut scan = Scanner::new(xml);
    let mut custom: HashMap<Vec<u8>, NumberFormat> = HashMap::new();
    let mut formats = Vec::new();
    let mut in_cell_xfs = false;
    while let Some(tag) = scan.next_tag()? {
        match tag.kind {
            TagKind::Start | TagKind::Empty if tag.is(b"numFmt") => {
                if let (Some(id), Some(code)) = (tag.attr(b"numFmtId")?, tag.attr(b"formatCode")?) {
                    custom.insert(id.to_vec(), classify_format_code(&attr_text(code)?));
                }
            }
            TagKind::Start if tag.is(b"cellXfs") => in_cell_xfs = true,
            TagKind::End if tag.is(b"cellXfs") => in_cell_xfs = false,
            TagKind::Start | TagKind::Empty if in_cell_xfs && tag.is(b"xf") => {
                formats.push(match tag.attr(b"numFmtId")? {
                    None => NumberFormat::Number,
                    Some(id) => match custom.get(id) {
                        Some(format) => *format,
                        None => builtin_format(id),
                    },
                });
            }
            _ => {}
        }
    }
    Ok(formats)
}

/// The built-in number formats (ECMA-376 18.8.30) that show dates and times, the East Asian
/// locale ones included; `[h]:mm:ss` (46) is a duration.
fn builtin_format(id: &[u8]) -> NumberFormat {
    match id {
        b"14" | b"15" | b"16" | b"17" | b"18" | b"19" | b"20" | b"21" | b"22" | b"45" | b"47" => {
            NumberFormat::DateTime
        }
        b"27" | b"28" | b"29" | b"30" | b"31" | b"32" | b"33" | b"34" | b"35" | b"36" | b"50"
        | b"51" | b"52" | b"53" | b"54" | b"55" | b"56" | b"57" | b"58" => NumberFormat::DateTime,
        b"46" => NumberFormat::TimeDelta,
        _ => NumberFormat::Number,
    }
}

/// Whether a custom format code shows a date or time, by its first section: a date or time
/// letter (d, m, y, h, s) outside quotes, escapes and brackets; an AM/PM marker; or an elapsed
/// time in brackets (`[h]`, `[mm]`), which is a duration.
fn classify_format_code(code: &str) -> NumberFormat {
    let mut literal_next = false;
    let mut quoted = false;
    let mut depth = 0u8;
    let mut previous = ' ';
    let mut elapsed = false;
    let mut after_a = false;
    for c in code.chars() {
        if literal_next {
            literal_next = false;
            previous = c;
            continue;
        }
        if quoted {
            if c == '"' {
                quoted = false;
            }
            previous = c;
            continue;
        }
        match c {
            '\\' | '_' | '*' => literal_next = true,
            '"' => quoted = true,
            ';' => return NumberFormat::Number,
            '[' => depth = depth.saturating_add(1),
            ']' if depth == 1 && elapsed => return NumberFormat::TimeDelta,
            ']' => depth = depth.saturating_sub(1),
            'a' | 'A' if depth == 0 && !after_a => after_a = true,
            'p' | 'P' | 'm' | 'M' | '/' if depth == 0 && after_a => return NumberFormat::DateTime,
            'd' | 'D' | 'm' | 'M' | 'h' | 'H' | 'y' | 'Y' | 's' | 'S' if depth == 0 && !after_a => {
                return NumberFormat::DateTime
            }
            _ => {
                // `[h`, `[mm`, `[sss`: an elapsed-time bracket, its letter repeated.
                if !(elapsed && c.eq_ignore_ascii_case(&previous)) {
                    elapsed = previous == '[' && matches!(c, 'm' | 'h' | 's' | 'M' | 'H' | 'S');
                }
            }
        }
        previous = c;
    }
    NumberFormat::Number
}

/// A non-negative decimal as Excel writes indices; `None` when it is not one.
fn digits(bytes: &[u8]) -> Option<usize> {
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    bytes.iter().try_fold(0usize, |n, b| {
        n.checked_mul(10)?.checked_add(usize::from(b - b'0'))
    })
}

/// `C12` -> (11, Some(2)), zero-based; `12` -> (11, None).
fn reference(r: &[u8]) -> Step<(u32, Option<u32>)> {
    let bad = StepAside("a malformed cell reference");
    let letters = r.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let col = r[..letters].iter().try_fold(0u32, |n, b| {
        n.checked_mul(26)?
            .checked_add(u32::from(b.to_ascii_uppercase() - b'A') + 1)
    });
    let col = col.ok_or(bad)?;
    let row = digits(&r[letters..])
        .and_then(|n| u32::try_from(n).ok())
        .ok_or(bad)?;
    Ok((row.checked_sub(1).ok_or(bad)?, col.checked_sub(1)))
}

// ---------------------------------------------------------------------------------------------
// A worksheet.

fn read_sheet(xml: &[u8], book: &XlsxBook<'_>) -> Step<(Range<Data>, Vec<Dimensions>)> {
    let mut scan = Scanner::new(xml);
    loop {
        let tag = scan.next_tag()?.ok_or(StepAside("no sheetData"))?;
        if tag.is(b"sheetData") && tag.kind != TagKind::End {
            if tag.kind == TagKind::Empty {
                return Ok((Range::empty(), merged_areas(&mut scan)));
            }
            break;
        }
    }
    let mut cells: Vec<Cell<Data>> = Vec::new();
    let mut row = 0u32;
    let mut col = 0u32;
    let mut text = String::new();
    loop {
        let tag = scan
            .next_tag()?
            .ok_or(StepAside("unterminated sheetData"))?;
        match tag.kind {
            TagKind::End if tag.is(b"sheetData") => break,
            TagKind::End if tag.is(b"row") => {
                row += 1;
                col = 0;
            }
            TagKind::Start | TagKind::Empty if tag.is(b"row") => {
                if let Some(r) = tag.attr(b"r")? {
                    row = reference(r)?.0;
                }
                if tag.kind == TagKind::Empty {
                    row += 1;
                    col = 0;
                }
            }
            TagKind::Start | TagKind::Empty if tag.is(b"c") => {
                // The three attributes a cell's value depends on, in one pass over them.
                let (mut at, mut style, mut kind) = (None, None, None);
                let mut attrs = Attributes(tag.attrs);
                while let Some((key, value)) = attrs.next_pair()? {
                    match key {
                        b"r" => at = Some(value),
                        b"s" => style = Some(value),
                        b"t" => kind = Some(value),
                        _ => {}
                    }
                }
                let position = match at {
                    Some(r) => {
                        let (r, c) = reference(r)?;
                        col = c.ok_or(StepAside("a cell reference without a column"))?;
                        (r, col)
                    }
                    None => (row, col),
                };
                let mut value = Data::Empty;
                if tag.kind == TagKind::Start {
                    loop {
                        let child = scan.next_tag()?.ok_or(StepAside("unterminated cell"))?;
                        match child.kind {
                            TagKind::End if child.is(b"c") => break,
                            TagKind::End => {}
                            _ => {
                                value = cell_value(&mut scan, &child, style, kind, book, &mut text)?
                            }
                        }
                    }
                }
                col += 1;
                if value != Data::Empty {
                    cells.push(Cell::new(position, value));
                }
            }
            _ => {}
        }
    }
    Ok((Range::from_sparse(cells), merged_areas(&mut scan)))
}

/// One child of a cell (`<v>`, `<is>`, `<f>`), read to its end: the cell's value as calamine
/// gives it for the cell's type (`t`) and style (`s`).
fn cell_value(
    scan: &mut Scanner<'_>,
    child: &Tag<'_>,
    style: Option<&[u8]>,
    kind: Option<&[u8]>,
    book: &XlsxBook<'_>,
    text: &mut String,
) -> Step<Data> {
    let started = child.kind == TagKind::Start;
    match child.local {
        b"is" => Ok(Data::String(if started {
            rich_text(scan, b"is")?
        } else {
            String::new()
        })),
        b"f" => {
            if started {
                scan.skip_element(b"f")?;
            }
            Ok(Data::Empty)
        }
        b"v" => {
            let raw = if started {
                scan.raw_text(b"v")?
            } else {
                &[][..]
            };
            text.clear();
            match kind {
                // Text that may hold references and line breaks: read as XML text.
                Some(b"str" | b"d") => decode_text(raw, text)?,
                // calamine takes a number's, index's, boolean's or error's first run of text as
                // it stands; a reference in it would be cut there.
                _ if memchr(b'&', raw).is_some() => {
                    return Err(StepAside("a reference in a value"))
                }
                _ => text.push_str(std::str::from_utf8(raw).map_err(|_| StepAside("not UTF-8"))?),
            }
            value_of(text, style, kind, book)
        }
        _ => Err(StepAside("a cell child other than v, f or is")),
    }
}

fn value_of(v: &str, style: Option<&[u8]>, kind: Option<&[u8]>, book: &XlsxBook<'_>) -> Step<Data> {
    match kind {
        Some(b"inlineStr" | b"is") => Ok(Data::Empty),
        Some(b"s") => {
            if v.is_empty() {
                return Ok(Data::Empty);
            }
            // calamine reads a malformed index as 0.
            let index = digits(v.as_bytes()).unwrap_or(0);
            book.strings
                .get(index)
                .map(|s| Data::String(s.clone()))
                .ok_or(StepAside("a shared string index out of range"))
        }
        Some(b"b") => match v.trim() {
            "" => Ok(Data::Empty),
            t if t == "0" || t.eq_ignore_ascii_case("false") => Ok(Data::Bool(false)),
            t if t == "1" || t.eq_ignore_ascii_case("true") => Ok(Data::Bool(true)),
            _ => Err(StepAside("a malformed boolean")),
        },
        Some(b"e") => v
            .parse::<CellErrorType>()
            .map(Data::Error)
            .map_err(|_| StepAside("an unknown error value")),
        Some(b"str") => Ok(Data::String(unescape_excel(v.to_string()))),
        Some(b"d") => Ok(Data::DateTimeIso(v.to_string())),
        Some(b"n") | None => {
            if v.is_empty() {
                return Ok(Data::Empty);
            }
            match fast_float2::parse::<f64, _>(v.as_bytes()) {
                Ok(n) => {
                    let format = match style {
                        // calamine reads a malformed style index as 0.
                        Some(s) => book.formats.get(digits(s).unwrap_or(0)).copied(),
                        None => Some(NumberFormat::Number),
                    };
                    Ok(match format {
                        Some(NumberFormat::DateTime) => Data::DateTime(ExcelDateTime::new(
                            n,
                            ExcelDateTimeType::DateTime,
                            book.is_1904,
                        )),
                        Some(NumberFormat::TimeDelta) => Data::DateTime(ExcelDateTime::new(
                            n,
                            ExcelDateTimeType::TimeDelta,
                            book.is_1904,
                        )),
                        _ => Data::Float(n),
                    })
                }
                Err(_) if kind.is_none() => Ok(Data::String(v.to_string())),
                Err(_) => Err(StepAside("a malformed number")),
            }
        }
        Some(_) => Err(StepAside("an unknown cell type")),
    }
}

/// The merged areas after the cells; a malformed one leaves the sheet without merges, as
/// calamine's error does for its caller.
fn merged_areas(scan: &mut Scanner<'_>) -> Vec<Dimensions> {
    let mut areas = Vec::new();
    let mut read = || -> Step<()> {
        while let Some(tag) = scan.next_tag()? {
            match tag.kind {
                TagKind::End if tag.is(b"mergeCells") => return Ok(()),
                TagKind::Start | TagKind::Empty if tag.is(b"mergeCell") => {
                    let Some(r) = tag.attr(b"ref")? else { continue };
                    let mut parts = r.split(|&b| b == b':');
                    let first = parts.next().unwrap_or_default();
                    let second = parts.next();
                    if parts.next().is_some() {
                        return Err(StepAside("a malformed merged area"));
                    }
                    let at = |r: &[u8]| -> Step<(u32, u32)> {
                        let (row, col) = reference(r)?;
                        Ok((row, col.ok_or(StepAside("a merged area without a column"))?))
                    };
                    let start = at(first)?;
                    let end = match second {
                        Some(second) => at(second)?,
                        None => start,
                    };
                    areas.push(Dimensions { start, end });
                }
                _ => {}
            }
        }
        Ok(())
    };
    match read() {
        Ok(()) => areas,
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::Reader;
    use std::io::Write;

    /// calamine's reading of a workbook: each sheet's cells and merged areas.
    fn calamine_sheets(bytes: &[u8]) -> Vec<(String, Range<Data>, Vec<Dimensions>)> {
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(Cursor::new(bytes)).expect("calamine opens it");
        book.sheet_names()
            .into_iter()
            .map(|name| {
                let range = book
                    .worksheet_range(&name)
                    .expect("calamine reads the sheet");
                let merges = book.merge_cells_by_sheet_name(&name).unwrap_or_default();
                (name, range, merges)
            })
            .collect()
    }

    /// This reader's, every sheet required to be read here (no stepping aside).
    fn fast_sheets(bytes: &[u8]) -> Vec<(String, Range<Data>, Vec<Dimensions>)> {
        let book = XlsxBook::open(bytes).expect("the fast reader opens it");
        let mut reader = book.reader();
        book.sheet_names()
            .into_iter()
            .map(|name| {
                let (range, merges) = reader
                    .sheet(&name)
                    .expect("the fast reader reads the sheet");
                (name, range, merges)
            })
            .collect()
    }

    fn assert_same(bytes: &[u8], what: &str) {
        let theirs = calamine_sheets(bytes);
        let ours = fast_sheets(bytes);
        assert_eq!(ours.len(), theirs.len(), "{what}: sheets");
        for ((name, range, merges), (their_name, their_range, their_merges)) in
            ours.iter().zip(&theirs)
        {
            assert_eq!(name, their_name, "{what}");
            assert_eq!(range.start(), their_range.start(), "{what} '{name}': start");
            assert_eq!(range.end(), their_range.end(), "{what} '{name}': end");
            for ((r, c, v), (_, _, w)) in range.cells().zip(their_range.cells()) {
                assert_eq!(v, w, "{what} '{name}' at ({r}, {c})");
            }
            assert_eq!(merges, their_merges, "{what} '{name}': merged areas");
        }
    }

    /// Every sheet of every real workbook in ../shared/corpus reads as calamine reads it.
    #[test]
    fn the_corpus_reads_as_calamine_reads_it() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/rosstat");
        let mut files = 0;
        for entry in std::fs::read_dir(&dir).expect("../shared/corpus/rosstat") {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "xlsx") {
                assert_same(&std::fs::read(&path).unwrap(), &path.display().to_string());
                files += 1;
            }
        }
        assert!(files >= 6, "{files} workbooks");
    }

    /// A package written part by part, to hold what no writer library writes.
    fn package(sheets: &[(&str, &str)], shared: Option<&str>, styles: Option<&str>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut zip = zip::ZipWriter::new(Cursor::new(&mut out));
        let options = zip::write::SimpleFileOptions::default();
        let mut put = |name: &str, body: &str| {
            zip.start_file(name, options).unwrap();
            zip.write_all(body.as_bytes()).unwrap();
        };
        let mut types = String::from(
            r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>"#,
        );
        let mut rels = String::from(
            r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#,
        );
        let mut list = String::new();
        for (i, (name, xml)) in sheets.iter().enumerate() {
            let n = i + 1;
            put(&format!("xl/worksheets/sheet{n}.xml"), xml);
            types.push_str(&format!(r#"<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#));
            rels.push_str(&format!(r#"<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet{n}.xml"/>"#));
            list.push_str(&format!(
                r#"<sheet name="{name}" sheetId="{n}" r:id="rId{n}"/>"#
            ));
        }
        if let Some(shared) = shared {
            put("xl/sharedStrings.xml", shared);
            rels.push_str(r#"<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>"#);
        }
        if let Some(styles) = styles {
            put("xl/styles.xml", styles);
            rels.push_str(r#"<Relationship Id="rIdT" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>"#);
        }
        rels.push_str("</Relationships>");
        types.push_str("</Types>");
        put("[Content_Types].xml", &types);
        put(
            "_rels/.rels",
            r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        );
        put("xl/_rels/workbook.xml.rels", &rels);
        put(
            "xl/workbook.xml",
            &format!(
                r#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><workbookPr date1904="false"/><sheets>{list}</sheets></workbook>"#
            ),
        );
        zip.finish().unwrap();
        out
    }

    fn worksheet(body: &str, after: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:Z99"/><sheetData>{body}</sheetData>{after}</worksheet>"#
        )
    }

    /// What real writers put in sheets besides the plain cell: rich and phonetic runs, spaces kept
    /// or trimmed, Excel's `_xHHHH_` escapes and XML references, line ends, inline and formula
    /// strings, booleans, errors, cells and rows without references, self-closing elements,
    /// numbers that are not numbers, dates by built-in and custom formats, merged areas.
    #[test]
    fn hand_made_layouts_read_as_calamine_reads_them() {
        let shared = r#"<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="9" uniqueCount="9"><si><t>Российская Федерация</t></si><si><t xml:space="preserve">  2009 год </t></si><si><r><rPr><b/></rPr><t>Московская </t></r><r><t xml:space="preserve">область </t></r><r><t>1)</t></r><rPh sb="0" eb="1"><t>фонетика</t></rPh></si><si><t>A &amp; B &lt;c&gt; &#1044;&#x416; &quot;q&quot;</t></si><si><t>line_x000D_
break&#13;x</t></si><si><t/></si><si/><si><t>_xD83D__xDCF7_ _xD800_ lone _x005F_x000D_</t></si><si><t><![CDATA[cdata <b>]]> tail</t></si></sst>"#;
        let styles = r##"<?xml version="1.0"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><numFmts count="4"><numFmt numFmtId="164" formatCode="0.0"/><numFmt numFmtId="165" formatCode="dd/mm/yyyy"/><numFmt numFmtId="166" formatCode="[h]:mm"/><numFmt numFmtId="167" formatCode="#,##0.0&quot;р.&quot;;[Red]\-#,##0.0"/></numFmts><cellStyleXfs count="1"><xf numFmtId="14"/></cellStyleXfs><cellXfs count="6"><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="165"/><xf numFmtId="166"/><xf numFmtId="14"/><xf numFmtId="167"/></cellXfs></styleSheet>"##;
        let cells = r#"<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c><c r="E1" t="s"><v>4</v></c><c r="F1" t="s"><v>5</v></c><c r="G1" t="s"><v>6</v></c><c r="H1" t="s"><v>7</v></c><c r="I1" t="s"><v>8</v></c></row>
<row r="3" spans="1:9"><c r="A3" s="1"><v>12.5</v></c><c r="B3" s="2"><v>40000</v></c><c r="C3" s="3"><v>1.25</v></c><c r="D3" s="4"><v>365</v></c><c r="E3" s="5"><v>-7</v></c><c r="F3" s="99"><v>3</v></c><c r="G3"><v>1E-3</v></c><c r="H3" t="n"><v>2</v></c><c r="I3" s="x"><v>4</v></c></row>
<row r="4"><c r="A4" t="inlineStr"><is><t>inline</t></is></c><c r="B4" t="str"><f>A1&amp;"x"</f><v>a &amp; b_x000A_</v></c><c r="C4" t="b"><v>1</v></c><c r="D4" t="b"><v>false</v></c><c r="E4" t="e"><v>#N/A</v></c><c r="F4"><v> 12 </v></c><c r="G4"><v>n/a</v></c><c r="H4" s="1"/><c r="I4"><f>SUM(A3:B3)</f><v>40012.5</v></c></row>
<row><c t="s"><v>0</v></c><c><v>5</v></c><c/><c><v>6</v></c></row>
<row r="8"/><row><c r="C9"><v>9</v></c><c><v>10</v></c></row>
<row r="10"><c r="A10" t="inlineStr"><is><r><t>rich </t></r><r><t>inline</t></r></is></c><c r="B10" t="str"><v/></c><c r="C10" t="inlineStr"><is/></c><c r="D10"><v/></c><c r="E10" t="s"><v></v></c></row>"#;
        let merges = r#"<mergeCells count="3"><mergeCell ref="A1:C1"/><mergeCell ref="D3:D4"/><mergeCell ref="F9"/></mergeCells>"#;
        let bytes = package(
            &[
                ("Лист 1", &worksheet(cells, merges)),
                ("empty", &worksheet("", "")),
                (
                    "2.1.",
                    &worksheet(r#"<row r="2"><c r="B2"><v>1</v></c></row>"#, ""),
                ),
            ],
            Some(shared),
            Some(styles),
        );
        assert_same(&bytes, "hand-made");
        let ours = fast_sheets(&bytes);
        let range = &ours[0].1;
        assert_eq!(
            range.get_value((0, 2)), // A run not marked to keep its spaces loses them, as in calamine.
            Some(&Data::String("Московскаяобласть 1)".into()))
        );
        assert_eq!(
            range.get_value((0, 3)),
            Some(&Data::String("A & B <c> ДЖ \"q\"".into()))
        );
        assert!(matches!(range.get_value((2, 1)), Some(Data::DateTime(_))));
        assert_eq!(range.get_value((2, 4)), Some(&Data::Float(-7.0)));
        assert_eq!(ours[0].2.len(), 3);
    }

    /// What this reader leaves to calamine, it says so, and calamine's answer is the one used.
    #[test]
    fn it_steps_aside_from_what_it_does_not_read() {
        for (body, why) in [
            (
                r#"<row r="1"><c r="A1" t="zz"><v>1</v></c></row>"#,
                "an unknown cell type",
            ),
            (
                r#"<row r="1"><c r="A1"><x>1</x></c></row>"#,
                "a cell child other than v, f or is",
            ),
            (
                r#"<row r="1"><c r="A1"><v>&#49;</v></c></row>"#,
                "a reference in a value",
            ),
            (
                r#"<row r="1"><c r="11"><v>1</v></c></row>"#,
                "a cell reference without a column",
            ),
            (
                r#"<row r="1"><c r="A1" t="str"><v>&nbsp;</v></c></row>"#,
                "an entity other than the five of XML",
            ),
        ] {
            let bytes = package(&[("s", &worksheet(body, ""))], None, None);
            let book = XlsxBook::open(&bytes).unwrap();
            assert_eq!(
                book.reader().sheet("s").err(),
                Some(StepAside(why)),
                "{body}"
            );
        }
    }

    #[test]
    fn references() {
        assert_eq!(reference(b"C12"), Ok((11, Some(2))));
        assert_eq!(reference(b"aa3"), Ok((2, Some(26))));
        assert_eq!(reference(b"12"), Ok((11, None)));
        let bad = Err(StepAside("a malformed cell reference"));
        for r in [&b"A0"[..], b"A", b"", b"1A", b"A1 ", b"A99999999999"] {
            assert_eq!(reference(r), bad, "{}", String::from_utf8_lossy(r));
        }
    }

    #[test]
    fn format_codes() {
        for (code, format) in [
            ("0.0", NumberFormat::Number),
            ("#,##0.0_ ;\\-#,##0.0\\ ", NumberFormat::Number),
            ("0.0;[Red]-0.0", NumberFormat::Number),
            ("\"день\" 0", NumberFormat::Number),
            ("General", NumberFormat::Number),
            ("dd/mm/yyyy", NumberFormat::DateTime),
            ("[$-419]mmmm yyyy", NumberFormat::DateTime),
            ("[h]:mm:ss", NumberFormat::TimeDelta),
            ("[mm]:ss", NumberFormat::TimeDelta),
            ("h:mm AM/PM", NumberFormat::DateTime),
            ("H:MM:SS;@", NumberFormat::DateTime),
        ] {
            assert_eq!(classify_format_code(code), format, "{code}");
        }
    }
}
