//! Parser throughput over the real corpus (../shared/corpus/rosstat): grid cells per second, for each
//! workbook as published (.xlsx) and re-encoded as legacy .xls by the tests' BIFF8 writer.
//! `scripts/cargo bench -p regstat-transform`

#[allow(dead_code)]
#[path = "../tests/common/biff8.rs"]
mod biff8;

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use regstat_transform::{parse_document, RegionDictionary};

fn corpus() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/rosstat");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "xlsx"))
                .map(|p| {
                    (
                        p.file_name().unwrap().to_string_lossy().into_owned(),
                        std::fs::read(&p).unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let legacy: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(name, bytes)| {
            (
                name.replace(".xlsx", ".xls"),
                biff8::xlsx_to_xls(name, bytes),
            )
        })
        .collect();
    files.extend(legacy);
    files
}

fn bench(c: &mut Criterion) {
    let regions = RegionDictionary::builtin();
    let mut group = c.benchmark_group("parse_workbook");
    group.sample_size(10);
    for (name, bytes) in corpus() {
        let cells: usize = parse_document(&name, &bytes, regions, &[])
            .unwrap()
            .tables
            .iter()
            .map(|t| t.grid_cells)
            .sum();
        if cells == 0 {
            continue;
        }
        group.throughput(Throughput::Elements(cells as u64));
        group.bench_function(&name, |b| {
            b.iter(|| parse_document(&name, &bytes, regions, &[]).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
