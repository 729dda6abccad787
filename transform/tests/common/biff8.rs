//! A small writer of legacy Excel 97-2003 workbooks (BIFF8 inside a Compound File), written from the
//! [MS-XLS] specification so that the tests have .xls fixtures made by the project's own code.
//!
//! It writes what Excel itself writes for plain tables: strings through the shared string table (SST,
//! split over CONTINUE records as the spec requires), numbers as RK values where they fit and
//! as MULRK runs where several follow in a row, other numbers as NUMBER records, and merged areas.
//! Formatting is the minimum a reader needs: one font and the General cell format.

use std::collections::HashMap;
use std::io::{Cursor, Write};

use calamine::Reader;

/// A value of one cell.
#[derive(Debug, Clone, PartialEq)]
pub enum XlsValue {
    Text(String),
    Number(f64),
}

/// One worksheet: cells by (row, column), zero-based, and merged areas (first row, last row, first
/// column, last column).
#[derive(Debug, Default, Clone)]
pub struct XlsSheet {
    pub name: String,
    pub cells: Vec<((u16, u16), XlsValue)>,
    pub merged: Vec<(u16, u16, u16, u16)>,
}

/// Largest record payload; longer data continues in CONTINUE records ([MS-XLS] 2.1.4).
const MAX_RECORD_DATA: usize = 8224;

const BOF: u16 = 0x0809;
const EOF: u16 = 0x000A;
const CODEPAGE: u16 = 0x0042;
const FONT: u16 = 0x0031;
const XF: u16 = 0x00E0;
const BOUNDSHEET8: u16 = 0x0085;
const SST: u16 = 0x00FC;
const CONTINUE: u16 = 0x003C;
const DIMENSIONS: u16 = 0x0200;
const NUMBER: u16 = 0x0203;
const RK: u16 = 0x027E;
const MULRK: u16 = 0x00BD;
const LABELSST: u16 = 0x00FD;
const MERGECELLS: u16 = 0x00E5;

/// Index of the one cell XF written after the 15 style XFs Excel expects.
const CELL_XF: u16 = 15;

/// The bytes of an .xls file holding `sheets`.
pub fn write_xls(sheets: &[XlsSheet]) -> Vec<u8> {
    let mut sst = SharedStrings::default();
    for sheet in sheets {
        for (_, value) in &sheet.cells {
            if let XlsValue::Text(s) = value {
                sst.add(s);
            }
        }
    }
    let substreams: Vec<Vec<u8>> = sheets.iter().map(|s| worksheet(s, &sst)).collect();

    // The globals come first and name each sheet's offset in the stream, so their length is
    // computed with placeholder offsets, then the records are written for real.
    let globals_len = globals(sheets, &sst, &vec![0; sheets.len()]).len();
    let mut offsets = Vec::with_capacity(sheets.len());
    let mut at = globals_len as u32;
    for s in &substreams {
        offsets.push(at);
        at += s.len() as u32;
    }
    let mut stream = globals(sheets, &sst, &offsets);
    for s in substreams {
        stream.extend(s);
    }

    // Version 3 (512-byte sectors), as Excel 97-2003 writes it; readers expect it of an .xls.
    let mut file =
        cfb::CompoundFile::create_with_version(cfb::Version::V3, Cursor::new(Vec::new()))
            .expect("compound file");
    file.create_stream("/Workbook")
        .expect("Workbook stream")
        .write_all(&stream)
        .expect("write Workbook stream");
    file.flush().expect("flush compound file");
    file.into_inner().into_inner()
}

