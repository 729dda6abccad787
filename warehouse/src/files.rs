//! Reading columns of a CSV or Parquet file (a panel for `regstat estimate`) through an in-memory
//! DuckDB, which parses both formats fast and infers their types; no warehouse is touched.

use std::path::Path;

use duckdb::arrow::array::{Array, AsArray};
use duckdb::arrow::datatypes::{Float64Type, Int64Type};

use crate::error::{Context, WarehouseError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    Integer,
    Float,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    Text(Vec<Option<String>>),
    Integer(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
}

/// Reads the named columns of `path` (`.csv`, `.csv.gz`, `.parquet`), cast to the requested kinds.
/// Errors name the file and the column.
pub fn read_columns(
    path: &Path,
    columns: &[(&str, ColumnKind)],
) -> Result<Vec<ColumnData>, WarehouseError> {
    let name = path.display().to_string();
    let lower = name.to_lowercase();
    let quoted = name.replace('\'', "''");
    let source = if lower.ends_with(".parquet") {
        format!("read_parquet('{quoted}')")
    } else {
        format!("read_csv('{quoted}', header = true, nullstr = ['', 'NA'])")
    };
    let select: Vec<String> = columns
        .iter()
        .map(|(col, kind)| {
            let ty = match kind {
                ColumnKind::Text => "VARCHAR",
                ColumnKind::Integer => "BIGINT",
                ColumnKind::Float => "DOUBLE",
            };
            format!("CAST(\"{}\" AS {ty})", col.replace('"', "\"\""))
        })
        .collect();
    let conn = duckdb::Connection::open_in_memory().context("opening an in-memory database")?;
    let sql = format!("SELECT {} FROM {source}", select.join(", "));
    let mut stmt = conn.prepare(&sql).context(&format!("reading {name}"))?;
    let mut out: Vec<ColumnData> = columns
        .iter()
        .map(|(_, kind)| match kind {
            ColumnKind::Text => ColumnData::Text(Vec::new()),
            ColumnKind::Integer => ColumnData::Integer(Vec::new()),
            ColumnKind::Float => ColumnData::Float(Vec::new()),
        })
        .collect();
    for batch in stmt.query_arrow([]).context(&format!("reading {name}"))? {
        for (i, data) in out.iter_mut().enumerate() {
            let array = batch.column(i);
            match data {
                ColumnData::Text(v) => {
                    let a = array.as_string::<i32>();
                    v.extend((0..a.len()).map(|r| a.is_valid(r).then(|| a.value(r).to_string())));
                }
                ColumnData::Integer(v) => {
                    let a = array.as_primitive::<Int64Type>();
                    v.extend((0..a.len()).map(|r| a.is_valid(r).then(|| a.value(r))));
                }
                ColumnData::Float(v) => {
                    let a = array.as_primitive::<Float64Type>();
                    v.extend((0..a.len()).map(|r| a.is_valid(r).then(|| a.value(r))));
                }
            }
        }
    }
    Ok(out)
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
