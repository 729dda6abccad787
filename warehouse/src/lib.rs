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
