//! Sharing the warehouse with analysts. DuckDB lets one process write a file, and a process holding
//! it open locks every other out. So regstat opens the warehouse only while a run writes, and after
//! each run leaves a consistent copy, the snapshot, for analysts to open read-only: it is written
//! under a temporary name and renamed over the old one, so an analyst's open session keeps reading the
//! old copy (its file stays alive until closed) and never blocks a run.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{Context, WarehouseError};
use crate::Warehouse;

impl Warehouse {
    /// Opens the warehouse, waiting up to `wait` while another process holds it (an analyst's session
    /// on the warehouse itself, say), then failing with DuckDB's word on who holds it.
    pub fn open_waiting(path: &Path, wait: Duration) -> Result<Self, WarehouseError> {
        let start = Instant::now();
        let mut delay = Duration::from_millis(100);
        loop {
            match Warehouse::open(path) {
                Err(WarehouseError::Db { source, .. })
                    if is_lock_conflict(&source) && start.elapsed() < wait =>
                {
                    tracing::warn!(path = %path.display(), error = %source, "warehouse held by another process; waiting");
                    std::thread::sleep(delay.min(wait.saturating_sub(start.elapsed())));
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(WarehouseError::Db { source, .. }) if is_lock_conflict(&source) => {
                    return Err(WarehouseError::Locked {
                        path: path.to_path_buf(),
                        waited: wait,
                        detail: source.to_string(),
                    })
                }
                other => return other,
            }
        }
    }

    /// Checkpoints, closes the warehouse and writes the analysts' snapshot.
    pub fn close_with_snapshot(self, snapshot: &Path) -> Result<(), WarehouseError> {
        self.conn
            .execute_batch("CHECKPOINT")
            .context("checkpointing before the snapshot")?;
        let path = self.path.clone();
        drop(self);
        write_snapshot(&path, snapshot)
    }
}

fn is_lock_conflict(e: &duckdb::Error) -> bool {
    let text = e.to_string().to_lowercase();
    text.contains("lock") && (text.contains("conflicting") || text.contains("could not set"))
}

/// Copies a closed warehouse file to `snapshot` atomically (temporary name, fsync, rename).
pub fn write_snapshot(warehouse: &Path, snapshot: &Path) -> Result<(), WarehouseError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| WarehouseError::Io { path, source }
    };
    let tmp = snapshot.with_extension("duckdb.partial");
    std::fs::copy(warehouse, &tmp).map_err(io(&tmp))?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(io(&tmp))?;
    std::fs::rename(&tmp, snapshot).map_err(io(snapshot))
}
