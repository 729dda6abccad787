//! `regstat extract FILE`: parse a local document without touching the warehouse, one row per grid
//! cell (workbooks) or observation (SDMX).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use regstat_transform::{parse_document, read_sdmx, Observation, RegionDictionary};
use regstat_warehouse::files::{write_parquet, Cell};

#[derive(clap::Args, Debug)]
pub struct ExtractArgs {
    /// A workbook (.xlsx, .xls), a ZIP or RAR archive of workbooks, or an EMISS SDMX file (.xml).
    pub file: PathBuf,
    /// Output file: .csv, .parquet or .jsonl; CSV on standard output when absent.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A regstat config whose `[regions] aliases` and `[[indicators]]` to read the document with
    /// (the warehouse is not touched).
    #[arg(long)]
    pub config: Option<PathBuf>,
}

#[rustfmt::skip]
const COLUMNS: [&str; 17] = [
    "source_file", "sheet", "table_code", "table_title", "indicator_id", "unit", "region_label", "region_code",
    "region_iso", "period", "period_type", "value", "status", "footnotes", "cell", "dimensions", "basis",
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
        Cell::Text((!o.dimensions.is_empty()).then(|| {
            let map: serde_json::Map<String, serde_json::Value> = o
                .dimensions
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect();
            serde_json::Value::Object(map).to_string()
        })),
        // Last, so that readers of the columns by position keep working.
        Cell::Text(o.basis.clone()),
    ]
}

/// Where rows go: CSV and JSON lines stream (bounded memory for SDMX of any size); Parquet collects.
enum Sink {
    Csv(Box<csv::Writer<Box<dyn Write>>>),
    Jsonl(Box<dyn Write>),
    Parquet(PathBuf, Vec<Vec<Cell>>),
}

impl Sink {
    fn open(out: Option<&PathBuf>) -> anyhow::Result<Sink> {
        let file = |p: &PathBuf| -> anyhow::Result<Box<dyn Write>> {
            let f =
                std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?;
            Ok(Box::new(std::io::BufWriter::new(f)))
        };
        let ext = out
            .and_then(|p| p.extension())
            .map(|e| e.to_string_lossy().to_lowercase());
        Ok(match (out, ext.as_deref()) {
            (None, _) => Sink::csv(Box::new(std::io::BufWriter::new(std::io::stdout().lock())))?,
            (Some(p), Some("csv")) => Sink::csv(file(p)?)?,
            (Some(p), Some("jsonl")) => Sink::Jsonl(file(p)?),
            (Some(p), Some("parquet")) => Sink::Parquet(p.clone(), Vec::new()),
            (Some(_), other) => {
                bail!(
                    "--out: expected a .csv, .parquet or .jsonl file, found {:?}",
                    other.unwrap_or("no extension")
                )
            }
        })
    }

    fn csv(w: Box<dyn Write>) -> anyhow::Result<Sink> {
        let mut w = csv::Writer::from_writer(w);
        w.write_record(COLUMNS)?;
        Ok(Sink::Csv(Box::new(w)))
    }

    fn push(&mut self, row: Vec<Cell>) -> anyhow::Result<()> {
        match self {
            Sink::Csv(w) => w.write_record(row.iter().map(|c| match c {
                Cell::Text(Some(s)) => s.clone(),
                Cell::Float(Some(v)) => v.to_string(),
                _ => String::new(),
            }))?,
            Sink::Jsonl(w) => {
                let obj: serde_json::Map<String, serde_json::Value> = COLUMNS
                    .iter()
                    .zip(&row)
                    .map(|(k, c)| {
                        let v = match c {
                            Cell::Text(Some(s)) => serde_json::Value::String(s.clone()),
                            Cell::Float(Some(v)) => serde_json::json!(v),
                            _ => serde_json::Value::Null,
                        };
                        (k.to_string(), v)
                    })
                    .collect();
                serde_json::to_writer(&mut *w, &obj)?;
                w.write_all(b"\n")?;
            }
            Sink::Parquet(_, rows) => rows.push(row),
        }
        Ok(())
    }

    fn finish(self) -> anyhow::Result<()> {
        match self {
            Sink::Csv(mut w) => w.flush()?,
            Sink::Jsonl(mut w) => w.flush()?,
            Sink::Parquet(path, rows) => write_parquet(&path, &COLUMNS, &rows)?,
        }
        Ok(())
    }
}

impl ExtractArgs {
    /// Returns whether the document had problems (unknown labels or codes, unreadable cells).
    pub fn run(&self) -> anyhow::Result<bool> {
        let name = self
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let config = self
            .config
            .as_deref()
            .map(regstat_config::Config::load)
            .transpose()?;
        let regions = config
            .as_ref()
            .map_or(RegionDictionary::builtin(), |c| c.regions());
        let mut sink = Sink::open(self.out.as_ref())?;
        let mut head = Vec::with_capacity(512);
        {
            use std::io::Read;
            std::fs::File::open(&self.file)
                .with_context(|| format!("reading {}", self.file.display()))?
                .take(512)
                .read_to_end(&mut head)
                .with_context(|| format!("reading {}", self.file.display()))?;
        }
        if regstat_transform::document_kind(&name, &head) == regstat_transform::DocumentKind::Sdmx {
            return self.extract_sdmx(&name, regions, config.as_ref(), sink);
        }
        let bytes = std::fs::read(&self.file)
            .with_context(|| format!("reading {}", self.file.display()))?;
        let mut doc = parse_document(&name, &bytes, regions, &[])?;
        crate::pipeline::name_indicators(config.as_ref(), &mut doc.observations);
        for o in &doc.observations {
            sink.push(record(&name, o, regions))?;
        }
        sink.finish()?;
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

    /// SDMX streams straight from the file to the sink.
    fn extract_sdmx(
        &self,
        name: &str,
        regions: &RegionDictionary,
        config: Option<&regstat_config::Config>,
        mut sink: Sink,
    ) -> anyhow::Result<bool> {
        let file = std::fs::File::open(&self.file)
            .with_context(|| format!("reading {}", self.file.display()))?;
        let mut write_error: Option<anyhow::Error> = None;
        let summary = read_sdmx(name, std::io::BufReader::new(file), regions, |mut o| {
            crate::pipeline::name_sdmx_indicator(config, &mut o);
            if write_error.is_none() {
                write_error = sink.push(record(name, &o, regions)).err();
            }
            Ok(())
        })?;
        if let Some(e) = write_error {
            return Err(e);
        }
        sink.finish()?;
        eprintln!(
            "{name}: SDMX indicator {} ({}), {} series, {} observations, {} values, {} missing, {} problems",
            summary.indicator_id.as_deref().unwrap_or("?"),
            summary.indicator_name.as_deref().unwrap_or(""),
            summary.series,
            summary.observations,
            summary.observations - summary.missing,
            summary.missing,
            summary.problems.len()
        );
        for p in &summary.problems {
            eprintln!("  {p}");
        }
        Ok(!summary.problems.is_empty())
    }
}
