//! Runs, reference tables, panels for the estimators, and estimates.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use duckdb::params;
use regstat_transform::RegionDictionary;

use crate::error::{Context, WarehouseError};
use crate::Warehouse;

/// A figure's dimensions beyond region and period, dimension -> value.
pub type Dimensions = BTreeMap<String, String>;

/// The dimensions stored as text (`{"category":"пенсии"}`; empty: none). Written by the loader
/// as a JSON object of strings; anything else matches no selection.
fn dimensions_of(text: &str) -> Dimensions {
    if text.is_empty() {
        return Dimensions::new();
    }
    serde_json::from_str(text).unwrap_or_default()
}

/// What the units of a yearly panel are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanelUnit {
    /// Regions, by `region_code`.
    Region,
    /// Municipal formations, by their `municipality` dimension (the series code).
    Municipality,
}

#[derive(Debug, Clone)]
pub struct IndicatorRow {
    pub id: String,
    pub name: String,
    pub unit: String,
    pub rosstat_tables: Vec<String>,
    pub measure: Option<String>,
    pub publications: Vec<String>,
    /// `catalogue` or `config`.
    pub origin: String,
}

#[derive(Debug, Clone)]
pub struct ClusterRow {
    pub id: String,
    pub name: String,
    pub treated: Vec<String>,
    pub control: Vec<String>,
    pub treatment_start: i32,
    pub indicators: Vec<String>,
}

/// One yearly figure of a region, with where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelPoint {
    pub region_code: String,
    pub year: i32,
    pub value: f64,
    pub document_sha256: String,
    pub sheet: String,
    pub cell: String,
}

/// One fetch as `fetch_attempt` stores it (the pipeline maps ingest's attempts to these).
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    pub url: String,
    pub file_name: String,
    pub at: chrono::DateTime<chrono::Utc>,
    /// `fetched`, `unchanged` or `failed`.
    pub outcome: &'static str,
    pub http_status: Option<u16>,
    pub sha256: Option<String>,
    pub bytes: Option<u64>,
    pub error: Option<String>,
    pub detail: Option<String>,
}

#[derive(Debug, Clone)]
pub struct EstimateRow {
    pub run_id: i64,
    pub cluster_id: String,
    pub indicator_id: String,
    pub method: String,
    pub term: String,
    pub estimate: f64,
    pub std_error: f64,
    pub t_stat: f64,
    pub p_value: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub df: f64,
    pub n_obs: usize,
    pub n_treated: usize,
    pub n_control: usize,
    pub pre_years: Vec<i32>,
    pub post_years: Vec<i32>,
    pub log_outcome: bool,
    pub vcov: String,
    pub means_json: String,
    /// `headline` or `beside`: the row's part in the cluster's design.
    pub role: Option<String>,
    /// Why the design was chosen, or why it could not be estimated.
    pub reason: Option<String>,
}

/// One figure of the panel a cluster design was estimated on.
#[derive(Debug, Clone, PartialEq)]
pub struct EstimatePanelRow {
    pub run_id: i64,
    pub cluster_id: String,
    pub indicator_id: String,
    pub unit: String,
    pub year: i32,
    pub value: f64,
    /// ln(value) when the cluster estimates on logs, else the value.
    pub outcome: f64,
    /// The region's adoption year, 0 for a control region.
    pub cohort: i32,
    pub document_sha256: String,
    pub sheet: String,
    pub cell: String,
}

/// An effect at one time relative to adoption (event study, CS dynamic aggregation, Sun-Abraham).
#[derive(Debug, Clone, PartialEq)]
pub struct EventTimeRow {
    pub method: String,
    pub rel_time: i64,
    pub estimate: f64,
    pub std_error: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub band_low: f64,
    pub band_high: f64,
    pub is_reference: bool,
}

/// One CS group-time effect.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupTimeRow {
    pub cohort: i64,
    pub year: i64,
    pub estimate: f64,
    pub std_error: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub band_low: f64,
    pub band_high: f64,
    pub post: bool,
}

/// One SC/SDID weight: a donor region's (`kind` unit) or a pre-treatment year's (`kind` year).
#[derive(Debug, Clone, PartialEq)]
pub struct WeightRow {
    pub method: String,
    pub kind: &'static str,
    pub unit: Option<String>,
    pub year: Option<i64>,
    pub weight: f64,
}

