//! Reading columns of a CSV or Parquet file (a panel for `regstat estimate`); no warehouse is
//! touched. CSV is split and parsed here, on every core; Parquet is read with the `parquet` crate,
//! and through an in-memory DuckDB when that crate cannot read the file (a compression it is not
//! built with, nested columns).
//!
//! Columns are found by their exact names as the file spells them (DuckDB's own binding is
//! case-insensitive and renames `D` beside `d`, so columns are selected by position). CSV cells are
//! read as text and parsed here, so a column that looks numeric in a sample and holds text
//! further down is read as the text it is, and a cell that is not a number is an error naming the
//! file, the column, the row and the value, never a silent null or a cast failure with SQL in it.

use std::path::{Path, PathBuf};

use duckdb::arrow::array::{Array, ArrayRef, AsArray};
use duckdb::arrow::compute::cast;
use duckdb::arrow::datatypes::{DataType, Float64Type, Int64Type};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Labels (units, clusters): the cell's text, exactly as in the file.
    Text,
    /// Numbers; empty, `NA`, `NaN` and `.` cells are missing (NaN).
    Number,
    /// Periods and cohorts: whole numbers up to 1e15, missing as for numbers
    /// ([`MISSING_PERIOD`]). A number with a fraction is an error naming its row: a period is
    /// never rounded (it would merge with another). Parsed straight to integers on the reading
    /// threads (converting and checking a column of floats afterwards was a tenth of a CS
    /// estimate on a 500,000-row panel).
    Period,
}

/// A missing cell of a [`ColumnKind::Period`] column.
pub const MISSING_PERIOD: i64 = i64::MIN;

#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    Text(TextColumn),
    /// NaN where the cell is missing (half the memory of `Option<f64>`, which matters at 5M cells).
    Number(Vec<f64>),
    /// [`MISSING_PERIOD`] where the cell is missing.
    Period(Vec<i64>),
}

/// A text column stored once per distinct label: each row's code into `labels` (in order of first
/// appearance), [`TextColumn::MISSING`] for an empty cell. A panel of 50,000 units over ten periods
/// holds 50,000 strings, not 500,000, and each cell is hashed once, never allocated.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TextColumn {
    pub codes: Vec<u32>,
    pub labels: Vec<String>,
}

impl TextColumn {
    pub const MISSING: u32 = u32::MAX;

    /// The label of `row`, `None` where the cell is empty.
    pub fn get(&self, row: usize) -> Option<&str> {
        match self.codes[row] {
            Self::MISSING => None,
            c => Some(&self.labels[c as usize]),
        }
    }

    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }
}

/// A text column's distinct labels while it is read: their bytes in one arena, a hash table of
/// codes into it, and the code of the cell before. Panels list a unit's periods together, so most
/// cells repeat the one above and are matched by one comparison; a new label costs one copy into
/// the arena and no allocation of its own (a `HashMap<Vec<u8>, u32>` allocated every key, and
/// those small allocations were a fifth of reading a 50,000-unit panel). One for every way a text
/// column is filled: CSV chunks, Parquet batches and the merge of chunks.
#[derive(Default, Clone)]
struct LabelIndex {
    table: hashbrown::HashTable<u32>,
    arena: Vec<u8>,
    /// Label k is `arena[ends[k - 1]..ends[k]]` (from 0 for the first).
    ends: Vec<usize>,
    /// The code of the last non-empty cell looked up.
    last: Option<u32>,
}

impl LabelIndex {
    fn label<'b>(arena: &'b [u8], ends: &[usize], code: u32) -> &'b [u8] {
        let k = code as usize;
        let start = if k == 0 { 0 } else { ends[k - 1] };
        &arena[start..ends[k]]
    }

    fn hash(cell: &[u8]) -> u64 {
        use std::hash::BuildHasher;
        rustc_hash::FxBuildHasher.hash_one(cell)
    }

    /// The code of `cell`, adding it when new (codes in order of first appearance);
    /// [`TextColumn::MISSING`] when empty.
    fn code(&mut self, cell: &[u8]) -> u32 {
        if cell.is_empty() {
            return TextColumn::MISSING;
        }
        let Self {
            table,
            arena,
            ends,
            last,
        } = self;
        if let Some(c) = *last {
            if Self::label(arena, ends, c) == cell {
                return c;
            }
        }
        let hash = Self::hash(cell);
        let code = match table.find(hash, |&c| Self::label(arena, ends, c) == cell) {
            Some(&c) => c,
            None => {
                let c = ends.len() as u32;
                arena.extend_from_slice(cell);
                ends.push(arena.len());
                table.insert_unique(hash, c, |&c| Self::hash(Self::label(arena, ends, c)));
                c
            }
        };
        *last = Some(code);
        code
    }

    /// Codes of `other`'s labels in this index (added when new), indexed by `other`'s codes.
    fn absorb(&mut self, other: &LabelIndex) -> Vec<u32> {
        // Room for all of them at once: chunks of a panel share few labels, and growing the
        // table on the way rehashed every label already in it.
        let Self {
            table, arena, ends, ..
        } = self;
        table.reserve(other.ends.len(), |&c| {
            Self::hash(Self::label(arena, ends, c))
        });
        arena.reserve(other.arena.len());
        ends.reserve(other.ends.len());
        (0..other.ends.len() as u32)
            .map(|c| self.code(Self::label(&other.arena, &other.ends, c)))
            .collect()
    }

    /// The labels in code order, as text (invalid UTF-8 replaced, as the file's bytes allow).
    fn into_labels(self) -> Vec<String> {
        (0..self.ends.len() as u32)
            .map(|c| String::from_utf8_lossy(Self::label(&self.arena, &self.ends, c)).into_owned())
            .collect()
    }
}

/// Why a panel file could not be read: each names the file, and the column, row and value where
/// one is at fault.
#[derive(Debug, thiserror::Error)]
pub enum PanelFileError {
    // Not a `source` field: the message already carries it, and anyhow's chain would repeat it.
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: the file is empty (expected a header row naming the columns, then one row per unit and period)")]
    Empty { path: PathBuf },
    #[error("{path}: the file has a header but no data rows")]
    NoRows { path: PathBuf },
    #[error("{path}: no column `{column}`{}; the file has: {}", match .case_match { Some(m) => format!(" (names are matched exactly; the file has `{m}`)"), None => String::new() }, .available.join(", "))]
    MissingColumn {
        path: PathBuf,
        column: String,
        available: Vec<String>,
        case_match: Option<String>,
    },
    #[error("{path}: the header names column `{column}` twice")]
    DuplicateColumn { path: PathBuf, column: String },
    #[error("{path}: column `{column}`, data row {row}: expected a number, found {value:?}")]
    NotANumber {
        path: PathBuf,
        column: String,
        row: usize,
        value: String,
    },
    #[error("{path}: column `{column}`, data row {row}: {value} is not an integer period; periods must be integers (a year or a period index), and regstat does not round them")]
    NotAPeriod {
        path: PathBuf,
        column: String,
        row: usize,
        value: String,
    },
    #[error("{path}: column `{column}` has type {found}, expected {expected}")]
    ColumnType {
        path: PathBuf,
        column: String,
        found: String,
        expected: &'static str,
    },
    #[error("{path}: not a readable {format} file: {message}")]
    Format {
        path: PathBuf,
        format: &'static str,
        message: String,
    },
}

