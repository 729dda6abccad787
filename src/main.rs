//! The `regstat` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use regstat::pipeline::RunReport;
use regstat_config::Config;

#[derive(Parser)]
#[command(
    name = "regstat",
    version,
    about = "Warehouse of Russian regional statistics and DiD estimates of industrial clusters"
)]
struct Cli {
    /// Log as JSON lines (for services) instead of human-readable text.
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the whole job offline on built-in sample documents served from 127.0.0.1.
    Demo {
        /// Where the warehouse, archive and published files go.
        #[arg(long, default_value = "regstat-demo")]
        dir: PathBuf,
        /// Keep the demo's sources running under the scheduler (every 20 seconds) until Ctrl-C.
        #[arg(long)]
        daemon: bool,
    },
    /// Run the job once.
    Run {
        /// The configuration file (TOML; `regstat config check FILE` validates it).
        #[arg(long)]
        config: PathBuf,
        /// Only this source (its `id` in the config).
        #[arg(long)]
        source: Option<String>,
    },
    /// Re-parse every archived document (or one source's) and replace its figures, without fetching.
    Backfill {
        /// The configuration file (TOML; `regstat config check FILE` validates it).
        #[arg(long)]
        config: PathBuf,
        /// Only this source's documents (its `id` in the config).
        #[arg(long)]
        source: Option<String>,
    },
    /// Last runs, failures, next scheduled runs, and how fresh each source and indicator is.
    Status {
        /// The configuration file (TOML; `regstat config check FILE` validates it).
        #[arg(long)]
        config: PathBuf,
    },
    /// Run the job on each source's schedule until SIGINT or SIGTERM.
    Daemon {
        /// The configuration file (TOML; `regstat config check FILE` validates it).
        #[arg(long)]
        config: PathBuf,
    },
    /// Parse a local document (a workbook, a ZIP or RAR archive of workbooks, or an EMISS SDMX file) into rows, without the warehouse.
    Extract(regstat::extract_cmd::ExtractArgs),
    /// Difference-in-differences on a panel file (CSV or Parquet).
    Estimate(Box<regstat::estimate_cmd::EstimateArgs>),
    /// Configuration commands.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate a config file, naming the key and line of every error.
    Check { file: PathBuf },
}