/// Re-encodes an .xlsx workbook as .xls: every sheet, every non-empty cell at its own address, every
/// merged area.
pub fn xlsx_to_xls(name: &str, xlsx: &[u8]) -> Vec<u8> {
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(xlsx)).expect("xlsx opens");
    let mut sheets = Vec::new();
    for sheet_name in book.sheet_names() {
        let range = book.worksheet_range(&sheet_name).expect("sheet reads");
        let (row0, col0) = range.start().unwrap_or((0, 0));
        let mut sheet = XlsSheet {
            name: sheet_name.clone(),
            ..XlsSheet::default()
        };
        for (r, c, data) in range.cells() {
            let at = ((row0 as usize + r) as u16, (col0 as usize + c) as u16);
            let value = match data {
                calamine::Data::Empty => continue,
                calamine::Data::String(s) => XlsValue::Text(s.clone()),
                calamine::Data::Float(v) => XlsValue::Number(*v),
                calamine::Data::Int(v) => XlsValue::Number(*v as f64),
                other => panic!("{name} {sheet_name}: cell type {other:?} has no fixture encoding"),
            };
            sheet.cells.push((at, value));
        }
        sheet.merged = book
            .merge_cells_by_sheet_name(&sheet_name)
            .expect("merged areas read")
            .into_iter()
            .map(|d| {
                (
                    d.start.0 as u16,
                    d.end.0 as u16,
                    d.start.1 as u16,
                    d.end.1 as u16,
                )
            })
            .collect();
        sheets.push(sheet);
    }
    write_xls(&sheets)
}

fn globals(sheets: &[XlsSheet], sst: &SharedStrings, offsets: &[u32]) -> Vec<u8> {
    let mut out = Vec::new();
    record(&mut out, BOF, &bof(0x0005));
    record(&mut out, CODEPAGE, &1200u16.to_le_bytes());
    // Excel skips font index 4, so four identical fonts precede any other; readers count on it.
    for _ in 0..4 {
        record(&mut out, FONT, &font("Arial"));
    }
    for i in 0..=CELL_XF {
        record(&mut out, XF, &xf(i < CELL_XF));
    }
    for (sheet, offset) in sheets.iter().zip(offsets) {
        let mut data = Vec::new();
        data.extend(offset.to_le_bytes());
        data.push(0); // visible
        data.push(0); // worksheet
        short_unicode_string(&mut data, &sheet.name);
        record(&mut out, BOUNDSHEET8, &data);
    }
    sst.write(&mut out);
    record(&mut out, EOF, &[]);
    out
}

fn worksheet(sheet: &XlsSheet, sst: &SharedStrings) -> Vec<u8> {
    let mut out = Vec::new();
    record(&mut out, BOF, &bof(0x0010));
    let mut cells: Vec<_> = sheet.cells.iter().collect();
    cells.sort_by_key(|((r, c), _)| (*r, *c));
    let (rows, cols) = cells
        .iter()
        .fold(None, |acc: Option<(u16, u16, u16, u16)>, ((r, c), _)| {
            Some(match acc {
                None => (*r, *r, *c, *c),
                Some((r0, r1, c0, c1)) => (r0.min(*r), r1.max(*r), c0.min(*c), c1.max(*c)),
            })
        })
        .map_or(((0, 0), (0, 0)), |(r0, r1, c0, c1)| {
            ((r0, r1 + 1), (c0, c1 + 1))
        });
    let mut dims = Vec::new();
    dims.extend(u32::from(rows.0).to_le_bytes());
    dims.extend(u32::from(rows.1).to_le_bytes());
    dims.extend(cols.0.to_le_bytes());
    dims.extend(cols.1.to_le_bytes());
    dims.extend(0u16.to_le_bytes());
    record(&mut out, DIMENSIONS, &dims);

    let mut i = 0;
    while i < cells.len() {
        let ((row, col), value) = cells[i];
        match value {
            XlsValue::Text(s) => {
                let mut data = cell_header(*row, *col);
                data.extend(sst.position(s).to_le_bytes());
                record(&mut out, LABELSST, &data);
                i += 1;
            }
            XlsValue::Number(v) => {
                // A run of RK values in adjacent columns of one row is one MULRK, as Excel writes it.
                let mut run = vec![];
                while let Some(((r, c), XlsValue::Number(x))) = cells.get(i + run.len()) {
                    let adjacent = *r == *row && usize::from(*c) == usize::from(*col) + run.len();
                    match rk(*x) {
                        Some(encoded) if adjacent => run.push(encoded),
                        _ => break,
                    }
                }
                match run.len() {
                    0 => {
                        let mut data = cell_header(*row, *col);
                        data.extend(v.to_le_bytes());
                        record(&mut out, NUMBER, &data);
                        i += 1;
                    }
                    1 => {
                        let mut data = cell_header(*row, *col);
                        data.extend(run[0].to_le_bytes());
                        record(&mut out, RK, &data);
                        i += 1;
                    }
                    n => {
                        let mut data = Vec::new();
                        data.extend(row.to_le_bytes());
                        data.extend(col.to_le_bytes());
                        for encoded in &run {
                            data.extend(CELL_XF.to_le_bytes());
                            data.extend(encoded.to_le_bytes());
                        }
                        data.extend((col + n as u16 - 1).to_le_bytes());
                        record(&mut out, MULRK, &data);
                        i += n;
                    }
                }
            }
        }
    }
    if !sheet.merged.is_empty() {
        // At most 1026 areas fit in one MERGECELLS record.
        for chunk in sheet.merged.chunks(1026) {
            let mut data = Vec::new();
            data.extend((chunk.len() as u16).to_le_bytes());
            for (r0, r1, c0, c1) in chunk {
                for v in [r0, r1, c0, c1] {
                    data.extend(v.to_le_bytes());
                }
            }
            record(&mut out, MERGECELLS, &data);
        }
    }
    record(&mut out, EOF, &[]);
    out
}

