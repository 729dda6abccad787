//! The Rosstat workbook layout: the «Регионы России» appendix (a contents sheet plus one sheet per
//! table) and standalone mediabank tables.
//!
//! A table sheet reads top to bottom: title rows (a code such as `10.2.` and a title, maybe under a
//! parent code's title), a unit line in parentheses, a header row of periods, then rows with a region
//! label in column A and figures under the periods, then footnotes after a separator line. A sheet may
//! stack several such blocks. The parser walks the rows once as a small state machine.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::sync::Arc;

use calamine::{Data, Reader};

use crate::a1;
use crate::cell::parse_cell_text;
use crate::error::{Location, ParseProblem, TransformError};
use crate::observation::{Observation, Provenance, Status};
use crate::period::{strip_footnote_mark, Period};
use crate::region::{RegionDictionary, RegionEntry, RegionKind, Regions, Resolution};
use crate::xlsx::{SheetReader, XlsxBook};

mod header;
mod lines;

use header::{header_marks, header_period, header_periods, sub_periods, year_in_text};
use lines::{
    count_grid_cells, display, footnote_line, is_empty, is_separator, is_total_label,
    looks_like_table_sheet, text_of, title_code,
};

/// What one workbook yielded.
#[derive(Debug, Default)]
pub struct ParsedDocument {
    pub observations: Vec<Observation>,
    pub tables: Vec<TableSummary>,
    pub problems: Vec<ParseProblem>,
}

/// Per table: how many non-empty grid cells it had and what became of them, so that a reconciliation
/// (`grid_cells == values + statuses + rejected`) shows nothing was dropped.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TableSummary {
    pub sheet: String,
    pub code: String,
    pub title: String,
    pub unit: String,
    /// The unit line's qualifiers (price basis and the like).
    pub basis: Option<String>,
    pub grid_cells: usize,
    pub values: usize,
    pub statuses: usize,
    pub rejected: usize,
}

/// Parses every table of a workbook (.xlsx or legacy .xls). Problems inside the workbook (an unknown
/// label, an unreadable cell) are returned beside the observations; only an unreadable file is an error.
pub fn parse_workbook(
    file: &str,
    bytes: &[u8],
    regions: &RegionDictionary,
) -> Result<ParsedDocument, TransformError> {
    parse_workbook_sheets(file, bytes, regions, &[])
}

/// [`parse_workbook`] restricted to the named sheets (all sheets when `sheets` is empty).
pub fn parse_workbook_sheets(
    file: &str,
    bytes: &[u8],
    regions: &RegionDictionary,
    sheets: &[String],
) -> Result<ParsedDocument, TransformError> {
    let mut doc = ParsedDocument::default();
    parse_workbook_each(file, bytes, regions, sheets, &mut |part| doc.append(part))?;
    Ok(doc)
}

impl ParsedDocument {
    /// Adds another part's figures, tables and problems after this one's.
    pub fn append(&mut self, mut part: ParsedDocument) {
        self.observations.append(&mut part.observations);
        self.tables.append(&mut part.tables);
        self.problems.append(&mut part.problems);
    }
}

/// Parses a workbook sheet by sheet, handing each sheet's result to `emit` in sheet order as soon
/// as it and the sheets before it are read, so a caller can write while the rest is parsed and
/// never holds the whole workbook's figures.
///
/// An .xlsx workbook is opened once by the fast reader ([`crate::xlsx`]) and its sheets parsed in
/// parallel, one reader per core each taking the next sheet (a section's sheets differ tenfold in
/// size). A sheet that reader steps aside from, and any workbook it cannot open (legacy .xls,
/// .xlsb, .ods, a damaged package), is read by calamine. The first failing sheet's error, in
/// sheet order, is the one returned, as if read in order; the sheets before it have been emitted.
pub fn parse_workbook_each(
    file: &str,
    bytes: &[u8],
    regions: &RegionDictionary,
    sheets: &[String],
    emit: &mut dyn FnMut(ParsedDocument),
) -> Result<(), TransformError> {
    parse_workbook_each_with(
        file,
        bytes,
        Regions::Given(regions),
        sheets,
        &|part| part,
        emit,
    )
}

