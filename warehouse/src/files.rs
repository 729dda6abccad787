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
    /// Numbers; empty, `NA`, `NaN` and `.` cells are missing.
    Number,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    Text(Vec<Option<String>>),
    Number(Vec<Option<f64>>),
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
fn parse_number(text: &str) -> Result<Option<f64>, ()> {
    let t = text.trim();
    if t.is_empty() || matches!(t, "NA" | "NaN" | "nan" | "." | "NULL") {
        return Ok(None);
    }
    t.parse::<f64>().map(Some).map_err(|_| ())
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
    let format = if is_parquet { "Parquet" } else { "CSV" };
    let failed = |e: duckdb::Error| PanelFileError::Format {
        path: path.to_path_buf(),
        format,
        message: duckdb_message(&e),
    };
    let conn = duckdb::Connection::open_in_memory().map_err(failed)?;
    let quoted = name.replace('\'', "''");
    let (source, header): (String, Vec<String>) = if is_parquet {
        let source = format!("read_parquet('{quoted}')");
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
        (source, names)
    } else {
        // No header inference and every cell as text: the first row is the header as written.
        let source = format!("read_csv('{quoted}', header = false, all_varchar = true)");
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM {source} LIMIT 1"))
            .map_err(failed)?;
        let batches: Vec<_> = stmt.query_arrow([]).map_err(failed)?.collect();
        let mut names = Vec::new();
        if let Some(batch) = batches.first() {
            for c in 0..batch.num_columns() {
                let a = batch.column(c).as_string::<i32>();
                names.push(if a.is_valid(0) {
                    a.value(0).trim().to_string()
                } else {
                    String::new()
                });
            }
        }
        if names.is_empty() {
            return Err(PanelFileError::Empty {
                path: path.to_path_buf(),
            });
        }
        (source, names)
    };
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
                    available: header.clone(),
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
    let select: Vec<String> = positions.iter().map(|p| format!("#{}", p + 1)).collect();
    let sql = format!("SELECT {} FROM {source}", select.join(", "));
    let mut stmt = conn.prepare(&sql).map_err(failed)?;
    let mut out: Vec<ColumnData> = columns
        .iter()
        .map(|(_, kind)| match kind {
            ColumnKind::Text => ColumnData::Text(Vec::new()),
            ColumnKind::Number => ColumnData::Number(Vec::new()),
        })
        .collect();
    // CSV: the header is the first row read; data rows are numbered from 1 after it.
    let mut skip = usize::from(!is_parquet);
    let mut row_base = 0usize;
    for batch in stmt.query_arrow([]).map_err(failed)? {
        let start = skip.min(batch.num_rows());
        skip -= start;
        for (c, data) in out.iter_mut().enumerate() {
            let array = batch.column(c).slice(start, batch.num_rows() - start);
            append(path, columns[c].0, &array, row_base, data)?;
        }
        row_base += batch.num_rows() - start;
    }
    if row_base == 0 {
        return Err(PanelFileError::NoRows {
            path: path.to_path_buf(),
        });
    }
    Ok(out)
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
            v.reserve(a.len());
            for r in 0..a.len() {
                if !a.is_valid(r) {
                    v.push(None);
                    continue;
                }
                let cell = a.value(r);
                v.push(parse_number(cell).map_err(|()| PanelFileError::NotANumber {
                    path: path.to_path_buf(),
                    column: column.to_string(),
                    row: row_base + r + 1,
                    value: cell.to_string(),
                })?);
            }
        }
        (ColumnData::Number(v), None) => {
            let numeric = array.data_type().is_numeric() || *array.data_type() == DataType::Boolean;
            if !numeric {
                return Err(type_error("a number"));
            }
            let f = cast(array, &DataType::Float64).map_err(|_| type_error("a number"))?;
            let a = f.as_primitive::<Float64Type>();
            v.extend(
                (0..a.len()).map(|r| a.is_valid(r).then(|| a.value(r)).filter(|x| !x.is_nan())),
            );
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
