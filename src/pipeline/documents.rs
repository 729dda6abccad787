//! One document from the archive into the warehouse: workbooks and archives parsed whole, SDMX
//! streamed; either way in one transaction.

use regstat_config::{Config, SourceConfig};
use regstat_ingest::{Archive, ArchivedDocument, IngestError};
use regstat_transform::{parse_document, read_sdmx, ParsedDocument};
use regstat_warehouse::{DocumentRecord, LoadOutcome, Warehouse};

use super::indicators::{name_indicators, pin_conflicts};
use super::{PipelineError, RunReport};

pub(super) fn record_of(source_id: &str, doc: &ArchivedDocument) -> DocumentRecord {
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
pub(super) fn parse_archived(
    config: &Config,
    source: Option<&SourceConfig>,
    file_name: &str,
    sha256: &str,
    bytes: &[u8],
) -> Result<ParsedDocument, regstat_transform::TransformError> {
    let sheets = source
        .map(|s| s.parser.sheets.as_slice())
        .unwrap_or_default();
    // A regional office's documents resolve their subject's municipal labels too.
    let regions = config.regions_for(source);
    let regions = regions.as_ref();
    let mut parsed = match source.map(|s| &s.kind) {
        // An analyst's table names its own indicators (`<source id>:<key>`): never renamed by the
        // catalogue, whose titles could match and mix its figures into a region's series.
        Some(regstat_config::SourceKind::File(mapping)) => {
            regstat_transform::table_file::read_table_file(file_name, bytes, mapping, regions)?
        }
        _ => {
            let mut parsed = parse_document(file_name, bytes, regions, sheets)?;
            let conflicts = pin_conflicts(config, file_name, &parsed.tables);
            parsed.problems.extend(conflicts);
            name_indicators(Some(config), &mut parsed.observations);
            parsed
        }
    };
    let sha256: std::sync::Arc<str> = sha256.into();
    for o in &mut parsed.observations {
        o.provenance.document_sha256 = sha256.clone();
    }
    Ok(parsed)
}

/// Parses and loads one document; `replace` re-parses a loaded one (backfill).
#[allow(clippy::too_many_arguments)]
pub(super) fn load_document(
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

pub(super) fn read_head(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut head = Vec::with_capacity(512);
    std::fs::File::open(path)?
        .take(512)
        .read_to_end(&mut head)?;
    Ok(head)
}

/// SDMX goes from the archived file through the reader straight into the warehouse's appender, in one
/// transaction: memory stays bounded whatever the file's size.
pub(super) fn load_sdmx_streamed(
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
        let sha256: std::sync::Arc<str> = record.sha256.as_str().into();
        read_sdmx(
            &record.file_name,
            std::io::BufReader::new(file),
            config.regions(),
            |mut o| {
                o.provenance.document_sha256 = sha256.clone();
                super::indicators::name_sdmx_indicator(Some(config), &mut o);
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
pub(super) fn is_sdmx(file_name: &str, bytes: &[u8]) -> bool {
    regstat_transform::document_kind(file_name, bytes) == regstat_transform::DocumentKind::Sdmx
}