/// DuckDB's own message, without the error-code wrapper its Display adds.
fn duckdb_message(e: &duckdb::Error) -> String {
    match e {
        duckdb::Error::DuckDBFailure(_, Some(message)) => message.clone(),
        other => other.to_string(),
    }
}

/// Parses a number cell: `None` for the missing markers, `Err` for anything else that is not one.
fn parse_number(cell: &[u8]) -> Result<Option<f64>, ()> {
    // Plain non-negative integers (periods, cohorts, counts: most cells of a panel) without the
    // float parser; up to 15 digits the value is exact in an f64.
    if !cell.is_empty() && cell.len() <= 15 && cell.iter().all(u8::is_ascii_digit) {
        let value = cell.iter().fold(0u64, |v, d| v * 10 + u64::from(d - b'0'));
        return Ok(Some(value as f64));
    }
    let t = cell.trim_ascii();
    if t.is_empty() || matches!(t, b"NA" | b"NaN" | b"nan" | b"." | b"NULL") {
        return Ok(None);
    }
    match fast_float2::parse::<f64, _>(t) {
        Ok(v) if v.is_nan() => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(_) => Err(()),
    }
}

/// The largest period by magnitude: beyond it an f64 no longer tells a fraction.
const LARGEST_PERIOD: i64 = 1_000_000_000_000_000;

/// A period from a number cell's value: `Err` when it is not whole or beyond [`LARGEST_PERIOD`].
fn period_of(value: Option<f64>) -> Result<i64, ()> {
    match value {
        None => Ok(MISSING_PERIOD),
        Some(v) if v.abs() <= LARGEST_PERIOD as f64 && (v as i64) as f64 == v => Ok(v as i64),
        Some(_) => Err(()),
    }
}

/// What is wrong with a period cell; [`BadPeriod::at`] makes the error that names it.
#[derive(Clone, Copy)]
enum BadPeriod {
    NotANumber,
    NotWhole,
}

impl BadPeriod {
    fn at(self, path: &Path, column: &str, row: usize, value: String) -> PanelFileError {
        let (path, column) = (path.to_path_buf(), column.to_string());
        match self {
            BadPeriod::NotANumber => PanelFileError::NotANumber {
                path,
                column,
                row,
                value,
            },
            BadPeriod::NotWhole => PanelFileError::NotAPeriod {
                path,
                column,
                row,
                value,
            },
        }
    }
}

/// Parses a period cell: plain digits straight to an integer, anything else as a number that
/// must be whole.
fn parse_period(cell: &[u8]) -> Result<i64, BadPeriod> {
    if !cell.is_empty() && cell.len() <= 15 && cell.iter().all(u8::is_ascii_digit) {
        return Ok(cell.iter().fold(0i64, |v, d| v * 10 + i64::from(d - b'0')));
    }
    let number = parse_number(cell).map_err(|()| BadPeriod::NotANumber)?;
    period_of(number).map_err(|()| BadPeriod::NotWhole)
}

/// A chunk's labels per column and its rows, or the error with its row within the chunk.
type ChunkResult = Result<(Vec<LabelIndex>, usize), (usize, PanelFileError)>;

/// Where one chunk of a CSV file writes its rows: its part of each requested column.
enum ColumnPart<'a> {
    Number(&'a mut [f64]),
    Period(&'a mut [i64]),
    Text(&'a mut [u32]),
}

/// The columns of one chunk of a CSV file, filled a record at a time into the chunk's part of the
/// file's columns (sized once for the whole file; no chunk's columns are copied afterwards).
struct ChunkReader<'a> {
    path: &'a Path,
    columns: &'a [(&'a str, ColumnKind)],
    positions: &'a [usize],
    width: usize,
    parts: Vec<ColumnPart<'a>>,
    /// Per requested column, its labels (used by text columns only).
    texts: Vec<LabelIndex>,
    /// Records read so far (the 1-based number of the last one).
    row: usize,
}

impl<'a> ChunkReader<'a> {
    fn new(
        path: &'a Path,
        columns: &'a [(&'a str, ColumnKind)],
        positions: &'a [usize],
        width: usize,
        parts: Vec<ColumnPart<'a>>,
    ) -> Self {
        Self {
            path,
            columns,
            positions,
            width,
            parts,
            texts: vec![Default::default(); columns.len()],
            row: 0,
        }
    }

    /// Takes one record's fields: the requested ones parsed into their columns.
    fn record(&mut self, fields: &[&[u8]]) -> Result<(), (usize, PanelFileError)> {
        let at = self.row;
        self.row += 1;
        let row = self.row;
        if fields.len() != self.width {
            return Err((
                row,
                PanelFileError::Format {
                    path: self.path.to_path_buf(),
                    format: "CSV",
                    message: format!(
                        "expected {} fields as in the header, found {}",
                        self.width,
                        fields.len()
                    ),
                },
            ));
        }
        for (((part, &pos), (column, _)), index) in self
            .parts
            .iter_mut()
            .zip(self.positions)
            .zip(self.columns)
            .zip(self.texts.iter_mut())
        {
            let cell = fields[pos];
            match part {
                ColumnPart::Number(v) => match parse_number(cell) {
                    Ok(x) => v[at] = x.unwrap_or(f64::NAN),
                    Err(()) => {
                        return Err((
                            row,
                            PanelFileError::NotANumber {
                                path: self.path.to_path_buf(),
                                column: column.to_string(),
                                row,
                                value: String::from_utf8_lossy(cell).into_owned(),
                            },
                        ))
                    }
                },
                ColumnPart::Period(v) => match parse_period(cell) {
                    Ok(p) => v[at] = p,
                    Err(bad) => {
                        let value = String::from_utf8_lossy(cell).into_owned();
                        return Err((row, bad.at(self.path, column, row, value)));
                    }
                },
                ColumnPart::Text(v) => v[at] = index.code(cell),
            }
        }
        Ok(())
    }
}

/// The bytes of a panel file: mapped when it is a plain file (no copy into fresh memory: reading
/// a 15 MB panel into a buffer was a tenth of a CS estimate), read otherwise, decompressed when
/// it is gzipped.
enum FileBytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(m) => m,
            FileBytes::Owned(v) => v,
        }
    }
}