/// [`parse_workbook_each`] with `finish` applied to each sheet's result on the thread that parsed
/// it, before the result is handed to `emit` in sheet order: the caller's own per-sheet work
/// (naming indicators, encoding rows) runs in parallel too, and the sheet's figures are freed
/// where they were made.
pub fn parse_workbook_each_with<T: Send>(
    file: &str,
    bytes: &[u8],
    regions: Regions<'_>,
    sheets: &[String],
    finish: &(dyn Fn(ParsedDocument) -> T + Sync),
    emit: &mut dyn FnMut(T),
) -> Result<(), TransformError> {
    let wanted = |names: Vec<String>| -> Vec<String> {
        names
            .into_iter()
            .filter(|sheet| sheets.is_empty() || sheets.iter().any(|s| s.trim() == sheet.trim()))
            .collect()
    };
    let book = if bytes.starts_with(b"PK\x03\x04") {
        XlsxBook::open(bytes)
            .inspect_err(|step| tracing::debug!(file, reason = step.0, "read by calamine"))
            .ok()
    } else {
        None
    };
    let Some(book) = book else {
        let mut workbook = open_workbook(file, bytes)?;
        for name in wanted(workbook.sheet_names()) {
            emit(finish(parse_sheet(
                &mut workbook,
                file,
                &name,
                regions.get(),
            )?));
        }
        return Ok(());
    };
    let names = wanted(book.sheet_names());
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(names.len());
    if workers <= 1 {
        let mut sheets = SheetSource::new(&book, file, bytes);
        for name in &names {
            emit(finish(sheets.parse(name, regions)?));
        }
        return Ok(());
    }
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let (sent, received) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let sent = sent.clone();
            let (book, names, next) = (&book, &names, &next);
            scope.spawn(move || {
                let mut sheets = SheetSource::new(book, file, bytes);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(name) = names.get(i) else { break };
                    let part = sheets.parse(name, regions).map(finish);
                    if sent.send((i, part)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sent);
        let mut waiting = BTreeMap::new();
        let mut wanted = 0;
        for (i, part) in received {
            waiting.insert(i, part);
            while let Some(part) = waiting.remove(&wanted) {
                wanted += 1;
                match part {
                    Ok(part) => emit(part),
                    Err(e) => {
                        // No more sheets are taken; those being read finish and are dropped.
                        next.store(names.len(), Ordering::Relaxed);
                        return Err(e);
                    }
                }
            }
        }
        Ok(())
    })
}

/// One thread's way to a workbook's sheets: the fast reader, and calamine (opened when first
/// needed) for a sheet that reader steps aside from.
struct SheetSource<'a, 'b> {
    reader: SheetReader<'a, 'b>,
    fallback: Option<calamine::Sheets<Cursor<&'b [u8]>>>,
    file: &'a str,
    bytes: &'b [u8],
}

impl<'a, 'b> SheetSource<'a, 'b> {
    fn new(book: &'a XlsxBook<'b>, file: &'a str, bytes: &'b [u8]) -> Self {
        SheetSource {
            reader: book.reader(),
            fallback: None,
            file,
            bytes,
        }
    }

    /// The sheet read first, then its labels resolved: `regions` is taken only then.
    fn parse(
        &mut self,
        name: &str,
        regions: Regions<'_>,
    ) -> Result<ParsedDocument, TransformError> {
        match self.reader.sheet(name) {
            Ok((range, merges)) => parse_range(self.file, name, range, &merges, regions.get()),
            Err(step) => {
                tracing::debug!(
                    file = self.file,
                    sheet = name,
                    reason = step.0,
                    "sheet read by calamine"
                );
                let workbook = match &mut self.fallback {
                    Some(workbook) => workbook,
                    None => self.fallback.insert(open_workbook(self.file, self.bytes)?),
                };
                parse_sheet(workbook, self.file, name, regions.get())
            }
        }
    }
}

/// A sheet's cells read: a workbook's, or a grid from another format (see [`crate::grid`]).
pub(crate) fn parse_range(
    file: &str,
    sheet: &str,
    mut range: calamine::Range<Data>,
    merges: &[calamine::Dimensions],
    regions: &RegionDictionary,
) -> Result<ParsedDocument, TransformError> {
    fill_merged_headers(&mut range, merges);
    let mut doc = ParsedDocument::default();
    SheetParser {
        file,
        sheet,
        sheet_name: Arc::from(sheet),
        regions,
        doc: &mut doc,
    }
    .parse(&range)?;
    Ok(doc)
}

/// One sheet's tables, figures and problems, read by calamine.
fn parse_sheet(
    workbook: &mut calamine::Sheets<Cursor<&[u8]>>,
    file: &str,
    sheet: &str,
    regions: &RegionDictionary,
) -> Result<ParsedDocument, TransformError> {
    let range = workbook
        .worksheet_range(sheet)
        .map_err(|e| TransformError::Workbook {
            file: file.to_string(),
            reason: format!("sheet '{sheet}': {e}"),
        })?;
    let merges = match workbook {
        calamine::Sheets::Xls(x) => x.merge_cells_by_sheet_name(sheet).unwrap_or_default(),
        calamine::Sheets::Xlsx(x) => x.merge_cells_by_sheet_name(sheet).unwrap_or_default(),
        _ => Vec::new(),
    };
    parse_range(file, sheet, range, &merges, regions)
}

