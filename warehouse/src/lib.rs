//! The DuckDB warehouse: schema migrations, atomic per-document loads that keep every vintage, the
//! panels the estimators read and the results they store (published by `regstat-publish`).
//!
//! One [`Warehouse`] owns one connection. Every document loads in one transaction through the
//! appender, so a document is either wholly in the warehouse or not at all.

pub mod engine;
mod error;
pub mod files;
mod load;
mod migrate;
mod query;
mod snapshot;
mod status;

use std::path::{Path, PathBuf};

pub use error::WarehouseError;
pub use load::{DocumentRecord, LoadOutcome};
pub use query::{
    AttemptRecord, ClusterRow, EstimateDetails, EstimatePanelRow, EstimateRow, EventTimeRow,
    GroupTimeRow, IndicatorRow, ListingRecord, PanelPoint, PanelUnit, PlaceboRow, RunSummary,
    TestRow, WeightRow,
};
pub use snapshot::write_snapshot;
pub use status::{read_status, IndicatorFreshness, SourceFreshness, WarehouseStatus};

pub struct Warehouse {
    conn: duckdb::Connection,
    path: PathBuf,
}

impl Warehouse {
    /// Opens (creating if needed) the warehouse file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self, WarehouseError> {
        engine::available()?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| WarehouseError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        if !path.exists() {
            create(path)?;
        }
        let conn = duckdb::Connection::open(path)
            .map_err(|e| WarehouseError::db(format!("opening {}", path.display()), e))?;
        let mut warehouse = Self {
            conn,
            path: path.to_path_buf(),
        };
        migrate::migrate(&mut warehouse.conn)?;
        Ok(warehouse)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema version after migrations.
    pub fn schema_version(&self) -> Result<i64, WarehouseError> {
        migrate::current_version(&self.conn)
    }

    /// Direct access for analysts' queries in tests and tools.
    pub fn connection(&self) -> &duckdb::Connection {
        &self.conn
    }
}

/// Makes a new warehouse whole or not at all: built at a hidden sibling with its schema, closed
/// (DuckDB checkpoints on close) and only then renamed to `path`. DuckDB writes a new file's
/// header before the rest, and a process killed in between (the tests' SIGKILL at 31 ms into a
/// first run) left a file that no later run could open. A sibling left by a killed attempt is
/// made again.
fn create(path: &Path) -> Result<(), WarehouseError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let building = path.with_file_name(format!(".{name}.new"));
    let wal = building.with_file_name(format!(".{name}.new.wal"));
    for leftover in [&building, &wal] {
        match std::fs::remove_file(leftover) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(WarehouseError::Io {
                    path: leftover.clone(),
                    source: e,
                })
            }
            _ => {}
        }
    }
    {
        let mut conn = duckdb::Connection::open(&building)
            .map_err(|e| WarehouseError::db(format!("creating {}", building.display()), e))?;
        migrate::migrate(&mut conn)?;
        conn.close()
            .map_err(|(_, e)| WarehouseError::db(format!("closing {}", building.display()), e))?;
    }
    std::fs::rename(&building, path).map_err(|source| WarehouseError::Io {
        path: path.to_path_buf(),
        source,
    })
}
