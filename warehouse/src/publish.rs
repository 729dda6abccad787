//! Published files: Parquet and CSV of the latest observations, the estimates and the documents, with
//! a manifest. Files are written to a staging directory and renamed into place, the manifest last, so
//! a reader never sees a partial file and a manifest always describes files that exist.

use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Context, WarehouseError};
use crate::Warehouse;

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct ManifestColumn {
    pub name: String,
    #[serde(rename = "type")]
    pub data_type: String,
}

/// How published CSV files are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CsvDialect {
    /// UTF-8, comma separator, decimal point.
    #[default]
    Standard,
    /// What Russian-locale Excel opens correctly with a double click: UTF-8 with a byte-order mark,
    /// `;` separator, decimal comma.
    ExcelRu,
}

impl CsvDialect {
    pub fn as_str(self) -> &'static str {
        match self {
            CsvDialect::Standard => "standard",
            CsvDialect::ExcelRu => "excel-ru",
        }
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct ManifestFile {
    /// Relative to the publish directory.
    pub path: String,
    pub format: String,
    /// CSV files: `standard` or `excel-ru`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dialect: Option<String>,
    pub rows: u64,
    pub sha256: String,
    pub columns: Vec<ManifestColumn>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct Manifest {
    pub generated_at: String,
    pub run_id: Option<i64>,
    pub warehouse_schema_version: i64,
    pub files: Vec<ManifestFile>,
}

/// What is published: a name and the query that makes it.
const DATASETS: &[(&str, &str)] = &[
    (
        "observations",
        "SELECT o.indicator_id, i.name AS indicator_name, o.region_code, r.name AS region_name, r.iso AS region_iso,
                o.period, o.period_type, o.year, o.value, o.unit, o.status, o.footnotes,
                o.document_sha256, d.url AS document_url, d.file_name AS document_file, o.sheet, o.cell,
                o.table_code, o.table_title, o.region_label, o.dimensions, o.vintage
         FROM observation_latest o
         LEFT JOIN indicator i ON i.id = o.indicator_id
         LEFT JOIN region r ON r.code = o.region_code
         LEFT JOIN source_document d ON d.sha256 = o.document_sha256
         ORDER BY o.indicator_id, o.region_code, o.period",
    ),
    (
        "estimates",
        "SELECT e.*, c.name AS cluster_name FROM estimate e LEFT JOIN cluster c ON c.id = e.cluster_id
         WHERE e.run_id = (SELECT max(run_id) FROM estimate)
         ORDER BY cluster_id, indicator_id, method, term",
    ),
    (
        "panels",
        "SELECT p.*, c.name AS cluster_name, r.name AS region_name, d.url AS document_url
         FROM estimate_panel p
         LEFT JOIN cluster c ON c.id = p.cluster_id
         LEFT JOIN region r ON r.code = p.unit
         LEFT JOIN source_document d ON d.sha256 = p.document_sha256
         WHERE p.run_id = (SELECT max(run_id) FROM estimate_panel)
         ORDER BY cluster_id, indicator_id, unit, year",
    ),
    (
        "event_study",
        "SELECT e.*, c.name AS cluster_name FROM estimate_event_time e LEFT JOIN cluster c ON c.id = e.cluster_id
         WHERE e.run_id = (SELECT max(run_id) FROM estimate)
         ORDER BY cluster_id, indicator_id, method, rel_time",
    ),
    (
        "att_gt",
        "SELECT g.*, c.name AS cluster_name FROM estimate_group_time g LEFT JOIN cluster c ON c.id = g.cluster_id
         WHERE g.run_id = (SELECT max(run_id) FROM estimate)
         ORDER BY cluster_id, indicator_id, cohort, year",
    ),
    (
        "weights",
        "SELECT w.*, c.name AS cluster_name, r.name AS region_name FROM estimate_weight w
         LEFT JOIN cluster c ON c.id = w.cluster_id LEFT JOIN region r ON r.code = w.unit
         WHERE w.run_id = (SELECT max(run_id) FROM estimate)
         ORDER BY cluster_id, indicator_id, method, kind, unit, year",
    ),
    (
        "documents",
        "SELECT sha256, source_id, url, file_name, fetched_at, http_status, etag, last_modified, bytes,
                load_status, error, observations, run_id FROM source_document ORDER BY fetched_at, url",
    ),
];

impl Warehouse {
    /// Writes the published files and `manifest.json` into `dir`, CSV files in `dialect`.
    pub fn publish(
        &self,
        dir: &Path,
        run_id: Option<i64>,
        dialect: CsvDialect,
    ) -> Result<Manifest, WarehouseError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| WarehouseError::Io { path, source }
        };
        // The staging directory sits beside the publish directory, not in it: whatever is killed
        // mid-way, the publish directory holds only whole files.
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "publish".into());
        let staging = dir.with_file_name(format!(".{name}.staging"));
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
        }
        std::fs::create_dir_all(&staging).map_err(io(&staging))?;

        let mut files = Vec::new();
        for (name, query) in DATASETS {
            let columns = self.describe(query)?;
            let rows: i64 = self
                .conn
                .query_row(&format!("SELECT count(*) FROM ({query})"), [], |r| r.get(0))
                .context(&format!("counting {name}"))?;
            for format in ["parquet", "csv"] {
                let file = format!("{name}.{format}");
                let target = staging.join(&file);
                let quoted_target = target.display().to_string().replace('\'', "''");
                let copy = match (format, dialect) {
                    ("parquet", _) => format!(
                        "COPY ({query}) TO '{quoted_target}' (FORMAT parquet, COMPRESSION zstd)"
                    ),
                    (_, CsvDialect::Standard) => {
                        format!("COPY ({query}) TO '{quoted_target}' (FORMAT csv, HEADER true)")
                    }
                    (_, CsvDialect::ExcelRu) => format!(
                        "COPY (SELECT {} FROM ({query})) TO '{quoted_target}' (FORMAT csv, HEADER true, DELIMITER ';')",
                        decimal_comma_columns(&columns)
                    ),
                };
                self.conn
                    .execute_batch(&copy)
                    .context(&format!("writing {file}"))?;
                let mut bytes = std::fs::read(&target).map_err(io(&target))?;
                if format == "csv" && dialect == CsvDialect::ExcelRu {
                    // The byte-order mark tells Excel the file is UTF-8 (else it reads CP1251).
                    bytes.splice(0..0, "\u{FEFF}".bytes());
                    std::fs::write(&target, &bytes).map_err(io(&target))?;
                }
                files.push(ManifestFile {
                    path: file,
                    format: format.to_string(),
                    dialect: (format == "csv").then(|| dialect.as_str().to_string()),
                    rows: rows as u64,
                    sha256: hex::encode(Sha256::digest(&bytes)),
                    columns: columns.clone(),
                });
            }
        }
        for f in &files {
            let from = staging.join(&f.path);
            std::fs::rename(&from, dir.join(&f.path)).map_err(io(&from))?;
        }
        let manifest = Manifest {
            generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            run_id,
            warehouse_schema_version: self.schema_version()?,
            files,
        };
        let tmp = staging.join("manifest.json");
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(&manifest).expect("manifest serializes"),
        )
        .map_err(io(&tmp))?;
        std::fs::rename(&tmp, dir.join("manifest.json")).map_err(io(&tmp))?;
        std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
        Ok(manifest)
    }

    fn describe(&self, query: &str) -> Result<Vec<ManifestColumn>, WarehouseError> {
        let mut stmt = self
            .conn
            .prepare(&format!("DESCRIBE {query}"))
            .context("describing a dataset")?;
        let rows = stmt
            .query_map([], |r| {
                Ok(ManifestColumn {
                    name: r.get(0)?,
                    data_type: r.get(1)?,
                })
            })
            .context("describing a dataset")?;
        rows.collect::<Result<_, _>>()
            .context("describing a dataset")
    }
}

/// The select list of an excel-ru CSV: floating-point and decimal columns as text with a decimal
/// comma (DuckDB's CSV writer has no decimal separator option), every other column as it is.
fn decimal_comma_columns(columns: &[ManifestColumn]) -> String {
    columns
        .iter()
        .map(|c| {
            let name = format!("\"{}\"", c.name.replace('"', "\"\""));
            let ty = c.data_type.to_uppercase();
            if ty == "DOUBLE" || ty == "FLOAT" || ty == "REAL" || ty.starts_with("DECIMAL") {
                format!("replace(CAST({name} AS VARCHAR), '.', ',') AS {name}")
            } else {
                name
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}