fn file_bytes(path: &Path) -> Result<FileBytes, PanelFileError> {
    use std::io::Read;
    let io = |error| PanelFileError::Io {
        path: path.to_path_buf(),
        error,
    };
    if path.to_string_lossy().to_lowercase().ends_with(".gz") {
        let raw = std::fs::read(path).map_err(io)?;
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(io)?;
        return Ok(FileBytes::Owned(out));
    }
    let file = std::fs::File::open(path).map_err(io)?;
    // SAFETY: the map is only read, and only while this function's caller parses it. A file
    // truncated by another process during those milliseconds would fault the read (as it does
    // for every tool that maps its input, ripgrep among them); a panel being rewritten while it
    // is estimated is not a supported use. Where mapping fails (pipes, some file systems) the
    // file is read instead.
    match unsafe { memmap2::Mmap::map(&file) } {
        Ok(map) => Ok(FileBytes::Mapped(map)),
        Err(_) => {
            let mut out = Vec::new();
            (&file).read_to_end(&mut out).map_err(io)?;
            Ok(FileBytes::Owned(out))
        }
    }
}

/// `slice` cut into consecutive parts of the given lengths (which sum to at most its length).
fn cut<'a, T>(slice: &'a mut [T], lengths: &'a [usize]) -> impl Iterator<Item = &'a mut [T]> {
    let mut rest = slice;
    lengths.iter().map(move |&len| {
        let (part, after) = std::mem::take(&mut rest).split_at_mut(len);
        rest = after;
        part
    })
}

/// The number of records a chunk can hold at most: its lines (a last line without a line break
/// counts). Blank lines and quoted line breaks make the true count smaller.
fn line_bound(chunk: &[u8]) -> usize {
    memchr::memchr_iter(b'\n', chunk).count()
        + usize::from(chunk.last().is_some_and(|b| *b != b'\n'))
}

