//! Publishing a run: the tables, plots and report that dashboards and people read, written
//! through one interface ([`Artifact`]) into the run's own directory, listed in its manifest, and
//! switched in whole (see [`runs`]).
//!
//! ```text
//! publish/
//!   latest -> runs/<run_id>        switched after the run's directory is whole
//!   runs/<run_id>/
//!     manifest.json                every file: format, rows, bytes, sha256, columns
//!     observations.parquet|csv  estimates.*  panels.*  event_study.*  att_gt.*  weights.*  documents.*
//!     plots/<cluster>/<indicator>/<kind>.png|svg
//!     report/index.html            self-contained: inline SVG, embedded font, no external references
//! ```

mod error;
pub mod manifest;
pub mod plots;
pub mod report;
pub mod results;
pub mod runs;
mod svg_text;
pub mod tables;

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use error::PublishError;
pub use manifest::{Manifest, ManifestColumn, ManifestFile};
pub use results::RunResults;

use regstat_warehouse::Warehouse;

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

/// The report's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    Ru,
    En,
}

/// What the configuration says about publishing.
#[derive(Debug, Clone)]
pub struct PublishOptions {
    pub dir: PathBuf,
    pub csv_dialect: CsvDialect,
    pub language: Language,
    /// Run directories kept under `runs/` (the newest; at least one).
    pub keep_runs: usize,
}

/// What an artifact sees: the warehouse, the results, the options and the figures drawn once for
/// the plots and the report.
pub struct RunContext<'a> {
    pub warehouse: &'a Warehouse,
    pub results: &'a RunResults,
    pub options: &'a PublishOptions,
    pub figures: &'a [plots::Figure],
}

/// One kind of published output. Each writes its files into the run's directory and lists them.
pub trait Artifact {
    fn name(&self) -> &'static str;
    fn write(&self, run: &RunContext, out: &mut Output) -> Result<(), PublishError>;
}

/// The files written so far into a run's directory, as the manifest lists them.
pub struct Output {
    dir: PathBuf,
    files: Vec<ManifestFile>,
}

impl Output {
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Lists a file written at `relative`, with its size and sha256 read back.
    fn add(&mut self, relative: &str, entry: ManifestFile) -> Result<(), PublishError> {
        let path = self.dir.join(relative);
        let bytes = std::fs::read(&path).map_err(PublishError::io(&path))?;
        self.files.push(ManifestFile {
            path: relative.to_string(),
            bytes: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(&bytes)),
            ..entry
        });
        Ok(())
    }

    pub fn add_table(
        &mut self,
        relative: &str,
        format: &str,
        dialect: Option<CsvDialect>,
        rows: u64,
        columns: Vec<ManifestColumn>,
    ) -> Result<(), PublishError> {
        self.add(
            relative,
            ManifestFile {
                path: String::new(),
                format: format.to_string(),
                dialect: dialect.map(|d| d.as_str().to_string()),
                rows: Some(rows),
                bytes: 0,
                sha256: String::new(),
                columns,
                describes: None,
            },
        )
    }

    /// Writes `bytes` at `relative` (directories made) and lists it.
    pub fn write_file(
        &mut self,
        relative: &str,
        format: &str,
        bytes: &[u8],
        describes: Option<String>,
    ) -> Result<(), PublishError> {
        let path = self.dir.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(PublishError::io(parent))?;
        }
        std::fs::write(&path, bytes).map_err(PublishError::io(&path))?;
        self.add(
            relative,
            ManifestFile {
                path: String::new(),
                format: format.to_string(),
                dialect: None,
                rows: None,
                bytes: 0,
                sha256: String::new(),
                columns: Vec::new(),
                describes,
            },
        )
    }
}

/// What a publish wrote.
#[derive(Debug, Clone)]
pub struct Published {
    /// The run's directory (`latest` points here).
    pub dir: PathBuf,
    pub manifest: Manifest,
    /// Old run directories removed by `keep_runs`.
    pub pruned: Vec<String>,
}

/// Publishes the warehouse's latest results as run `run_id` (a name from the clock when None).
pub fn publish(
    warehouse: &Warehouse,
    run_id: Option<i64>,
    options: &PublishOptions,
) -> Result<Published, PublishError> {
    let name = run_id.map_or_else(
        || {
            chrono::Utc::now()
                .format("manual-%Y%m%dT%H%M%S")
                .to_string()
        },
        |id| id.to_string(),
    );
    let run_dir = runs::RunDir::begin(&options.dir, &name)?;
    let results = RunResults::read(warehouse.connection())?;
    let figures = plots::figures(&results, options.language)?;
    let context = RunContext {
        warehouse,
        results: &results,
        options,
        figures: &figures,
    };
    let mut out = Output {
        dir: run_dir.path().to_path_buf(),
        files: Vec::new(),
    };
    let artifacts: [&dyn Artifact; 3] = [&tables::Tables, &plots::Plots, &report::Report];
    for artifact in artifacts {
        let before = out.files.len();
        artifact.write(&context, &mut out)?;
        tracing::debug!(
            artifact = artifact.name(),
            files = out.files.len() - before,
            "published"
        );
    }
    let manifest = Manifest {
        generated_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        run_id,
        estimates_run_id: results.run_id,
        warehouse_schema_version: warehouse.schema_version()?,
        files: out.files,
    };
    let manifest_path = run_dir.path().join("manifest.json");
    std::fs::write(
        &manifest_path,
        serde_json::to_vec_pretty(&manifest).expect("manifest serializes"),
    )
    .map_err(PublishError::io(&manifest_path))?;
    let dir = run_dir.commit()?;
    let pruned = runs::prune(&options.dir, options.keep_runs, &name);
    Ok(Published {
        dir,
        manifest,
        pruned,
    })
}
