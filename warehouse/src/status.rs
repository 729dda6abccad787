//! What `regstat status` shows: recent runs, the freshness of each source and indicator, and the
//! documents a backfill re-parses.

use std::path::Path;

use chrono::{NaiveDateTime, TimeZone, Utc};

use crate::error::{Context, WarehouseError};
use crate::load::DocumentRecord;
use crate::query::RunSummary;
use crate::Warehouse;

#[derive(Debug, Clone, PartialEq)]
pub struct SourceFreshness {
    pub source_id: String,
    pub documents: i64,
    pub last_fetched: Option<NaiveDateTime>,
    pub failed_documents: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorFreshness {
    pub indicator_id: String,
    pub observations: i64,
    pub latest_period: Option<String>,
    pub latest_vintage: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WarehouseStatus {
    pub runs: Vec<RunSummary>,
    pub sources: Vec<SourceFreshness>,
    pub indicators: Vec<IndicatorFreshness>,
}

/// Reads the status from a warehouse or snapshot file, read-only (no migrations, no locks taken
/// beyond DuckDB's shared one).
pub fn read_status(path: &Path) -> Result<WarehouseStatus, WarehouseError> {
    crate::engine::available()?;
    let config = duckdb::Config::default()
        .access_mode(duckdb::AccessMode::ReadOnly)
        .context("read-only config")?;
    let conn = duckdb::Connection::open_with_flags(path, config)
        .map_err(|e| WarehouseError::db(format!("opening {} read-only", path.display()), e))?;
    let w = Warehouse {
        conn,
        path: path.to_path_buf(),
    };
    let mut runs = w.runs()?;
    runs.reverse();
    runs.truncate(10);
    let mut stmt = w
        .conn
        .prepare(
            "SELECT source_id, count(*), max(fetched_at), count(*) FILTER (WHERE load_status = 'failed')
             FROM source_document GROUP BY source_id ORDER BY source_id",
        )
        .context("source freshness")?;
    let sources = stmt
        .query_map([], |r| {
            Ok(SourceFreshness {
                source_id: r.get(0)?,
                documents: r.get(1)?,
                last_fetched: r.get(2)?,
                failed_documents: r.get(3)?,
            })
        })
        .context("source freshness")?
        .collect::<Result<_, _>>()
        .context("source freshness")?;
    let mut stmt = w
        .conn
        .prepare("SELECT indicator_id, count(*), max(period), max(vintage) FROM observation_latest GROUP BY indicator_id ORDER BY indicator_id")
        .context("indicator freshness")?;
    let indicators = stmt
        .query_map([], |r| {
            Ok(IndicatorFreshness {
                indicator_id: r.get(0)?,
                observations: r.get(1)?,
                latest_period: r.get(2)?,
                latest_vintage: r.get(3)?,
            })
        })
        .context("indicator freshness")?
        .collect::<Result<_, _>>()
        .context("indicator freshness")?;
    Ok(WarehouseStatus {
        runs,
        sources,
        indicators,
    })
}

impl Warehouse {
    /// Every document the warehouse knows (loaded or failed), optionally of one source.
    pub fn documents(
        &self,
        source_id: Option<&str>,
    ) -> Result<Vec<DocumentRecord>, WarehouseError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT sha256, source_id, url, file_name, fetched_at, http_status, etag, last_modified, content_type, bytes
                 FROM source_document WHERE ? IS NULL OR source_id = ? ORDER BY fetched_at, url",
            )
            .context("listing documents")?;
        let rows = stmt
            .query_map(duckdb::params![source_id, source_id], |r| {
                let fetched: NaiveDateTime = r.get(4)?;
                Ok(DocumentRecord {
                    sha256: r.get(0)?,
                    source_id: r.get(1)?,
                    url: r.get(2)?,
                    file_name: r.get(3)?,
                    fetched_at: Utc.from_utc_datetime(&fetched),
                    http_status: r.get::<_, i32>(5)? as u16,
                    etag: r.get(6)?,
                    last_modified: r.get(7)?,
                    content_type: r.get(8)?,
                    bytes: r.get::<_, i64>(9)? as u64,
                })
            })
            .context("listing documents")?;
        rows.collect::<Result<_, _>>().context("listing documents")
    }
}
