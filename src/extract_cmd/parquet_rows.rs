//! `extract --out *.parquet`: rows into arrow batches and a Parquet file, written beside the target
//! and renamed over it when complete.
//!
//! Every column but `value` is text; an empty field is NULL, as DuckDB reads the CSV's empty fields
//! (the Parquet was once made that way, and readers rely on it). Parquet's dictionary encoding keeps
//! a table's title and footnotes once per page, however many figures repeat them: the 41,000
//! figures of the labour section are 26 MB of CSV and about 0.2 MB of Parquet. The file is written
//! here rather than by DuckDB: converting a staged CSV cost ten times the parse, and it kept
//! libduckdb out of a command that has no other use for it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::COLUMNS;
use anyhow::Context;
use arrow_array::builder::{ArrayBuilder, Float64Builder, Int32Builder, StringBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, DictionaryArray, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

/// Rows per arrow batch handed to the writer (its row groups are larger).
const BATCH_ROWS: usize = 8192;
const VALUE: usize = 11;

/// The file's schema: every column text (dictionary-encoded in the batches) but `value`.
pub(super) fn schema() -> Arc<Schema> {
    debug_assert_eq!(COLUMNS[VALUE], "value");
    Arc::new(Schema::new(
        COLUMNS
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let kind = if i == VALUE {
                    DataType::Float64
                } else {
                    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
                };
                Field::new(*name, kind, true)
            })
            .collect::<Vec<_>>(),
    ))
}

/// Rows into arrow batches, on the thread that parsed them; [`ParquetFile`] writes the batches.
pub(super) struct ParquetBatches {
    schema: Arc<Schema>,
    texts: Vec<RunColumn>,
    values: Float64Builder,
    rows: usize,
    done: Vec<RecordBatch>,
}

impl ParquetBatches {
    pub(super) fn new(schema: Arc<Schema>) -> Self {
        Self {
            schema,
            texts: (0..COLUMNS.len() - 1)
                .map(|_| RunColumn::default())
                .collect(),
            values: Float64Builder::new(),
            rows: 0,
            done: Vec::new(),
        }
    }

    /// One row's fields ([`super::RowFields`]); the value as the number, not its text.
    pub(super) fn push(&mut self, row: &[&str; COLUMNS.len()], value: Option<f64>) {
        let texts = row
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != VALUE)
            .map(|(_, f)| f);
        for (column, field) in self.texts.iter_mut().zip(texts) {
            column.push(field);
        }
        self.values.append_option(value);
        self.rows += 1;
        if self.rows == BATCH_ROWS {
            self.finish_batch();
        }
    }

    fn finish_batch(&mut self) {
        let mut texts = self.texts.iter_mut();
        let columns: Vec<ArrayRef> = (0..COLUMNS.len())
            .map(|i| -> ArrayRef {
                if i == VALUE {
                    Arc::new(self.values.finish())
                } else {
                    Arc::new(texts.next().expect("a builder per text column").finish()) as ArrayRef
                }
            })
            .collect();
        let batch = RecordBatch::try_new(self.schema.clone(), columns)
            .expect("every column is built to the schema, with as many rows as the values");
        self.rows = 0;
        self.done.push(batch);
    }

    /// The rows pushed since the last take, as batches.
    pub(super) fn take(&mut self) -> Vec<RecordBatch> {
        if self.rows > 0 {
            self.finish_batch();
        }
        std::mem::take(&mut self.done)
    }

    /// Finished batches waiting to be taken.
    pub(super) fn finished(&self) -> usize {
        self.done.len()
    }
}

/// The Parquet file, written beside the target and renamed over it when complete.
pub(super) struct ParquetFile {
    /// None once finished.
    writer: Option<ArrowWriter<std::fs::File>>,
    /// The output's name, for messages.
    out: PathBuf,
}

impl ParquetFile {
    /// Writes to `file`, which becomes `out` once finished (see `replaced`).
    pub(super) fn create(
        file: std::fs::File,
        out: &Path,
        schema: Arc<Schema>,
    ) -> anyhow::Result<Self> {
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        // Without the arrow schema, readers take the columns as the Parquet types say: strings,
        // not dictionaries (pyarrow would otherwise give categoricals).
        let options = ArrowWriterOptions::new()
            .with_properties(properties)
            .with_skip_arrow_metadata(true);
        let writer = ArrowWriter::try_new_with_options(file, schema, options)
            .with_context(|| format!("writing {}", out.display()))?;
        Ok(Self {
            writer: Some(writer),
            out: out.to_path_buf(),
        })
    }

    pub(super) fn write(&mut self, batches: Vec<RecordBatch>) -> anyhow::Result<()> {
        let writer = self.writer.as_mut().context("writing after finish")?;
        for batch in batches {
            writer
                .write(&batch)
                .with_context(|| format!("writing {}", self.out.display()))?;
        }
        Ok(())
    }

    /// Writes the footer and closes the file.
    pub(super) fn finish(mut self) -> anyhow::Result<()> {
        let writer = self.writer.take().context("finished twice")?;
        writer
            .close()
            .with_context(|| format!("writing {}", self.out.display()))?;
        Ok(())
    }
}

/// A text column of one batch: each row's key into the runs' values (NULL for an empty field).
#[derive(Default)]
struct RunColumn {
    keys: Int32Builder,
    values: StringBuilder,
}

impl RunColumn {
    fn push(&mut self, field: &str) {
        if field.is_empty() {
            self.keys.append_null();
            return;
        }
        let runs = self.values.len();
        let offsets = self.values.offsets_slice();
        let same = runs > 0 && {
            let last = offsets[runs - 1] as usize..offsets[runs] as usize;
            &self.values.values_slice()[last] == field.as_bytes()
        };
        if !same {
            self.values.append_value(field);
        }
        // A batch has at most BATCH_ROWS runs.
        self.keys.append_value(self.values.len() as i32 - 1);
    }

    fn finish(&mut self) -> DictionaryArray<Int32Type> {
        let keys = self.keys.finish();
        let values = Arc::new(self.values.finish());
        DictionaryArray::try_new(keys, values).expect("every key is a run's index")
    }
}
