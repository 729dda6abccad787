//! CSV rows written as the csv crate writes them (fields quoted only when they hold a comma, a
//! quote or a line break, quotes doubled, `\n` after each record), with each column's last long
//! field kept escaped: a table's title, footnotes and basis repeat on every one of its figures, and
//! escaping them byte by byte for every row was most of writing a big section.

/// Rows appended to a buffer that the caller takes ([`CsvRows::take`]) and writes: rows are made on
/// the thread that parsed their sheet, and written in order by another.
pub(crate) struct CsvRows<const N: usize> {
    out: Vec<u8>,
    /// Per column, the last long field as given and as written.
    last: [(Vec<u8>, Vec<u8>); N],
}

/// Fields up to this length are escaped as they come: comparing them with the last one costs as
/// much as scanning them.
const SHORT_FIELD: usize = 24;

/// Whether the csv crate's writer (its default `QuoteStyle::Necessary`) quotes this field. A short
/// field (most are: codes, periods, figures, cells) is looked at byte by byte, which costs less
/// than setting up two vector searches.
fn needs_quotes(field: &[u8]) -> bool {
    if field.len() <= SHORT_FIELD {
        return field
            .iter()
            .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'));
    }
    memchr::memchr3(b',', b'"', b'\n', field).is_some() || memchr::memchr(b'\r', field).is_some()
}

/// Appends the field to `out` as the csv crate writes it.
fn escape(field: &[u8], out: &mut Vec<u8>) {
    if !needs_quotes(field) {
        out.extend_from_slice(field);
        return;
    }
    out.push(b'"');
    for part in field.split_inclusive(|b| *b == b'"') {
        out.extend_from_slice(part);
        if part.last() == Some(&b'"') {
            out.push(b'"');
        }
    }
    out.push(b'"');
}

impl<const N: usize> CsvRows<N> {
    pub(crate) fn new() -> Self {
        Self {
            out: Vec::new(),
            last: std::array::from_fn(|_| Default::default()),
        }
    }

    pub(crate) fn write_row(&mut self, row: &[&str; N]) {
        for (k, (field, (given, written))) in row.iter().zip(&mut self.last).enumerate() {
            if k > 0 {
                self.out.push(b',');
            }
            let field = field.as_bytes();
            if field.len() <= SHORT_FIELD {
                escape(field, &mut self.out);
                continue;
            }
            if field != given.as_slice() {
                given.clear();
                given.extend_from_slice(field);
                written.clear();
                escape(field, written);
            }
            self.out.extend_from_slice(written);
        }
        self.out.push(b'\n');
    }

    /// One row on its own: a header, a side file's row.
    pub(crate) fn line(row: &[&str; N]) -> Vec<u8> {
        let mut rows = Self::new();
        rows.write_row(row);
        rows.take()
    }

    /// The rows written since the last take.
    pub(crate) fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// The rows written since the last take.
    pub(crate) fn buffer(&mut self) -> &mut Vec<u8> {
        &mut self.out
    }

    /// Bytes waiting to be taken.
    pub(crate) fn len(&self) -> usize {
        self.out.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Byte for byte what the csv crate writes, for fields that need quotes and fields that do
    /// not, repeated and changing from row to row.
    #[test]
    fn rows_are_written_as_the_csv_crate_writes_them() {
        let rows: Vec<[&str; 4]> = vec![
            ["a", "", "plain", "1) note, with a comma"],
            ["a", "", "plain", "1) note, with a comma"],
            ["say \"hi\"", "two\nlines", "cr\rhere", "\"\""],
            ["say \"hi\"", "x", "", "1) note, with a comma"],
            ["", "", "", ""],
            ["Российская Федерация", "«ёлки»", "tab\there", "end\""],
            // Long fields (kept escaped per column), repeated and changing.
            [
                "1) Данные, без учета \"ВПН-2020\"",
                "ЧИСЛЕННОСТЬ РАБОЧЕЙ СИЛЫ В ВОЗРАСТЕ 15 ЛЕТ",
                "a long field with\na line break in it",
                "x",
            ],
            [
                "1) Данные, без учета \"ВПН-2020\"",
                "ЧИСЛЕННОСТЬ РАБОЧЕЙ СИЛЫ В ВОЗРАСТЕ 15 ЛЕТ",
                "a long field with\na line break in it",
                "1) note, with a comma, and longer than before",
            ],
            [
                "2) Другая сноска, уже без кавычек",
                "ЧИСЛЕННОСТЬ РАБОЧЕЙ СИЛЫ В ВОЗРАСТЕ 15 ЛЕТ",
                "",
                "1) note, with a comma, and longer than before",
            ],
        ];
        let mut expected = csv::Writer::from_writer(Vec::new());
        for row in &rows {
            expected.write_record(row).unwrap();
        }
        let expected = expected.into_inner().unwrap();
        let mut ours = CsvRows::<4>::new();
        let mut written = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            ours.write_row(row);
            // Taken at odd moments: the escaped-field cache outlives a take.
            if i % 3 == 1 {
                written.extend(ours.take());
            }
        }
        written.extend(ours.take());
        assert_eq!(
            String::from_utf8(written).unwrap(),
            String::from_utf8(expected).unwrap()
        );
    }
}