/// Reads the requested columns of a CSV (or .csv.gz) file in Rust: the delimiter is the one of
/// `,` `;` tab `|` the header line has most of; data without a quote character are split at line
/// breaks and delimiters, one chunk per core; data with quotes go through the csv crate. DuckDB's
/// reader needs a second pass for text columns and sniffs types from a sample; this reads each
/// cell once, as text or a number, and names the row of any cell that is neither.
fn read_csv_columns(
    path: &Path,
    columns: &[(&str, ColumnKind)],
) -> Result<Vec<ColumnData>, PanelFileError> {
    let bytes = file_bytes(path)?;
    let bytes = bytes
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(&bytes);
    let header_end = memchr_newline(bytes, 0).unwrap_or(bytes.len());
    let header_line = &bytes[..header_end];
    if header_line.trim_ascii().is_empty() {
        return Err(PanelFileError::Empty {
            path: path.to_path_buf(),
        });
    }
    let delimiter = [b',', b';', b'\t', b'|']
        .into_iter()
        .max_by_key(|d| header_line.iter().filter(|b| *b == d).count())
        .unwrap_or(b',');
    let builder = || {
        let mut b = csv::ReaderBuilder::new();
        b.delimiter(delimiter).has_headers(false);
        b
    };
    let format_error = |message: String| PanelFileError::Format {
        path: path.to_path_buf(),
        format: "CSV",
        message,
    };
    let header: Vec<String> = {
        let mut reader = builder().from_reader(header_line);
        let mut record = csv::StringRecord::new();
        reader
            .read_record(&mut record)
            .map_err(|e| format_error(format!("the header line: {e}")))?;
        record.iter().map(|h| h.trim().to_string()).collect()
    };
    let positions = find_columns(path, &header, columns)?;
    let data = &bytes[(header_end + 1).min(bytes.len())..];
    // Without a quote character a record is a line and a field is what lies between delimiters:
    // such data are split here, at memchr speed, and in one chunk per core cut at line breaks.
    // With quotes, the csv crate reads the records (quoted delimiters and line breaks), in one
    // chunk.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let pieces: Vec<&[u8]> = if threads > 1 && data.len() > (1 << 20) {
        let mut pieces = Vec::with_capacity(threads);
        let mut start = 0;
        for k in 1..threads {
            let target = data.len() * k / threads;
            if target <= start {
                continue;
            }
            let cut = memchr_newline(data, target).map_or(data.len(), |i| i + 1);
            pieces.push(&data[start..cut]);
            start = cut;
        }
        pieces.push(&data[start..]);
        pieces
    } else {
        vec![data]
    };
    // Each piece is looked over for a quote and its lines counted on its own core (one thread
    // did both scans of a 15 MB panel before the parse could start).
    let scan = |piece: &[u8]| (memchr::memchr(b'"', piece).is_some(), line_bound(piece));
    let scans: Vec<(bool, usize)> = if pieces.len() > 1 {
        std::thread::scope(|scope| {
            let handles: Vec<_> = pieces
                .iter()
                .map(|piece| scope.spawn(move || scan(piece)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a CSV line counter panicked"))
                .collect()
        })
    } else {
        pieces.iter().map(|piece| scan(piece)).collect()
    };
    let quoted = scans.iter().any(|(quote, _)| *quote);
    // The file's columns, sized once for every line; each chunk fills its own stretch of them.
    let (chunks, bounds): (Vec<&[u8]>, Vec<usize>) = if quoted && pieces.len() > 1 {
        (vec![data], vec![scans.iter().map(|(_, lines)| lines).sum()])
    } else {
        (pieces, scans.into_iter().map(|(_, lines)| lines).collect())
    };
    let capacity: usize = bounds.iter().sum();
    let mut out: Vec<ColumnData> = columns
        .iter()
        .map(|(_, kind)| match kind {
            ColumnKind::Text => ColumnData::Text(TextColumn {
                codes: vec![TextColumn::MISSING; capacity],
                labels: Vec::new(),
            }),
            ColumnKind::Number => ColumnData::Number(vec![0.0; capacity]),
            ColumnKind::Period => ColumnData::Period(vec![0; capacity]),
        })
        .collect();
    let mut parts_of_chunk: Vec<Vec<ColumnPart>> = (0..chunks.len()).map(|_| Vec::new()).collect();
    for column in &mut out {
        let parts: Vec<ColumnPart> = match column {
            ColumnData::Number(v) => cut(v, &bounds).map(ColumnPart::Number).collect(),
            ColumnData::Period(v) => cut(v, &bounds).map(ColumnPart::Period).collect(),
            ColumnData::Text(t) => cut(&mut t.codes, &bounds).map(ColumnPart::Text).collect(),
        };
        for (chunk_parts, part) in parts_of_chunk.iter_mut().zip(parts) {
            chunk_parts.push(part);
        }
    }
    let width = header.len();
    let parsed: Vec<ChunkResult> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .iter()
            .zip(parts_of_chunk)
            .map(|(chunk, parts)| {
                let positions = &positions;
                let builder = &builder;
                scope.spawn(move || {
                    let mut reader = ChunkReader::new(path, columns, positions, width, parts);
                    if quoted {
                        let mut csv = builder().from_reader(*chunk);
                        let mut record = csv::ByteRecord::new();
                        loop {
                            match csv.read_byte_record(&mut record) {
                                Ok(false) => break,
                                Ok(true) => {}
                                Err(e) => {
                                    return Err((
                                        reader.row,
                                        PanelFileError::Format {
                                            path: path.to_path_buf(),
                                            format: "CSV",
                                            message: e.to_string(),
                                        },
                                    ))
                                }
                            }
                            let fields: Vec<&[u8]> = record.iter().collect();
                            reader.record(&fields)?;
                        }
                    } else {
                        // One scan, eight bytes at a time, finds every delimiter and line break
                        // of the chunk; fields are the stretches between them.
                        let mut fields: Vec<&[u8]> = Vec::with_capacity(width);
                        let mut start = 0;
                        let end_record =
                            |fields: &mut Vec<&[u8]>,
                             reader: &mut ChunkReader|
                             -> Result<(), (usize, PanelFileError)> {
                                if let Some(last) = fields.last_mut() {
                                    *last = last.strip_suffix(b"\r").unwrap_or(last);
                                }
                                // Blank lines are no records, as the csv crate reads them.
                                let blank = fields.len() == 1 && fields[0].is_empty();
                                if !blank {
                                    reader.record(fields)?;
                                }
                                fields.clear();
                                Ok(())
                            };
                        for at in Separators::new(chunk, delimiter, b'\n') {
                            fields.push(&chunk[start..at]);
                            start = at + 1;
                            if chunk[at] == b'\n' {
                                end_record(&mut fields, &mut reader)?;
                            }
                        }
                        if start < chunk.len() {
                            fields.push(&chunk[start..]);
                        }
                        if !fields.is_empty() {
                            end_record(&mut fields, &mut reader)?;
                        }
                    }
                    Ok((reader.texts, reader.row))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a CSV chunk reader panicked"))
            .collect()
    });
    // Chunks in order: row numbers of later chunks start after the earlier chunks' rows.
    let mut rows_before = 0usize;
    let mut chunk_rows: Vec<(usize, Vec<LabelIndex>)> = Vec::with_capacity(parsed.len());
    for chunk in parsed {
        match chunk {
            Ok((texts, rows)) => {
                chunk_rows.push((rows, texts));
                rows_before += rows;
            }
            Err((row, error)) => {
                let row = rows_before + row;
                return Err(match error {
                    PanelFileError::NotANumber {
                        path,
                        column,
                        value,
                        ..
                    } => PanelFileError::NotANumber {
                        path,
                        column,
                        row,
                        value,
                    },
                    PanelFileError::NotAPeriod {
                        path,
                        column,
                        value,
                        ..
                    } => PanelFileError::NotAPeriod {
                        path,
                        column,
                        row,
                        value,
                    },
                    PanelFileError::Format {
                        path,
                        format,
                        message,
                    } => PanelFileError::Format {
                        path,
                        format,
                        message: format!("data row {row}: {message}"),
                    },
                    other => other,
                });
            }
        }
    }
    if rows_before == 0 {
        return Err(PanelFileError::NoRows {
            path: path.to_path_buf(),
        });
    }
    // Each column closed up where a chunk had fewer records than lines, and a text column's codes
    // renumbered from its chunk's labels to the file's (in order of first appearance).
    for (c, column) in out.iter_mut().enumerate() {
        let mut index = LabelIndex::default();
        let mut write = 0usize;
        let mut read = 0usize;
        for (k, ((rows, texts), &bound)) in chunk_rows.iter_mut().zip(&bounds).enumerate() {
            let rows = *rows;
            match column {
                ColumnData::Number(v) => v.copy_within(read..read + rows, write),
                ColumnData::Period(v) => v.copy_within(read..read + rows, write),
                // The first chunk's labels are the file's first labels, in the same order.
                ColumnData::Text(t) if k == 0 => {
                    index = std::mem::take(&mut texts[c]);
                    t.codes.copy_within(read..read + rows, write);
                }
                ColumnData::Text(t) => {
                    let map = index.absorb(&texts[c]);
                    t.codes.copy_within(read..read + rows, write);
                    for code in &mut t.codes[write..write + rows] {
                        if *code != TextColumn::MISSING {
                            *code = map[*code as usize];
                        }
                    }
                }
            }
            write += rows;
            read += bound;
        }
        match column {
            ColumnData::Number(v) => v.truncate(write),
            ColumnData::Period(v) => v.truncate(write),
            ColumnData::Text(t) => {
                t.codes.truncate(write);
                t.labels = index.into_labels();
            }
        }
    }
    Ok(out)
}

/// The positions of two bytes in a text, in order, found eight bytes at a time: each word's
/// matching bytes as a mask, read off by their trailing zeros. A panel's fields are a few bytes
/// long, and memchr2's iterator paid its setup for every one of them (twice the time of this on
/// a 500,000-row panel).
struct Separators<'a> {
    bytes: &'a [u8],
    first: u64,
    second: u64,
    /// Where the current word starts.
    base: usize,
    /// The current word's matches not yet returned: the high bit of each matching byte.
    mask: u64,
}

impl<'a> Separators<'a> {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;

    fn new(bytes: &'a [u8], first: u8, second: u8) -> Self {
        let mut it = Self {
            bytes,
            first: u64::from_ne_bytes([first; 8]),
            second: u64::from_ne_bytes([second; 8]),
            base: 0,
            mask: 0,
        };
        it.mask = it.matches(0);
        it
    }

    /// The high bit of each byte of the word at `base` that equals either byte (exact: no
    /// borrow from a neighbouring byte). Past the end the word is zero-padded, and zero is never
    /// a separator here.
    fn matches(&self, base: usize) -> u64 {
        let word = match self.bytes.get(base..base + 8) {
            Some(w) => u64::from_le_bytes(w.try_into().expect("eight bytes")),
            None => {
                let mut w = [0u8; 8];
                let rest = self.bytes.get(base..).unwrap_or_default();
                w[..rest.len()].copy_from_slice(rest);
                u64::from_le_bytes(w)
            }
        };
        let zero_bytes = |x: u64| !(((x & Self::LOW7) + Self::LOW7) | x | Self::LOW7);
        zero_bytes(word ^ self.first) | zero_bytes(word ^ self.second)
    }
}

impl Iterator for Separators<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            self.base += 8;
            if self.base >= self.bytes.len() {
                return None;
            }
            self.mask = self.matches(self.base);
        }
        let at = self.base + self.mask.trailing_zeros() as usize / 8;
        self.mask &= self.mask - 1;
        Some(at)
    }
}

fn memchr_newline(bytes: &[u8], from: usize) -> Option<usize> {
    memchr::memchr(b'\n', &bytes[from..]).map(|i| from + i)
}

