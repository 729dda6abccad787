//! The harness the root's integration tests share (as ripgrep's `tests/util.rs`): running the
//! `regstat` binary, waiting for it with a deadline, the shared data's paths, and DuckDB queries.
//! Each test file includes it with `mod common;`; not every file uses every helper.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What a finished `regstat` process said.
#[derive(Debug)]
pub struct Outcome {
    /// None when a signal ended it.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// Runs `regstat` with `args` to completion.
pub fn regstat(args: &[&str]) -> Outcome {
    let out = Command::new(env!("CARGO_BIN_EXE_regstat"))
        .args(args)
        .output()
        .expect("regstat runs");
    Outcome {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `regstat run --config PATH` from async code (a test serving a loopback site on its runtime);
/// asserts the run succeeded and returns what it said.
pub async fn run_config(config: &Path) -> Outcome {
    let config = config.to_string_lossy().into_owned();
    let out = tokio::task::spawn_blocking(move || regstat(&["run", "--config", &config]))
        .await
        .expect("the run's thread");
    assert!(out.success(), "{}{}", out.stdout, out.stderr);
    out
}

/// Starts `regstat` with `args`, its output piped.
pub fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_regstat"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("regstat starts")
}

/// Waits for a child with a deadline; kills it if it overstays.
pub fn wait(mut child: Child, limit: Duration) -> Outcome {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stdout = String::new();
            let mut stderr = String::new();
            child
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut stdout)
                .unwrap();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            return Outcome {
                code: status.code(),
                stdout,
                stderr,
            };
        }
        if start.elapsed() > limit {
            child.kill().unwrap();
            panic!("process did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A path in `../shared` (the corpus, the reference data), beside the clone.
pub fn shared(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared")
        .join(path)
}

/// The config block of the indicator that the shared EMISS SDMX example (indicator 33459) loads
/// under, as runs and `extract --config` both name it.
pub const FEMALE_POPULATION_INDICATOR: &str = r#"[[indicators]]
id = "female_population"
name = "Численность постоянного населения - женщин на 1 января"
unit = "человек"
emiss_ids = ["33459"]
"#;

/// The first column of the first row of `sql`, as an integer.
pub fn count(conn: &duckdb::Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// A read-only connection (as analysts open the snapshot).
pub fn read_only(path: &Path) -> duckdb::Connection {
    let config = duckdb::Config::default()
        .access_mode(duckdb::AccessMode::ReadOnly)
        .unwrap();
    duckdb::Connection::open_with_flags(path, config).unwrap()
}

/// A config's `[outputs]` section putting the warehouse, archive and published files in `dir`.
pub fn outputs_in(dir: &Path) -> String {
    format!(
        "[outputs]\nwarehouse = \"{dir}/warehouse.duckdb\"\narchive = \"{dir}/archive\"\npublish = \"{dir}/publish\"\n",
        dir = dir.display()
    )
}
