//! Reading columns of a CSV or Parquet file (a panel for `regstat estimate`) through an in-memory
//! DuckDB, which parses both formats fast; no warehouse is touched.
//!
//! Columns are found by their exact names as the file spells them (DuckDB's own binding is
//! case-insensitive and renames `D` beside `d`, so columns are selected by position). CSV cells are
//! read as text and parsed here, so a column that looks numeric in DuckDB's sample and holds text
//! further down is read as the text it is, and a cell that is not a number is an error naming the
//! file, the column, the row and the value, never a silent null or a cast failure with SQL in it.

use std::path::{Path, PathBuf};

use duckdb::arrow::array::{Array, ArrayRef, AsArray};
use duckdb::arrow::compute::cast;
use duckdb::arrow::datatypes::{DataType, Float64Type};

use crate::error::{Context, WarehouseError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Labels (units, clusters): the cell's text, exactly as in the file.
    Text,
    /// Numbers; empty, `NA`, `NaN` and `.` cells are missing (NaN).
    Number,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    Text(Vec<Option<String>>),
    /// NaN where the cell is missing (half the memory of `Option<f64>`, which matters at 5M cells).
    Number(Vec<f64>),
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

/// Reads the requested columns of a CSV (or .csv.gz) file in Rust: the csv crate splits the
/// records (quotes, CRLF), the delimiter is the one of `,` `;` tab `|` the header line has most
/// of, and when the file has no quote character its data are split at a line break into one chunk
/// per core. DuckDB's reader needs a second pass for text columns and sniffs types from a sample;
/// this reads each cell once, as text or a number, and names the row of any cell that is neither.
fn read_csv_columns(
    path: &Path,
    columns: &[(&str, ColumnKind)],
) -> Result<Vec<ColumnData>, PanelFileError> {
    use std::io::Read;
    let io = |error| PanelFileError::Io {
        path: path.to_path_buf(),
        error,
    };
    let raw = std::fs::read(path).map_err(io)?;
    let bytes = if path.to_string_lossy().to_lowercase().ends_with(".gz") {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(io)?;
        out
    } else {
        raw
    };
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
    // One chunk per core, cut at line breaks, when no quoted field can span them.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let chunks: Vec<&[u8]> = if threads > 1 && data.len() > (1 << 20) && !data.contains(&b'"') {
        let mut chunks = Vec::with_capacity(threads);
        let mut start = 0;
        for k in 1..threads {
            let target = data.len() * k / threads;
            if target <= start {
                continue;
            }
            let cut = memchr_newline(data, target).map_or(data.len(), |i| i + 1);
            chunks.push(&data[start..cut]);
            start = cut;
        }
        chunks.push(&data[start..]);
        chunks
    } else {
        vec![data]
    };
    let width = header.len();
    let parsed: Vec<Result<(Vec<ColumnData>, usize), (usize, PanelFileError)>> =
        std::thread::scope(|scope| {
            let handles: Vec<_> = chunks
                .iter()
                .map(|chunk| {
                    let positions = &positions;
                    let builder = &builder;
                    scope.spawn(move || {
                        let mut out = empty_columns(columns);
                        let mut reader = builder().from_reader(*chunk);
                        let mut record = csv::ByteRecord::new();
                        let mut row = 0usize;
                        loop {
                            match reader.read_byte_record(&mut record) {
                                Ok(false) => break,
                                Ok(true) => {}
                                Err(e) => {
                                    return Err((
                                        row,
                                        PanelFileError::Format {
                                            path: path.to_path_buf(),
                                            format: "CSV",
                                            message: e.to_string(),
                                        },
                                    ))
                                }
                            }
                            row += 1;
                            if record.len() != width {
                                return Err((
                                    row,
                                    PanelFileError::Format {
                                        path: path.to_path_buf(),
                                        format: "CSV",
                                        message: format!(
                                            "expected {width} fields as in the header, found {}",
                                            record.len()
                                        ),
                                    },
                                ));
                            }
                            for ((data, &pos), (column, _)) in
                                out.iter_mut().zip(positions).zip(columns)
                            {
                                let cell = &record[pos];
                                match data {
                                    ColumnData::Number(v) => v.push(
                                        parse_number(cell).map(|x| x.unwrap_or(f64::NAN)).map_err(
                                            |()| {
                                                (
                                                    row,
                                                    PanelFileError::NotANumber {
                                                        path: path.to_path_buf(),
                                                        column: column.to_string(),
                                                        row,
                                                        value: String::from_utf8_lossy(cell)
                                                            .into_owned(),
                                                    },
                                                )
                                            },
                                        )?,
                                    ),
                                    ColumnData::Text(v) => {
                                        v.push(match std::str::from_utf8(cell) {
                                            Ok(s) if s.is_empty() => None,
                                            Ok(s) => Some(s.to_string()),
                                            Err(_) => {
                                                Some(String::from_utf8_lossy(cell).into_owned())
                                            }
                                        })
                                    }
                                }
                            }
                        }
                        Ok((out, row))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a CSV chunk reader panicked"))
                .collect()
        });
    // Chunks in order: row numbers of later chunks start after the earlier chunks' rows.
    let mut out = empty_columns(columns);
    let mut rows_before = 0usize;
    for chunk in parsed {
        match chunk {
            Ok((columns_of_chunk, rows)) => {
                for (all, part) in out.iter_mut().zip(columns_of_chunk) {
                    match (all, part) {
                        (ColumnData::Number(a), ColumnData::Number(b)) => a.extend(b),
                        (ColumnData::Text(a), ColumnData::Text(b)) => a.extend(b),
                        _ => unreachable!("same kinds"),
                    }
                }
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
    Ok(out)
}

fn memchr_newline(bytes: &[u8], from: usize) -> Option<usize> {
    bytes[from..]
        .iter()
        .position(|b| *b == b'\n')
        .map(|i| from + i)
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
    let format = "Parquet";
    let failed = |e: duckdb::Error| PanelFileError::Format {
        path: path.to_path_buf(),
        format,
        message: duckdb_message(&e),
    };
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
    let mut out = empty_columns(columns);
    let mut rows = 0usize;
    for batch in stmt.query_arrow([]).map_err(failed)? {
        for (c, data) in out.iter_mut().enumerate() {
            append(path, columns[c].0, batch.column(c), rows, data)?;
        }
        rows += batch.num_rows();
    }
    if rows == 0 {
        return Err(PanelFileError::NoRows {
            path: path.to_path_buf(),
        });
    }
    Ok(out)
}

fn empty_columns(columns: &[(&str, ColumnKind)]) -> Vec<ColumnData> {
    columns
        .iter()
        .map(|(_, kind)| match kind {
            ColumnKind::Text => ColumnData::Text(Vec::new()),
            ColumnKind::Number => ColumnData::Number(Vec::new()),
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
    match (data, text) {
        (ColumnData::Text(v), Some(t)) => {
            let a = t.as_string::<i32>();
            v.extend((0..a.len()).map(|r| a.is_valid(r).then(|| a.value(r).to_string())));
        }
        (ColumnData::Text(v), None) => {
            let t = cast(array, &DataType::Utf8).map_err(|_| type_error("text"))?;
            let a = t.as_string::<i32>();
            v.extend((0..a.len()).map(|r| a.is_valid(r).then(|| a.value(r).to_string())));
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
        (ColumnData::Number(v), None) => {
            let numeric = array.data_type().is_numeric() || *array.data_type() == DataType::Boolean;
            if !numeric {
                return Err(type_error("a number"));
            }
            let f = cast(array, &DataType::Float64).map_err(|_| type_error("a number"))?;
            let a = f.as_primitive::<Float64Type>();
            v.extend((0..a.len()).map(|r| if a.is_valid(r) { a.value(r) } else { f64::NAN }));
        }
    }
    Ok(())
}

/// A cell of a row written by [`write_parquet`].
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(Option<String>),
    Float(Option<f64>),
}

/// Writes rows as a Parquet file (zstd) through an in-memory DuckDB: text columns as VARCHAR, float
/// columns as DOUBLE, in the order of `header`. Written to a temporary name and renamed.
pub fn write_parquet(
    path: &Path,
    header: &[&str],
    rows: &[Vec<Cell>],
) -> Result<(), WarehouseError> {
    let conn = duckdb::Connection::open_in_memory().context("opening an in-memory database")?;
    let types: Vec<&str> = match rows.first() {
        Some(first) => first
            .iter()
            .map(|c| {
                if matches!(c, Cell::Float(_)) {
                    "DOUBLE"
                } else {
                    "VARCHAR"
                }
            })
            .collect(),
        None => vec!["VARCHAR"; header.len()],
    };
    let columns: Vec<String> = header
        .iter()
        .zip(&types)
        .map(|(h, t)| format!("\"{}\" {t}", h.replace('"', "\"\"")))
        .collect();
    conn.execute_batch(&format!("CREATE TABLE t ({})", columns.join(", ")))
        .context("creating the export table")?;
    {
        let mut app = conn.appender("t").context("export appender")?;
        for row in rows {
            let values: Vec<duckdb::types::Value> = row
                .iter()
                .map(|c| match c {
                    Cell::Text(Some(s)) => duckdb::types::Value::Text(s.clone()),
                    Cell::Float(Some(v)) => duckdb::types::Value::Double(*v),
                    Cell::Text(None) | Cell::Float(None) => duckdb::types::Value::Null,
                })
                .collect();
            app.append_row(duckdb::appender_params_from_iter(values))
                .context("appending an export row")?;
        }
        app.flush().context("flushing the export")?;
    }
    let tmp = path.with_extension("parquet.partial");
    let quoted = tmp.display().to_string().replace('\'', "''");
    conn.execute_batch(&format!(
        "COPY t TO '{quoted}' (FORMAT parquet, COMPRESSION zstd)"
    ))
    .context(&format!("writing {}", path.display()))?;
    std::fs::rename(&tmp, path).map_err(|source| WarehouseError::Io {
        path: path.to_path_buf(),
        source,
    })
}
