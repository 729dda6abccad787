//! `extract --out x.csv`: the figures in `x.csv`, and the long texts their rows would repeat (the
//! table's title and the footnotes that apply to the figure) once each in `x.texts.csv`, keyed by
//! a digest of the two.
//!
//! A table's title and footnotes are about 700 of the 900 bytes of a figure's full CSV row: the
//! labour section's 41,000 figures were 26 MB of CSV, most of it the same few texts, and writing
//! them was a fifth of the command's time. Standard output has no side file, so CSV there keeps
//! every column on every row.

use sha2::{Digest, Sha256};

use super::csv_rows::CsvRows;
use super::COLUMNS;

const TITLE: usize = 3;
const FOOTNOTES: usize = 13;

/// The columns of `x.csv`: [`COLUMNS`] with `texts` (the key into `x.texts.csv`) in place of
/// `table_title`, and without `footnotes`.
#[rustfmt::skip]
pub(crate) const FIGURE_COLUMNS: [&str; COLUMNS.len() - 1] = [
    "source_file", "sheet", "table_code", "texts", "indicator_id", "unit", "region_label", "region_code",
    "region_iso", "period", "period_type", "value", "status", "cell", "dimensions", "basis",
];

/// The columns of `x.texts.csv`.
pub(crate) const TEXT_COLUMNS: [&str; 3] = ["texts", "table_title", "footnotes"];

/// The key of a title and its footnotes: the first 16 hex digits of the SHA-256 of the title's
/// length in bytes (8 bytes, little-endian), the title and the footnotes. The same texts have the
/// same key in every run and every file; figures without either text have an empty key.
pub(crate) fn texts_key(title: &str, footnotes: &str) -> String {
    if title.is_empty() && footnotes.is_empty() {
        return String::new();
    }
    let mut digest = Sha256::new();
    digest.update((title.len() as u64).to_le_bytes());
    digest.update(title.as_bytes());
    digest.update(footnotes.as_bytes());
    hex::encode(&digest.finalize()[..8])
}

/// Rows of the two files, made on the thread that parsed their figures; [`Sink`](super::Sink)
/// writes the figures in order and each key's texts once.
pub(crate) struct FigureRows {
    figures: CsvRows<{ FIGURE_COLUMNS.len() }>,
    /// The texts rows not yet taken, with their keys.
    texts: Vec<(String, Vec<u8>)>,
    /// Keys whose texts this encoder has given already.
    given: Vec<String>,
    /// The last row's texts: a table's figures come one after another.
    last: LastTexts,
}

/// The texts of the last row written, and their key.
#[derive(Default)]
struct LastTexts {
    serial: Option<u64>,
    title: String,
    footnotes: String,
    key: String,
}

/// What [`FigureRows::take`] hands to the writer.
pub(crate) struct FiguresChunk {
    pub(crate) figures: Vec<u8>,
    pub(crate) texts: Vec<(String, Vec<u8>)>,
}

impl FigureRows {
    pub(crate) fn new() -> Self {
        Self {
            figures: CsvRows::new(),
            texts: Vec::new(),
            given: Vec::new(),
            last: Default::default(),
        }
    }

    /// Writes a row given in [`COLUMNS`] order. `texts_serial` is the same as the last row's only
    /// if its title and footnotes are too: the texts are compared only when it changes.
    pub(crate) fn write_row(&mut self, row: &[&str; COLUMNS.len()], texts_serial: u64) {
        let (title, footnotes) = (row[TITLE], row[FOOTNOTES]);
        let last = &mut self.last;
        if last.serial != Some(texts_serial) {
            last.serial = Some(texts_serial);
            if last.title != title || last.footnotes != footnotes {
                let key = texts_key(title, footnotes);
                if !key.is_empty() && !self.given.contains(&key) {
                    let line = CsvRows::line(&[key.as_str(), title, footnotes]);
                    self.texts.push((key.clone(), line));
                    self.given.push(key.clone());
                }
                *last = LastTexts {
                    serial: Some(texts_serial),
                    title: title.to_string(),
                    footnotes: footnotes.to_string(),
                    key,
                };
            }
        }
        let mut fields = [""; FIGURE_COLUMNS.len()];
        let mut k = 0;
        for (i, field) in row.iter().enumerate() {
            match i {
                TITLE => fields[k] = &self.last.key,
                FOOTNOTES => continue,
                _ => fields[k] = field,
            }
            k += 1;
        }
        self.figures.write_row(&fields);
    }

