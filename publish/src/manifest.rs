//! `manifest.json`: every file of a published run with its format, rows, sha256 and columns.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ManifestColumn {
    pub name: String,
    #[serde(rename = "type")]
    pub data_type: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ManifestFile {
    /// Relative to the run's directory (and so to `publish/latest`).
    pub path: String,
    /// `parquet`, `csv`, `png`, `svg` or `html`.
    pub format: String,
    /// CSV files: `standard` or `excel-ru`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dialect: Option<String>,
    /// Tables: their rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    pub bytes: u64,
    pub sha256: String,
    /// Tables: their columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<ManifestColumn>,
    /// Plots: the cluster, indicator and kind drawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub describes: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub generated_at: String,
    /// The run that published these files.
    pub run_id: Option<i64>,
    /// The run whose estimates the tables, plots and report show (the latest run that estimated).
    pub estimates_run_id: Option<i64>,
    pub warehouse_schema_version: i64,
    pub files: Vec<ManifestFile>,
}
