//! A 200 MB SDMX stream passes through the reader in bounded memory: the peak resident set of this
//! test process (its own binary, so no other test shares it) stays under 100 MB. Memory is measured
//! (VmHWM from /proc), never time.

use std::io::Read;

use regstat_transform::{read_sdmx, RegionDictionary};

/// Generates an EMISS-like SDMX document of about `target` bytes on the fly, never holding it whole.
struct GeneratedSdmx {
    target: usize,
    produced: usize,
    pending: Vec<u8>,
    pos: usize,
    series: usize,
    done: bool,
}

const HEADER: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<GenericData xmlns:generic="http://www.SDMX.org/resources/SDMXML/schemas/v1_0/generic" xmlns:structure="http://www.SDMX.org/resources/SDMXML/schemas/v1_0/structure">
<Header><DataSetID>1</DataSetID></Header><CodeLists><structure:CodeList id="s_OKATO">
<structure:Code value="643"><structure:Description xml:lang="ru">Российская Федерация</structure:Description></structure:Code>
<structure:Code value="42000000000"><structure:Description xml:lang="ru">Липецкая область</structure:Description></structure:Code>
</structure:CodeList></CodeLists><Description><Indicator id="1" name="Генерированный показатель"/></Description><DataSet>
"#;

impl GeneratedSdmx {
    fn refill(&mut self) {
        self.pending.clear();
        self.pos = 0;
        if self.done {
            return;
        }
        if self.produced == 0 {
            self.pending.extend_from_slice(HEADER.as_bytes());
        } else if self.produced >= self.target {
            self.pending
                .extend_from_slice(b"</DataSet></GenericData>\n");
            self.done = true;
        } else {
            self.series += 1;
            let region = if self.series.is_multiple_of(2) {
                "643"
            } else {
                "42000000000"
            };
            let obs: String = (1990..2025)
                .map(|y| format!("<generic:Obs><generic:Time>{y}</generic:Time><generic:ObsValue value=\"{},{}\"/></generic:Obs>\n", self.series % 1000, y % 100))
                .collect();
            let s = format!(
                "<generic:Series><generic:SeriesKey><generic:Value concept=\"s_OKATO\" value=\"{region}\"/><generic:Value concept=\"s_vozr\" value=\"{}\"/></generic:SeriesKey><generic:Attributes><generic:Value concept=\"EI\" value=\"человек\"/><generic:Value concept=\"PERIOD\" value=\"на 1 января\"/></generic:Attributes>\n{obs}</generic:Series>\n",
                self.series
            );
            self.pending.extend_from_slice(s.as_bytes());
        }
        self.produced += self.pending.len();
    }
}

impl Read for GeneratedSdmx {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.pending.len() {
            self.refill();
        }
        let n = out.len().min(self.pending.len() - self.pos);
        out[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

#[test]
fn a_200_mb_stream_parses_in_bounded_memory() {
    let source = GeneratedSdmx {
        target: 200 * 1024 * 1024,
        produced: 0,
        pending: Vec::new(),
        pos: 0,
        series: 0,
        done: false,
    };
    let mut count = 0usize;
    let mut sum = 0.0;
    let summary = read_sdmx(
        "generated.xml",
        std::io::BufReader::with_capacity(64 * 1024, source),
        RegionDictionary::builtin(),
        |o| {
            count += 1;
            sum += o.value.unwrap_or(0.0);
            Ok(())
        },
    )
    .unwrap();
    assert!(summary.problems.is_empty());
    assert_eq!(count, summary.observations);
    assert!(count > 1_000_000, "{count} observations");
    let peak_mib = peak_rss_kib() / 1024;
    println!("{count} observations from ~200 MB; peak RSS {peak_mib} MiB");
    assert!(peak_mib < 100, "peak RSS {peak_mib} MiB");
}
