//! One run of the job: fetch every source, parse every new document, load it, estimate every cluster
//! design, publish. A failing source or document is recorded and the run goes on with the others; the
//! run's status says whether anything failed.

use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::locks;

use regstat_config::{Config, SourceConfig};
use regstat_estimate::Did2x2;
use regstat_ingest::{Archive, Fetcher, Source};
use regstat_publish::Manifest;
use regstat_warehouse::Warehouse;

mod answers;
mod designs;
mod documents;
mod indicators;

pub use answers::{choose as choose_design, DesignChoice, DesignSummary};
use designs::estimate_clusters;
use documents::{load_document, record_of};
use indicators::{cluster_rows, indicator_rows};
pub use indicators::{indicator_for, name_indicators, name_sdmx_indicator, IndicatorNamer};

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Lock(#[from] crate::locks::LockError),
    #[error(transparent)]
    Warehouse(#[from] regstat_warehouse::WarehouseError),
    #[error(transparent)]
    Ingest(#[from] regstat_ingest::IngestError),
    #[error("--source {id}: no source with that id in the config; its sources: {}", .known.join(", "))]
    UnknownSource { id: String, known: Vec<String> },
}

/// Checks that `--source` names a configured source.
fn check_source(config: &Config, only_source: Option<&str>) -> Result<(), PipelineError> {
    match only_source {
        Some(id) if !config.sources.iter().any(|s| s.id == id) => {
            Err(PipelineError::UnknownSource {
                id: id.to_string(),
                known: config.sources.iter().map(|s| s.id.clone()).collect(),
            })
        }
        _ => Ok(()),
    }
}

/// What a run did, for people and for tests.
#[derive(Debug, Default)]
pub struct RunReport {
    pub run_id: i64,
    pub documents_fetched: usize,
    pub documents_changed: usize,
    pub documents_loaded: usize,
    pub documents_already_loaded: usize,
    pub observations_loaded: usize,
    pub estimates: Vec<EffectSummary>,
    pub twfe: Vec<TwfeSummary>,
    /// Each cluster's designs: the headline answer and the estimates beside it, with why.
    pub designs: Vec<DesignSummary>,
    pub bytes_fetched: u64,
    /// Sources whose fetch and loads all succeeded in this run.
    pub succeeded_sources: Vec<String>,
    /// Stopped by SIGTERM or SIGINT between documents.
    pub cancelled: bool,
    pub duration: Duration,
    /// Everything that went wrong, each naming its source, document, sheet or cell.
    pub failures: Vec<String>,
    pub manifest: Option<Manifest>,
    /// The published run's directory (`publish/latest` points to it).
    pub published_dir: Option<std::path::PathBuf>,
    /// Nothing changed since this run: its estimates and published files stand.
    pub unchanged_since: Option<i64>,
}

impl RunReport {
    pub fn failed(&self) -> bool {
        !self.failures.is_empty()
    }
}

/// The TWFE summary of one cluster and indicator, for the run's printout.
#[derive(Debug, Clone)]
pub struct TwfeSummary {
    pub cluster_id: String,
    pub indicator_id: String,
    pub report: regstat_estimate::Report,
}

#[derive(Debug, Clone)]
pub struct EffectSummary {
    pub cluster_id: String,
    pub indicator_id: String,
    pub result: Did2x2,
    pub pre_years: Vec<i32>,
    pub post_years: Vec<i32>,
}

/// Called with a short description of what the run is doing.
type ProgressHook = Arc<dyn Fn(&str) + Send + Sync>;

/// Cancels a run: set by SIGTERM and SIGINT. Fetches in flight and retry waits (Retry-After up
/// to 300 s) are dropped at once, so no request goes out after the signal; a document being loaded
/// finishes (its transaction commits); the run ends with status `cancelled`.
#[derive(Clone, Default)]
pub struct RunControl {
    cancel: CancellationToken,
    progress: Option<ProgressHook>,
}

impl std::fmt::Debug for RunControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunControl")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

impl RunControl {
    /// A control that reports what the run is doing (for a progress display).
    pub fn with_progress(progress: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self {
            cancel: CancellationToken::new(),
            progress: Some(Arc::new(progress)),
        }
    }

    pub fn progress(&self, what: &str) {
        if let Some(p) = &self.progress {
            p(what);
        }
    }

    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Completes when the run is cancelled: `select!` it against any wait.
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await
    }
}

/// Runs the job once over the configured sources (or only `only_source`).
pub async fn run_once(
    config: &Config,
    only_source: Option<&str>,
) -> Result<RunReport, PipelineError> {
    run_with(config, only_source, &RunControl::default()).await
}

/// [`run_once`] under a [`RunControl`]. One run at a time per warehouse (a lock beside it); the
/// warehouse is open only for the run, and the analysts' snapshot is replaced at its end.
pub async fn run_with(
    config: &Config,
    only_source: Option<&str>,
    control: &RunControl,
) -> Result<RunReport, PipelineError> {
    check_source(config, only_source)?;
    let ids: Vec<String> = match only_source {
        Some(id) => vec![id.to_string()],
        None => config.sources.iter().map(|s| s.id.clone()).collect(),
    };
    run_sources(config, &ids, control).await
}

/// One run over the named sources (the daemon's sources due at the same time): their fetches and loads,
/// then one round of estimates and one publish.
pub async fn run_sources(
    config: &Config,
    source_ids: &[String],
    control: &RunControl,
) -> Result<RunReport, PipelineError> {
    let Started {
        _lock,
        archive,
        mut warehouse,
        mut report,
        started,
    } = start(config, "run")?;
    let run_id = report.run_id;
    let fetcher = Fetcher::new(&config.http)?;

    for source_config in config.sources.iter().filter(|s| source_ids.contains(&s.id)) {
        if control.is_cancelled() {
            break;
        }
        let step_start = chrono::Utc::now();
        let before = (
            report.documents_loaded,
            report.observations_loaded,
            report.failures.len(),
        );
        control.progress(&format!("source {}", source_config.id));
        fetch_and_load(
            config,
            source_config,
            &fetcher,
            &archive,
            &mut warehouse,
            &mut report,
            control,
        )
        .await?;
        let errors = &report.failures[before.2..];
        let status = if control.is_cancelled() {
            "cancelled"
        } else if errors.is_empty() {
            report.succeeded_sources.push(source_config.id.clone());
            "succeeded"
        } else {
            "failed"
        };
        let error = (!errors.is_empty()).then(|| errors.join("; "));
        warehouse.record_step(
            run_id,
            "source",
            Some(&source_config.id),
            step_start,
            status,
            report.documents_loaded - before.0,
            report.observations_loaded - before.1,
            error.as_deref(),
        )?;
    }

    conclude(
        config,
        warehouse,
        &mut report,
        control,
        started,
        Recompute::IfInputsChanged,
    )?;
    Ok(report)
}

/// What every run (and backfill) starts with: the run lock, the archive, the warehouse open and its
/// reference tables current, a new run recorded.
struct Started {
    _lock: locks::HeldLock,
    archive: Archive,
    warehouse: Warehouse,
    report: RunReport,
    started: std::time::Instant,
}

fn start(config: &Config, kind: &str) -> Result<Started, PipelineError> {
    let wait = Duration::from_secs(config.daemon.lock_wait_secs);
    let _lock = locks::acquire(
        &locks::lock_path(&config.outputs.warehouse, "run"),
        "a regstat run",
        wait,
    )?;
    let archive = Archive::open(&config.outputs.archive)?;
    let mut warehouse = Warehouse::open_waiting(&config.outputs.warehouse, wait)?;
    warehouse.sync_reference(
        config.regions(),
        &indicator_rows(config),
        &cluster_rows(config),
    )?;
    warehouse.sync_municipalities(config.regions(), config.municipalities.dictionary.entries())?;
    for interrupted in warehouse.mark_interrupted_runs()? {
        tracing::warn!(
            run_id = interrupted,
            "an earlier run was killed or crashed; marked interrupted"
        );
    }
    let run_id = warehouse.begin_run()?;
    tracing::info!(run_id, kind, "run started");
    Ok(Started {
        _lock,
        archive,
        warehouse,
        report: RunReport {
            run_id,
            ..RunReport::default()
        },
        started: std::time::Instant::now(),
    })
}

/// Fetches one source and loads its documents; failures go into the report.
async fn fetch_and_load(
    config: &Config,
    source_config: &SourceConfig,
    fetcher: &Fetcher,
    archive: &Archive,
    warehouse: &mut Warehouse,
    report: &mut RunReport,
    control: &RunControl,
) -> Result<(), PipelineError> {
    let source = Source::new(source_config, &config.http);
    // The whole fetch (page, documents, retries and their waits) is dropped on cancellation: a
    // request in flight is aborted and nothing more is sent. Documents already archived stay there
    // and load on the next run.
    let fetched = tokio::select! {
        fetched = source.run(fetcher, archive) => fetched,
        () = control.cancelled() => {
            tracing::warn!(source = %source_config.id, "run cancelled while fetching; nothing more is requested");
            return Ok(());
        }
    };
    let fetched = match fetched {
        Ok(run) => run,
        Err(e) => {
            tracing::error!(source = %source_config.id, error = %e, "source failed");
            report
                .failures
                .push(format!("source {}: {e}", source_config.id));
            return Ok(());
        }
    };
    report.failures.extend(
        fetched
            .failures
            .iter()
            .map(|e| format!("source {}: {e}", source_config.id)),
    );
    // A list page with no matching links: a warning the first time, a failure when the source's
    // page listed documents before (the site's layout changed, or the page is an error page).
    if let regstat_config::SourceKind::DocumentList(list) = &source_config.kind {
        if fetched.documents.is_empty() && fetched.failures.is_empty() {
            let before = warehouse.documents(Some(&source_config.id))?.len();
            let message = format!(
                "{}: no link matches `{}` with extensions {:?}",
                source_config.url, list.link_selector, list.extensions
            );
            if before > 0 {
                report.failures.push(format!(
                    "source {}: {message}; the page listed {before} documents before",
                    source_config.id
                ));
            } else {
                tracing::warn!(source = %source_config.id, "{message}");
            }
        }
    }
    let attempts: Vec<regstat_warehouse::AttemptRecord> = fetched
        .attempts
        .iter()
        .map(|a| regstat_warehouse::AttemptRecord {
            url: a.url.clone(),
            file_name: a.file_name.clone(),
            at: a.at,
            outcome: a.outcome.as_str(),
            http_status: a.http_status,
            sha256: a.sha256.clone(),
            bytes: a.bytes,
            error: a.error.clone(),
            detail: a.detail.clone(),
        })
        .collect();
    warehouse.record_attempts(report.run_id, &source_config.id, &attempts)?;
    let listed: Vec<regstat_warehouse::ListingRecord> = fetched
        .catalog
        .iter()
        .map(|d| regstat_warehouse::ListingRecord {
            url: d.url.clone(),
            title: d.title.clone(),
            found_on: d.found_on.clone(),
            published: d.published,
            size: d.size.clone(),
            doc_type: d.doc_type.clone(),
        })
        .collect();
    warehouse.record_listing(report.run_id, &source_config.id, &listed)?;
    for (doc, changed) in fetched.documents {
        if control.is_cancelled() {
            tracing::warn!(document = %doc.file_name, "run cancelled; the document stays archived for the next run");
            return Ok(());
        }
        report.documents_fetched += 1;
        report.documents_changed += changed as usize;
        report.bytes_fetched += if changed { doc.bytes } else { 0 };
        control.progress(&format!("source {}: {}", source_config.id, doc.file_name));
        let record = record_of(&source_config.id, &doc);
        load_document(
            config,
            archive,
            warehouse,
            Some(source_config),
            &record,
            report.run_id,
            report,
            false,
        )?;
    }
    Ok(())
}

/// Re-parses every archived document (of one source, or all) and replaces its figures: after a
/// parser change, the warehouse catches up without fetching anything.
pub async fn backfill(
    config: &Config,
    only_source: Option<&str>,
    control: &RunControl,
) -> Result<RunReport, PipelineError> {
    check_source(config, only_source)?;
    let Started {
        _lock,
        archive,
        mut warehouse,
        mut report,
        started,
    } = start(config, "backfill")?;
    let run_id = report.run_id;
    for record in warehouse.documents(only_source)? {
        if control.is_cancelled() {
            break;
        }
        let source = config.sources.iter().find(|s| s.id == record.source_id);
        report.documents_fetched += 1;
        load_document(
            config,
            &archive,
            &mut warehouse,
            source,
            &record,
            run_id,
            &mut report,
            true,
        )?;
    }
    conclude(
        config,
        warehouse,
        &mut report,
        control,
        started,
        Recompute::Always,
    )?;
    Ok(report)
}

/// The end of a run: estimates and published files (unless cancelled), the run's record, the snapshot.
/// Whether a run estimates and publishes when nothing it derives from has changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recompute {
    /// A scheduled or manual run: skip when the figures and the designs and outputs configured are
    /// those of the last published run (every document 304, say).
    IfInputsChanged,
    /// A backfill: the parser changed, so always.
    Always,
}

