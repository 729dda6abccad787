//! The raw archive: every fetched document, stored once under its sha256.
//!
//! Layout: `objects/<first two hex>/<sha256>` holds the bytes; `urls/<sha256 of url>.json` holds what
//! the last fetch of a URL returned (document hash, ETag, Last-Modified), which drives conditional GET.
//! Files are written to a temporary name and renamed, so a crash never leaves a half-written object.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::IngestError;

#[derive(Debug, Clone)]
pub struct Archive {
    root: PathBuf,
}

/// What regstat knows of one fetched document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchivedDocument {
    pub sha256: String,
    pub url: String,
    /// File name from the URL, percent-decoded (`Раздел 10 - Инвестиции.xlsx`).
    pub file_name: String,
    pub fetched_at: DateTime<Utc>,
    pub http_status: u16,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub content_type: Option<String>,
    pub bytes: u64,
}

/// The last fetch of a URL, kept for conditional GET.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UrlState {
    pub document: ArchivedDocument,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Archive {
    pub fn open(root: &Path) -> Result<Self, IngestError> {
        for sub in ["objects", "urls"] {
            let dir = root.join(sub);
            std::fs::create_dir_all(&dir)
                .map_err(|source| IngestError::Archive { path: dir, source })?;
        }
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn object_path(&self, sha256: &str) -> PathBuf {
        self.root.join("objects").join(&sha256[..2]).join(sha256)
    }

    fn url_path(&self, url: &str) -> PathBuf {
        self.root
            .join("urls")
            .join(format!("{}.json", sha256_hex(url.as_bytes())))
    }

    /// Stores bytes under their hash; returns the hash and whether the object is new.
    pub fn store(&self, bytes: &[u8]) -> Result<(String, bool), IngestError> {
        let sha = sha256_hex(bytes);
        let path = self.object_path(&sha);
        if path.exists() {
            return Ok((sha, false));
        }
        write_atomically(&path, bytes)?;
        Ok((sha, true))
    }

    pub fn read(&self, sha256: &str) -> Result<Vec<u8>, IngestError> {
        let path = self.object_path(sha256);
        std::fs::read(&path).map_err(|source| IngestError::Archive { path, source })
    }

    pub fn url_state(&self, url: &str) -> Option<UrlState> {
        let text = std::fs::read(self.url_path(url)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    pub fn record_url(&self, state: &UrlState) -> Result<(), IngestError> {
        let json = serde_json::to_vec_pretty(state).expect("UrlState serializes");
        write_atomically(&self.url_path(&state.document.url), &json)
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), IngestError> {
    let err = |source| IngestError::Archive {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().expect("archive paths have a parent");
    std::fs::create_dir_all(dir).map_err(err)?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().unwrap().to_string_lossy(),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_are_stored_once() {
        let dir = tempfile::tempdir().unwrap();
        let archive = Archive::open(dir.path()).unwrap();
        let (a, new_a) = archive.store(b"workbook").unwrap();
        let (b, new_b) = archive.store(b"workbook").unwrap();
        assert_eq!(a, b);
        assert!(new_a && !new_b);
        assert_eq!(archive.read(&a).unwrap(), b"workbook");
        let objects = walk(&dir.path().join("objects"));
        assert_eq!(objects, 1);
    }

    fn walk(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| if p.is_dir() { walk(&p) } else { 1 })
            .sum()
    }
}
