//! `regstat extract FILE`: parse a local document without touching the warehouse, one row per grid
//! cell (workbooks) or observation (SDMX).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context};
use std::sync::Arc;

use regstat_transform::{parse_document_each, read_sdmx, Observation, RegionDictionary, Regions};

mod csv_rows;
mod csv_texts;
mod parquet_rows;
mod replaced;

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
    /// The subject (s_OKATO code, `42000000000`) the document is about: its municipal labels
    /// resolve in it with the config's `[municipalities]` classifier (needs `--config`).
    #[arg(long, requires = "config")]
    pub subject: Option<String>,
    /// Read the file as this source of the config reads its documents: a `file` source's column
    /// mapping, a source's `[sources.parser]` sheets and subject (needs `--config`).
    #[arg(long, requires = "config")]
    pub source: Option<String>,
}

#[rustfmt::skip]
const COLUMNS: [&str; 17] = [
    "source_file", "sheet", "table_code", "table_title", "indicator_id", "unit", "region_label", "region_code",
    "region_iso", "period", "period_type", "value", "status", "footnotes", "cell", "dimensions", "basis",
];

/// One row's fields as text, in [`COLUMNS`] order, borrowed from the observation or formatted
/// into buffers reused from row to row; the one place that says what each column holds, for every
/// output format. Beside the fields, a serial that changes whenever the title or footnotes may
/// have.
#[derive(Default)]
struct RowFields {
    period: String,
    value: String,
    footnotes: String,
    /// The footnotes `footnotes` was joined from: a table's figures share them.
    joined: Vec<Arc<str>>,
    /// The last row's title, held so that its address stays its own.
    title: Option<Arc<str>>,
    /// Changes whenever the title or the footnotes do (by identity), so that a row's long texts
    /// are compared only when they may differ from the last row's.
    texts_serial: u64,
    dimensions: String,
    /// The last region's code and ISO code: a row's figures come one after another.
    last_region: (String, String),
}

impl RowFields {
    fn of<'a>(
        &'a mut self,
        file: &'a str,
        o: &'a Observation,
        regions: &RegionDictionary,
    ) -> ([&'a str; COLUMNS.len()], u64) {
        use std::fmt::Write as _;
        if self.last_region.0 != o.region_code {
            let iso = regions.get(&o.region_code).and_then(|r| r.iso.as_deref());
            self.last_region = (o.region_code.to_string(), iso.unwrap_or("").to_string());
        }
        self.period.clear();
        match o.period {
            // Most figures are of a year: its digits without the formatting machinery.
            regstat_transform::Period::Year(y) => {
                self.period.push_str(itoa::Buffer::new().format(y))
            }
            period => {
                let _ = write!(self.period, "{period}");
            }
        }
        self.value.clear();
        if let Some(v) = o.value {
            write_value(&mut self.value, v);
        }
        let same_footnotes = self.joined.len() == o.footnotes.len()
            && self
                .joined
                .iter()
                .zip(&o.footnotes)
                .all(|(a, b)| Arc::ptr_eq(a, b));
        if !same_footnotes {
            self.footnotes.clear();
            for (i, f) in o.footnotes.iter().enumerate() {
                if i > 0 {
                    self.footnotes.push('\n');
                }
                self.footnotes.push_str(f);
            }
            self.joined.clone_from(&o.footnotes);
        }
        let title = &o.provenance.table_title;
        let same_title = self.title.as_ref().is_some_and(|t| Arc::ptr_eq(t, title));
        if !same_title {
            self.title = Some(title.clone());
        }
        if !same_title || !same_footnotes {
            self.texts_serial += 1;
        }
        self.dimensions.clear();
        if let Some(d) = o.dimensions_json() {
            self.dimensions = d;
        }
        let row = [
            file,
            &o.provenance.sheet,
            &o.provenance.table_code,
            &o.provenance.table_title,
            &o.indicator,
            &o.unit,
            &o.region_label,
            &o.region_code,
            &self.last_region.1,
            &self.period,
            o.period.period_type().as_str(),
            &self.value,
            o.status.as_str(),
            &self.footnotes,
            &o.provenance.cell,
            &self.dimensions,
            // Last, so that readers of the columns by position keep working.
            o.basis.as_deref().unwrap_or(""),
        ];
        (row, self.texts_serial)
    }
}