/// A vertically merged header cell shows one value; some sheets keep it in the hidden lower half
/// (the visible top-left cell empty). The area's period, wherever in its first column it is stored,
/// is given to every row of that column, so the header row above and the row below both see it.
/// Only periods are spread: a merged data cell is never copied.
fn fill_merged_headers(range: &mut calamine::Range<Data>, merges: &[calamine::Dimensions]) {
    for area in merges {
        let (r0, c0) = area.start;
        let (r1, _) = area.end;
        if r1 <= r0 {
            continue;
        }
        let value = (r0..=r1)
            .filter_map(|r| range.get_value((r, c0)).cloned())
            .find(|v| !is_empty(v));
        let Some(value) = value else { continue };
        let is_period = header::header_period(&value).is_some()
            || matches!(&value, Data::String(t) if crate::period::SubPeriod::from_header_text(t).is_some());
        if !is_period {
            continue;
        }
        for r in r0..=r1 {
            if range.get_value((r, c0)).is_none_or(is_empty) {
                range.set_value((r, c0), value.clone());
            }
        }
    }
}

/// The first bytes of an OLE2 compound file: a legacy .xls (BIFF) workbook.
pub(crate) const OLE2_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Opens a workbook by what its bytes are, not by trial: calamine's own detection tries every
/// reader and, when all fail, reports only "Cannot detect file format", hiding why a damaged
/// .xls or .xlsx could not be read.
fn open_workbook<'b>(
    file: &str,
    bytes: &'b [u8],
) -> Result<calamine::Sheets<Cursor<&'b [u8]>>, TransformError> {
    let error = |reason: String| TransformError::Workbook {
        file: file.to_string(),
        reason,
    };
    if bytes.starts_with(OLE2_MAGIC) {
        return calamine::open_workbook_from_rs(Cursor::new(bytes))
            .map(calamine::Sheets::Xls)
            .map_err(|e: calamine::XlsError| error(format!("legacy .xls (BIFF) workbook: {e}")));
    }
    if bytes.starts_with(b"PK\x03\x04") {
        // .xlsx, or the rarer .xlsb and .ods, all ZIP archives; the .xlsx reader's error is the
        // one worth reporting when none of them reads it.
        return calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).or_else(|_| {
            calamine::open_workbook_from_rs(Cursor::new(bytes))
                .map(calamine::Sheets::Xlsx)
                .map_err(|e: calamine::XlsxError| error(format!(".xlsx workbook: {e}")))
        });
    }
    let start = bytes.trim_ascii_start();
    let found = if start.starts_with(b"<") {
        // Old gks.ru pages saved tables as HTML under an .xls name.
        "an HTML or XML document".to_string()
    } else if bytes.is_empty() {
        "an empty file".to_string()
    } else {
        let head: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!("bytes {}", head.join(" "))
    };
    Err(error(format!(
        "expected an .xlsx (ZIP) or legacy .xls (OLE2) workbook, found {found}"
    )))
}

struct SheetParser<'a> {
    file: &'a str,
    sheet: &'a str,
    /// The sheet's name as every figure's provenance shares it.
    sheet_name: Arc<str>,
    regions: &'a RegionDictionary,
    doc: &'a mut ParsedDocument,
}

/// A block being read: its title lines, then its header, then its rows.
#[derive(Default)]
struct Block {
    /// Title lines seen since the last block, with the table code each carried.
    titles: Vec<(Option<String>, String)>,
    /// The unit line: the unit and its basis (see [`crate::unit`]).
    unit: Option<(String, Option<String>)>,
    table_marks: Vec<u32>,
    /// Column -> period, once the header row is read.
    header: BTreeMap<u32, Period>,
    /// Column -> footnote marks its header carries (`20141)`), which apply to the whole column.
    column_marks: BTreeMap<u32, Vec<u32>>,
    summary: Option<usize>,
    data_rows: usize,
    /// The header under the years was not understood (a problem says so): rows are skipped until
    /// the next header or table title.
    skip_until_header: bool,
    /// Column -> the category printed under its year (a dimension of its figures).
    categories: BTreeMap<u32, String>,
    /// The table's text every figure shares, made with its summary.
    text: Option<TableText>,
}

/// A table's text as its figures share it.
#[derive(Clone)]
struct TableText {
    indicator: Arc<str>,
    code: Arc<str>,
    title: Arc<str>,
    unit: Arc<str>,
    basis: Option<Arc<str>>,
}

/// Where a figure of the sheet was read, kept beside it (same index) until the sheet's footnotes,
/// which come last, are known. Apart from the figures so that these are written once, where they
/// stay: moving every figure out of a wrapper was a few percent of reading a section.
struct Placed {
    /// The footnote marks that apply to the figure.
    marks: Vec<u32>,
    /// The table (index into the document's summaries) and sheet row the figure was read from.
    table: usize,
    row: u32,
}

