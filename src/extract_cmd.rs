//! `regstat extract FILE`: parse a local document without touching the warehouse, one row per grid cell.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use regstat_transform::{parse_document, Observation, RegionDictionary};
use regstat_warehouse::files::{write_parquet, Cell};

#[derive(clap::Args, Debug)]
pub struct ExtractArgs {
    /// A workbook (.xlsx, .xls) or a ZIP archive of workbooks.
    pub file: PathBuf,
    /// Output file: .csv, .parquet or .jsonl; CSV on standard output when absent.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

const COLUMNS: [&str; 15] = [
    "source_file",
    "sheet",
    "table_id",
    "table_title",
    "indicator",
    "unit",
    "region_label",
    "region_code",
    "region_iso",
    "period",
    "period_type",
    "value",
    "status",
    "footnotes",
    "cell",
];

fn record(file: &str, o: &Observation, regions: &RegionDictionary) -> Vec<Cell> {
    let text = |s: &str| Cell::Text(Some(s.to_string()));
    vec![
        text(file),
        text(&o.provenance.sheet),
        text(&o.provenance.table_code),
        text(&o.provenance.table_title),
        text(&o.indicator),
        text(&o.unit),
        text(&o.region_label),
        text(&o.region_code),
        Cell::Text(regions.get(&o.region_code).and_then(|r| r.iso.clone())),
        text(&o.period.to_string()),
        text(o.period.period_type().as_str()),
        Cell::Float(o.value),
        text(o.status.as_str()),
        Cell::Text((!o.footnotes.is_empty()).then(|| o.footnotes.join("\n"))),
        text(&o.provenance.cell),
    ]
}

impl ExtractArgs {
    /// Returns whether the document had problems (unknown labels, unreadable cells).
    pub fn run(&self) -> anyhow::Result<bool> {
        let bytes = std::fs::read(&self.file)
            .with_context(|| format!("reading {}", self.file.display()))?;
        let name = self
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let regions = RegionDictionary::builtin();
        let mut doc = parse_document(&name, &bytes, regions, &[])?;
        for o in &mut doc.observations {
            if let Some(id) = crate::pipeline::indicator_for(
                None,
                &o.provenance.table_code,
                &o.provenance.table_title,
            ) {
                o.indicator = id;
            }
        }
        let rows: Vec<Vec<Cell>> = doc
            .observations
            .iter()
            .map(|o| record(&name, o, regions))
            .collect();
        match self
            .out
            .as_ref()
            .and_then(|p| p.extension())
            .map(|e| e.to_string_lossy().to_lowercase())
        {
            None => write_csv(std::io::stdout().lock(), &rows)?,
            Some(ext) => {
                let out = self.out.as_ref().expect("extension implies a path");
                match ext.as_str() {
                    "csv" => {
                        write_csv(std::io::BufWriter::new(std::fs::File::create(out)?), &rows)?
                    }
                    "jsonl" => {
                        write_jsonl(std::io::BufWriter::new(std::fs::File::create(out)?), &rows)?
                    }
                    "parquet" => write_parquet(out, &COLUMNS, &rows)?,
                    other => {
                        bail!("--out: expected a .csv, .parquet or .jsonl file, found .{other}")
                    }
                }
            }
        }
        let values = doc.tables.iter().map(|t| t.values).sum::<usize>();
        let missing = doc.tables.iter().map(|t| t.statuses).sum::<usize>();
        let cells = doc.tables.iter().map(|t| t.grid_cells).sum::<usize>();
        let unresolved = doc
            .problems
            .iter()
            .filter(|p| p.expected.starts_with("a region name"))
            .count();
        eprintln!(
            "{name}: {} tables, {cells} cells, {values} values, {missing} missing, {unresolved} unresolved labels, {} problems",
            doc.tables.len(),
            doc.problems.len()
        );
        for p in &doc.problems {
            eprintln!("  {p}");
        }
        Ok(!doc.problems.is_empty())
    }
}

fn write_csv(out: impl Write, rows: &[Vec<Cell>]) -> anyhow::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(COLUMNS)?;
    for row in rows {
        w.write_record(row.iter().map(|c| match c {
            Cell::Text(Some(s)) => s.clone(),
            Cell::Float(Some(v)) => v.to_string(),
            _ => String::new(),
        }))?;
    }
    w.flush()?;
    Ok(())
}

fn write_jsonl(mut out: impl Write, rows: &[Vec<Cell>]) -> anyhow::Result<()> {
    for row in rows {
        let obj: serde_json::Map<String, serde_json::Value> = COLUMNS
            .iter()
            .zip(row)
            .map(|(k, c)| {
                let v = match c {
                    Cell::Text(Some(s)) => serde_json::Value::String(s.clone()),
                    Cell::Float(Some(v)) => serde_json::json!(v),
                    _ => serde_json::Value::Null,
                };
                (k.to_string(), v)
            })
            .collect();
        serde_json::to_writer(&mut out, &obj)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
