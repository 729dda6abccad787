//! `regstat demo`: the whole job, offline, with no setup.
//!
//! A loopback HTTP server inside the process serves sample documents that this module builds in the
//! real Rosstat layouts (the figures are real ones for Lipetsk oblast and its Central Black Earth
//! neighbours, from the 2023 «Регионы России» appendix). The job then runs through the real HTTP
//! client, parser, warehouse, estimators and publisher, exactly as `regstat run` does.

mod server;
mod workbooks;

use std::path::{Path, PathBuf};

use regstat_config::Config;

pub use server::DemoServer;
pub use workbooks::{
    demo_documents, percent_encode, DemoDocument, GRP_FILE, INDUSTRY_FILE, INVESTMENT_FILE,
};

use crate::pipeline::{run_once, RunReport};

/// The Lipetsk study's design: Lipetsk oblast against the other Central Black Earth oblasts; cluster
/// documents from 2012; before = 2005 (before the special economic zone), after = 2016 and 2017.
pub fn demo_config(base_url: &str, dir: &Path) -> String {
    let dir = dir.display().to_string().replace('\\', "/");
    format!(
        r#"# Written by `regstat demo`: the demo's sources on its loopback server. That server lives only
# while `regstat demo` runs, so `regstat run` with this file fetches nothing (connection refused);
# `regstat backfill --config` re-estimates from the archive. Copy it as a template for real sources.
[outputs]
warehouse = "{dir}/warehouse.duckdb"
archive = "{dir}/archive"
publish = "{dir}/publish"

[http]
timeout_secs = 10
retries = 2

[[sources]]
id = "lipetskstat-documents"
kind = "document_list"
description = "Regional office page linking the appendix workbooks (48.rosstat.gov.ru layout)"
url = "{base_url}/folder/regions-of-russia-2023"
schedule = "0 0 6 * * *"

[[sources]]
id = "rosstat-grp-per-capita"
kind = "workbook"
description = "A rosstat.gov.ru mediabank workbook at a fixed URL"
url = "{base_url}/storage/mediabank/{grp}"
schedule = "0 30 6 * * Mon"
parser = {{ sheets = ["8.2."] }}

# No [[indicators]]: the catalogue (transform/data/indicators.toml) identifies each table by its title,
# so the same ids hold for other editions, whatever their table numbers.

[[clusters]]
id = "lipetsk-machinery-valley"
name = "Долина машиностроения (Липецкая область)"
treated = ["42000000000"]
treatment_start = 2012
pre_years = [2005]
post_years = [2016, 2017]
indicators = ["investment_per_capita", "grp_per_capita", "manufacturing_index_okved"]
# The other Central Black Earth oblasts: Belgorod, Voronezh, Kursk, Oryol, Tambov.
control = ["14000000000", "20000000000", "38000000000", "54000000000", "68000000000"]

# Staggered adoption: special economic zones of the industrial type in two Central regions,
# Kaluga («Людиново», created 2012) and Tula («Узловая», 2016). Illustrative: check the dates
# against the zones' founding decrees before drawing conclusions. Regions joining in different
# years get Callaway & Sant'Anna as the headline, Sun & Abraham and TWFE beside it.
[[clusters]]
id = "central-sez-industrial"
name = "ОЭЗ промышленно-производственного типа (Калужская и Тульская области)"
treated = ["29000000000", "70000000000"]
treatment_start = 2012
adoption = {{ "70000000000" = 2016 }}
indicators = ["investment_per_capita", "grp_per_capita"]
# Central regions without an industrial zone (Lipetsk's dates from 2005, Moscow oblast's Dubna is
# of another type and Moscow is left out as incomparable).
control = ["14000000000", "15000000000", "17000000000", "20000000000", "24000000000", "28000000000", "34000000000", "38000000000", "54000000000", "61000000000", "66000000000", "68000000000", "78000000000"]
"#,
        grp = workbooks::percent_encode(workbooks::GRP_FILE),
    )
}

pub struct DemoOutcome {
    pub dir: PathBuf,
    pub config: Config,
    pub report: RunReport,
}

/// Runs the demo in `dir`: serves the documents on 127.0.0.1, writes `dir/regstat.toml`, runs the job.
pub async fn run_demo(dir: &Path) -> anyhow::Result<DemoOutcome> {
    std::fs::create_dir_all(dir)?;
    let dir = dir.canonicalize()?;
    let server = DemoServer::start(demo_documents()?).await?;
    let text = demo_config(&server.base_url(), &dir);
    let config_path = dir.join("regstat.toml");
    std::fs::write(&config_path, &text)?;
    let config = Config::load(&config_path)?;
    let report = run_once(&config, None).await?;
    server.stop().await;
    Ok(DemoOutcome {
        dir,
        config,
        report,
    })
}

/// `regstat demo --daemon`: the demo's sources on the loopback server under the scheduler, every 20
/// seconds, until Ctrl-C, so a newcomer can watch runs, the snapshot and /metrics.
pub async fn run_demo_daemon(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let dir = dir.canonicalize()?;
    let server = DemoServer::start(demo_documents()?).await?;
    let text = demo_config(&server.base_url(), &dir)
        .replace(
            "schedule = \"0 0 6 * * *\"",
            "schedule = \"*/20 * * * * *\"",
        )
        .replace(
            "schedule = \"0 30 6 * * Mon\"",
            "schedule = \"10/20 * * * * *\"",
        );
    let config_path = dir.join("regstat.toml");
    std::fs::write(&config_path, &text)?;
    let config = Config::load(&config_path)?;
    let metrics = config
        .daemon
        .metrics_addr
        .map(|a| format!("metrics on http://{a}/metrics"))
        .unwrap_or_else(|| "no metrics endpoint".into());
    println!(
        "demo daemon: sources every 20 s on {}; {metrics}; Ctrl-C to stop",
        server.base_url(),
    );
    println!(
        "watch it: regstat status --config {}",
        config_path.display()
    );
    crate::daemon::run_daemon(config).await?;
    server.stop().await;
    Ok(())
}