impl SheetParser<'_> {
    fn location(&self, row: u32, col: u32) -> Location {
        Location {
            file: self.file.to_string(),
            sheet: Some(self.sheet.to_string()),
            cell: Some(a1(row, col)),
        }
    }

    /// A problem of the whole sheet (no cell to point at).
    fn sheet_problem(&mut self, expected: &str, found: String) {
        self.doc.problems.push(ParseProblem {
            location: Location {
                file: self.file.to_string(),
                sheet: Some(self.sheet.to_string()),
                cell: None,
            },
            expected: expected.to_string(),
            found,
        });
    }

    fn problem(&mut self, row: u32, col: u32, expected: &str, found: String) {
        let location = self.location(row, col);
        self.doc.problems.push(ParseProblem {
            location,
            expected: expected.to_string(),
            found,
        });
    }

    fn parse(mut self, range: &calamine::Range<Data>) -> Result<(), TransformError> {
        let Some((row0, col0)) = range.start() else {
            return Ok(());
        };
        let mut block = Block::default();
        // At most a figure a non-empty cell: sized once, so that the figures are never copied
        // into a doubled vector, whose fresh pages were a fifth of reading a big section.
        let mut figures: Vec<Observation> = Vec::with_capacity(range.used_cells().count());
        let mut placed: Vec<Placed> = Vec::with_capacity(figures.capacity());
        // The place of the last data row (its region and, in a regional office's table, its
        // municipal formation's series): a category row under it («в том числе: сельское
        // население») holds that place's figures.
        let mut last_place: Option<(&RegionEntry, Option<String>)> = None;
        let mut footnotes: BTreeMap<u32, String> = BTreeMap::new();
        let mut in_footnotes = false;

        for (r, cells) in range.rows().enumerate() {
            let row = row0 + r as u32;
            let cell_at = |c: u32| cells.get(c.checked_sub(col0)? as usize);
            let first = cell_at(0).and_then(text_of);
            let has_data_cells = cells
                .iter()
                .enumerate()
                .any(|(i, c)| col0 + i as u32 > 0 && !is_empty(c));

            if let Some(label) = first.as_deref() {
                if is_separator(label) {
                    in_footnotes = true;
                    continue;
                }
                // Some sheets (12.6.) start their footnotes with no separator line.
                if !in_footnotes
                    && !has_data_cells
                    && !block.header.is_empty()
                    && footnote_line(label).is_some()
                {
                    in_footnotes = true;
                }
                if in_footnotes {
                    if let Some((n, text)) = footnote_line(label) {
                        footnotes.insert(n, text);
                    } else if let Some(last) = footnotes.values_mut().last() {
                        last.push(' ');
                        last.push_str(label.trim());
                    }
                    continue;
                }
            }

            // A header row: periods in the columns right of A.
            let periods = header_periods(cells, col0);
            // The label resolved once per row: here to tell a header from a data row, and below
            // for the data row's region.
            let regions = self.regions;
            let resolved = first.as_deref().and_then(|l| regions.resolve(l));
            let label_is_region = resolved.is_some();
            // One period is a header too when column A is empty and no header is open yet: regional
            // offices publish tables of a single year («2024», «январь-декабрь 2024 г.»).
            let single = periods.len() == 1 && first.is_none() && block.header.is_empty();
            if (periods.len() >= 2 || single) && !label_is_region {
                if block.data_rows > 0 || block.header.is_empty() && block.summary.is_some() {
                    block = Block {
                        titles: std::mem::take(&mut block.titles),
                        ..Block::default()
                    };
                }
                // The lower half of merged header cells repeats years the header has: not a new
                // header.
                let repeats = block.data_rows == 0
                    && periods.len() < block.header.len()
                    && periods.iter().all(|(c, p)| block.header.get(c) == Some(p));
                if !repeats {
                    block.header = periods;
                    block.column_marks = header_marks(cells, col0);
                    block.categories.clear();
                    block.skip_until_header = false;
                }
                continue;
            }
            // A second header level (quarters or months under years), or sub-periods of the year the
            // title names («... в 2022 году»).
            let subs = sub_periods(cells, col0);
            if subs.len() >= 2 && !label_is_region && block.data_rows == 0 {
                let title_year = block.titles.iter().rev().find_map(|(_, t)| year_in_text(t));
                let mut header = BTreeMap::new();
                let own_marks = header_marks(cells, col0);
                let mut column_marks = BTreeMap::new();
                for (col, sub) in subs {
                    // The year above spans its quarters or months (a merged cell): its marks do too.
                    let year_column = block.header.range(..=col).next_back();
                    let year = year_column.map(|(_, p)| p.year()).or(title_year);
                    if let Some(year) = year {
                        header.insert(col, sub.in_year(year));
                        let inherited = year_column
                            .and_then(|(c, _)| block.column_marks.get(c))
                            .map_or(&[][..], Vec::as_slice);
                        let marks = [
                            inherited,
                            own_marks.get(&col).map_or(&[][..], Vec::as_slice),
                        ]
                        .concat();
                        if !marks.is_empty() {
                            column_marks.insert(col, marks);
                        }
                    }
                }
                if header.is_empty() {
                    self.problem(row, col0, "a year for the quarter or month headers (a row of years above, or a year in the title)", String::new());
                } else {
                    block.header = header;
                    block.column_marks = column_marks;
                }
                continue;
            }

            // Under the years, before any figure, a row of headers that are not periods. Categories
            // («пенсии», «стипендии»; a year split in two, «не включая … 2017» / «включая …»; an
            // edition of a methodology) become a dimension of each column's figures, under the year
            // they stand under. Period-like words this parser does not read (weeks, ten-day spans)
            // make the table a problem: the figures under them are not the years'.
            if first.is_none() && block.data_rows == 0 && !block.header.is_empty() {
                let texts: Vec<(u32, String)> = cells
                    .iter()
                    .enumerate()
                    .filter(|(i, c)| col0 + *i as u32 > 0 && matches!(c, Data::String(_)))
                    .map(|(i, c)| (col0 + i as u32, display(c)))
                    .filter(|(_, t)| !t.trim().is_empty())
                    .collect();
                if texts.len() >= 2 {
                    if texts.iter().any(|(_, t)| looks_like_period_word(t)) {
                        let found: Vec<&str> = texts.iter().map(|(_, t)| t.as_str()).collect();
                        self.problem(
                            row,
                            col0.max(1),
                            "a row of quarters, months or other periods under the years",
                            found.join(" | "),
                        );
                        block.header.clear();
                        block.skip_until_header = true;
                        continue;
                    }
                    let mut header = block.header.clone();
                    let mut column_marks = block.column_marks.clone();
                    let own_marks = header_marks(cells, col0);
                    for (col, text) in texts {
                        let Some((&year_col, &period)) = block.header.range(..=col).next_back()
                        else {
                            continue;
                        };
                        header.insert(col, period);
                        let (category, _) = strip_footnote_mark(&text);
                        block.categories.insert(
                            col,
                            category.split_whitespace().collect::<Vec<_>>().join(" "),
                        );
                        let marks = [
                            block
                                .column_marks
                                .get(&year_col)
                                .map_or(&[][..], Vec::as_slice),
                            own_marks.get(&col).map_or(&[][..], Vec::as_slice),
                        ]
                        .concat();
                        if !marks.is_empty() {
                            column_marks.insert(col, marks);
                        }
                    }
                    block.header = header;
                    block.column_marks = column_marks;
                    continue;
                }
            }

            let Some(label) = first else { continue };
            if block.skip_until_header {
                if title_code(&label).is_none() {
                    continue;
                }
                block = Block::default();
            }
            if block.header.is_empty()
                || (block.data_rows > 0 && !has_data_cells && title_code(&label).is_some())
            {
                // Still above the grid (or a new stacked block starts): title and unit lines.
                if block.data_rows > 0 {
                    block = Block::default();
                }
                self.read_title_line(&mut block, &label);
                continue;
            }

            // A data row.
            let summary = self.summary_for(&mut block);
            block.data_rows += 1;
            let (clean_label, row_marks) = strip_footnote_mark(&label);
            // «Российская Федерация, млн т»: a region with the unit of its row's figures.
            let with_unit = match resolved {
                None => {
                    split_unit(&label).and_then(|(name, unit)| match self.regions.resolve(name) {
                        Some(Resolution::Region(entry)) => Some((entry, unit)),
                        _ => None,
                    })
                }
                Some(_) => None,
            };
            let row_unit: Option<Arc<str>> = with_unit.map(|(_, unit)| Arc::from(unit));
            let region_label: Arc<str> =
                Arc::from(clean_label.split_whitespace().collect::<Vec<_>>().join(" "));
            let text = block.text.clone().expect("made with the summary");
            // Dimensions of the row's place: its municipal formation, a category under it.
            let mut place_dimensions: Vec<(String, String)> = Vec::new();
            let region = match resolved {
                Some(Resolution::Region(entry)) => {
                    last_place = Some((entry, None));
                    Some(entry)
                }
                Some(Resolution::Municipality { subject, formation }) => {
                    last_place = Some((subject, Some(formation.series.clone())));
                    place_dimensions.push(("municipality".into(), formation.series.clone()));
                    Some(subject)
                }
                Some(Resolution::MunicipalCategory(category)) => match &last_place {
                    Some((entry, municipality)) => {
                        if let Some(m) = municipality {
                            place_dimensions.push(("municipality".into(), m.clone()));
                        }
                        place_dimensions.push(("category".into(), category.to_string()));
                        Some(*entry)
                    }
                    None => {
                        let values = count_grid_cells(cells, col0);
                        self.doc.tables[summary].grid_cells += values;
                        self.doc.tables[summary].rejected += values;
                        self.problem(
                            row,
                            0,
                            "a category row under a municipal formation's row",
                            label.clone(),
                        );
                        continue;
                    }
                },
                Some(Resolution::Marker) => None,
                None if with_unit.is_some() => with_unit.map(|(entry, _)| entry),
                None if block.data_rows == 1 && is_total_label(&label) => self.regions.get("643"),
                // A row that names no region and holds only no-data markers (an administrative
                // heading with dashes): nothing to read and nothing lost.
                None if only_markers(cells, col0) => {
                    let values = count_grid_cells(cells, col0);
                    self.doc.tables[summary].grid_cells += values;
                    self.doc.tables[summary].statuses += values;
                    continue;
                }
                None => {
                    let values = count_grid_cells(cells, col0);
                    self.doc.tables[summary].grid_cells += values;
                    self.doc.tables[summary].rejected += values;
                    let expected = self.regions.expected_label();
                    self.problem(row, 0, &expected, label.clone());
                    continue;
                }
            };
            for (i, cell) in cells.iter().enumerate() {
                let col = col0 + i as u32;
                if col == 0 || is_empty(cell) {
                    continue;
                }
                self.doc.tables[summary].grid_cells += 1;
                let Some(&period) = block.header.get(&col) else {
                    self.doc.tables[summary].rejected += 1;
                    self.problem(
                        row,
                        col,
                        "a figure under a period in the header row",
                        display(cell),
                    );
                    continue;
                };
                let Some(region) = region else {
                    self.doc.tables[summary].rejected += 1;
                    self.problem(row, col, "no figures on a «в том числе» row", display(cell));
                    continue;
                };
                let parsed = match cell {
                    Data::Float(v) => Some((Some(*v), Status::Ok, Vec::new())),
                    Data::Int(v) => Some((Some(*v as f64), Status::Ok, Vec::new())),
                    Data::String(s) => {
                        parse_cell_text(s).map(|c| (c.value, c.status, c.footnote_marks))
                    }
                    _ => None,
                };
                let Some((value, status, cell_marks)) = parsed else {
                    self.doc.tables[summary].rejected += 1;
                    self.problem(
                        row,
                        col,
                        "a number, a missing marker (…, -, x) or a ratio (в 5,8 р.)",
                        display(cell),
                    );
                    continue;
                };
                let table = &mut self.doc.tables[summary];
                if status == Status::Ok || status == Status::RatioTimes {
                    table.values += 1;
                } else {
                    table.statuses += 1;
                }
                let column_marks = block.column_marks.get(&col).map_or(&[][..], Vec::as_slice);
                let marks = [
                    block.table_marks.as_slice(),
                    column_marks,
                    &row_marks,
                    &cell_marks,
                ]
                .concat();
                placed.push(Placed {
                    marks,
                    table: summary,
                    row,
                });
                figures.push(Observation {
                    indicator: text.indicator.clone(),
                    region_code: region.code.as_str().into(),
                    region_label: region_label.clone(),
                    period,
                    value,
                    unit: row_unit.clone().unwrap_or_else(|| text.unit.clone()),
                    basis: text.basis.clone(),
                    status,
                    footnotes: Vec::new(),
                    dimensions: place_dimensions
                        .iter()
                        .cloned()
                        .chain(
                            block
                                .categories
                                .get(&col)
                                .map(|c| ("category".to_string(), c.clone())),
                        )
                        .collect(),
                    provenance: Provenance {
                        document_sha256: Arc::from(""),
                        sheet: self.sheet_name.clone(),
                        cell: crate::a1_cell(row, col),
                        table_code: text.code.clone(),
                        table_title: text.title.clone(),
                    },
                });
            }
        }
        settle_district_versions(&mut figures, &placed, self.regions);

        if block.header.is_empty()
            && block.summary.is_none()
            && !block.skip_until_header
            && looks_like_table_sheet(self.sheet)
        {
            // A table of a layout this parser does not know (columns that are not periods) fails
            // alone: the workbook's other tables still load, and the sheet is named with what it held.
            let cells = range.used_cells().filter(|(_, _, c)| !is_empty(c)).count();
            self.sheet_problem(
                "a header row of periods (years such as 2005 or 1998г.)",
                format!("no such row; the sheet's {cells} non-empty cells were not read"),
            );
            return Ok(());
        }
        // Numbers under the header that no row read (labels outside column A, say): never silent.
        let sheet_problems = self
            .doc
            .problems
            .iter()
            .filter(|p| p.location.sheet.as_deref() == Some(self.sheet))
            .count();
        if figures.is_empty() && sheet_problems == 0 && looks_like_table_sheet(self.sheet) {
            let numbers = range
                .used_cells()
                .filter(|(r, c, v)| {
                    *c as u32 + col0 > 0
                        && matches!(v, Data::Float(_) | Data::Int(_))
                        && header_period(v).is_none()
                        && *r > 0
                })
                .count();
            if numbers > 0 {
                self.sheet_problem(
                    "figures in rows labelled with a region in column A",
                    format!("{numbers} numbers under the header, none of them read"),
                );
                return Ok(());
            }
        }
        // Each footnote's text once per sheet, shared by the figures it applies to.
        let mut footnote_texts: std::collections::HashMap<u32, Arc<str>> =
            std::collections::HashMap::new();
        for (observation, Placed { marks, .. }) in figures.iter_mut().zip(&placed) {
            for (i, &m) in marks.iter().enumerate() {
                if marks[..i].contains(&m) {
                    continue;
                }
                let text = footnote_texts.entry(m).or_insert_with(|| {
                    Arc::from(
                        footnotes
                            .get(&m)
                            .map(|t| format!("{m}) {t}"))
                            .unwrap_or_else(|| format!("{m})")),
                    )
                });
                observation.footnotes.push(text.clone());
            }
        }
        if self.doc.observations.is_empty() {
            self.doc.observations = figures;
        } else {
            self.doc.observations.extend(figures);
        }
        Ok(())
    }

    fn read_title_line(&self, block: &mut Block, label: &str) {
        let line = label.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some(unit) = line.strip_prefix('(').and_then(|l| l.strip_suffix(')')) {
            block.unit = Some(crate::unit::split_unit_line(unit));
            return;
        }
        let code = title_code(&line);
        let text = match code {
            Some(_) => line
                .trim_start_matches(|ch: char| ch.is_ascii_digit() || ch == '.')
                .trim()
                .to_string(),
            None => line,
        };
        block.titles.push((code, text));
    }

    /// The summary row for the block's table, created at its first data row from the title lines.
    fn summary_for(&mut self, block: &mut Block) -> usize {
        if let Some(i) = block.summary {
            return i;
        }
        let sheet_code = self.sheet.trim().trim_end_matches('.').to_string();
        // The deepest code line is the table's own; a parent code line (12.2. over 12.2.1.) adds context.
        let own = block.titles.iter().rposition(|(c, _)| c.is_some());
        // Footnote marks on a parent's title apply to its sub-tables' figures as well.
        let mut parent_marks = Vec::new();
        let (code, title) = match own {
            Some(i) => {
                let (code, text) = block.titles[i].clone();
                let code = code.unwrap_or_default();
                let parent = block.titles[..i]
                    .iter()
                    .rev()
                    // A section line («10. ИНВЕСТИЦИИ») is no parent: only a table code with a dot is.
                    .find(|(c, _)| {
                        c.as_deref()
                            .is_some_and(|p| p.contains('.') && code.starts_with(&format!("{p}.")))
                    })
                    .map(|(_, p)| p.as_str())
                    // A sub-table (2.18.1.) whose parent title is printed without its code: the
                    // uncoded line right above.
                    .or_else(|| {
                        let sub_table = code.matches('.').count() >= 2;
                        let above = i.checked_sub(1).map(|j| &block.titles[j]);
                        above
                            .filter(|(c, _)| sub_table && c.is_none())
                            .map(|(_, p)| p.as_str())
                    });
                let text = match parent {
                    Some(p) => {
                        let (p, marks) = strip_footnote_mark(p.trim_end_matches('.'));
                        parent_marks = marks;
                        format!("{}. {}", p.trim_end_matches('.'), text)
                    }
                    None => text,
                };
                (code, text)
            }
            // Standalone tables carry no code: the title is their text lines in order (mediabank
            // titles run over several rows), without the `Обновлено ...` stamp; the code is the sheet's.
            None => {
                let title = block
                    .titles
                    .iter()
                    .map(|(_, t)| t.trim())
                    .filter(|t| !t.is_empty() && !t.starts_with("Обновлено") && !is_table_label(t))
                    .collect::<Vec<_>>()
                    .join(" ");
                // A generic sheet name (`Лист1`, `Sheet1`) says nothing; the file's name does (`t4`).
                let generic = ["Лист", "Sheet"].iter().any(|p| {
                    sheet_code
                        .strip_prefix(p)
                        .is_some_and(|n| n.trim().chars().all(|c| c.is_ascii_digit()))
                });
                let code = if generic {
                    let stem = self.file.rsplit(['/', '\\']).next().unwrap_or(self.file);
                    stem.rsplit_once('.').map_or(stem, |(s, _)| s).to_string()
                } else {
                    sheet_code
                };
                (code, title)
            }
        };
        let (title, marks) = {
            let (t, m) = strip_footnote_mark(&title);
            (t.trim().to_string(), m)
        };
        block.table_marks = [parent_marks, marks].concat();
        self.doc.tables.push(TableSummary {
            sheet: self.sheet.to_string(),
            code,
            title,
            unit: block
                .unit
                .as_ref()
                .map(|(u, _)| u.clone())
                .unwrap_or_default(),
            basis: block.unit.as_ref().and_then(|(_, b)| b.clone()),
            grid_cells: 0,
            values: 0,
            statuses: 0,
            rejected: 0,
        });
        let i = self.doc.tables.len() - 1;
        let table = &self.doc.tables[i];
        block.text = Some(TableText {
            indicator: Arc::from(format!("rosstat:{}", table.code)),
            code: Arc::from(table.code.as_str()),
            title: Arc::from(table.title.as_str()),
            unit: Arc::from(table.unit.as_str()),
            basis: table.basis.as_deref().map(Arc::from),
        });
        block.summary = Some(i);
        i
    }
}