/// The RK encoding of `v` ([MS-XLS] 2.5.217) when one exists: a 30-bit integer, or the top 30 bits
/// of the double, either possibly scaled by 100.
fn rk(v: f64) -> Option<u32> {
    const LIMIT: f64 = (1 << 29) as f64;
    let as_int = |x: f64| (x.fract() == 0.0 && (-LIMIT..LIMIT).contains(&x)).then_some(x as i32);
    if let Some(n) = as_int(v) {
        return Some(((n as u32) << 2) | 0b10);
    }
    let scaled = v * 100.0;
    if let Some(n) = as_int(scaled).filter(|n| f64::from(*n) / 100.0 == v) {
        return Some(((n as u32) << 2) | 0b11);
    }
    let top = |x: f64| {
        let bits = x.to_bits();
        (bits & 0x3_FFFF_FFFF == 0).then_some((bits >> 32) as u32)
    };
    if let Some(t) = top(v) {
        return Some(t);
    }
    top(scaled)
        .filter(|_| scaled / 100.0 == v)
        .map(|t| t | 0b01)
}

fn cell_header(row: u16, col: u16) -> Vec<u8> {
    let mut data = Vec::with_capacity(14);
    data.extend(row.to_le_bytes());
    data.extend(col.to_le_bytes());
    data.extend(CELL_XF.to_le_bytes());
    data
}

fn bof(kind: u16) -> Vec<u8> {
    let mut data = Vec::with_capacity(16);
    data.extend(0x0600u16.to_le_bytes()); // BIFF8
    data.extend(kind.to_le_bytes());
    data.extend(0x0DBBu16.to_le_bytes()); // build
    data.extend(0x07CCu16.to_le_bytes()); // year 1996
    data.extend(0x0000_0041u32.to_le_bytes()); // file history flags
    data.extend(0x0000_0006u32.to_le_bytes()); // lowest BIFF version that can read all records
    data
}

fn font(name: &str) -> Vec<u8> {
    let mut data = Vec::new();
    data.extend(200u16.to_le_bytes()); // height, twips
    data.extend(0u16.to_le_bytes()); // attributes
    data.extend(0x7FFFu16.to_le_bytes()); // colour: automatic
    data.extend(400u16.to_le_bytes()); // weight: normal
    data.extend(0u16.to_le_bytes()); // escapement
    data.push(0); // underline
    data.push(0); // family
    data.push(0xCC); // character set: Cyrillic
    data.push(0);
    short_unicode_string(&mut data, name);
    data
}

fn xf(style: bool) -> Vec<u8> {
    let mut data = Vec::with_capacity(20);
    data.extend(0u16.to_le_bytes()); // font
    data.extend(0u16.to_le_bytes()); // number format: General
                                     // Style XFs have fStyle set and no parent; the cell XF's parent is style XF 0.
    data.extend(if style { 0xFFF5u16 } else { 0x0001u16 }.to_le_bytes());
    data.extend(0x0020u16.to_le_bytes()); // alignment: bottom
    data.extend(0u16.to_le_bytes());
    data.extend(0u32.to_le_bytes());
    data.extend(0u32.to_le_bytes());
    data.extend(0x20C0u16.to_le_bytes()); // pattern colours: automatic
    data
}