/// What one cluster and indicator's designs estimated beyond their headline rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EstimateDetails {
    pub run_id: i64,
    pub cluster_id: String,
    pub indicator_id: String,
    pub event_times: Vec<EventTimeRow>,
    pub group_times: Vec<GroupTimeRow>,
    pub weights: Vec<WeightRow>,
    pub tests: Vec<TestRow>,
    pub placebos: Vec<PlaceboRow>,
}

/// A hypothesis test of a design (the event study's joint pre-trend test).
#[derive(Debug, Clone, PartialEq)]
pub struct TestRow {
    pub method: String,
    pub test: String,
    pub statistic: f64,
    pub df1: usize,
    /// NaN for a chi-square test.
    pub df2: f64,
    pub p_value: f64,
    pub tested: usize,
    pub description: String,
}

/// A document as a publisher's list page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListingRecord {
    pub url: String,
    pub title: String,
    pub found_on: String,
    pub published: Option<chrono::NaiveDate>,
    pub size: Option<String>,
    pub doc_type: String,
}

/// One region's placebo effect when it pretends to be treated.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceboRow {
    pub method: String,
    pub term: String,
    pub region_code: String,
    pub effect: f64,
    /// SC's post/pre RMSPE ratio; NaN for the 2x2.
    pub rmspe_ratio: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    pub run_id: i64,
    pub started_at: NaiveDateTime,
    pub finished_at: Option<NaiveDateTime>,
    pub status: String,
    pub documents: Option<i64>,
    pub observations: Option<i64>,
    pub failures: Option<i64>,
    pub summary: Option<String>,
}

/// A joined list parameter as a `VARCHAR[]` (empty text: the empty list).
const SPLIT_TEXT: &str = "coalesce(string_split(nullif(?, ''), ','), []::VARCHAR[])";
/// A joined list parameter as an `INTEGER[]`.
const SPLIT_YEARS: &str = "coalesce(string_split(nullif(?, ''), ',')::INTEGER[], []::INTEGER[])";

fn join<T: ToString>(items: &[T]) -> String {
    items.iter().map(T::to_string).collect::<Vec<_>>().join(",")
}

/// A stored number: NULL where it does not apply (NaN or infinite), so SQL aggregates skip it and
/// `IS NULL` finds it.
fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

