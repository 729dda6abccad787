//! One run of the job: fetch every source, parse every new document, load it, estimate every cluster
//! design, publish. A failing source or document is recorded and the run goes on with the others; the
//! run's status says whether anything failed.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::locks;

use regstat_config::SourceConfig;
use regstat_config::{ClusterConfig, Config};
use regstat_estimate::{did2x2, Did2x2, Did2x2Input, PanelObs};
use regstat_ingest::{Archive, ArchivedDocument, Fetcher, IngestError, Source};
use regstat_transform::{parse_document, read_sdmx, Catalogue, ParsedDocument, RegionDictionary};
use regstat_warehouse::{
    ClusterRow, DocumentRecord, EstimateRow, IndicatorRow, LoadOutcome, Manifest, Warehouse,
};

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Lock(#[from] crate::locks::LockError),
    #[error(transparent)]
    Warehouse(#[from] regstat_warehouse::WarehouseError),
    #[error(transparent)]
    Ingest(#[from] regstat_ingest::IngestError),
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
    pub bytes_fetched: u64,
    /// Sources whose fetch and loads all succeeded in this run.
    pub succeeded_sources: Vec<String>,
    /// Stopped by SIGTERM or SIGINT between documents.
    pub cancelled: bool,
    pub duration: Duration,
    /// Everything that went wrong, each naming its source, document, sheet or cell.
    pub failures: Vec<String>,
    pub manifest: Option<Manifest>,
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

/// Cancels a run between documents: set by SIGTERM and SIGINT; the document being loaded finishes
/// (its transaction commits) and the run ends with status `cancelled`.
#[derive(Clone, Default)]
pub struct RunControl {
    cancel: Arc<AtomicBool>,
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
            cancel: Arc::default(),
            progress: Some(Arc::new(progress)),
        }
    }

    pub fn progress(&self, what: &str) {
        if let Some(p) = &self.progress {
            p(what);
        }
    }

    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
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

    conclude(config, warehouse, &mut report, control, started)?;
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
        RegionDictionary::builtin(),
        &indicator_rows(config),
        &cluster_rows(config),
    )?;
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
    let source = match Source::build(source_config, &config.http) {
        Ok(s) => s,
        Err(e) => {
            report
                .failures
                .push(format!("source {}: {e}", source_config.id));
            return Ok(());
        }
    };
    let fetched = match source.run(fetcher, archive).await {
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
    conclude(config, warehouse, &mut report, control, started)?;
    Ok(report)
}

/// The end of a run: estimates and published files (unless cancelled), the run's record, the snapshot.
fn conclude(
    config: &Config,
    mut warehouse: Warehouse,
    report: &mut RunReport,
    control: &RunControl,
    started: std::time::Instant,
) -> Result<(), PipelineError> {
    let run_id = report.run_id;
    let mut estimates = 0;
    if control.is_cancelled() {
        report.cancelled = true;
    } else {
        let step_start = chrono::Utc::now();
        let failures_before = report.failures.len();
        control.progress("estimating");
        let rows = estimate_clusters(config, &warehouse, run_id, report)?;
        estimates = rows.len();
        warehouse.store_estimates(&rows)?;
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
        std::fs::create_dir_all(&config.outputs.publish).map_err(|source| {
            regstat_warehouse::WarehouseError::Io {
                path: config.outputs.publish.clone(),
                source,
            }
        })?;
        let manifest = warehouse.publish(&config.outputs.publish, Some(run_id))?;
        let rows_published = manifest
            .files
            .iter()
            .map(|f| f.rows as usize)
            .sum::<usize>()
            / 2;
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
        report.manifest = Some(manifest);
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

fn record_of(source_id: &str, doc: &ArchivedDocument) -> DocumentRecord {
    DocumentRecord {
        sha256: doc.sha256.clone(),
        source_id: source_id.to_string(),
        url: doc.url.clone(),
        file_name: doc.file_name.clone(),
        fetched_at: doc.fetched_at,
        http_status: doc.http_status,
        etag: doc.etag.clone(),
        last_modified: doc.last_modified.clone(),
        content_type: doc.content_type.clone(),
        bytes: doc.bytes,
    }
}

/// Parses an archived workbook (or archive of workbooks) and names its indicators. SDMX takes the
/// streamed path, [`load_sdmx_streamed`].
fn parse_archived(
    config: &Config,
    source: Option<&SourceConfig>,
    file_name: &str,
    sha256: &str,
    bytes: &[u8],
) -> Result<ParsedDocument, regstat_transform::TransformError> {
    let sheets = source
        .map(|s| s.parser.sheets.as_slice())
        .unwrap_or_default();
    let mut parsed = parse_document(file_name, bytes, RegionDictionary::builtin(), sheets)?;
    let conflicts = pin_conflicts(config, file_name, &parsed.tables);
    parsed.problems.extend(conflicts);
    name_indicators(Some(config), &mut parsed.observations);
    for o in &mut parsed.observations {
        o.provenance.document_sha256 = sha256.to_string();
    }
    Ok(parsed)
}

/// Parses and loads one document; `replace` re-parses a loaded one (backfill).
#[allow(clippy::too_many_arguments)]
fn load_document(
    config: &Config,
    archive: &Archive,
    warehouse: &mut Warehouse,
    source: Option<&SourceConfig>,
    record: &DocumentRecord,
    run_id: i64,
    report: &mut RunReport,
    replace: bool,
) -> Result<(), PipelineError> {
    let source_id = record.source_id.as_str();
    if !replace && warehouse.is_loaded(&record.sha256)? {
        report.documents_already_loaded += 1;
        return Ok(());
    }
    let object = archive.object_path(&record.sha256);
    let head = read_head(&object).map_err(|source| IngestError::Archive {
        path: object.clone(),
        source,
    })?;
    if is_sdmx(&record.file_name, &head) {
        return load_sdmx_streamed(config, warehouse, &object, record, run_id, report);
    }
    let bytes = archive.read(&record.sha256)?;
    let parsed = match parse_archived(config, source, &record.file_name, &record.sha256, &bytes) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(document = %record.file_name, error = %e, "document did not parse");
            report.failures.push(format!("source {source_id}: {e}"));
            warehouse.record_failed_document(record, &e.to_string(), run_id)?;
            return Ok(());
        }
    };
    for p in &parsed.problems {
        report.failures.push(format!("source {source_id}: {p}"));
    }
    let result = if replace {
        warehouse.replace_document(record, &parsed.observations, &parsed.problems, run_id)
    } else {
        warehouse.load_document(record, &parsed.observations, &parsed.problems, run_id)
    };
    match result {
        Ok(LoadOutcome::Loaded(n)) => {
            report.documents_loaded += 1;
            report.observations_loaded += n;
            tracing::info!(document = %record.file_name, observations = n, problems = parsed.problems.len(), "document loaded");
        }
        Ok(LoadOutcome::AlreadyLoaded) => report.documents_already_loaded += 1,
        Err(e) => {
            tracing::error!(document = %record.file_name, error = %e, "document load rolled back");
            report
                .failures
                .push(format!("source {source_id}: {}: {e}", record.file_name));
            warehouse.record_failed_document(record, &e.to_string(), run_id)?;
        }
    }
    Ok(())
}

/// The 2x2 design of every configured cluster and indicator, on the warehouse's latest figures.
fn estimate_clusters(
    config: &Config,
    warehouse: &Warehouse,
    run_id: i64,
    report: &mut RunReport,
) -> Result<Vec<EstimateRow>, PipelineError> {
    let mut rows = Vec::new();
    for cluster in &config.clusters {
        let regions: Vec<String> = cluster
            .treated
            .iter()
            .chain(&cluster.control)
            .cloned()
            .collect();
        for indicator in &cluster.indicators {
            let points = warehouse.yearly_panel(indicator, &regions)?;
            if points.is_empty() {
                // Not a failure: the source that publishes it has not run yet (a daemon's first runs).
                tracing::warn!(cluster = %cluster.id, %indicator, "no figures yet; no estimate");
                continue;
            }
            let panel: Vec<PanelObs> = points
                .iter()
                .map(|p| PanelObs {
                    unit: p.region_code.clone(),
                    year: p.year,
                    value: p.value,
                })
                .collect();
            match panel_designs(run_id, cluster, indicator, &panel) {
                Ok((extra, twfe)) => {
                    rows.extend(extra);
                    if let Some(t) = twfe {
                        report.twfe.push(t);
                    }
                }
                Err(e) => report.failures.push(format!(
                    "cluster {} indicator {indicator}: TWFE: {e}",
                    cluster.id
                )),
            }
            if cluster.treated.len() > 1 {
                rows.extend(per_region(run_id, cluster, indicator, &panel, report));
            }
            let (pre_years, post_years) = design_years(cluster, &panel);
            let input = Did2x2Input {
                panel: &panel,
                treated: &cluster.treated,
                pre_years: &pre_years,
                post_years: &post_years,
                log_outcome: cluster.log_outcome,
            };
            match did2x2(&input) {
                Ok(result) => {
                    rows.extend(estimate_rows(
                        run_id,
                        cluster,
                        indicator,
                        &result,
                        &pre_years,
                        &post_years,
                    ));
                    report.estimates.push(EffectSummary {
                        cluster_id: cluster.id.clone(),
                        indicator_id: indicator.clone(),
                        result,
                        pre_years,
                        post_years,
                    });
                }
                Err(e) => {
                    tracing::error!(cluster = %cluster.id, %indicator, error = %e, "no estimate");
                    report
                        .failures
                        .push(format!("cluster {} indicator {indicator}: {e}", cluster.id));
                }
            }
        }
    }
    Ok(rows)
}

/// The configured before/after years, or by default every year before and from the treatment start.
fn design_years(cluster: &ClusterConfig, panel: &[PanelObs]) -> (Vec<i32>, Vec<i32>) {
    let years: BTreeSet<i32> = panel.iter().map(|p| p.year).collect();
    let pick = |configured: &[i32], default: &dyn Fn(i32) -> bool| -> Vec<i32> {
        if configured.is_empty() {
            years.iter().copied().filter(|y| default(*y)).collect()
        } else {
            configured.to_vec()
        }
    };
    let start = cluster.treatment_start;
    (
        pick(&cluster.pre_years, &|y| y < start),
        pick(&cluster.post_years, &|y| y >= start),
    )
}

fn estimate_rows(
    run_id: i64,
    cluster: &ClusterConfig,
    indicator: &str,
    r: &Did2x2,
    pre: &[i32],
    post: &[i32],
) -> Vec<EstimateRow> {
    let means = serde_json::json!({
        "treated_pre": r.treated_pre, "treated_post": r.treated_post,
        "control_pre": r.control_pre, "control_post": r.control_post,
        "effect_percent": r.effect_percent,
        "placebo": r.placebo,
    })
    .to_string();
    let base = EstimateRow {
        run_id,
        cluster_id: cluster.id.clone(),
        indicator_id: indicator.to_string(),
        method: "did2x2".into(),
        term: r.effect.term.clone(),
        estimate: r.effect.estimate,
        std_error: r.effect.se,
        t_stat: r.effect.t,
        p_value: r.effect.p,
        ci_low: r.effect.ci_low,
        ci_high: r.effect.ci_high,
        df: r.effect.df,
        n_obs: r.n_obs,
        n_treated: r.n_treated,
        n_control: r.n_control,
        pre_years: pre.to_vec(),
        post_years: post.to_vec(),
        log_outcome: cluster.log_outcome,
        vcov: r.vcov.clone(),
        means_json: means,
    };
    let mut rows = vec![base.clone()];
    if let Some(p) = &r.placebo {
        // The placebo row: same effect, its p-value from the rank among control regions; the standard
        // error is the placebo effects' standard deviation. No t interval is claimed.
        rows.push(EstimateRow {
            method: "did2x2_placebo".into(),
            std_error: p.sd,
            t_stat: r.effect.estimate / p.sd,
            p_value: p.p_value,
            ci_low: f64::NAN,
            ci_high: f64::NAN,
            df: f64::NAN,
            vcov: format!("placebo in space over {} control regions", p.effects.len()),
            ..base
        });
    }
    rows
}

/// The catalogue's indicators, then the config's (which win on the same id).
fn indicator_rows(config: &Config) -> Vec<IndicatorRow> {
    let mut rows: Vec<IndicatorRow> = Catalogue::builtin()
        .entries
        .iter()
        .filter(|e| !config.indicators.iter().any(|i| i.id == e.id))
        .map(|e| IndicatorRow {
            id: e.id.clone(),
            name: e.name.clone(),
            unit: e.unit.clone(),
            rosstat_tables: vec![],
            measure: Some(e.measure.clone()),
            publications: e.publications.clone(),
            origin: "catalogue".into(),
        })
        .collect();
    rows.extend(config.indicators.iter().map(|i| {
        let entry = Catalogue::builtin().entries.iter().find(|e| e.id == i.id);
        IndicatorRow {
            id: i.id.clone(),
            name: i.name.clone(),
            unit: i.unit.clone(),
            rosstat_tables: i.rosstat_tables.clone(),
            measure: entry.map(|e| e.measure.clone()),
            publications: entry.map(|e| e.publications.clone()).unwrap_or_default(),
            origin: "config".into(),
        }
    }));
    rows
}

/// Tables whose pin in the config takes a catalogue id the catalogue gives another series: the pinned
/// id would then hold two series (a code pinned from one edition meeting another edition, or a config
/// id that happens to be a catalogue id). The figures still load under the pin; the document carries
/// the problem so that a run says so.
fn pin_conflicts(
    config: &Config,
    file_name: &str,
    tables: &[regstat_transform::TableSummary],
) -> Vec<regstat_transform::ParseProblem> {
    let catalogue = Catalogue::builtin();
    tables
        .iter()
        .filter_map(|t| {
            let pinned = config.indicator_for_table(&t.code)?;
            let identified = catalogue.identify(&t.title)?;
            let pinned_is_catalogue_id = catalogue.entries.iter().any(|e| e.id == pinned.id);
            (pinned_is_catalogue_id && identified.id != pinned.id).then(|| {
                regstat_transform::ParseProblem {
                    location: regstat_transform::Location {
                        file: file_name.to_string(),
                        sheet: Some(t.sheet.clone()),
                        cell: None,
                    },
                    expected: format!(
                        "table {} (pinned to indicator {}) to be the series the catalogue calls {}; \
                         rename the configured indicator or drop its pin",
                        t.code, pinned.id, pinned.id
                    ),
                    found: format!("{}, which the catalogue identifies as {}", t.title, identified.id),
                }
            })
        })
        .collect()
}

/// Gives every figure its indicator ([`indicator_for`]), deciding once per table: figures come table by
/// table, so the last decision is reused while the table stays the same.
pub fn name_indicators(
    config: Option<&Config>,
    observations: &mut [regstat_transform::Observation],
) {
    let mut last: Option<(String, String, Option<String>)> = None;
    for o in observations {
        let (code, title) = (&o.provenance.table_code, &o.provenance.table_title);
        let same_table = last
            .as_ref()
            .is_some_and(|(c, t, _)| c == code && t == title);
        if !same_table {
            let id = indicator_for(config, code, title);
            last = Some((code.clone(), title.clone(), id));
        }
        if let Some((_, _, Some(id))) = &last {
            o.indicator = id.clone();
        }
    }
}

/// The indicator of a parsed table: pinned by the config's table codes, else identified by the
/// catalogue from its title, else the table-derived id the parser gave.
pub fn indicator_for(
    config: Option<&Config>,
    table_code: &str,
    table_title: &str,
) -> Option<String> {
    config
        .and_then(|c| c.indicator_for_table(table_code))
        .map(|i| i.id.clone())
        .or_else(|| {
            Catalogue::builtin()
                .identify(table_title)
                .map(|e| e.id.clone())
        })
}

fn cluster_rows(config: &Config) -> Vec<ClusterRow> {
    config
        .clusters
        .iter()
        .map(|c| ClusterRow {
            id: c.id.clone(),
            name: c.name.clone(),
            treated: c.treated.clone(),
            control: c.control.clone(),
            treatment_start: c.treatment_start,
            indicators: c.indicators.clone(),
        })
        .collect()
}

/// TWFE over every year (region and year effects, CR1 by region, a wild cluster bootstrap because
/// regions are few) and an event study around the treatment start (leads and lags binned at -5 and
/// +5, reference -1, with the joint pre-trend test), on logs when the cluster says so.
fn panel_designs(
    run_id: i64,
    cluster: &ClusterConfig,
    indicator: &str,
    panel: &[PanelObs],
) -> Result<(Vec<EstimateRow>, Option<TwfeSummary>), regstat_estimate::EstimateError> {
    use regstat_estimate::{estimate, BootWeights, BootstrapSpec, Method, Panel, Spec, Treatment};
    let mut values = Vec::with_capacity(panel.len());
    for p in panel {
        if cluster.log_outcome && p.value <= 0.0 {
            return Err(regstat_estimate::EstimateError::NonPositiveForLog(
                p.value,
                p.unit.clone(),
                p.year,
            ));
        }
        values.push(if cluster.log_outcome {
            p.value.ln()
        } else {
            p.value
        });
    }
    let data = Panel {
        unit: panel.iter().map(|p| p.unit.clone()).collect(),
        time: panel.iter().map(|p| p.year as i64).collect(),
        outcomes: vec![(indicator.to_string(), values)],
        covariates: vec![],
        treatment: Treatment::Cohort {
            name: "treated".into(),
            values: panel
                .iter()
                .map(|p| {
                    cluster
                        .treated
                        .contains(&p.unit)
                        .then_some(cluster.treatment_start as i64)
                })
                .collect(),
        },
        weights: None,
        cluster: vec![],
    };
    let base = |method: &str, term: &str| EstimateRow {
        run_id,
        cluster_id: cluster.id.clone(),
        indicator_id: indicator.to_string(),
        method: method.into(),
        term: term.into(),
        estimate: f64::NAN,
        std_error: f64::NAN,
        t_stat: f64::NAN,
        p_value: f64::NAN,
        ci_low: f64::NAN,
        ci_high: f64::NAN,
        df: f64::NAN,
        n_obs: panel.len(),
        n_treated: cluster.treated.len(),
        n_control: cluster.control.len(),
        pre_years: vec![],
        post_years: vec![],
        log_outcome: cluster.log_outcome,
        vcov: String::new(),
        means_json: "{}".into(),
    };
    let from_coef = |method: &str, c: &regstat_estimate::Coefficient, vcov: &str| EstimateRow {
        estimate: c.estimate,
        std_error: c.se,
        t_stat: c.t,
        p_value: c.p,
        ci_low: c.ci_low,
        ci_high: c.ci_high,
        df: c.df,
        vcov: vcov.to_string(),
        ..base(method, &c.term)
    };
    let mut rows = Vec::new();
    let twfe_spec = Spec {
        method: Method::Twfe,
        bootstrap: Some(BootstrapSpec {
            weights: BootWeights::Webb,
            reps: 9999,
            seed: 20261122,
            alpha: 0.05,
        }),
        ..Spec::default()
    };
    let twfe = estimate(&data, &twfe_spec)?.remove(0);
    let main = &twfe.estimates[0];
    rows.push(from_coef("twfe", main, &twfe.vcov));
    if let Some(b) = &twfe.bootstrap {
        rows.push(EstimateRow {
            estimate: main.estimate,
            p_value: b.p,
            ci_low: b.ci_low,
            ci_high: b.ci_high,
            vcov: format!("{}, {} draws", b.kind, b.reps),
            ..base("twfe_wild_bootstrap", &main.term)
        });
    }
    let es_spec = Spec {
        method: Method::EventStudy,
        window: Some((-5, 5)),
        ..Spec::default()
    };
    match estimate(&data, &es_spec) {
        Ok(mut es) => {
            let es = es.remove(0);
            for c in es
                .estimates
                .iter()
                .filter(|c| c.term.starts_with("rel_time::"))
            {
                rows.push(from_coef("event_study", c, &es.vcov));
            }
            if let Some(p) = &es.pretrend {
                rows.push(EstimateRow {
                    t_stat: p.stat,
                    p_value: p.p,
                    df: p.df as f64,
                    vcov: format!("joint Wald F test of {} leads, {}", p.df, es.vcov),
                    ..base("event_study", "pretrend_wald")
                });
            }
        }
        Err(e) => tracing::warn!(cluster = %cluster.id, indicator, error = %e, "no event study"),
    }
    Ok((
        rows,
        Some(TwfeSummary {
            cluster_id: cluster.id.clone(),
            indicator_id: indicator.to_string(),
            report: twfe,
        }),
    ))
}

/// With several treated regions, the 2x2 of each against the control pool.
fn per_region(
    run_id: i64,
    cluster: &ClusterConfig,
    indicator: &str,
    panel: &[PanelObs],
    report: &mut RunReport,
) -> Vec<EstimateRow> {
    let mut rows = Vec::new();
    for region in &cluster.treated {
        let own: Vec<PanelObs> = panel
            .iter()
            .filter(|p| p.unit == *region || cluster.control.contains(&p.unit))
            .cloned()
            .collect();
        let (pre, post) = design_years(cluster, &own);
        let treated = [region.clone()];
        let input = Did2x2Input {
            panel: &own,
            treated: &treated,
            pre_years: &pre,
            post_years: &post,
            log_outcome: cluster.log_outcome,
        };
        match did2x2(&input) {
            Ok(r) => {
                for mut row in estimate_rows(run_id, cluster, indicator, &r, &pre, &post) {
                    row.term = format!("treated_x_post[{region}]");
                    rows.push(row);
                }
            }
            Err(e) => report.failures.push(format!(
                "cluster {} indicator {indicator} region {region}: {e}",
                cluster.id
            )),
        }
    }
    rows
}

fn read_head(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut head = Vec::with_capacity(512);
    std::fs::File::open(path)?
        .take(512)
        .read_to_end(&mut head)?;
    Ok(head)
}

/// SDMX goes from the archived file through the reader straight into the warehouse's appender, in one
/// transaction: memory stays bounded whatever the file's size.
fn load_sdmx_streamed(
    config: &Config,
    warehouse: &mut Warehouse,
    object: &std::path::Path,
    record: &DocumentRecord,
    run_id: i64,
    report: &mut RunReport,
) -> Result<(), PipelineError> {
    let source_id = record.source_id.as_str();
    let file = std::fs::File::open(object).map_err(|source| IngestError::Archive {
        path: object.to_path_buf(),
        source,
    })?;
    let mut problems_seen = Vec::new();
    let result = warehouse.load_streamed(record, run_id, |push| {
        read_sdmx(
            &record.file_name,
            std::io::BufReader::new(file),
            RegionDictionary::builtin(),
            |mut o| {
                o.provenance.document_sha256 = record.sha256.clone();
                if let Some(i) = config.indicator_for_emiss(&o.provenance.table_code) {
                    o.indicator = i.id.clone();
                }
                if push(&o) {
                    Ok(())
                } else {
                    Err(regstat_transform::TransformError::Workbook {
                        file: record.file_name.clone(),
                        reason: "the warehouse refused an observation".into(),
                    })
                }
            },
        )
        .map(|summary| {
            problems_seen = summary.problems.clone();
            summary.problems
        })
    });
    let error = match result {
        Ok(Ok(outcome)) => {
            if let LoadOutcome::Loaded(n) = outcome {
                report.documents_loaded += 1;
                report.observations_loaded += n;
                tracing::info!(document = %record.file_name, observations = n, problems = problems_seen.len(), "document loaded");
            }
            report.failures.extend(
                problems_seen
                    .iter()
                    .map(|p| format!("source {source_id}: {p}")),
            );
            return Ok(());
        }
        Ok(Err(parse)) => parse.to_string(),
        Err(load) => format!("{}: {load}", record.file_name),
    };
    tracing::error!(document = %record.file_name, error = %error, "document not loaded");
    report.failures.push(format!("source {source_id}: {error}"));
    warehouse.record_failed_document(record, &error, run_id)?;
    Ok(())
}

/// EMISS documents are SDMX XML; everything else is a workbook or an archive of workbooks.
fn is_sdmx(file_name: &str, bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(512)];
    file_name.to_lowercase().ends_with(".xml")
        || (head.starts_with(b"<?xml") && String::from_utf8_lossy(head).contains("GenericData"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(indicator_id: &str) -> Config {
        Config::parse(&format!(
            r#"
[outputs]
warehouse = "w.duckdb"
archive = "a"
publish = "p"

[[sources]]
id = "industry"
kind = "workbook"
url = "https://rosstat.gov.ru/storage/mediabank/industry.xlsx"
schedule = "0 6 * * Mon"

[[indicators]]
id = "{indicator_id}"
name = "Индекс производства"
unit = "процентов"
rosstat_tables = ["12.5.1"]
"#
        ))
        .expect("valid config")
    }

    fn table(code: &str, title: &str) -> regstat_transform::TableSummary {
        regstat_transform::TableSummary {
            sheet: format!("{code}."),
            code: code.into(),
            title: title.into(),
            unit: String::new(),
            grid_cells: 0,
            values: 0,
            statuses: 0,
            rejected: 0,
        }
    }

    const OKVED_2000: &str =
        "ИНДЕКСЫ ПРОИЗВОДСТВА ПО ВИДУ ДЕЯТЕЛЬНОСТИ «ОБРАБАТЫВАЮЩИЕ ПРОИЗВОДСТВА» (по ОКВЭД (2000-2016 гг.))";

    #[test]
    fn a_pin_that_takes_another_series_catalogue_id_is_a_problem() {
        // The catalogue's manufacturing_index is the OKVED2 series; pinning the 2000-2016 table to it
        // would put two series under one id.
        let problems = pin_conflicts(
            &config("manufacturing_index"),
            "Раздел 12.xlsx",
            &[table("12.5.1", OKVED_2000)],
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        let text = problems[0].to_string();
        assert!(
            text.starts_with("Раздел 12.xlsx, sheet '12.5.1.'"),
            "{text}"
        );
        assert!(text.contains("manufacturing_index_okved"), "{text}");
    }

    #[test]
    fn pins_to_the_same_series_or_to_new_ids_are_fine() {
        for id in ["manufacturing_index_okved", "my_manufacturing"] {
            let problems = pin_conflicts(&config(id), "x.xlsx", &[table("12.5.1", OKVED_2000)]);
            assert!(problems.is_empty(), "{id}: {problems:?}");
        }
        // A table the pin does not name is the catalogue's business alone.
        let problems = pin_conflicts(
            &config("manufacturing_index"),
            "x.xlsx",
            &[table("12.5.2", "something else")],
        );
        assert!(problems.is_empty());
    }
}