/// `ShortXLUnicodeString`: an 8-bit length, a flags byte, then UTF-16LE (all names here may be Cyrillic).
fn short_unicode_string(out: &mut Vec<u8>, s: &str) {
    let units: Vec<u16> = s.encode_utf16().collect();
    out.push(units.len() as u8);
    out.push(1);
    for u in units {
        out.extend(u.to_le_bytes());
    }
}

/// Writes one record, splitting data longer than a record allows into CONTINUE records.
fn record(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
    let mut chunks = data.chunks(MAX_RECORD_DATA);
    let first = chunks.next().unwrap_or(&[]);
    out.extend(kind.to_le_bytes());
    out.extend((first.len() as u16).to_le_bytes());
    out.extend(first);
    for chunk in chunks {
        out.extend(CONTINUE.to_le_bytes());
        out.extend((chunk.len() as u16).to_le_bytes());
        out.extend(chunk);
    }
}

#[derive(Default)]
struct SharedStrings {
    strings: Vec<String>,
    index: HashMap<String, u32>,
    uses: u32,
}

impl SharedStrings {
    fn add(&mut self, s: &str) {
        self.uses += 1;
        if !self.index.contains_key(s) {
            self.index.insert(s.to_string(), self.strings.len() as u32);
            self.strings.push(s.to_string());
        }
    }

    fn position(&self, s: &str) -> u32 {
        self.index[s]
    }

    /// The SST record and its CONTINUE records. A string's header (length and flags) never splits;
    /// its characters may, and each continuation of characters starts with the flags byte again
    /// ([MS-XLS] 2.4.265 and 2.5.293).
    fn write(&self, out: &mut Vec<u8>) {
        let mut records: Vec<Vec<u8>> = vec![Vec::new()];
        records[0].extend(self.uses.to_le_bytes());
        records[0].extend((self.strings.len() as u32).to_le_bytes());
        for s in &self.strings {
            let units: Vec<u16> = s.encode_utf16().collect();
            if records.last().unwrap().len() + 3 + 2 > MAX_RECORD_DATA {
                records.push(Vec::new());
            }
            let current = records.last_mut().unwrap();
            current.extend((units.len() as u16).to_le_bytes());
            current.push(1); // fHighByte: UTF-16
            let mut rest = &units[..];
            loop {
                let current = records.last_mut().unwrap();
                let room = (MAX_RECORD_DATA - current.len()) / 2;
                let (now, later) = rest.split_at(room.min(rest.len()));
                for u in now {
                    current.extend(u.to_le_bytes());
                }
                rest = later;
                if rest.is_empty() {
                    break;
                }
                records.push(vec![1]);
            }
        }
        for (i, data) in records.iter().enumerate() {
            let kind = if i == 0 { SST } else { CONTINUE };
            out.extend(kind.to_le_bytes());
            out.extend((data.len() as u16).to_le_bytes());
            out.extend(data);
        }
    }
}

#[test]
fn rk_encodings_round_trip() {
    fn decode(rk: u32) -> f64 {
        let x100 = rk & 1 != 0;
        let v = if rk & 2 != 0 {
            f64::from((rk as i32) >> 2)
        } else {
            f64::from_bits(u64::from(rk & !3) << 32)
        };
        if x100 {
            v / 100.0
        } else {
            v
        }
    }
    for v in [0.0, 1.0, -7.0, 25339.0, 111.5, 12.34, 0.5, 1e9, -2.5e-3] {
        if let Some(encoded) = rk(v) {
            assert_eq!(decode(encoded), v, "{v}");
        }
    }
    assert!(rk(25339.0).is_some() && rk(12.34).is_some() && rk(0.5).is_some());
    assert_eq!(
        rk(0.1 + 0.2),
        None,
        "a double with low bits set needs NUMBER"
    );
}