    pub(crate) fn take(&mut self) -> FiguresChunk {
        FiguresChunk {
            figures: self.figures.take(),
            texts: std::mem::take(&mut self.texts),
        }
    }

    /// The figures' rows written since the last take.
    pub(crate) fn buffer(&mut self) -> &mut Vec<u8> {
        self.figures.buffer()
    }

    /// Bytes of figures waiting to be taken.
    pub(crate) fn len(&self) -> usize {
        self.figures.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figure_columns_are_the_columns_with_a_key_for_the_texts() {
        let mut expected: Vec<&str> = COLUMNS.to_vec();
        expected[TITLE] = "texts";
        expected.retain(|c| *c != "footnotes");
        assert_eq!(FIGURE_COLUMNS.to_vec(), expected);
        assert_eq!(
            (COLUMNS[TITLE], COLUMNS[FOOTNOTES]),
            ("table_title", "footnotes")
        );
    }

    #[test]
    fn a_key_is_the_same_for_the_same_texts_and_tells_apart_where_the_title_ends() {
        let key = texts_key("ВАЛОВОЙ РЕГИОНАЛЬНЫЙ ПРОДУКТ", "1) Данные уточнены.");
        assert_eq!(key.len(), 16);
        assert!(key.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(
            key,
            texts_key("ВАЛОВОЙ РЕГИОНАЛЬНЫЙ ПРОДУКТ", "1) Данные уточнены.")
        );
        assert_ne!(texts_key("ab", "c"), texts_key("a", "bc"));
        assert_ne!(key, texts_key("ВАЛОВОЙ РЕГИОНАЛЬНЫЙ ПРОДУКТ", ""));
        assert_eq!(texts_key("", ""), "");
    }

    /// Every row's fields but the texts go to the figures, in order; each texts once, with the
    /// key the figures carry.
    #[test]
    fn the_texts_are_given_once_each_and_the_figures_carry_their_key() {
        let row = |title: &'static str, footnotes: &'static str, value: &'static str| {
            let mut row = [""; COLUMNS.len()];
            for (field, column) in row.iter_mut().zip(COLUMNS) {
                *field = column;
            }
            row[TITLE] = title;
            row[FOOTNOTES] = footnotes;
            row[11] = value;
            row
        };
        let title = "ЧИСЛЕННОСТЬ РАБОЧЕЙ СИЛЫ, \"тыс. человек\"";
        let mut rows = FigureRows::new();
        rows.write_row(&row(title, "1) note, one", "1"), 1);
        // Another serial, the same texts (a title read again).
        rows.write_row(&row(title, "1) note, one", "2"), 2);
        let first = rows.take();
        rows.write_row(&row(title, "", "3"), 3);
        rows.write_row(&row(title, "1) note, one", "4"), 4);
        rows.write_row(&row("", "", "5"), 5);
        let second = rows.take();

        let with_notes = texts_key(title, "1) note, one");
        let without = texts_key(title, "");
        let keys = |chunk: &FiguresChunk| {
            chunk
                .texts
                .iter()
                .map(|(k, _)| k.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(&first), std::slice::from_ref(&with_notes));
        assert_eq!(keys(&second), std::slice::from_ref(&without));
        let texts: Vec<u8> = first
            .texts
            .iter()
            .chain(&second.texts)
            .flat_map(|(_, r)| r.clone())
            .collect();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(&texts[..]);
        let texts: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(
            texts[0].iter().collect::<Vec<_>>(),
            [with_notes.as_str(), title, "1) note, one"]
        );
        assert_eq!(
            texts[1].iter().collect::<Vec<_>>(),
            [without.as_str(), title, ""]
        );

        let figures = [first.figures, second.figures].concat();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(&figures[..]);
        let figures: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        let key_and_value = |r: &csv::StringRecord| (r[3].to_string(), r[11].to_string());
        assert_eq!(
            figures.iter().map(key_and_value).collect::<Vec<_>>(),
            [
                (with_notes.clone(), "1".into()),
                (with_notes.clone(), "2".into()),
                (without, "3".into()),
                (with_notes, "4".into()),
                (String::new(), "5".into()),
            ]
        );
        for r in &figures {
            assert_eq!(r.len(), FIGURE_COLUMNS.len());
            assert_eq!((&r[0], &r[12], &r[15]), ("source_file", "status", "basis"));
        }
    }
}
