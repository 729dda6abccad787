use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    #[error("warehouse: {context}: {source}")]
    Db {
        context: String,
        source: duckdb::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("warehouse {path} is held open by another process (waited {waited:?}): {detail}. Analysts should open the snapshot, not the warehouse")]
    Locked {
        path: PathBuf,
        waited: std::time::Duration,
        detail: String,
    },
    #[error("warehouse: {0}")]
    Engine(#[from] crate::engine::EngineUnavailable),
}

impl WarehouseError {
    pub(crate) fn db(context: impl Into<String>, source: duckdb::Error) -> Self {
        Self::Db {
            context: context.into(),
            source,
        }
    }
}

/// Attaches context to duckdb results.
pub(crate) trait Context<T> {
    fn context(self, what: &str) -> Result<T, WarehouseError>;
}

impl<T> Context<T> for Result<T, duckdb::Error> {
    fn context(self, what: &str) -> Result<T, WarehouseError> {
        self.map_err(|e| WarehouseError::db(what, e))
    }
}