/// Reads the named columns of `path` (`.csv`, `.csv.gz`, `.parquet`), in the requested kinds.
pub fn read_columns(
    path: &Path,
    columns: &[(&str, ColumnKind)],
) -> Result<Vec<ColumnData>, PanelFileError> {
    let name = path.display().to_string();
    let is_parquet = name.to_lowercase().ends_with(".parquet");
    let meta = std::fs::metadata(path).map_err(|error| PanelFileError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    if meta.len() == 0 {
        return Err(PanelFileError::Empty {
            path: path.to_path_buf(),
        });
    }
    if !is_parquet {
        return read_csv_columns(path, columns);
    }
    match read_parquet_columns(path, columns) {
        Ok(out) => return Ok(out),
        // The file's own faults are reported as they are; anything the native reader could not
        // read (a compression it is not built with, nested columns) goes through DuckDB, which
        // reads every Parquet file and gives its own error for a damaged one.
        Err(NativeParquet::File(e)) => return Err(e),
        Err(NativeParquet::Unreadable(reason)) => {
            tracing::debug!(file = %path.display(), %reason, "Parquet panel read through DuckDB");
        }
    }
    let format = "Parquet";
    let failed = |e: duckdb::Error| PanelFileError::Format {
        path: path.to_path_buf(),
        format,
        message: duckdb_message(&e),
    };
    crate::engine::available().map_err(|e| PanelFileError::Format {
        path: path.to_path_buf(),
        format,
        message: e.to_string(),
    })?;
    let conn = duckdb::Connection::open_in_memory().map_err(failed)?;
    let quoted = name.replace('\'', "''");
    let source = format!("read_parquet('{quoted}')");
    let header: Vec<String> = {
        let mut stmt = conn
            .prepare(&format!(
                "SELECT name FROM parquet_schema('{quoted}') WHERE num_children IS NULL OR num_children = 0"
            ))
            .map_err(failed)?;
        let names = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(failed)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(failed)?;
        names
    };
    let positions = find_columns(path, &header, columns)?;
    let select: Vec<String> = positions.iter().map(|p| format!("#{}", p + 1)).collect();
    let sql = format!("SELECT {} FROM {source}", select.join(", "));
    let mut stmt = conn.prepare(&sql).map_err(failed)?;
    let mut out = BatchColumns::new(path, columns, 0);
    let in_order: Vec<usize> = (0..columns.len()).collect();
    for batch in stmt.query_arrow([]).map_err(failed)? {
        out.append(&batch, &in_order)?;
    }
    out.finish()
}

/// The requested columns filled from Arrow batches (DuckDB's or the `parquet` crate's): one
/// [`append`] per column and batch, each text column's labels kept across batches.
struct BatchColumns<'a> {
    path: &'a Path,
    columns: &'a [(&'a str, ColumnKind)],
    out: Vec<ColumnData>,
    indexes: Vec<LabelIndex>,
    rows: usize,
}