/// A digest of what estimates and published files derive from: the figures, and the clusters,
/// indicators, estimation settings and outputs configured.
fn inputs_digest(config: &Config, warehouse: &Warehouse) -> Result<String, PipelineError> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(warehouse.figures_digest()?.as_bytes());
    h.update(
        format!(
            "{:?}|{:?}|{:?}|{:?}|{}",
            config.clusters,
            config.indicators,
            config.estimation,
            config.outputs,
            env!("CARGO_PKG_VERSION")
        )
        .as_bytes(),
    );
    Ok(hex::encode(h.finalize()))
}

/// The last published run, when this run's `inputs` are that run's and its files are in place:
/// nothing to estimate or publish again.
fn unchanged_since(
    config: &Config,
    warehouse: &Warehouse,
    recompute: Recompute,
    inputs: &str,
) -> Result<Option<i64>, PipelineError> {
    Ok(match (recompute, warehouse.last_published_inputs()?) {
        (Recompute::IfInputsChanged, Some((previous, digest)))
            if digest == inputs
                && regstat_publish::runs::latest(&config.outputs.publish)
                    .is_some_and(|d| d.join("manifest.json").exists()) =>
        {
            Some(previous)
        }
        _ => None,
    })
}

fn conclude(
    config: &Config,
    mut warehouse: Warehouse,
    report: &mut RunReport,
    control: &RunControl,
    started: std::time::Instant,
    recompute: Recompute,
) -> Result<(), PipelineError> {
    let run_id = report.run_id;
    let mut estimates = 0;
    // The digest (a scan of every figure) only for a run that goes on: a cancelled one stops here.
    let cancelled = control.is_cancelled();
    let inputs = if cancelled {
        None
    } else {
        Some(inputs_digest(config, &warehouse)?)
    };
    let unchanged_since = match &inputs {
        Some(inputs) => unchanged_since(config, &warehouse, recompute, inputs)?,
        None => None,
    };
    if cancelled {
        report.cancelled = true;
    } else if let Some(previous) = unchanged_since {
        // Nothing changed: the last run's estimates and published files stand (a daemon whose
        // documents all answer 304 rewrites nothing).
        tracing::info!(
            since = previous,
            "no figure, design or output changed: estimates and published files stand"
        );
        report.unchanged_since = Some(previous);
        let now = chrono::Utc::now();
        for step in ["estimate", "publish"] {
            warehouse.record_step(run_id, step, None, now, "skipped", 0, 0, None)?;
        }
    } else {
        let step_start = chrono::Utc::now();
        let failures_before = report.failures.len();
        control.progress("estimating");
        let (rows, panels, details) = estimate_clusters(config, &warehouse, run_id, report)?;
        estimates = rows.len();
        warehouse.store_estimates(&rows, &panels, &details)?;
        let errors = &report.failures[failures_before..];
        let status = if errors.is_empty() {
            "succeeded"
        } else {
            "failed"
        };
        let error = (!errors.is_empty()).then(|| errors.join("; "));
        warehouse.record_step(
            run_id,
            "estimate",
            None,
            step_start,
            status,
            0,
            estimates,
            error.as_deref(),
        )?;
        let step_start = chrono::Utc::now();
        control.progress("publishing");
        let options = regstat_publish::PublishOptions {
            dir: config.outputs.publish.clone(),
            csv_dialect: match config.outputs.csv_dialect {
                regstat_config::CsvDialectName::Standard => regstat_publish::CsvDialect::Standard,
                regstat_config::CsvDialectName::ExcelRu => regstat_publish::CsvDialect::ExcelRu,
            },
            language: match config.outputs.report_language {
                regstat_config::ReportLanguage::Ru => regstat_publish::Language::Ru,
                regstat_config::ReportLanguage::En => regstat_publish::Language::En,
            },
            keep_runs: config.outputs.keep_runs.get(),
        };
        // A publish that fails leaves the previous run's files in place (`latest` is switched
        // only after a whole run is written) and fails the run, naming the file or query.
        match regstat_publish::publish(&warehouse, Some(run_id), &options) {
            Ok(published) => {
                let manifest = published.manifest;
                let rows_published = manifest
                    .files
                    .iter()
                    .filter(|f| f.format == "parquet")
                    .filter_map(|f| f.rows)
                    .sum::<u64>() as usize;
                warehouse.record_step(
                    run_id,
                    "publish",
                    None,
                    step_start,
                    "succeeded",
                    manifest.files.len(),
                    rows_published,
                    None,
                )?;
                for old in &published.pruned {
                    tracing::info!(run = %old, "removed an old published run (keep_runs)");
                }
                report.published_dir = Some(published.dir);
                report.manifest = Some(manifest);
                if report.failures.is_empty() {
                    if let Some(inputs) = &inputs {
                        warehouse.set_run_inputs(run_id, inputs)?;
                    }
                }
            }
            Err(e) => {
                let message = format!("publish: {e}");
                warehouse.record_step(
                    run_id,
                    "publish",
                    None,
                    step_start,
                    "failed",
                    0,
                    0,
                    Some(&message),
                )?;
                report.failures.push(message);
            }
        }
    }
    let summary = format!(
        "{} documents fetched ({} changed), {} loaded, {} observations, {} estimates, {} failures{}",
        report.documents_fetched,
        report.documents_changed,
        report.documents_loaded,
        report.observations_loaded,
        estimates,
        report.failures.len(),
        if report.cancelled { ", cancelled" } else { "" }
    );
    let summary_with_failures = if report.failures.is_empty() {
        summary
    } else {
        format!("{summary}: {}", report.failures.join("; "))
    };
    let status = if report.cancelled {
        "cancelled"
    } else if report.failed() {
        "failed"
    } else {
        "succeeded"
    };
    warehouse.finish_run(
        run_id,
        status,
        report.documents_loaded,
        report.observations_loaded,
        report.failures.len(),
        &summary_with_failures,
    )?;
    warehouse.close_with_snapshot(&config.outputs.snapshot_path())?;
    report.duration = started.elapsed();
    tracing::info!(run_id, status, "run finished");
    Ok(())
}
