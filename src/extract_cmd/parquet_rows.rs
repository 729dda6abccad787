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
use arrow_array::builder::{Float64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

/// Rows per arrow batch handed to the writer (its row groups are larger).
const BATCH_ROWS: usize = 8192;
const VALUE: usize = 11;

pub(super) struct ParquetRows {
    /// None once finished.
    writer: Option<ArrowWriter<std::fs::File>>,
    schema: Arc<Schema>,
    texts: Vec<StringBuilder>,
    values: Float64Builder,
    rows: usize,
    partial: PathBuf,
    out: PathBuf,
}

impl ParquetRows {
    pub(super) fn create(out: &Path) -> anyhow::Result<Self> {
        debug_assert_eq!(COLUMNS[VALUE], "value");
        let schema = Arc::new(Schema::new(
            COLUMNS
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    let kind = if i == VALUE {
                        DataType::Float64
                    } else {
                        DataType::Utf8
                    };
                    Field::new(*name, kind, true)
                })
                .collect::<Vec<_>>(),
        ));
        let partial = out.with_extension("parquet.partial");
        let file = std::fs::File::create(&partial)
            .with_context(|| format!("creating {}", partial.display()))?;
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(properties))
            .with_context(|| format!("writing {}", partial.display()))?;
        Ok(Self {
            writer: Some(writer),
            schema,
            texts: (0..COLUMNS.len() - 1)
                .map(|_| StringBuilder::new())
                .collect(),
            values: Float64Builder::with_capacity(BATCH_ROWS),
            rows: 0,
            partial,
            out: out.to_path_buf(),
        })
    }

    /// One row's fields ([`super::RowFields`]); the value as the number, not its text.
    pub(super) fn push(
        &mut self,
        row: &[&str; COLUMNS.len()],
        value: Option<f64>,
    ) -> anyhow::Result<()> {
        let texts = row
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != VALUE)
            .map(|(_, f)| f);
        for (builder, field) in self.texts.iter_mut().zip(texts) {
            if field.is_empty() {
                builder.append_null();
            } else {
                builder.append_value(field);
            }
        }
        self.values.append_option(value);
        self.rows += 1;
        if self.rows == BATCH_ROWS {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn flush_batch(&mut self) -> anyhow::Result<()> {
        let mut texts = self.texts.iter_mut();
        let columns: Vec<ArrayRef> = (0..COLUMNS.len())
            .map(|i| -> ArrayRef {
                if i == VALUE {
                    Arc::new(self.values.finish())
                } else {
                    Arc::new(texts.next().expect("a builder per text column").finish())
                }
            })
            .collect();
        let batch = RecordBatch::try_new(self.schema.clone(), columns)
            .context("assembling a batch of rows")?;
        self.rows = 0;
        let writer = self.writer.as_mut().context("writing after finish")?;
        writer
            .write(&batch)
            .with_context(|| format!("writing {}", self.partial.display()))?;
        Ok(())
    }

    /// Writes the last rows and the footer, then puts the file in place.
    pub(super) fn finish(mut self) -> anyhow::Result<()> {
        if self.rows > 0 {
            self.flush_batch()?;
        }
        let writer = self.writer.take().context("finished twice")?;
        writer
            .close()
            .with_context(|| format!("writing {}", self.partial.display()))?;
        std::fs::rename(&self.partial, &self.out)
            .with_context(|| format!("renaming {} into place", self.partial.display()))?;
        Ok(())
    }
}

impl Drop for ParquetRows {
    /// Unfinished (an error stopped the extraction): no half-written file is left behind.
    fn drop(&mut self) {
        if self.writer.is_some() {
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}