/// A figure as `{v}` writes it, without the formatting machinery where `itoa` and `ryu` write
/// the same text: a whole number as an integer (most Rosstat figures are whole; -0 keeps its
/// sign through `{v}`), and a fraction of a magnitude that both write in decimal notation through
/// `ryu`. Both find the shortest digits that read back as the figure; they differ only when two
/// such digit strings are equally near it (`ryu` takes the even one, `{v}` the greater). That
/// needs digit strings closer together than the spacing of doubles, 16 significant digits or
/// more; figures printed with 15 or fewer (every figure read from a table) never meet it.
fn write_value(out: &mut String, v: f64) {
    use std::fmt::Write as _;
    let magnitude = v.abs();
    if v.fract() == 0.0 && magnitude < 1e15 && !(v == 0.0 && v.is_sign_negative()) {
        out.push_str(itoa::Buffer::new().format(v as i64));
        return;
    }
    if (1e-5..1e15).contains(&magnitude) {
        let mut buffer = ryu::Buffer::new();
        let text = buffer.format_finite(v);
        let significant = text
            .bytes()
            .filter(u8::is_ascii_digit)
            .skip_while(|d| *d == b'0')
            .count();
        if significant <= 15 {
            out.push_str(text);
            return;
        }
    }
    let _ = write!(out, "{v}");
}

/// The columns that JSON lines give as `null` when empty (the others are always strings).
const JSON_NULLABLE: [&str; 4] = ["region_iso", "footnotes", "dimensions", "basis"];

fn json_row(row: &[&str; COLUMNS.len()], value: Option<f64>) -> serde_json::Value {
    let fields = COLUMNS.iter().zip(row).map(|(name, field)| {
        let v = if *name == "value" {
            value.map_or(serde_json::Value::Null, |v| serde_json::json!(v))
        } else if field.is_empty() && JSON_NULLABLE.contains(name) {
            serde_json::Value::Null
        } else {
            serde_json::Value::String(field.to_string())
        };
        (name.to_string(), v)
    });
    serde_json::Value::Object(fields.collect())
}

/// The output's format, from `--out`'s extension (CSV on standard output without it).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    /// Every column on every row: standard output has no side file.
    Csv,
    /// A CSV file of the figures, and its side file of the texts they share ([`csv_texts`]).
    CsvWithTexts,
    Jsonl,
    Parquet,
}

/// The output's rows as any thread makes them: the format, and the Parquet schema.
#[derive(Clone)]
struct RowFormat {
    format: Format,
    schema: Arc<arrow_schema::Schema>,
}

impl RowFormat {
    /// A fresh encoder, for a thread that reads part of the document.
    fn encoder(&self) -> Encoder {
        let rows = match self.format {
            Format::Csv => Rows::Csv(Box::new(csv_rows::CsvRows::new())),
            Format::CsvWithTexts => Rows::CsvWithTexts(Box::new(csv_texts::FigureRows::new())),
            Format::Jsonl => Rows::Jsonl(Vec::new()),
            Format::Parquet => Rows::Parquet(Box::new(parquet_rows::ParquetBatches::new(
                self.schema.clone(),
            ))),
        };
        Encoder {
            fields: RowFields::default(),
            rows,
        }
    }
}

/// Some observations' rows in the output's format, made on the thread that read them and written
/// in order by [`Sink`].
enum Chunk {
    Bytes(Vec<u8>),
    Figures(csv_texts::FiguresChunk),
    Batches(Vec<arrow_array::RecordBatch>),
}

