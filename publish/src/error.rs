use std::path::PathBuf;

/// Why publishing failed: each names the file or the query at fault.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("publishing {what}: {source}")]
    Db { what: String, source: duckdb::Error },
    #[error("drawing {figure}: {message}")]
    Plot { figure: String, message: String },
    #[error("the embedded font {0} cannot be read")]
    Font(&'static str),
    #[error(transparent)]
    Warehouse(#[from] regstat_warehouse::WarehouseError),
}

impl PublishError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }

    pub(crate) fn db(what: impl Into<String>) -> impl FnOnce(duckdb::Error) -> Self {
        let what = what.into();
        move |source| Self::Db { what, source }
    }
}
