//! Fetching source documents over HTTP and archiving every one of them, content-addressed.
//!
//! [`Fetcher`] is the one HTTP client (reqwest on tokio) with regstat's policies: a browser-like
//! User-Agent, timeouts, retries with backoff, conditional GET, extra CA roots and never disabled
//! verification. [`Archive`] stores each document once by its sha256. [`Source`] turns a
//! [`regstat_config::SourceConfig`] into the documents it yields.

mod archive;
pub mod catalog;
pub mod emiss;
mod error;
mod fetch;
mod source;

pub use archive::{Archive, ArchivedDocument, UrlState};
pub use error::IngestError;
pub use fetch::{FetchOutcome, Fetched, Fetcher};
pub use source::{document_name, AttemptOutcome, FetchAttempt, Source, SourceRun};