/// Observations into rows: each row's fields made once ([`RowFields`]), then encoded by the format.
struct Encoder {
    fields: RowFields,
    rows: Rows,
}

enum Rows {
    /// Fields written straight from the observation, each column's repeated text escaped once:
    /// a big section has tens of thousands of figures sharing one title and its footnotes.
    Csv(Box<csv_rows::CsvRows<{ COLUMNS.len() }>>),
    CsvWithTexts(Box<csv_texts::FigureRows>),
    Jsonl(Vec<u8>),
    /// Parquet's dictionary encoding stores each table's repeated title and footnotes once per
    /// page.
    Parquet(Box<parquet_rows::ParquetBatches>),
}

/// Bytes of rows an encoder gathers before [`Sink::push`] writes them.
const CHUNK_BYTES: usize = 1 << 16;

impl Encoder {
    fn push(&mut self, file: &str, o: &Observation, regions: &RegionDictionary) {
        let (row, texts_serial) = self.fields.of(file, o, regions);
        match &mut self.rows {
            Rows::Csv(w) => w.write_row(&row),
            Rows::CsvWithTexts(w) => w.write_row(&row, texts_serial),
            Rows::Parquet(rows) => rows.push(&row, o.value),
            Rows::Jsonl(out) => {
                // A Vec takes every byte; JSON of strings and a number cannot fail.
                let _ = serde_json::to_writer(&mut *out, &json_row(&row, o.value));
                out.push(b'\n');
            }
        }
    }

    /// Sizes the text buffer for this many more rows like those it holds: a big sheet's rows
    /// are one buffer, which grown by doubling copied itself into fresh pages again and again.
    fn expect_rows(&mut self, rows: usize) {
        let buffered = match &mut self.rows {
            Rows::Csv(w) => w.buffer(),
            Rows::CsvWithTexts(w) => w.buffer(),
            Rows::Jsonl(out) => out,
            Rows::Parquet(_) => return,
        };
        let row = buffered.len();
        buffered.reserve(row.saturating_mul(rows).saturating_add(row) / 8 * 9);
    }

    /// Whether enough rows wait to be written.
    fn is_full(&self) -> bool {
        match &self.rows {
            Rows::Csv(w) => w.len() >= CHUNK_BYTES,
            Rows::CsvWithTexts(w) => w.len() >= CHUNK_BYTES,
            Rows::Jsonl(out) => out.len() >= CHUNK_BYTES,
            Rows::Parquet(rows) => rows.finished() > 0,
        }
    }

    fn take(&mut self) -> Chunk {
        match &mut self.rows {
            Rows::Csv(w) => Chunk::Bytes(w.take()),
            Rows::CsvWithTexts(w) => Chunk::Figures(w.take()),
            Rows::Jsonl(out) => Chunk::Bytes(std::mem::take(out)),
            Rows::Parquet(rows) => Chunk::Batches(rows.take()),
        }
    }
}

/// Where the rows go: a text file (or standard output), the figures' CSV and its texts' side
/// file, or the Parquet file.
enum Output {
    Text(Box<dyn Write>),
    Figures {
        figures: Box<dyn Write>,
        texts: Box<dyn Write>,
        /// The keys whose texts are written.
        written: std::collections::HashSet<String>,
    },
    Parquet(Box<parquet_rows::ParquetFile>),
}

/// The output, and an encoder for rows pushed one by one (SDMX, an analyst's file).
struct Sink {
    row_format: RowFormat,
    output: Output,
    encoder: Encoder,
    /// Where the output's files go once complete, the first file first.
    placements: Vec<replaced::Placement>,
}

