//! The published tables: Parquet (zstd) and CSV of the observations, the documents and the
//! estimates run's results. Their columns are the README's contract with dashboard builders.

use crate::error::PublishError;
use crate::manifest::ManifestColumn;
use crate::{Artifact, CsvDialect, Output, RunContext};

/// What is published: a name and the query that makes it. `RUN` is the estimates run.
const TABLES: &[(&str, &str)] = &[
    (
        "observations",
        "SELECT o.indicator_id, i.name AS indicator_name, o.region_code, r.name AS region_name, r.iso AS region_iso,
                o.period, o.period_type, o.year, o.value, o.unit, o.status, o.footnotes,
                o.document_sha256, d.url AS document_url, d.file_name AS document_file, o.sheet, o.cell,
                o.table_code, o.table_title, o.region_label, o.dimensions, o.vintage, o.basis
         FROM observation_latest o
         LEFT JOIN indicator i ON i.id = o.indicator_id
         LEFT JOIN region r ON r.code = o.region_code
         LEFT JOIN source_document d ON d.sha256 = o.document_sha256
         ORDER BY o.indicator_id, o.region_code, o.period",
    ),
    (
        "estimates",
        "SELECT e.*, c.name AS cluster_name FROM estimate e LEFT JOIN cluster c ON c.id = e.cluster_id
         WHERE e.run_id = RUN
         ORDER BY cluster_id, indicator_id, method, term",
    ),
    (
        "panels",
        "SELECT p.*, c.name AS cluster_name, coalesce(r.name, m.name) AS region_name, d.url AS document_url
         FROM estimate_panel p
         LEFT JOIN cluster c ON c.id = p.cluster_id
         LEFT JOIN region r ON r.code = p.unit
         LEFT JOIN (SELECT series, name FROM municipality WHERE code = series) m ON m.series = p.unit
         LEFT JOIN source_document d ON d.sha256 = p.document_sha256
         WHERE p.run_id = RUN
         ORDER BY cluster_id, indicator_id, unit, year",
    ),
    (
        "event_study",
        "SELECT e.*, c.name AS cluster_name FROM estimate_event_time e LEFT JOIN cluster c ON c.id = e.cluster_id
         WHERE e.run_id = RUN
         ORDER BY cluster_id, indicator_id, method, rel_time",
    ),
    (
        "att_gt",
        "SELECT g.*, c.name AS cluster_name FROM estimate_group_time g LEFT JOIN cluster c ON c.id = g.cluster_id
         WHERE g.run_id = RUN
         ORDER BY cluster_id, indicator_id, cohort, year",
    ),
    (
        "tests",
        "SELECT t.*, c.name AS cluster_name FROM estimate_test t LEFT JOIN cluster c ON c.id = t.cluster_id
         WHERE t.run_id = RUN
         ORDER BY cluster_id, indicator_id, method, test",
    ),
    (
        "placebos",
        "SELECT p.*, c.name AS cluster_name, coalesce(r.name, m.name) AS region_name FROM estimate_placebo p
         LEFT JOIN cluster c ON c.id = p.cluster_id LEFT JOIN region r ON r.code = p.region_code
         LEFT JOIN (SELECT series, name FROM municipality WHERE code = series) m ON m.series = p.region_code
         WHERE p.run_id = RUN
         ORDER BY cluster_id, indicator_id, method, term, region_code",
    ),
    (
        "weights",
        "SELECT w.*, c.name AS cluster_name, coalesce(r.name, m.name) AS region_name FROM estimate_weight w
         LEFT JOIN cluster c ON c.id = w.cluster_id LEFT JOIN region r ON r.code = w.unit
         LEFT JOIN (SELECT series, name FROM municipality WHERE code = series) m ON m.series = w.unit
         WHERE w.run_id = RUN
         ORDER BY cluster_id, indicator_id, method, kind, unit, year",
    ),
    (
        "documents",
        "SELECT sha256, source_id, url, file_name, fetched_at, http_status, etag, last_modified, bytes,
                load_status, error, observations, run_id FROM source_document ORDER BY fetched_at, url",
    ),
];

/// Every table as Parquet and as CSV in the configured dialect.
pub struct Tables;

impl Artifact for Tables {
    fn name(&self) -> &'static str {
        "tables"
    }

    fn write(&self, run: &RunContext, out: &mut Output) -> Result<(), PublishError> {
        let conn = run.warehouse.connection();
        let estimates_run = run
            .results
            .run_id
            .map_or("NULL".to_string(), |id| id.to_string());
        for (name, query) in TABLES {
            let query = query.replace("RUN", &estimates_run);
            let columns = describe(conn, &query)?;
            let rows: i64 = conn
                .query_row(&format!("SELECT count(*) FROM ({query})"), [], |r| r.get(0))
                .map_err(PublishError::db(format!("counting {name}")))?;
            for format in ["parquet", "csv"] {
                let file = format!("{name}.{format}");
                let target = out.dir().join(&file);
                let quoted_target = target.display().to_string().replace('\'', "''");
                let copy = match (format, run.options.csv_dialect) {
                    ("parquet", _) => format!(
                        "COPY ({query}) TO '{quoted_target}' (FORMAT parquet, COMPRESSION zstd)"
                    ),
                    (_, CsvDialect::Standard) => format!(
                        "COPY ({query}) TO '{quoted_target}' (FORMAT csv, HEADER true{})",
                        force_quote(&columns)
                    ),
                    (_, CsvDialect::ExcelRu) => format!(
                        "COPY (SELECT {} FROM ({query})) TO '{quoted_target}' (FORMAT csv, HEADER true, DELIMITER ';'{})",
                        decimal_comma_columns(&columns),
                        force_quote(&columns)
                    ),
                };
                conn.execute_batch(&copy)
                    .map_err(PublishError::db(format!("writing {file}")))?;
                let dialect = (format == "csv").then_some(run.options.csv_dialect);
                if dialect == Some(CsvDialect::ExcelRu) {
                    // The byte-order mark tells Excel the file is UTF-8 (else it reads CP1251).
                    let mut bytes = std::fs::read(&target).map_err(PublishError::io(&target))?;
                    bytes.splice(0..0, "\u{FEFF}".bytes());
                    std::fs::write(&target, &bytes).map_err(PublishError::io(&target))?;
                }
                out.add_table(&file, format, dialect, rows as u64, columns.clone())?;
            }
        }
        Ok(())
    }
}

fn describe(conn: &duckdb::Connection, query: &str) -> Result<Vec<ManifestColumn>, PublishError> {
    let what = || PublishError::db("describing a table");
    let mut stmt = conn.prepare(&format!("DESCRIBE {query}")).map_err(what())?;
    let rows = stmt
        .query_map([], |r| {
            Ok(ManifestColumn {
                name: r.get(0)?,
                data_type: r.get(1)?,
            })
        })
        .map_err(what())?;
    rows.collect::<Result<_, _>>().map_err(what())
}

/// Text columns are always quoted, so region codes (`030`, `643`, `42000000000`) read as text
/// wherever a reader honours quotes; numbers stay bare.
fn force_quote(columns: &[ManifestColumn]) -> String {
    let text: Vec<String> = columns
        .iter()
        .filter(|c| c.data_type.eq_ignore_ascii_case("VARCHAR"))
        .map(|c| format!("\"{}\"", c.name.replace('"', "\"\"")))
        .collect();
    if text.is_empty() {
        String::new()
    } else {
        format!(", FORCE_QUOTE ({})", text.join(", "))
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
