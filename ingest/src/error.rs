use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: {reason}")]
    Http { url: String, reason: String },
    #[error("archive {path}: {source}")]
    Archive {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("HTTP client setup: {0}")]
    Client(String),
    #[error("{url}: {reason}")]
    Page { url: String, reason: String },
    /// A document of a list that could not be fetched, named by its decoded file name.
    #[error("{file_name}: {error}")]
    Document {
        file_name: String,
        error: Box<IngestError>,
    },
}