impl Sink {
    fn open(out: Option<&PathBuf>) -> anyhow::Result<Sink> {
        let mut placements = Vec::new();
        let mut create_file = |p: &PathBuf| -> anyhow::Result<std::fs::File> {
            let (file, placement) = replaced::create(p)?;
            placements.push(placement);
            Ok(file)
        };
        let buffered = |file: std::fs::File| -> Box<dyn Write> {
            Box::new(std::io::BufWriter::with_capacity(1 << 16, file))
        };
        let ext = out
            .and_then(|p| p.extension())
            .map(|e| e.to_string_lossy().to_lowercase());
        let schema = parquet_rows::schema();
        let (format, output) = match (out, ext.as_deref()) {
            (None, _) => (
                Format::Csv,
                Output::Text(Box::new(std::io::BufWriter::with_capacity(
                    1 << 16,
                    std::io::stdout().lock(),
                ))),
            ),
            (Some(p), Some("csv")) => (
                Format::CsvWithTexts,
                Output::Figures {
                    figures: buffered(create_file(p)?),
                    texts: buffered(create_file(&texts_path(p))?),
                    written: Default::default(),
                },
            ),
            (Some(p), Some("jsonl")) => (Format::Jsonl, Output::Text(buffered(create_file(p)?))),
            (Some(p), Some("parquet")) => (
                Format::Parquet,
                Output::Parquet(Box::new(parquet_rows::ParquetFile::create(
                    create_file(p)?,
                    p,
                    schema.clone(),
                )?)),
            ),
            (Some(_), other) => {
                bail!(
                    "--out: expected a .csv, .parquet or .jsonl file, found {:?}",
                    other.unwrap_or("no extension")
                )
            }
        };
        let row_format = RowFormat { format, schema };
        let mut sink = Sink {
            encoder: row_format.encoder(),
            row_format,
            output,
            placements,
        };
        match &mut sink.output {
            Output::Text(w) if format == Format::Csv => {
                w.write_all(&csv_rows::CsvRows::line(&COLUMNS))?;
            }
            Output::Figures { figures, texts, .. } => {
                figures.write_all(&csv_rows::CsvRows::line(&csv_texts::FIGURE_COLUMNS))?;
                texts.write_all(&csv_rows::CsvRows::line(&csv_texts::TEXT_COLUMNS))?;
            }
            _ => {}
        }
        Ok(sink)
    }

    fn write(&mut self, chunk: Chunk) -> anyhow::Result<()> {
        match (&mut self.output, chunk) {
            (Output::Text(w), Chunk::Bytes(bytes)) => w.write_all(&bytes)?,
            (
                Output::Figures {
                    figures,
                    texts,
                    written,
                },
                Chunk::Figures(chunk),
            ) => {
                for (key, row) in chunk.texts {
                    if written.insert(key) {
                        texts.write_all(&row)?;
                    }
                }
                figures.write_all(&chunk.figures)?;
            }
            (Output::Parquet(file), Chunk::Batches(batches)) => file.write(batches)?,
            _ => bail!("rows encoded for another format than the output's"),
        }
        Ok(())
    }

    fn push(
        &mut self,
        file: &str,
        o: &Observation,
        regions: &RegionDictionary,
    ) -> anyhow::Result<()> {
        self.encoder.push(file, o, regions);
        if self.encoder.is_full() {
            let chunk = self.encoder.take();
            self.write(chunk)?;
        }
        Ok(())
    }

    /// Writes what is left, closes the files and puts them in place: the texts before the figures
    /// that name them.
    fn finish(mut self) -> anyhow::Result<()> {
        let chunk = self.encoder.take();
        self.write(chunk)?;
        match self.output {
            Output::Text(mut w) => w.flush()?,
            Output::Figures {
                mut figures,
                mut texts,
                ..
            } => {
                figures.flush()?;
                texts.flush()?;
            }
            Output::Parquet(file) => file.finish()?,
        }
        for placement in self.placements.into_iter().rev() {
            placement.put_in_place()?;
        }
        Ok(())
    }
}