impl Warehouse {
    /// A digest of every figure (document, cell, indicator, region, value): equal digests mean the
    /// figures estimates are made from have not changed.
    pub fn figures_digest(&self) -> Result<String, WarehouseError> {
        self.conn
            .query_row(
                "SELECT count(*)::VARCHAR || ':' || coalesce(bit_xor(hash(document_sha256, sheet, cell,
                        indicator_id, region_code, value, vintage))::VARCHAR, '0')
                 FROM observation",
                [],
                |r| r.get(0),
            )
            .context("digesting the figures")
    }

    /// The last run that estimated and published, with its inputs digest.
    pub fn last_published_inputs(&self) -> Result<Option<(i64, String)>, WarehouseError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT run_id, inputs FROM run WHERE inputs IS NOT NULL ORDER BY run_id DESC LIMIT 1",
            )
            .context("finding the last published run")?;
        let mut rows = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .context("finding the last published run")?;
        rows.next()
            .transpose()
            .context("finding the last published run")
    }

    /// Records what a run's estimates and published files derive from.
    pub fn set_run_inputs(&self, run_id: i64, inputs: &str) -> Result<(), WarehouseError> {
        self.conn
            .execute(
                "UPDATE run SET inputs = ? WHERE run_id = ?",
                duckdb::params![inputs, run_id],
            )
            .context("recording a run's inputs")?;
        Ok(())
    }

    /// Records a source's fetch attempts in `fetch_attempt`.
    pub fn record_attempts(
        &self,
        run_id: i64,
        source_id: &str,
        attempts: &[AttemptRecord],
    ) -> Result<(), WarehouseError> {
        let mut stmt = self
            .conn
            .prepare(
                "INSERT INTO fetch_attempt (run_id, source_id, url, file_name, attempted_at, outcome,
                     http_status, sha256, bytes, error, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .context("recording fetch attempts")?;
        for a in attempts {
            stmt.execute(duckdb::params![
                run_id,
                source_id,
                a.url,
                a.file_name,
                a.at.naive_utc(),
                a.outcome,
                a.http_status,
                a.sha256,
                a.bytes.map(|b| b as i64),
                a.error,
                a.detail,
            ])
            .context("recording a fetch attempt")?;
        }
        Ok(())
    }

    /// Records what a source's list pages offered this run: new documents are added, known ones
    /// updated (title, page, date and size as now listed) and marked seen.
    pub fn record_listing(
        &self,
        run_id: i64,
        source_id: &str,
        listed: &[ListingRecord],
    ) -> Result<(), WarehouseError> {
        let mut stmt = self
            .conn
            .prepare(
                "INSERT INTO document_listing (source_id, url, title, found_on, published_on, size, doc_type,
                     first_seen, last_seen, last_run_id) VALUES (?, ?, ?, ?, ?, ?, ?, now(), now(), ?)
                 ON CONFLICT (source_id, url) DO UPDATE SET title = excluded.title,
                     found_on = excluded.found_on, published_on = excluded.published_on,
                     size = excluded.size, doc_type = excluded.doc_type, last_seen = now(),
                     last_run_id = excluded.last_run_id",
            )
            .context("recording the document listing")?;
        for l in listed {
            stmt.execute(duckdb::params![
                source_id,
                l.url,
                l.title,
                l.found_on,
                l.published,
                l.size,
                l.doc_type,
                run_id,
            ])
            .context("recording a listed document")?;
        }
        Ok(())
    }

    /// Marks runs left `running` as `interrupted`, with what they had committed (documents
    /// loaded and observations). Called by a run holding the run lock, so a `running` row is a
    /// process that was killed or crashed. Returns the runs marked.
    pub fn mark_interrupted_runs(&self) -> Result<Vec<i64>, WarehouseError> {
        let mut stmt = self
            .conn
            .prepare("SELECT run_id FROM run WHERE status = 'running' ORDER BY run_id")
            .context("finding interrupted runs")?;
        let runs: Vec<i64> = stmt
            .query_map([], |r| r.get(0))
            .context("finding interrupted runs")?
            .collect::<Result<_, _>>()
            .context("finding interrupted runs")?;
        for run in &runs {
            self.conn
                .execute(
                    "UPDATE run SET status = 'interrupted',
                        finished_at = coalesce((SELECT max(loaded_at) FROM source_document WHERE run_id = ?1), started_at),
                        documents = (SELECT count(*) FROM source_document WHERE run_id = ?1 AND load_status LIKE 'loaded%'),
                        observations = (SELECT count(*) FROM observation WHERE run_id = ?1),
                        failures = coalesce(failures, 0),
                        summary = 'interrupted: the process ended without finishing (killed or crashed); '
                            || (SELECT count(*) FROM source_document WHERE run_id = ?1 AND load_status LIKE 'loaded%')
                            || ' documents and '
                            || (SELECT count(*) FROM observation WHERE run_id = ?1)
                            || ' observations had committed; the rest load on a later run'
                     WHERE run_id = ?1",
                    [run],
                )
                .context("marking an interrupted run")?;
        }
        Ok(runs)
    }

    pub fn begin_run(&self) -> Result<i64, WarehouseError> {
        let run_id: i64 = self
            .conn
            .query_row("SELECT coalesce(max(run_id), 0) + 1 FROM run", [], |r| {
                r.get(0)
            })
            .context("numbering a run")?;
        self.conn
            .execute(
                "INSERT INTO run (run_id, started_at, status) VALUES (?, now(), 'running')",
                [run_id],
            )
            .context("starting a run")?;
        Ok(run_id)
    }

    /// Records one step of a run.
    #[allow(clippy::too_many_arguments)]
    pub fn record_step(
        &self,
        run_id: i64,
        step: &str,
        source_id: Option<&str>,
        started_at: chrono::DateTime<chrono::Utc>,
        status: &str,
        documents: usize,
        observations: usize,
        error: Option<&str>,
    ) -> Result<(), WarehouseError> {
        self.conn
            .execute(
                "INSERT INTO run_step VALUES (?, ?, ?, ?, now(), ?, ?, ?, ?)",
                params![
                    run_id,
                    step,
                    source_id,
                    started_at.naive_utc(),
                    status,
                    documents as i64,
                    observations as i64,
                    error
                ],
            )
            .context("recording a run step")?;
        Ok(())
    }

    /// Ends a run with its status (`succeeded`, `failed`, `cancelled`) and counts.
    pub fn finish_run(
        &self,
        run_id: i64,
        status: &str,
        documents: usize,
        observations: usize,
        failures: usize,
        summary: &str,
    ) -> Result<(), WarehouseError> {
        self.conn
            .execute(
                "UPDATE run SET finished_at = now(), status = ?, documents = ?, observations = ?, failures = ?, summary = ? WHERE run_id = ?",
                params![status, documents as i64, observations as i64, failures as i64, summary, run_id],
            )
            .context("finishing a run")?;
        Ok(())
    }

    pub fn runs(&self) -> Result<Vec<RunSummary>, WarehouseError> {
        let mut stmt = self
            .conn
            .prepare("SELECT run_id, started_at, finished_at, status, documents, observations, failures, summary FROM run ORDER BY run_id")
            .context("listing runs")?;
        let rows = stmt
            .query_map([], |r| {
                Ok(RunSummary {
                    run_id: r.get(0)?,
                    started_at: r.get(1)?,
                    finished_at: r.get(2)?,
                    status: r.get(3)?,
                    documents: r.get(4)?,
                    observations: r.get(5)?,
                    failures: r.get(6)?,
                    summary: r.get(7)?,
                })
            })
            .context("listing runs")?;
        rows.collect::<Result<_, _>>().context("reading runs")
    }

    /// Replaces the reference tables (regions, indicators, clusters) with the current dictionary and
    /// config, in one transaction.
    pub fn sync_reference(
        &mut self,
        regions: &RegionDictionary,
        indicators: &[IndicatorRow],
        clusters: &[ClusterRow],
    ) -> Result<(), WarehouseError> {
        let tx = self
            .conn
            .transaction()
            .context("beginning reference sync")?;
        tx.execute_batch("DELETE FROM region; DELETE FROM indicator; DELETE FROM cluster;")
            .context("clearing reference tables")?;
        {
            let mut app = tx.appender("region").context("region appender")?;
            for e in regions.entries() {
                app.append_row(params![
                    e.code,
                    e.kind.as_str(),
                    e.parent,
                    e.iso,
                    e.oktmo,
                    e.name
                ])
                .context("appending a region")?;
            }
            app.flush().context("flushing regions")?;
        }
        {
            let mut app = tx.appender("indicator").context("indicator appender")?;
            for i in indicators {
                app.append_row(params![
                    i.id,
                    i.name,
                    i.unit,
                    join(&i.rosstat_tables),
                    i.measure,
                    i.publications.join("; "),
                    i.origin
                ])
                .context("appending an indicator")?;
            }
            app.flush().context("flushing indicators")?;
        }
        {
            // Lists cannot go through an appender (duckdb-rs: "appending List values is not yet
            // supported"): the ids travel joined and DuckDB splits them; ids have no commas.
            let mut insert = tx
                .prepare(&format!(
                    "INSERT INTO cluster VALUES (?, ?, {}, {}, ?, {})",
                    SPLIT_TEXT, SPLIT_TEXT, SPLIT_TEXT
                ))
                .context("cluster insert")?;
            for c in clusters {
                insert
                    .execute(params![
                        c.id,
                        c.name,
                        join(&c.treated),
                        join(&c.control),
                        c.treatment_start,
                        join(&c.indicators)
                    ])
                    .context("inserting a cluster")?;
            }
        }
        tx.commit().context("committing reference sync")
    }

    /// Replaces the `municipality` table with the formations of the classifier loaded; each
    /// subject's s_OKATO code from `regions`.
    pub fn sync_municipalities(
        &mut self,
        regions: &RegionDictionary,
        formations: &[regstat_transform::municipal::MunicipalEntry],
    ) -> Result<(), WarehouseError> {
        let subject_codes: std::collections::HashMap<&str, &str> = regions
            .entries()
            .iter()
            .filter(|e| e.kind == regstat_transform::RegionKind::Subject)
            .filter_map(|e| Some((e.oktmo.as_deref()?.get(..2)?, e.code.as_str())))
            .collect();
        let tx = self
            .conn
            .transaction()
            .context("beginning municipal sync")?;
        tx.execute_batch("DELETE FROM municipality;")
            .context("clearing municipalities")?;
        {
            let mut app = tx
                .appender("municipality")
                .context("municipality appender")?;
            for f in formations {
                app.append_row(params![
                    f.code,
                    f.series,
                    f.subject,
                    subject_codes.get(f.subject.as_str()).copied(),
                    f.name,
                    f.kind.as_str(),
                    (!f.centre.is_empty()).then_some(f.centre.as_str()),
                    f.source
                ])
                .context("appending a municipal formation")?;
            }
            app.flush().context("flushing municipalities")?;
        }
        tx.commit().context("committing municipal sync")
    }

    /// Maps the parser's table-derived indicator ids (`rosstat:10.2`) to configured indicators.
    pub fn assign_indicator(
        &self,
        table_code: &str,
        indicator_id: &str,
    ) -> Result<usize, WarehouseError> {
        self.conn
            .execute("UPDATE observation SET indicator_id = ? WHERE table_code = ? AND indicator_id <> ?", params![indicator_id, table_code, indicator_id])
            .context("assigning an indicator")
    }

    /// The sets of dimensions an indicator's yearly figures come in (each as the stored text and
    /// as a map; empty for figures without dimensions), in order.
    pub fn yearly_dimension_sets(
        &self,
        indicator_id: &str,
    ) -> Result<Vec<(String, Dimensions)>, WarehouseError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT DISTINCT coalesce(dimensions, '') FROM observation_latest
                 WHERE indicator_id = ? AND period_type = 'year' ORDER BY 1",
            )
            .context("preparing a dimensions query")?;
        let texts = stmt
            .query_map(params![indicator_id], |r| r.get::<_, String>(0))
            .context("querying dimensions")?
            .collect::<Result<Vec<_>, _>>()
            .context("reading dimensions")?;
        Ok(texts
            .into_iter()
            .map(|text| {
                let map = dimensions_of(&text);
                (text, map)
            })
            .collect())
    }

    /// The latest yearly figures of an indicator for the given units (values only, no
    /// statuses). A unit is a region (`region_code`) or a municipal formation (the
    /// `municipality` dimension, then not counted among the figure's dimensions); of its figures
    /// those whose other dimensions are exactly `dimensions` are taken (none: the figures
    /// without dimensions; a table split by category offers several figures per unit and year,
    /// and a panel takes one of them). Dimensions are matched as maps, whatever the key order of
    /// the stored text. Each point's `region_code` is its unit.
    pub fn yearly_panel(
        &self,
        indicator_id: &str,
        unit: PanelUnit,
        units: &[String],
        dimensions: &Dimensions,
    ) -> Result<Vec<PanelPoint>, WarehouseError> {
        let unit_of = match unit {
            PanelUnit::Region => "region_code",
            PanelUnit::Municipality => "json_extract_string(dimensions, '$.municipality')",
        };
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {unit_of} AS unit, year, value, document_sha256, sheet, cell,
                        coalesce(dimensions, '')
                 FROM observation_latest
                 WHERE indicator_id = ? AND period_type = 'year' AND status = 'ok' AND value IS NOT NULL
                   AND list_contains(string_split(?, ','), {unit_of})
                 ORDER BY unit, year"
            ))
            .context("preparing a panel query")?;
        let rows = stmt
            .query_map(params![indicator_id, join(units)], |r| {
                Ok((
                    PanelPoint {
                        region_code: r.get(0)?,
                        year: r.get(1)?,
                        value: r.get(2)?,
                        document_sha256: r.get(3)?,
                        sheet: r.get(4)?,
                        cell: r.get(5)?,
                    },
                    r.get::<_, String>(6)?,
                ))
            })
            .context("querying a panel")?;
        let mut points = Vec::new();
        for row in rows {
            let (point, text) = row.context("reading a panel")?;
            let mut map = dimensions_of(&text);
            if unit == PanelUnit::Municipality {
                map.remove("municipality");
            }
            if &map == dimensions {
                points.push(point);
            }
        }
        Ok(points)
    }

    /// Stores a run's estimates and the panels they were estimated on, in one transaction.
    pub fn store_estimates(
        &mut self,
        rows: &[EstimateRow],
        panels: &[EstimatePanelRow],
        details: &[EstimateDetails],
    ) -> Result<(), WarehouseError> {
        let tx = self.conn.transaction().context("beginning estimates")?;
        {
            let mut events = tx
                .appender("estimate_event_time")
                .context("event-time appender")?;
            for d in details {
                for e in &d.event_times {
                    events
                        .append_row(params![
                            d.run_id,
                            d.cluster_id,
                            d.indicator_id,
                            e.method,
                            e.rel_time,
                            finite(e.estimate),
                            finite(e.std_error),
                            finite(e.ci_low),
                            finite(e.ci_high),
                            finite(e.band_low),
                            finite(e.band_high),
                            e.is_reference,
                        ])
                        .context("appending an event-time effect")?;
                }
            }
            events.flush().context("flushing event-time effects")?;
            let mut cells = tx
                .appender("estimate_group_time")
                .context("group-time appender")?;
            for d in details {
                for g in &d.group_times {
                    cells
                        .append_row(params![
                            d.run_id,
                            d.cluster_id,
                            d.indicator_id,
                            g.cohort,
                            g.year,
                            finite(g.estimate),
                            finite(g.std_error),
                            finite(g.ci_low),
                            finite(g.ci_high),
                            finite(g.band_low),
                            finite(g.band_high),
                            g.post,
                        ])
                        .context("appending a group-time effect")?;
                }
            }
            cells.flush().context("flushing group-time effects")?;
            let mut weights = tx.appender("estimate_weight").context("weight appender")?;
            for d in details {
                for w in &d.weights {
                    weights
                        .append_row(params![
                            d.run_id,
                            d.cluster_id,
                            d.indicator_id,
                            w.method,
                            w.kind,
                            w.unit,
                            w.year,
                            finite(w.weight),
                        ])
                        .context("appending a weight")?;
                }
            }
            weights.flush().context("flushing weights")?;
        }
        {
            let mut app = tx
                .appender("estimate_panel")
                .context("estimate panel appender")?;
            for p in panels {
                app.append_row(params![
                    p.run_id,
                    p.cluster_id,
                    p.indicator_id,
                    p.unit,
                    p.year,
                    finite(p.value),
                    finite(p.outcome),
                    p.cohort,
                    p.document_sha256,
                    p.sheet,
                    p.cell,
                ])
                .context("appending a panel figure")?;
            }
            app.flush().context("flushing estimate panels")?;
        }
        {
            let mut app = tx
                .appender("estimate_test")
                .context("estimate test appender")?;
            for d in details {
                for t in &d.tests {
                    app.append_row(params![
                        d.run_id,
                        d.cluster_id,
                        d.indicator_id,
                        t.method,
                        t.test,
                        finite(t.statistic),
                        t.df1 as i64,
                        finite(t.df2),
                        finite(t.p_value),
                        t.tested as i64,
                        t.description,
                    ])
                    .context("appending a test")?;
                }
            }
            app.flush().context("flushing tests")?;
        }
        {
            let mut app = tx
                .appender("estimate_placebo")
                .context("estimate placebo appender")?;
            for d in details {
                for p in &d.placebos {
                    app.append_row(params![
                        d.run_id,
                        d.cluster_id,
                        d.indicator_id,
                        p.method,
                        p.term,
                        p.region_code,
                        finite(p.effect),
                        finite(p.rmspe_ratio),
                    ])
                    .context("appending a placebo")?;
                }
            }
            app.flush().context("flushing placebos")?;
        }
        {
            // Years are lists, which an appender cannot write: one prepared insert per row (a run
            // stores hundreds, not millions).
            let mut insert = tx
                .prepare(&format!(
                    "INSERT INTO estimate VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {}, {}, ?, ?, ?, ?, ?, ?)",
                    SPLIT_YEARS, SPLIT_YEARS
                ))
                .context("estimate insert")?;
            let now = chrono::Utc::now().naive_utc();
            for e in rows {
                insert
                    .execute(params![
                        e.run_id,
                        e.cluster_id,
                        e.indicator_id,
                        e.method,
                        e.term,
                        finite(e.estimate),
                        finite(e.std_error),
                        finite(e.t_stat),
                        finite(e.p_value),
                        finite(e.ci_low),
                        finite(e.ci_high),
                        finite(e.df),
                        e.n_obs as i64,
                        e.n_treated as i64,
                        e.n_control as i64,
                        join(&e.pre_years),
                        join(&e.post_years),
                        e.log_outcome,
                        e.vcov,
                        e.means_json,
                        now,
                        e.role,
                        e.reason,
                    ])
                    .context("inserting an estimate")?;
            }
        }
        tx.commit().context("committing estimates")
    }
}