fn init_tracing(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("REGSTAT_LOG")
        .unwrap_or_else(|_| EnvFilter::new("warn,regstat=info"));
    use std::io::IsTerminal;
    // Colour codes only on a terminal: journald and log files get plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

// mimalloc keeps freed pages for reuse: an estimate allocates and frees many column-sized vectors,
// and glibc's malloc returned them to the kernel and faulted fresh zeroed pages in each time
// (about a fifth of a 50,000-unit CS run; bench/cs_vs_diff_diff.py).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Small pages for this process. mimalloc asks the kernel for transparent huge pages, and the
/// kernel zeroes a whole 2 MB page on the first touch of any byte in it: a quarter of the CPU of
/// `regstat extract` on a Rosstat section went to `clear_page_erms` (perf), most of it for pages
/// the process barely used. It runs from `.init_array`, before the runtime's first allocation
/// maps mimalloc's first arena; the flag holds for every later mapping and fault.
#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static SMALL_PAGES: extern "C" fn() = {
    extern "C" fn small_pages() {
        // SAFETY: a prctl on this process's own flags, with no memory passed; its failure (an
        // old kernel) leaves huge pages on, which costs time, never correctness.
        unsafe {
            libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
        }
    }
    small_pages
};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(
        cli.command,
        Command::Status { .. }
            | Command::Extract(_)
            | Command::Estimate(_)
            | Command::Config { .. }
    ) {
        // Output commands die quietly when their reader goes away (`regstat status | head`), as Unix
        // tools do; Rust ignores SIGPIPE by default and println! would panic instead. Not for the
        // daemon or runs, whose sockets must never kill the process.
        #[cfg(unix)]
        // SAFETY: restoring the default disposition of one signal before any thread starts.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    init_tracing(cli.log_json);
    let result = match cli.command {
        // Local files in, results out: no network, no timers, no runtime. Its worker threads,
        // I/O driver and signal pipe cost a process that lives tens of milliseconds a measurable
        // share of its start.
        Command::Extract(args) => extract(&args),
        Command::Estimate(args) => args.run().map(|()| ExitCode::SUCCESS),
        command => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")
            .and_then(|runtime| runtime.block_on(dispatch(command))),
    };
    match result {
        Ok(code) => code,
        // A closed pipe (`regstat extract FILE | head`) is the reader's choice, not an error.
        Err(e)
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// `regstat extract`: exit code 1 when the document had problems, which it lists.
fn extract(args: &regstat::extract_cmd::ExtractArgs) -> anyhow::Result<ExitCode> {
    Ok(if args.run()? {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

async fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Demo { dir, daemon: false } => {
            let outcome = regstat::demo::run_demo(&dir).await.context("demo")?;
            print_report(&outcome.report, &outcome.config);
            println!(
                "\nconfig used: {}",
                outcome.dir.join("regstat.toml").display()
            );
            Ok(exit_code(&outcome.report))
        }
        Command::Demo { dir, daemon: true } => {
            regstat::demo::run_demo_daemon(&dir)
                .await
                .context("demo --daemon")?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Backfill { config, source } => {
            let config = Config::load(&config)?;
            let control = regstat::pipeline::RunControl::default();
            regstat::daemon::cancel_on_signals(control.clone());
            let report = regstat::pipeline::backfill(&config, source.as_deref(), &control).await?;
            print_report(&report, &config);
            Ok(exit_code(&report))
        }
        Command::Status { config } => {
            let config = Config::load(&config)?;
            print_status(&config)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { config, source } => {
            let config = Config::load(&config)?;
            let (control, bar) = interactive_control();
            regstat::daemon::cancel_on_signals(control.clone());
            let report = regstat::pipeline::run_with(&config, source.as_deref(), &control).await;
            bar.finish_and_clear();
            let report = report?;
            print_report(&report, &config);
            Ok(exit_code(&report))
        }
        Command::Daemon { config } => {
            let config = Config::load(&config)?;
            regstat::daemon::run_daemon(config).await?;
            Ok(ExitCode::SUCCESS)
        }
        // Run by `main` without the runtime; here for completeness.
        Command::Extract(args) => extract(&args),
        Command::Estimate(args) => args.run().map(|()| ExitCode::SUCCESS),
        Command::Config {
            command: ConfigCommand::Check { file },
        } => match Config::load(&file) {
            Ok(config) => {
                println!(
                    "{}: ok ({} sources, {} indicators, {} clusters)",
                    file.display(),
                    config.sources.len(),
                    config.indicators.len(),
                    config.clusters.len()
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(regstat_config::ConfigError::Invalid { path, issues }) => {
                for issue in &issues {
                    eprintln!("{}: {issue}", path.display());
                }
                eprintln!("{} error(s)", issues.len());
                Ok(ExitCode::from(1))
            }
            Err(e) => Err(e.into()),
        },
    }
}

/// A spinner naming what the run is doing, on a terminal only (services and pipes get the logs).
fn interactive_control() -> (regstat::pipeline::RunControl, indicatif::ProgressBar) {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return (
            regstat::pipeline::RunControl::default(),
            indicatif::ProgressBar::hidden(),
        );
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let shown = bar.clone();
    (
        regstat::pipeline::RunControl::with_progress(move |what| {
            shown.set_message(what.to_string())
        }),
        bar,
    )
}

fn exit_code(report: &RunReport) -> ExitCode {
    // A run stopped by SIGTERM or SIGINT exits 0: it did what it was asked to.
    if report.failed() && !report.cancelled {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_report(report: &RunReport, config: &Config) {
    println!("run {}", report.run_id);
    println!(
        "documents: {} fetched ({} new or changed), {} loaded, {} already in the warehouse",
        report.documents_fetched,
        report.documents_changed,
        report.documents_loaded,
        report.documents_already_loaded
    );
    println!("observations loaded: {}", report.observations_loaded);
    // Indicator ids vary in length (catalogue ids such as `manufacturing_index_okved`).
    let w = report
        .estimates
        .iter()
        .map(|e| e.indicator_id.len())
        .chain(report.twfe.iter().map(|t| t.indicator_id.len()))
        .fold(24, usize::max);
    if !report.estimates.is_empty() {
        println!("\neffects (2x2 DiD, treated x post):");
        println!(
            "  {:<26} {:<w$} {:>9} {:>9} {:>8} {:>9} {:>10}",
            "cluster", "indicator", "effect", "s.e.", "p (t)", "p (plac.)", "effect %"
        );
        for e in &report.estimates {
            let r = &e.result;
            println!(
                "  {:<26} {:<w$} {:>9.4} {:>9.4} {:>8.3} {:>9} {:>10}",
                e.cluster_id,
                e.indicator_id,
                r.effect.estimate,
                r.effect.se,
                r.effect.p,
                r.placebo
                    .as_ref()
                    .map(|p| format!("{:.3}", p.p_value))
                    .unwrap_or_else(|| "-".into()),
                r.effect_percent
                    .map(|p| format!("{p:+.1}"))
                    .unwrap_or_else(|| "-".into()),
            );
        }
        // One line per cluster: its years and regions differ.
        let mut seen = std::collections::BTreeSet::new();
        for e in report
            .estimates
            .iter()
            .filter(|e| seen.insert(e.cluster_id.clone()))
        {
            println!(
                "  ({}: before {}, after {}; {} treated vs {} control regions; s.e. {})",
                e.cluster_id,
                year_ranges(&e.pre_years),
                year_ranges(&e.post_years),
                e.result.n_treated,
                e.result.n_control,
                e.result.vcov
            );
        }
    }
    if !report.twfe.is_empty() {
        println!("\nTWFE over all years (region and year effects, CR1 by region, wild cluster bootstrap):");
        println!(
            "  {:<26} {:<w$} {:>9} {:>9} {:>8} {:>10} {:>21}",
            "cluster", "indicator", "effect", "s.e.", "p (t)", "p (boot)", "95% CI (boot)"
        );
        for t in &report.twfe {
            let c = &t.report.estimates[0];
            let (bp, ci) = match &t.report.bootstrap {
                Some(b) => (
                    format!("{:.3}", b.p),
                    format!("[{:.3}, {:.3}]", b.ci_low, b.ci_high),
                ),
                None => ("-".into(), "-".into()),
            };
            println!(
                "  {:<26} {:<w$} {:>9.4} {:>9.4} {:>8.3} {:>10} {:>21}",
                t.cluster_id, t.indicator_id, c.estimate, c.se, c.p, bp, ci
            );
        }
    }
    if !report.designs.is_empty() {
        println!("\nanswers (* the headline design of each cluster; the others beside it):");
        println!(
            "  {:<26} {:<w$} {:<7} {:>9} {:>9} {:>8}  inference",
            "cluster", "indicator", "design", "effect", "s.e.", "p"
        );
        for d in &report.designs {
            let mark = if d.role == "headline" { "*" } else { " " };
            match (&d.effect, &d.error) {
                (Some(c), _) => println!(
                    "  {:<26} {:<w$} {:<7} {:>9.4} {:>9.4} {:>8.3}  {}",
                    d.cluster_id,
                    d.indicator_id,
                    format!("{}{mark}", d.method),
                    c.estimate,
                    c.se,
                    c.p,
                    short_inference(&d.inference)
                ),
                (None, error) => println!(
                    "  {:<26} {:<w$} {:<7} not estimated: {}",
                    d.cluster_id,
                    d.indicator_id,
                    format!("{}{mark}", d.method),
                    error.as_deref().unwrap_or("")
                ),
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for d in report.designs.iter().filter(|d| d.role == "headline") {
            if seen.insert(d.cluster_id.clone()) {
                println!("  {}: {} because {}", d.cluster_id, d.method, d.reason);
            }
        }
    }
    if !report.failures.is_empty() {
        println!("\nfailures ({}):", report.failures.len());
        for f in &report.failures {
            println!("  - {f}");
        }
    }
    println!("\nwarehouse: {}", config.outputs.warehouse.display());
    println!("archive:   {}", config.outputs.archive.display());
    if let Some(m) = &report.manifest {
        println!(
            "published: {} (latest -> {})",
            config.outputs.publish.display(),
            report
                .published_dir
                .as_ref()
                .and_then(|d| d.strip_prefix(&config.outputs.publish).ok())
                .map_or_else(String::new, |d| d.display().to_string())
        );
        for f in m.files.iter().filter(|f| f.format == "parquet") {
            println!(
                "  {:<22} {:>7} rows (and .csv)",
                f.path,
                f.rows.unwrap_or_default()
            );
        }
        let plots = m.files.iter().filter(|f| f.format == "svg").count();
        if plots > 0 {
            println!("  plots/                 {plots:>7} figures (.svg and .png)");
        }
        for f in m.files.iter().filter(|f| f.format == "html") {
            println!("  {:<22} the report for people", f.path);
        }
    }
    if let Some(previous) = report.unchanged_since {
        println!(
            "\nno figure, design or output changed since run {previous}: its estimates and published files stand"
        );
    }
    if report.cancelled {
        println!("\nrun {} CANCELLED by a shutdown signal: the documents loaded so far are in; the rest wait in the archive for the next run", report.run_id);
    } else if report.failed() {
        println!("\nrun {} FAILED: {} problem(s), listed above and in the warehouse's run and source_document tables", report.run_id, report.failures.len());
    }
}

/// Years as runs: `2000-2011, 2016`.
fn year_ranges(years: &[i32]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < years.len() {
        let mut j = i;
        while j + 1 < years.len() && years[j + 1] == years[j] + 1 {
            j += 1;
        }
        parts.push(if j > i {
            format!("{}-{}", years[i], years[j])
        } else {
            years[i].to_string()
        });
        i = j + 1;
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join(", ")
    }
}

/// The inference column's text without its parenthesised conventions (the stored row keeps them).
fn short_inference(text: &str) -> &str {
    let first = text.split("; ").next().unwrap_or(text);
    match first.find(" (R did") {
        Some(i) => &first[..i],
        None => first,
    }
}

fn print_status(config: &Config) -> anyhow::Result<()> {
    let snapshot = config.outputs.snapshot_path();
    let path = if snapshot.exists() {
        snapshot
    } else {
        config.outputs.warehouse.clone()
    };
    let status = regstat_warehouse::read_status(&path)
        .with_context(|| format!("reading {}", path.display()))?;
    println!("from {}", path.display());
    println!("\nruns (newest first):");
    for r in &status.runs {
        println!(
            "  {:>4}  {}  {:<9}  {:>3} documents  {:>7} observations  {:>3} failures",
            r.run_id,
            r.started_at.format("%Y-%m-%d %H:%M:%S"),
            r.status,
            r.documents.unwrap_or(0),
            r.observations.unwrap_or(0),
            r.failures.unwrap_or(0)
        );
    }
    if let Some(failed) = status.runs.iter().find(|r| r.status == "failed") {
        println!(
            "\nlast failed run {}: {}",
            failed.run_id,
            failed.summary.as_deref().unwrap_or("")
        );
    }
    let next = regstat::daemon::next_fires(config, chrono::Utc::now());
    let tz = regstat::daemon::timezone(config);
    println!("\nsources (next run, {} time):", tz.name());
    for s in &config.sources {
        let fresh = status.sources.iter().find(|f| f.source_id == s.id);
        let next = next
            .iter()
            .find(|(id, _)| *id == s.id)
            .map(|(_, t)| t.with_timezone(tz).format("%Y-%m-%d %H:%M %:z").to_string())
            .unwrap_or_else(|| "by hand only (no schedule)".into());
        match fresh {
            Some(f) => println!(
                "  {:<28} last fetched {}  {} documents ({} failed)  next {next}",
                s.id,
                f.last_fetched
                    .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_default(),
                f.documents,
                f.failed_documents
            ),
            None => println!("  {:<28} never fetched  next {next}", s.id),
        }
    }
    println!("\nindicators:");
    for i in &status.indicators {
        println!(
            "  {:<34} {:>7} figures  latest period {:<10}  vintage {}",
            i.indicator_id,
            i.observations,
            i.latest_period.as_deref().unwrap_or(""),
            i.latest_vintage
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default()
        );
    }
    Ok(())
}
