//! Loading one parsed document: one transaction, the appender for the figures.

use chrono::{DateTime, NaiveDateTime, Utc};
use duckdb::params;
use regstat_transform::{Observation, ParseProblem};

use crate::error::{Context, WarehouseError};
use crate::Warehouse;

/// The archived document a load comes from (the warehouse does not depend on the ingest crate).
#[derive(Debug, Clone)]
pub struct DocumentRecord {
    pub sha256: String,
    pub source_id: String,
    pub url: String,
    pub file_name: String,
    pub fetched_at: DateTime<Utc>,
    pub http_status: u16,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub content_type: Option<String>,
    pub bytes: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadOutcome {
    /// Loaded now, with this many observations.
    Loaded(usize),
    /// The same document (by sha256) was loaded before; nothing was added.
    AlreadyLoaded,
}

/// Dimensions as a JSON object (`{"s_vozr": "Всего"}`), NULL when there are none.
fn naive(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc()
}

impl Warehouse {
    /// Whether a document's figures are in the warehouse (a failed attempt does not count).
    pub fn is_loaded(&self, sha256: &str) -> Result<bool, WarehouseError> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM source_document WHERE sha256 = ? AND load_status <> 'failed'",
                [sha256],
                |r| r.get(0),
            )
            .context("checking a document")?;
        Ok(n > 0)
    }

    /// Loads a document's observations and problems in one transaction. Loading the same document
    /// twice adds nothing.
    pub fn load_document(
        &mut self,
        doc: &DocumentRecord,
        observations: &[Observation],
        problems: &[ParseProblem],
        run_id: i64,
    ) -> Result<LoadOutcome, WarehouseError> {
        if self.is_loaded(&doc.sha256)? {
            return Ok(LoadOutcome::AlreadyLoaded);
        }
        self.replace_document(doc, observations, problems, run_id)
    }

    /// Writes a document's figures, replacing any earlier parse of the same bytes (a failed attempt, or
    /// a backfill after a parser change), in one transaction: readers see the old figures or the new,
    /// never a mix.
    pub fn replace_document(
        &mut self,
        doc: &DocumentRecord,
        observations: &[Observation],
        problems: &[ParseProblem],
        run_id: i64,
    ) -> Result<LoadOutcome, WarehouseError> {
        let outcome = self.load_streamed(doc, run_id, |push| {
            for o in observations {
                if !push(o) {
                    break;
                }
            }
            Ok::<_, std::convert::Infallible>(problems.to_vec())
        })?;
        Ok(outcome.unwrap_or_else(|never| match never {}))
    }

    /// Loads a document whose observations are produced as a stream (an SDMX file of any size): `produce`
    /// calls `push` with each observation (`false` back means stop: the load failed) and returns the
    /// problems it met, or its own error, which rolls the whole document back and comes back as
    /// `Ok(Err(e))`. One transaction either way; memory stays bounded by the appender's chunks.
    pub fn load_streamed<E>(
        &mut self,
        doc: &DocumentRecord,
        run_id: i64,
        produce: impl FnOnce(&mut dyn FnMut(&Observation) -> bool) -> Result<Vec<ParseProblem>, E>,
    ) -> Result<Result<LoadOutcome, E>, WarehouseError> {
        let tx = self
            .conn
            .transaction()
            .context("beginning a document load")?;
        // A failed attempt, or the figures of an earlier parse, are replaced.
        tx.execute(
            "DELETE FROM observation WHERE document_sha256 = ?",
            [&doc.sha256],
        )
        .context("clearing an earlier parse")?;
        tx.execute(
            "DELETE FROM document_problem WHERE document_sha256 = ?",
            [&doc.sha256],
        )
        .context("clearing old problems")?;
        tx.execute(
            "DELETE FROM source_document WHERE sha256 = ?",
            [&doc.sha256],
        )
        .context("clearing a failed attempt")?;
        let mut count = 0usize;
        let mut append_error: Option<WarehouseError> = None;
        let produced = {
            let mut app = tx
                .appender("observation")
                .context("opening the observation appender")?;
            let vintage = naive(doc.fetched_at);
            let mut push = |o: &Observation| -> bool {
                let appended = app
                    .append_row(params![
                        o.indicator,
                        o.region_code.as_str(),
                        o.period.to_string(),
                        o.period.period_type().as_str(),
                        o.period.year(),
                        o.value,
                        o.unit,
                        o.status.as_str(),
                        (!o.footnotes.is_empty()).then(|| o.footnotes.join("\n")),
                        o.region_label,
                        doc.sha256,
                        o.provenance.sheet,
                        o.provenance.cell.as_str(),
                        o.provenance.table_code,
                        o.provenance.table_title,
                        vintage,
                        run_id,
                        o.dimensions_json(),
                        o.basis,
                    ])
                    .context(&format!(
                        "appending {} {}",
                        o.provenance.sheet, o.provenance.cell
                    ));
                match appended {
                    Ok(()) => {
                        count += 1;
                        true
                    }
                    Err(e) => {
                        append_error = Some(e);
                        false
                    }
                }
            };
            let produced = produce(&mut push);
            // Flush explicitly: an appender's Drop flushes too but swallows the error (a key violation).
            if append_error.is_none() {
                if let Err(e) = app.flush().context("flushing observations") {
                    append_error = Some(e);
                }
            }
            produced
        };
        if let Some(e) = append_error {
            return Err(e);
        }
        let problems = match produced {
            Ok(p) => p,
            Err(e) => return Ok(Err(e)),
        };
        let status = if problems.is_empty() {
            "loaded"
        } else {
            "loaded_with_problems"
        };
        insert_document(&tx, doc, run_id, status, None, count)?;
        {
            let mut app = tx
                .appender("document_problem")
                .context("opening the problem appender")?;
            for p in &problems {
                app.append_row(params![
                    doc.sha256,
                    p.location.sheet,
                    p.location.cell,
                    p.expected,
                    p.found
                ])
                .context("appending a problem")?;
            }
            app.flush().context("flushing problems")?;
        }
        tx.commit().context("committing a document load")?;
        Ok(Ok(LoadOutcome::Loaded(count)))
    }

    /// Records a document that could not be parsed at all, with the error, so that it is visible in
    /// the warehouse and retried by the next run.
    pub fn record_failed_document(
        &mut self,
        doc: &DocumentRecord,
        error: &str,
        run_id: i64,
    ) -> Result<(), WarehouseError> {
        let tx = self
            .conn
            .transaction()
            .context("beginning a failure record")?;
        tx.execute(
            "DELETE FROM source_document WHERE sha256 = ? AND load_status = 'failed'",
            [&doc.sha256],
        )
        .context("clearing a failed attempt")?;
        insert_document(&tx, doc, run_id, "failed", Some(error), 0)?;
        tx.commit().context("committing a failure record")
    }
}

fn insert_document(
    tx: &duckdb::Transaction<'_>,
    doc: &DocumentRecord,
    run_id: i64,
    status: &str,
    error: Option<&str>,
    observations: usize,
) -> Result<(), WarehouseError> {
    tx.execute(
        "INSERT INTO source_document VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, now(), ?, ?, ?)",
        params![
            doc.sha256,
            doc.source_id,
            doc.url,
            doc.file_name,
            naive(doc.fetched_at),
            doc.http_status,
            doc.etag,
            doc.last_modified,
            doc.content_type,
            doc.bytes as i64,
            run_id,
            status,
            error,
            observations as i64,
        ],
    )
    .context("recording a source document")?;
    Ok(())
}