/// Whether a line is a footnote as the sheet parser reads one under a table («1) Оценка.»,
/// «*) Без учета …»): the rule a Word document's paragraphs under a table are kept by.
pub(crate) fn is_footnote_line(line: &str) -> bool {
    footnote_line(line).is_some()
}

/// «Таблица 3», «Таблица 2.1»: a document's label of the table under it, not part of its title.
fn is_table_label(line: &str) -> bool {
    let Some(rest) = line
        .strip_prefix("Таблица")
        .or_else(|| line.strip_prefix("ТАБЛИЦА"))
    else {
        return false;
    };
    let rest = rest.trim().trim_end_matches('.');
    !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// Gives each district row whose printed name has had several compositions the code of the one the
/// table lists under it (see [`crate::district`]): the subjects on the rows after it, up to the next
/// district or total.
/// A label with a unit after its name: «Российская Федерация, млн т», «Российская Федерация  млрд.
/// рублей ¹» (a comma, or a run of spaces). The unit loses its footnote marks.
fn split_unit(label: &str) -> Option<(&str, &str)> {
    let label = label.trim();
    let (name, unit) = label.split_once(',').or_else(|| label.split_once("  "))?;
    let unit = strip_footnote_mark(unit.trim()).0.trim();
    (!name.trim().is_empty() && !unit.is_empty() && !unit.chars().any(|c| c.is_ascii_digit()))
        .then_some((name.trim(), unit))
}

/// Words of periods this parser does not read (weeks, ten-day spans, days) or of periods it would
/// read in another spelling: a sub-header with them is not a category.
fn looks_like_period_word(text: &str) -> bool {
    let t = text.to_lowercase();
    [
        "недел",
        "декад",
        "день",
        "дня",
        "квартал",
        "месяц",
        "полугод",
        "период",
        "январ",
        "феврал",
        "март",
        "апрел",
        "мая",
        "июн",
        "июл",
        "август",
        "сентябр",
        "октябр",
        "ноябр",
        "декабр",
    ]
    .iter()
    .any(|w| t.contains(w))
}

/// Whether every non-empty data cell of a row is a no-data marker (…, -, x).
fn only_markers(cells: &[Data], col0: u32) -> bool {
    let mut any = false;
    for (i, c) in cells.iter().enumerate() {
        if col0 + i as u32 == 0 || is_empty(c) {
            continue;
        }
        let Data::String(text) = c else { return false };
        match parse_cell_text(text) {
            Some(v) if v.value.is_none() => any = true,
            _ => return false,
        }
    }
    any
}

/// `figures[i]` was read where `placed[i]` says.
fn settle_district_versions(
    figures: &mut [Observation],
    placed: &[Placed],
    regions: &RegionDictionary,
) {
    let subject = |code: &str| {
        regions
            .get(code)
            .filter(|e| matches!(e.kind, RegionKind::Subject | RegionKind::SubjectPart))
    };
    let mut i = 0;
    while i < figures.len() {
        let (table, row) = (placed[i].table, placed[i].row);
        let row_end = i + placed[i..]
            .iter()
            .take_while(|p| p.table == table && p.row == row)
            .count();
        // Only a district of several versions looks at the rows under it (collecting them for
        // every row of a table was a seventh of reading a big section).
        if !crate::district::has_versions(&figures[i].region_code) {
            i = row_end;
            continue;
        }
        let code = figures[i].region_code.clone();
        let members: Vec<(&str, Option<&str>)> = figures[row_end..]
            .iter()
            .zip(&placed[row_end..])
            .take_while(|(_, p)| p.table == table)
            .map_while(|(o, _)| subject(&o.region_code))
            .map(|e| (e.code.as_str(), e.parent.as_deref()))
            .collect();
        if let Some(version) = crate::district::district_version(&code, &members) {
            for o in &mut figures[i..row_end] {
                o.region_code = version.into();
            }
        }
        i = row_end;
    }
}