impl<'a> BatchColumns<'a> {
    /// Columns sized for `capacity` rows when the file says how many it has (grown batch by
    /// batch, each doubling copied them); 0 when it does not.
    fn new(path: &'a Path, columns: &'a [(&'a str, ColumnKind)], capacity: usize) -> Self {
        let mut out = empty_columns(columns);
        for column in &mut out {
            match column {
                ColumnData::Text(v) => v.codes.reserve_exact(capacity),
                ColumnData::Number(v) => v.reserve_exact(capacity),
                ColumnData::Period(v) => v.reserve_exact(capacity),
            }
        }
        Self {
            path,
            columns,
            out,
            indexes: vec![LabelIndex::default(); columns.len()],
            rows: 0,
        }
    }

    /// Appends one batch; requested column `c` is the batch's column `place[c]`.
    fn append(
        &mut self,
        batch: &duckdb::arrow::record_batch::RecordBatch,
        place: &[usize],
    ) -> Result<(), PanelFileError> {
        for (c, (data, index)) in self.out.iter_mut().zip(&mut self.indexes).enumerate() {
            let column = batch.column(place[c]);
            append(self.path, self.columns[c].0, column, self.rows, data, index)?;
        }
        self.rows += batch.num_rows();
        Ok(())
    }

    fn finish(mut self) -> Result<Vec<ColumnData>, PanelFileError> {
        if self.rows == 0 {
            return Err(PanelFileError::NoRows {
                path: self.path.to_path_buf(),
            });
        }
        for (data, index) in self.out.iter_mut().zip(self.indexes) {
            if let ColumnData::Text(v) = data {
                v.labels = index.into_labels();
            }
        }
        Ok(self.out)
    }
}

/// Why [`read_parquet_columns`] did not read a file.
enum NativeParquet {
    /// A fault of the file's contents (a missing column, a cell that is not a number).
    File(PanelFileError),
    /// The native reader cannot read it; DuckDB may.
    Unreadable(String),
}

impl From<PanelFileError> for NativeParquet {
    fn from(e: PanelFileError) -> Self {
        NativeParquet::File(e)
    }
}

/// Reads the requested columns of a flat Parquet file with the `parquet` crate: only those
/// columns are decoded, batch by batch, into the same [`append`] as DuckDB's batches (so both
/// paths give the same columns and the same errors). Starting DuckDB cost more than reading a
/// 500,000-row panel this way (75 ms against a few).
fn read_parquet_columns(
    path: &Path,
    columns: &[(&str, ColumnKind)],
) -> Result<Vec<ColumnData>, NativeParquet> {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::ProjectionMask;
    let unreadable = |e: &dyn std::fmt::Display| NativeParquet::Unreadable(e.to_string());
    let file = std::fs::File::open(path).map_err(|error| PanelFileError::Io {
        path: path.to_path_buf(),
        error,
    })?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| unreadable(&e))?;
    let fields = builder.schema().fields().clone();
    if let Some(nested) = fields.iter().find(|f| f.data_type().is_nested()) {
        return Err(NativeParquet::Unreadable(format!(
            "column `{}` is nested",
            nested.name()
        )));
    }
    let header: Vec<String> = fields.iter().map(|f| f.name().clone()).collect();
    let positions = find_columns(path, &header, columns)?;
    // The projection yields the chosen columns in file order: each requested column's place in it.
    let mut chosen = positions.clone();
    chosen.sort_unstable();
    chosen.dedup();
    let place: Vec<usize> = positions
        .iter()
        .map(|p| chosen.binary_search(p).expect("chosen"))
        .collect();
    let mask = ProjectionMask::roots(builder.parquet_schema(), chosen.iter().copied());
    let total = usize::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
    // Small batches: their buffers are freed and taken again from the allocator's pools, where
    // batches of 65,536 rows took fresh pages from the kernel each time (zeroing them was 40% of
    // reading a 500,000-row panel).
    let reader = builder
        .with_projection(mask)
        .with_batch_size(8192)
        .build()
        .map_err(|e| unreadable(&e))?;
    let mut out = BatchColumns::new(path, columns, total);
    for batch in reader {
        out.append(&batch.map_err(|e| unreadable(&e))?, &place)?;
    }
    Ok(out.finish()?)
}

fn empty_columns(columns: &[(&str, ColumnKind)]) -> Vec<ColumnData> {
    columns
        .iter()
        .map(|(_, kind)| match kind {
            ColumnKind::Text => ColumnData::Text(TextColumn::default()),
            ColumnKind::Number => ColumnData::Number(Vec::new()),
            ColumnKind::Period => ColumnData::Period(Vec::new()),
        })
        .collect()
}

/// The position of each requested column in the header, by exact name.
fn find_columns(
    path: &Path,
    header: &[String],
    columns: &[(&str, ColumnKind)],
) -> Result<Vec<usize>, PanelFileError> {
    let mut positions = Vec::with_capacity(columns.len());
    for (column, _) in columns {
        let found: Vec<usize> = (0..header.len())
            .filter(|&i| header[i] == *column)
            .collect();
        match found.as_slice() {
            [one] => positions.push(*one),
            [] => {
                return Err(PanelFileError::MissingColumn {
                    path: path.to_path_buf(),
                    column: column.to_string(),
                    case_match: header
                        .iter()
                        .find(|h| h.to_lowercase() == column.to_lowercase())
                        .cloned(),
                    available: header.to_vec(),
                })
            }
            _ => {
                return Err(PanelFileError::DuplicateColumn {
                    path: path.to_path_buf(),
                    column: column.to_string(),
                })
            }
        }
    }
    Ok(positions)
}

/// Appends one Arrow array to a column, parsing text where a number is expected.
fn append(
    path: &Path,
    column: &str,
    array: &ArrayRef,
    row_base: usize,
    data: &mut ColumnData,
    index: &mut LabelIndex,
) -> Result<(), PanelFileError> {
    let type_error = |expected: &'static str| PanelFileError::ColumnType {
        path: path.to_path_buf(),
        column: column.to_string(),
        found: array.data_type().to_string(),
        expected,
    };
    let text = match array.data_type() {
        DataType::Utf8 => Some(array.clone()),
        DataType::LargeUtf8 | DataType::Utf8View => {
            Some(cast(array, &DataType::Utf8).map_err(|_| type_error("text"))?)
        }
        _ => None,
    };
    // Integer columns whose values fit an i64 without loss: unit ids and periods as Parquet files
    // usually store them. Read as integers, not through text or floats.
    let integers = matches!(
        array.data_type(),
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
    )
    .then(|| cast(array, &DataType::Int64))
    .transpose()
    .map_err(|_| type_error("a number"))?;
    // A numeric (or boolean) column as floats; anything else is not what `expected` says.
    let floats = |expected: &'static str| -> Result<ArrayRef, PanelFileError> {
        let numeric = array.data_type().is_numeric() || *array.data_type() == DataType::Boolean;
        if !numeric {
            return Err(type_error(expected));
        }
        cast(array, &DataType::Float64).map_err(|_| type_error(expected))
    };
    match (data, text) {
        (ColumnData::Text(v), _) if integers.is_some() => {
            // Each distinct id written as text once: formatting every row's id (what a cast to
            // text does) was most of reading a 500,000-row panel's unit column.
            let ids = integers
                .as_ref()
                .expect("integers")
                .as_primitive::<Int64Type>();
            let mut seen: rustc_hash::FxHashMap<i64, u32> = Default::default();
            let mut text = String::new();
            let mut last: Option<(i64, u32)> = None;
            v.codes.reserve(ids.len());
            for r in 0..ids.len() {
                if !ids.is_valid(r) {
                    v.codes.push(TextColumn::MISSING);
                    continue;
                }
                let id = ids.value(r);
                let code = match last {
                    Some((previous, code)) if previous == id => code,
                    _ => *seen.entry(id).or_insert_with(|| {
                        use std::fmt::Write;
                        text.clear();
                        let _ = write!(text, "{id}");
                        index.code(text.as_bytes())
                    }),
                };
                last = Some((id, code));
                v.codes.push(code);
            }
        }
        (ColumnData::Period(v), _) if integers.is_some() => {
            let values = integers
                .as_ref()
                .expect("integers")
                .as_primitive::<Int64Type>();
            v.reserve(values.len());
            for r in 0..values.len() {
                let value = values.is_valid(r).then(|| values.value(r));
                v.push(match value {
                    None => MISSING_PERIOD,
                    Some(p) if p.unsigned_abs() <= LARGEST_PERIOD.unsigned_abs() => p,
                    Some(p) => {
                        let row = row_base + r + 1;
                        return Err(BadPeriod::NotWhole.at(path, column, row, p.to_string()));
                    }
                });
            }
        }
        (ColumnData::Text(v), text) => {
            let t = match text {
                Some(t) => t,
                None => cast(array, &DataType::Utf8).map_err(|_| type_error("text"))?,
            };
            let a = t.as_string::<i32>();
            v.codes.reserve(a.len());
            for r in 0..a.len() {
                let cell = if a.is_valid(r) { a.value(r) } else { "" };
                v.codes.push(index.code(cell.as_bytes()));
            }
        }
        (ColumnData::Number(v), Some(t)) => {
            let a = t.as_string::<i32>();
            let parse_number = |s: &str| parse_number(s.as_bytes());
            v.reserve(a.len());
            for r in 0..a.len() {
                if !a.is_valid(r) {
                    v.push(f64::NAN);
                    continue;
                }
                let cell = a.value(r);
                v.push(
                    parse_number(cell)
                        .map(|x| x.unwrap_or(f64::NAN))
                        .map_err(|()| PanelFileError::NotANumber {
                            path: path.to_path_buf(),
                            column: column.to_string(),
                            row: row_base + r + 1,
                            value: cell.to_string(),
                        })?,
                );
            }
        }
        (ColumnData::Period(v), Some(t)) => {
            let a = t.as_string::<i32>();
            v.reserve(a.len());
            for r in 0..a.len() {
                let cell = if a.is_valid(r) { a.value(r) } else { "" };
                let period = parse_period(cell.as_bytes())
                    .map_err(|bad| bad.at(path, column, row_base + r + 1, cell.to_string()))?;
                v.push(period);
            }
        }
        (ColumnData::Period(v), None) => {
            let f = floats("a whole number")?;
            let a = f.as_primitive::<Float64Type>();
            v.reserve(a.len());
            for r in 0..a.len() {
                let value = a.is_valid(r).then(|| a.value(r)).filter(|x| !x.is_nan());
                let period = period_of(value).map_err(|()| {
                    let row = row_base + r + 1;
                    BadPeriod::NotWhole.at(path, column, row, a.value(r).to_string())
                })?;
                v.push(period);
            }
        }
        (ColumnData::Number(v), None) => {
            let f = floats("a number")?;
            let a = f.as_primitive::<Float64Type>();
            v.extend((0..a.len()).map(|r| if a.is_valid(r) { a.value(r) } else { f64::NAN }));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plain integers take the short path and read as the float parser reads them; everything
    /// else is unchanged.
    #[test]
    fn numbers_read_alike_on_both_paths() {
        for cell in [
            "0",
            "7",
            "007",
            "2019",
            "999999999999999",
            "9999999999999999",
            "12345678901234567",
            "-3",
            " 12",
            "12 ",
            "1.5",
            "-0.25",
            "1e3",
            "2,5",
        ] {
            let expected = fast_float2::parse::<f64, _>(cell.trim()).ok();
            assert_eq!(
                parse_number(cell.as_bytes()).ok().flatten(),
                expected,
                "{cell:?}"
            );
        }
        for missing in ["", " ", "NA", "NaN", ".", "NULL"] {
            assert_eq!(parse_number(missing.as_bytes()), Ok(None), "{missing:?}");
        }
        assert_eq!(parse_number(b"abc"), Err(()));
    }

    /// The word-at-a-time scan finds what memchr2 finds, at every length and alignment and next
    /// to bytes that differ from a separator by one (where a borrow would give a false match).
    #[test]
    fn separators_are_found_as_memchr2_finds_them() {
        let text: Vec<u8> = b"a,b\n,,\n-1.5,x\x2b\x2d\x0b\x0c,\n\n\xff,\x01\n"
            .iter()
            .copied()
            .cycle()
            .take(301)
            .collect();
        for start in 0..9 {
            for end in start..text.len().min(start + 40) {
                let bytes = &text[start..end];
                let ours: Vec<usize> = Separators::new(bytes, b',', b'\n').collect();
                let theirs: Vec<usize> = memchr::memchr2_iter(b',', b'\n', bytes).collect();
                assert_eq!(ours, theirs, "{start}..{end}");
            }
        }
        let all: Vec<usize> = Separators::new(&text, b';', b'\n').collect();
        assert_eq!(
            all,
            memchr::memchr2_iter(b';', b'\n', &text).collect::<Vec<_>>()
        );
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    const COLUMNS: [(&str, ColumnKind); 2] =
        [("unit", ColumnKind::Text), ("y", ColumnKind::Number)];

    #[test]
    fn quoted_and_unquoted_files_read_alike() {
        let dir = tempfile::tempdir().unwrap();
        let plain = write(
            dir.path(),
            "a.csv",
            "unit;t;y\r\nb;1;2.5\r\n\r\na;1;NA\r\n;2;3\r\n",
        );
        let quoted = write(
            dir.path(),
            "b.csv",
            "\"unit\";\"t\";\"y\"\r\n\"b\";1;2.5\r\n\r\n\"a\";1;NA\r\n\"\";2;3\r\n",
        );
        let a = read_columns(&plain, &COLUMNS).unwrap();
        let b = read_columns(&quoted, &COLUMNS).unwrap();
        let ColumnData::Text(units) = &a[0] else {
            panic!("text")
        };
        assert_eq!(units.labels, ["b", "a"]);
        assert_eq!(units.codes, [0, 1, TextColumn::MISSING]);
        assert_eq!(units.get(1), Some("a"));
        let ColumnData::Number(y) = &a[1] else {
            panic!("numbers")
        };
        assert_eq!(y[0], 2.5);
        assert!(y[1].is_nan());
        assert_eq!(y[2], 3.0);
        // NaN != NaN: compare the debug forms.
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }

    #[test]
    fn a_quote_only_in_the_last_part_of_a_big_file_is_read_as_quoted() {
        let dir = tempfile::tempdir().unwrap();
        // Over 1 MiB, so the file is cut into parts; only the last part has quotes, around a
        // label holding the delimiter and a line break.
        let mut text = String::from("unit,y\n");
        let rows = 120_000;
        for i in 0..rows {
            text.push_str(&format!("u{},{i}.5\n", i % 1000));
        }
        text.push_str("\"v, w\nx\",7\n");
        let path = write(dir.path(), "late-quote.csv", &text);
        let columns = read_columns(&path, &COLUMNS).unwrap();
        let ColumnData::Text(units) = &columns[0] else {
            panic!("text")
        };
        assert_eq!(units.len(), rows + 1);
        assert_eq!(units.get(rows), Some("v, w\nx"));
        assert_eq!(units.get(rows - 1), Some("u999"));
        let ColumnData::Number(y) = &columns[1] else {
            panic!("numbers")
        };
        assert_eq!((y[0], y[rows - 1], y[rows]), (0.5, rows as f64 - 0.5, 7.0));
    }

    #[test]
    fn chunks_keep_first_appearance_and_global_row_numbers() {
        let dir = tempfile::tempdir().unwrap();
        // Over 1 MiB, so the data are split into one chunk per core.
        let mut text = String::from("unit,y\n");
        let rows = 120_000;
        for i in 0..rows {
            text.push_str(&format!("u{},{}.25\n", (rows - i) % 1000, i));
        }
        let path = write(dir.path(), "big.csv", &text);
        let columns = read_columns(&path, &COLUMNS).unwrap();
        let ColumnData::Text(units) = &columns[0] else {
            panic!("text")
        };
        assert_eq!(units.len(), rows);
        assert_eq!(units.labels.len(), 1000);
        // Labels in order of first appearance over the whole file, each row its own.
        assert_eq!(units.labels[0], "u0");
        assert_eq!(units.labels[1], "u999");
        for (i, _) in (0..rows).enumerate().step_by(997) {
            assert_eq!(
                units.get(i),
                Some(format!("u{}", (rows - i) % 1000).as_str())
            );
        }
        // A bad cell late in the file is named by its row in the whole file.
        text.push_str("u1,oops\n");
        let path = write(dir.path(), "bad.csv", &text);
        let err = read_columns(&path, &COLUMNS).unwrap_err().to_string();
        assert!(
            err.contains(&format!("data row {}", rows + 1)) && err.contains("\"oops\""),
            "{err}"
        );
    }

    #[test]
    fn blank_lines_in_every_chunk_close_up_and_a_last_line_without_a_break_counts() {
        let dir = tempfile::tempdir().unwrap();
        // Over 1 MiB: one chunk per core, each with blank lines (its stretch of the columns is
        // sized by lines and closed up after), labels repeated and new in later chunks.
        let mut text = String::from("unit;y\r\n");
        let rows = 100_000;
        for i in 0..rows {
            if i % 7 == 0 {
                text.push_str("\r\n\n");
            }
            text.push_str(&format!("u{};{}\r\n", i / 10, i));
        }
        text.push_str("last;-1");
        let path = write(dir.path(), "blank.csv", &text);
        let columns = read_columns(&path, &COLUMNS).unwrap();
        let (ColumnData::Text(units), ColumnData::Number(y)) = (&columns[0], &columns[1]) else {
            panic!("kinds")
        };
        assert_eq!(units.len(), rows + 1);
        assert_eq!(y.len(), rows + 1);
        assert_eq!(units.labels.len(), rows / 10 + 1);
        for i in (0..rows).step_by(991) {
            assert_eq!(y[i], i as f64);
            assert_eq!(units.get(i), Some(format!("u{}", i / 10).as_str()));
            assert_eq!(
                units.labels[units.codes[i] as usize],
                format!("u{}", i / 10)
            );
        }
        assert_eq!(units.get(rows), Some("last"));
        assert_eq!(y[rows], -1.0);
        // Codes in order of first appearance over the whole file.
        assert!(units
            .codes
            .windows(2)
            .all(|w| w[1] == w[0] || w[1] == w[0] + 1));
    }

    #[test]
    fn a_short_record_is_named_by_its_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "short.csv", "unit,t,y\na,1,2\nb,1\n");
        let err = read_columns(&path, &COLUMNS).unwrap_err().to_string();
        assert!(
            err.contains("data row 2") && err.contains("expected 3 fields"),
            "{err}"
        );
    }

    const PERIODS: [(&str, ColumnKind); 2] = [("t", ColumnKind::Period), ("g", ColumnKind::Period)];

    fn periods(columns: &[ColumnData], c: usize) -> &[i64] {
        let ColumnData::Period(v) = &columns[c] else {
            panic!("periods")
        };
        v
    }

    #[test]
    fn periods_read_as_integers_and_a_fraction_is_named_by_its_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "p.csv",
            "t,g\n2001,0\n2002,\n-3,2004.0\n1e3,NA\n",
        );
        let columns = read_columns(&path, &PERIODS).unwrap();
        assert_eq!(periods(&columns, 0), [2001, 2002, -3, 1000]);
        assert_eq!(
            periods(&columns, 1),
            [0, MISSING_PERIOD, 2004, MISSING_PERIOD]
        );

        let path = write(dir.path(), "f.csv", "t,g\n2001,0\n2001.5,0\n");
        let err = read_columns(&path, &PERIODS).unwrap_err();
        assert!(
            matches!(err, PanelFileError::NotAPeriod { row: 2, .. }),
            "{err}"
        );
        assert!(err
            .to_string()
            .contains("column `t`, data row 2: 2001.5 is not an integer period"));
        let path = write(dir.path(), "n.csv", "t,g\n2001,x\n");
        let err = read_columns(&path, &PERIODS).unwrap_err();
        assert!(
            matches!(err, PanelFileError::NotANumber { row: 1, .. }),
            "{err}"
        );
        let path = write(dir.path(), "big.csv", "t,g\n1,2\n1e16,2\n");
        let err = read_columns(&path, &PERIODS).unwrap_err();
        assert!(
            matches!(err, PanelFileError::NotAPeriod { row: 2, .. }),
            "{err}"
        );

        // Over 1 MiB, so the fraction is in the second part: its row counts the first part's.
        let mut text = String::from("t,g\n");
        let rows = 150_000;
        for i in 0..rows {
            text.push_str(&format!("{},{}\n", 2000 + i % 20, 2010));
        }
        text.push_str("2001,2010.25\n");
        let path = write(dir.path(), "late.csv", &text);
        let err = read_columns(&path, &PERIODS).unwrap_err().to_string();
        assert!(
            err.contains(&format!(
                "column `g`, data row {}: 2010.25 is not",
                rows + 1
            )),
            "{err}"
        );
    }

    #[test]
    fn parquet_periods_are_whole_numbers_too() {
        let dir = tempfile::tempdir().unwrap();
        let conn = duckdb::Connection::open_in_memory().unwrap();
        let write_parquet = |name: &str, select: &str| {
            let path = dir.path().join(name);
            conn.execute_batch(&format!(
                "COPY ({select}) TO '{}' (FORMAT parquet)",
                path.display()
            ))
            .unwrap();
            path
        };
        let ints = write_parquet(
            "i.parquet",
            "SELECT * FROM (VALUES (2001::BIGINT, 0::BIGINT), (2002, NULL)) v(t, g)",
        );
        let columns = read_columns(&ints, &PERIODS).unwrap();
        assert_eq!(periods(&columns, 0), [2001, 2002]);
        assert_eq!(periods(&columns, 1), [0, MISSING_PERIOD]);
        // Integer ids as labels: their decimal text, as a CSV of the same gives.
        let ids = write_parquet(
            "ids.parquet",
            "SELECT * FROM (VALUES (7::INTEGER), (7), (-12), (NULL), (7), (300)) v(unit)",
        );
        // (A second column, or the empty cell would be a blank line.)
        let csv = write(
            dir.path(),
            "ids.csv",
            "unit,x\n7,1\n7,1\n-12,1\n,1\n7,1\n300,1\n",
        );
        for path in [&ids, &csv] {
            let columns = read_columns(path, &[("unit", ColumnKind::Text)]).unwrap();
            let ColumnData::Text(units) = &columns[0] else {
                panic!("text")
            };
            assert_eq!(units.labels, ["7", "-12", "300"]);
            assert_eq!(units.codes, [0, 0, 1, TextColumn::MISSING, 0, 2]);
        }
        let text = write_parquet(
            "s.parquet",
            "SELECT * FROM (VALUES ('2001', '2004'), ('2002', '')) v(t, g)",
        );
        let columns = read_columns(&text, &PERIODS).unwrap();
        assert_eq!(periods(&columns, 1), [2004, MISSING_PERIOD]);
        let fraction = write_parquet(
            "f.parquet",
            "SELECT * FROM (VALUES (2001.0::DOUBLE, 0.0::DOUBLE), (2002.0, 2004.5)) v(t, g)",
        );
        let err = read_columns(&fraction, &PERIODS).unwrap_err().to_string();
        assert!(
            err.contains("column `g`, data row 2: 2004.5 is not an integer period"),
            "{err}"
        );
    }

    /// Columns come in the order asked for (one may be asked for twice), whichever reader takes
    /// the file: a zstd file goes through DuckDB (the native reader is built with snappy only)
    /// and reads the same as a snappy one.
    #[test]
    fn parquet_columns_come_as_asked_from_both_readers() {
        let dir = tempfile::tempdir().unwrap();
        let conn = duckdb::Connection::open_in_memory().unwrap();
        let asked = [
            ("c", ColumnKind::Number),
            ("a", ColumnKind::Text),
            ("c", ColumnKind::Period),
        ];
        let mut read = Vec::new();
        for compression in ["snappy", "zstd", "uncompressed"] {
            let path = dir.path().join(format!("{compression}.parquet"));
            conn.execute_batch(&format!(
                "COPY (SELECT * FROM (VALUES ('x', 1.5, 2001), ('y', NULL, 2002), ('x', 3.0, NULL)) v(a, b, c)) \
                 TO '{}' (FORMAT parquet, COMPRESSION {compression})",
                path.display()
            ))
            .unwrap();
            let columns = read_columns(&path, &asked).unwrap();
            let ColumnData::Text(a) = &columns[1] else {
                panic!("text")
            };
            assert_eq!(a.labels, ["x", "y"]);
            assert_eq!(a.codes, [0, 1, 0]);
            assert_eq!(periods(&columns, 2), [2001, 2002, MISSING_PERIOD]);
            read.push(format!("{columns:?}"));
            let err = read_columns(&path, &[("B", ColumnKind::Number)]).unwrap_err();
            assert!(
                matches!(&err, PanelFileError::MissingColumn { case_match: Some(m), .. } if m == "b"),
                "{err}"
            );
        }
        assert!(read.iter().all(|r| *r == read[0]), "{read:?}");
    }
}