/// The texts' side file of the figures' CSV `dir/x.csv`: `dir/x.texts.csv`.
fn texts_path(figures: &std::path::Path) -> PathBuf {
    let stem = figures.file_stem().unwrap_or_default().to_string_lossy();
    let ext = figures.extension().unwrap_or_default().to_string_lossy();
    figures.with_file_name(format!("{stem}.texts.{ext}"))
}

/// mimalloc's `mi_option_purge_delay` (its v3 `mimalloc.h`, where libmimalloc-sys names no
/// constant for it): how long freed memory waits before it goes back to the kernel; -1 never.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps memory this process frees for its own reuse. `extract` is one short run, and mimalloc
/// handed every freed page back to the kernel (madvise, forced whatever the delay) when each
/// parsing thread and the process ended: 2.5% of the CPU of extracting the corpus (perf), for
/// memory the exit frees anyway. The daemon keeps the default.
fn keep_freed_memory() {
    // SAFETY: sets an option mimalloc reads at its next purge; no memory is passed.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) }
}

impl ExtractArgs {
    /// Returns whether the document had problems (unknown labels or codes, unreadable cells).
    pub fn run(&self) -> anyhow::Result<bool> {
        keep_freed_memory();
        // The shipped region dictionary and indicator catalogue (their labels folded, their TOML
        // parsed) are built on another core while this thread loads the config, opens the output
        // and reads the document, and a workbook's first sheets are read; the first use waits for
        // them (see `Regions`). Detached: nothing waits for it at exit.
        std::thread::spawn(|| {
            RegionDictionary::builtin();
            regstat_transform::Catalogue::builtin();
        });
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
        let source = match (&config, &self.source) {
            (Some(c), Some(id)) => {
                Some(c.sources.iter().find(|s| s.id == *id).with_context(|| {
                    format!(
                        "--source {id}: no such source in the config (it has: {})",
                        c.sources
                            .iter()
                            .map(|s| s.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?)
            }
            _ => None,
        };
        // `--subject`, else the source's: a regional office's municipal labels resolve in it.
        let subject = self
            .subject
            .as_deref()
            .or_else(|| source.and_then(|s| s.parser.subject.as_deref()));
        let scoped;
        let configured = match (&config, subject) {
            (Some(c), Some(subject)) => {
                scoped = c
                    .regions()
                    .with_municipalities(subject, c.municipalities.dictionary.clone())
                    .with_context(|| match &self.subject {
                        Some(_) => format!("--subject {subject}"),
                        None => format!("--source: [sources.parser] subject {subject}"),
                    })?;
                Some(&scoped)
            }
            (Some(c), None) => Some(c.regions()),
            (None, _) => None,
        };
        let mut head = Vec::with_capacity(512);
        {
            use std::io::Read;
            std::fs::File::open(&self.file)
                .with_context(|| format!("reading {}", self.file.display()))?
                .take(512)
                .read_to_end(&mut head)
                .with_context(|| format!("reading {}", self.file.display()))?;
        }
        // The output is touched only once the flags, the config and the document are known good.
        let mut sink = Sink::open(self.out.as_ref())?;
        let lazy_regions = match configured {
            Some(regions) => Regions::Given(regions),
            None => Regions::Builtin,
        };
        if regstat_transform::document_kind(&name, &head) == regstat_transform::DocumentKind::Sdmx {
            return self.extract_sdmx(&name, lazy_regions.get(), config.as_ref(), sink);
        }
        let bytes = std::fs::read(&self.file)
            .with_context(|| format!("reading {}", self.file.display()))?;
        // Each sheet's rows are encoded on the thread that parsed it (its figures freed there),
        // and written as soon as it and those before it are done; only the tables' summaries and
        // the problems are kept for the report below.
        let mut doc = regstat_transform::ParsedDocument::default();
        let mut write_error: Option<anyhow::Error> = None;
        let sheets = source.map_or(&[][..], |s| s.parser.sheets.as_slice());
        let row_format = sink.row_format.clone();
        let finish = |mut part: regstat_transform::ParsedDocument| {
            // Taken by the parse already: built by now.
            let regions = lazy_regions.get();
            // Each figure named and encoded in one pass, while it is in the cache.
            let mut namer = crate::pipeline::IndicatorNamer::new(config.as_ref());
            let mut encoder = row_format.encoder();
            let mut observations = part.observations.iter_mut();
            if let Some(first) = observations.next() {
                namer.name(first);
                encoder.push(&name, first, regions);
                encoder.expect_rows(observations.len());
            }
            for o in observations {
                namer.name(o);
                encoder.push(&name, o, regions);
            }
            (encoder.take(), part.tables, part.problems)
        };
        let mut each = |(chunk, mut tables, mut problems): (Chunk, Vec<_>, Vec<_>)| {
            if write_error.is_none() {
                write_error = sink.write(chunk).err();
            }
            doc.tables.append(&mut tables);
            doc.problems.append(&mut problems);
        };
        match source.map(|s| &s.kind) {
            // An analyst's table through its declared mapping, as a run reads it (its own
            // indicator ids, never renamed by the catalogue).
            Some(regstat_config::SourceKind::File(mapping)) => {
                let regions = lazy_regions.get();
                let part = regstat_transform::table_file::read_table_file(
                    &name, &bytes, mapping, regions,
                )?;
                for o in &part.observations {
                    sink.push(&name, o, regions)?;
                }
                doc.tables = part.tables;
                doc.problems = part.problems;
            }
            _ => parse_document_each(&name, &bytes, lazy_regions, sheets, &finish, &mut each)?,
        }
        if let Some(e) = write_error {
            return Err(e);
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
                write_error = sink.push(name, &o, regions).err();
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

#[cfg(test)]
mod tests {
    use super::write_value;

    /// The option's number is the purge delay's: its default is 1000 (ms), and its neighbours'
    /// defaults differ (1 before, 0 after), so a renumbered mimalloc fails here.
    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: reads an option.
        let delay = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(delay, 1000);
    }

    #[test]
    fn values_are_written_as_display_writes_them() {
        for v in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            72770.0,
            12.5,
            -3.25,
            0.1,
            1e-7,
            1e14,
            999_999_999_999_999.0,
            1e15,
            -1e15,
            1e16,
            1.5e300,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            4503599627370497.0,
            // Ties between two shortest digit strings, where `ryu` and `{v}` part.
            99_999_999_999_999.0 + 0.125,
            999_999_999_999_999.0 + 0.25,
            8_388_608.0 + 1.0 / 1024.0,
            0.1 + 0.2,
        ] {
            let mut ours = String::new();
            write_value(&mut ours, v);
            assert_eq!(ours, format!("{v}"), "{v:?}");
        }
    }

    /// Pseudo-random figures over every magnitude the fast paths take and their edges: whole,
    /// with one or two decimals as Rosstat prints them, and with all the digits a double holds.
    #[test]
    fn values_of_every_magnitude_are_written_as_display_writes_them() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut ours = String::new();
        for exponent in -9..=17 {
            let scale = 10f64.powi(exponent);
            for _ in 0..2_000 {
                let unit = (next() >> 11) as f64 / (1u64 << 53) as f64;
                let raw = unit * scale * if next() % 2 == 0 { 1.0 } else { -1.0 };
                for v in [
                    raw,
                    raw.round(),
                    (raw * 10.0).round() / 10.0,
                    (raw * 100.0).round() / 100.0,
                    f64::from_bits(raw.to_bits() + 1),
                    scale,
                    1e-5 * (1.0 + unit * 1e-9),
                    1e14 - unit,
                    1e15 - unit,
                ] {
                    ours.clear();
                    write_value(&mut ours, v);
                    assert_eq!(ours, format!("{v}"), "{v:?}");
                }
            }
        }
    }
}
