use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::source::{RawSource, SourceConfig};

/// The whole configuration, every value typed (see [`crate::typed`]). Built by [`Config::parse`].
#[derive(Debug, Clone)]
pub struct Config {
    pub outputs: Outputs,
    pub http: HttpSettings,
    pub sources: Vec<SourceConfig>,
    pub indicators: Vec<IndicatorConfig>,
    pub clusters: Vec<ClusterConfig>,
    pub daemon: DaemonSettings,
    pub regions: RegionSettings,
    pub estimation: EstimationSettings,
    pub municipalities: MunicipalSettings,
    /// The shipped region dictionary with `[regions] aliases`, built on first use.
    region_dictionary: std::sync::OnceLock<regstat_transform::RegionDictionary>,
}

/// The file as serde reads it: sections whose values need parsing are kept as written, and
/// [`RawConfig::check`] turns them into [`Config`] once, with every problem found.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    outputs: Outputs,
    #[serde(default)]
    http: HttpSettings,
    #[serde(default)]
    sources: Vec<RawSource>,
    #[serde(default)]
    indicators: Vec<IndicatorConfig>,
    #[serde(default)]
    clusters: Vec<ClusterConfig>,
    #[serde(default)]
    daemon: RawDaemonSettings,
    #[serde(default)]
    regions: RegionSettings,
    #[serde(default)]
    estimation: EstimationSettings,
    #[serde(default)]
    municipalities: RawMunicipalSettings,
}

/// `[municipalities]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMunicipalSettings {
    #[serde(default)]
    classifier: Vec<String>,
}

/// Municipal formations: Rosstat's OKTMO classifier, read once when the config is loaded.
#[derive(Debug, Clone, Default)]
pub struct MunicipalSettings {
    /// The classifier's volume files (`tom3_oktmo_1.csv`: `code;check digit;name;centre`),
    /// earlier editions first (their codes name a renamed formation's series), relative to the
    /// config file.
    pub classifier: Vec<PathBuf>,
    pub dictionary: std::sync::Arc<regstat_transform::municipal::MunicipalDictionary>,
}

impl RawMunicipalSettings {
    fn check(self, base: &Path, issues: &mut Vec<(String, String)>) -> MunicipalSettings {
        let paths: Vec<PathBuf> = self.classifier.iter().map(|p| base.join(p)).collect();
        let mut files = Vec::new();
        for (i, path) in paths.iter().enumerate() {
            match std::fs::read(path) {
                Ok(bytes) => files.push((path.display().to_string(), bytes)),
                Err(e) => issues.push((
                    format!("municipalities.classifier[{i}]"),
                    format!("{}: {e}", path.display()),
                )),
            }
        }
        let dictionary = match regstat_transform::municipal::MunicipalDictionary::from_volumes(
            files
                .iter()
                .map(|(name, bytes)| (name.as_str(), bytes.as_slice())),
        ) {
            Ok(d) => d,
            Err(e) => {
                let i = files.iter().position(|(n, _)| *n == e.file).unwrap_or(0);
                issues.push((format!("municipalities.classifier[{i}]"), e.to_string()));
                Default::default()
            }
        };
        MunicipalSettings {
            classifier: paths,
            dictionary: std::sync::Arc::new(dictionary),
        }
    }
}

impl RawConfig {
    /// The typed config, or every problem as (dotted key, message) pairs.
    pub(crate) fn check(self, base: &Path) -> Result<Config, Vec<(String, String)>> {
        let mut issues = Vec::new();
        let mut ids = HashSet::new();
        let mut sources = Vec::new();
        for (i, raw) in self.sources.into_iter().enumerate() {
            let key = |field: &str| format!("sources[{i}].{field}");
            if !is_identifier(raw.id()) {
                issues.push((
                    key("id"),
                    format!("expected letters, digits, '-' or '_', found {:?}", raw.id()),
                ));
            }
            if !ids.insert(raw.id().to_string()) {
                issues.push((key("id"), format!("source id {:?} is used twice", raw.id())));
            }
            match raw.check(base) {
                Ok(source) => sources.push(source),
                Err(found) => issues.extend(found.into_iter().map(|(f, m)| (key(f), m))),
            }
        }
        let daemon = self.daemon.check(&mut issues);
        let municipalities = self.municipalities.check(base, &mut issues);
        let config = Config {
            outputs: self.outputs,
            http: self.http,
            sources,
            indicators: self.indicators,
            clusters: self.clusters,
            daemon,
            regions: self.regions,
            estimation: self.estimation,
            municipalities,
            region_dictionary: Default::default(),
        };
        issues.extend(config.check_sections());
        if issues.is_empty() {
            Ok(config)
        } else {
            Err(issues)
        }
    }
}

/// The design methods a cluster's headline may name: the `regstat estimate --method` names.
pub const DESIGN_METHODS: [&str; 7] =
    ["did2x2", "twfe", "event-study", "sc", "sdid", "cs", "sunab"];

/// How the run's cluster designs are estimated; the defaults are the values runs always used.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EstimationSettings {
    /// Draws of the TWFE wild cluster bootstrap (Webb weights).
    pub bootstrap_reps: usize,
    /// Placebo replications of the SDID and SC standard errors.
    pub placebo_reps: usize,
    /// Event-study window: relative years outside are binned into its ends.
    pub event_window: [i64; 2],
    /// Seed of every random draw, so a run is reproducible.
    pub seed: u64,
}

impl Default for EstimationSettings {
    fn default() -> Self {
        Self {
            bootstrap_reps: 9999,
            placebo_reps: 200,
            event_window: [-5, 5],
            seed: 20261122,
        }
    }
}

/// Spellings the shipped region dictionary lacks, taught without a new release.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegionSettings {
    /// Label as printed -> s_OKATO code: `{ "Респ. Саха (Якутия)" = "98000000000" }`. Labels are
    /// compared as the dictionary compares them (case, footnote marks, dashes, spaces folded).
    #[serde(default)]
    pub aliases: std::collections::BTreeMap<String, String>,
}

/// What to do about scheduled runs missed while the daemon was down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CatchUp {
    /// Wait for the next scheduled time.
    #[default]
    Skip,
    /// Run once at start-up for every source whose scheduled time passed unrun.
    RunOnce,
}

/// The daemon's behaviour.
#[derive(Debug, Clone)]
pub struct DaemonSettings {
    /// The time zone the cron expressions are read in.
    pub timezone: crate::Zone,
    /// Up to this many seconds of random delay before each scheduled run.
    pub jitter_secs: u64,
    pub catch_up: CatchUp,
    /// Address of /metrics (Prometheus) and /healthz; `None` when the file sets it empty.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// How long a run waits for the warehouse when another process holds it open.
    pub lock_wait_secs: u64,
}

/// `[daemon]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RawDaemonSettings {
    /// IANA time zone name.
    timezone: String,
    jitter_secs: u64,
    catch_up: CatchUp,
    /// Loopback by default; empty to disable.
    metrics_addr: String,
    lock_wait_secs: u64,
}

impl Default for RawDaemonSettings {
    fn default() -> Self {
        Self {
            timezone: "Europe/Moscow".into(),
            jitter_secs: 0,
            catch_up: CatchUp::Skip,
            metrics_addr: "127.0.0.1:9184".into(),
            lock_wait_secs: 60,
        }
    }
}

impl RawDaemonSettings {
    fn check(self, issues: &mut Vec<(String, String)>) -> DaemonSettings {
        let timezone = crate::typed::time_zone(&self.timezone).unwrap_or_else(|e| {
            issues.push(("daemon.timezone".into(), e));
            // Never used: the issue fails the load.
            crate::Zone::utc()
        });
        let metrics_addr = if self.metrics_addr.is_empty() {
            None
        } else {
            self.metrics_addr
                .parse::<std::net::SocketAddr>()
                .map_err(|_| {
                    issues.push((
                        "daemon.metrics_addr".into(),
                        format!(
                            "expected an address such as 127.0.0.1:9184, found {:?}",
                            self.metrics_addr
                        ),
                    ))
                })
                .ok()
        };
        DaemonSettings {
            timezone,
            jitter_secs: self.jitter_secs,
            catch_up: self.catch_up,
            metrics_addr,
            lock_wait_secs: self.lock_wait_secs,
        }
    }
}

impl Default for DaemonSettings {
    fn default() -> Self {
        let mut unused = Vec::new();
        RawDaemonSettings::default().check(&mut unused)
    }
}

/// Where regstat keeps what it makes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outputs {
    /// The DuckDB warehouse file analysts open.
    pub warehouse: PathBuf,
    /// Content-addressed archive of every fetched document.
    pub archive: PathBuf,
    /// Directory of published Parquet/CSV files and manifest.json.
    pub publish: PathBuf,
    /// The read-only copy analysts open, replaced atomically after every run; by default
    /// `<warehouse>.snapshot.duckdb` beside the warehouse.
    #[serde(default)]
    pub snapshot: Option<PathBuf>,
    /// How published CSV files are written: `standard` (UTF-8, comma, dot) or `excel-ru` (UTF-8 with
    /// a byte-order mark, `;`, decimal comma: what Russian-locale Excel opens with a double click).
    #[serde(default)]
    pub csv_dialect: CsvDialectName,
    /// The report's language: `ru` (the default) or `en`.
    #[serde(default)]
    pub report_language: ReportLanguage,
    /// How many published runs `publish/runs/` keeps (the newest; `latest` is never removed).
    #[serde(default = "default_keep_runs")]
    pub keep_runs: std::num::NonZeroUsize,
}

fn default_keep_runs() -> std::num::NonZeroUsize {
    std::num::NonZeroUsize::new(10).expect("not zero")
}

/// `[outputs] report_language`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum ReportLanguage {
    #[default]
    #[serde(rename = "ru")]
    Ru,
    #[serde(rename = "en")]
    En,
}

/// `[outputs] csv_dialect`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum CsvDialectName {
    #[default]
    #[serde(rename = "standard")]
    Standard,
    #[serde(rename = "excel-ru")]
    ExcelRu,
}

impl Outputs {
    /// Where the analysts' snapshot goes.
    pub fn snapshot_path(&self) -> PathBuf {
        self.snapshot.clone().unwrap_or_else(|| {
            let stem = self
                .warehouse
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "warehouse".into());
            self.warehouse
                .with_file_name(format!("{stem}.snapshot.duckdb"))
        })
    }

    pub(crate) fn resolve_against(&mut self, dir: &Path) {
        if let Some(p) = &mut self.snapshot {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        }
        for p in [&mut self.warehouse, &mut self.archive, &mut self.publish] {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        }
    }
}

/// HTTP client settings shared by all sources.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSettings {
    /// Sent on every request. fedstat.ru refuses common library user agents.
    pub user_agent: String,
    pub timeout_secs: u64,
    /// PEM bundle of extra root certificates, for hosts certified by the Russian Trusted Root CA
    /// (rosstat.gov.ru, gks.ru). Verification itself can never be turned off.
    pub extra_ca_bundle: Option<PathBuf>,
    /// Every request goes through this proxy (`http://host:port`).
    #[serde(deserialize_with = "optional_url")]
    pub proxy: Option<url::Url>,
    /// Attempts per request on connection errors, 5xx and 429.
    pub retries: u32,
    /// Least time between two requests to the same host, to be polite to the statistics sites.
    pub host_delay_ms: u64,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            user_agent: "Mozilla/5.0 (X11; Linux x86_64) regstat/0.1".into(),
            timeout_secs: 60,
            extra_ca_bundle: None,
            proxy: None,
            retries: 3,
            host_delay_ms: 0,
        }
    }
}

/// `proxy = "http://host:port"` (or https, socks5): a URL with a host, checked where it is written.
fn optional_url<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<url::Url>, D::Error> {
    let Some(text) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    match url::Url::parse(&text) {
        Ok(u)
            if u.host().is_some()
                && matches!(u.scheme(), "http" | "https" | "socks5" | "socks5h") =>
        {
            Ok(Some(u))
        }
        Ok(_) => Err(serde::de::Error::custom(format!(
            "not a URL with scheme http, https or socks5 and a host: {text:?}"
        ))),
        Err(e) => Err(serde::de::Error::custom(format!(
            "not a URL ({e}): {text:?}"
        ))),
    }
}

/// An indicator: one identity whatever table or source publishes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorConfig {
    /// Stable id used in the warehouse (`investment_per_capita`).
    pub id: String,
    pub name: String,
    pub unit: String,
    /// Rosstat table codes that publish it (`10.2` in the 2023 appendix).
    #[serde(default)]
    pub rosstat_tables: Vec<String>,
    /// EMISS indicator ids that publish it (`33459`), so both sources land on one identity.
    #[serde(default)]
    pub emiss_ids: Vec<String>,
    /// Phrases a Rosstat table's title must all contain to be this indicator, whatever the edition
    /// numbers it (as the catalogue identifies its own); compared without case, quotes or `ё`.
    #[serde(default)]
    pub title_all: Vec<String>,
    /// Phrases that rule a title out (`на душу` keeps the per-capita table from the total's id).
    #[serde(default)]
    pub title_none: Vec<String>,
}

/// What a cluster's units are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterLevel {
    /// Regions: `treated` and `control` are s_OKATO codes.
    #[default]
    Region,
    /// Municipal formations of one subject: `treated` and `control` are OKTMO codes of the
    /// `[municipalities]` classifier (each formation's series), the estimates run on the figures a
    /// regional office publishes by formation.
    Municipality,
}

/// An industrial cluster and its evaluation design.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    pub id: String,
    pub name: String,
    /// Regions, or municipal formations of one subject.
    #[serde(default)]
    pub level: ClusterLevel,
    /// Codes of the treated units: s_OKATO region codes, or OKTMO codes at municipal level.
    pub treated: Vec<String>,
    /// First treated year.
    pub treatment_start: i32,
    /// Indicator ids to evaluate.
    pub indicators: Vec<String>,
    /// Region codes of the control pool.
    pub control: Vec<String>,
    /// Years that form the "before" cell of the 2x2; by default every year before `treatment_start`.
    #[serde(default)]
    pub pre_years: Vec<i32>,
    /// Years that form the "after" cell; by default every year from `treatment_start` on.
    #[serde(default)]
    pub post_years: Vec<i32>,
    /// Estimate on logs (effects read as approximate percentage changes), as the Lipetsk study did.
    #[serde(default = "yes")]
    pub log_outcome: bool,
    /// Adoption year of treated regions that joined the programme in another year than
    /// `treatment_start` (region code -> year); the others adopt at `treatment_start`.
    #[serde(default)]
    pub adoption: std::collections::BTreeMap<String, i32>,
    /// The headline design, a `regstat estimate --method` name; by default chosen from the design:
    /// sdid for one treated region, cs for regions adopting in different years, twfe otherwise.
    #[serde(default)]
    pub headline: Option<String>,
    /// Per indicator, the category to estimate on where its table splits each region's yearly
    /// figure by category (indicator id -> dimension -> value, e.g. `category = "пенсии"`).
    /// Without an entry the indicator's figures without dimensions are used.
    #[serde(default)]
    pub dimensions: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
}

impl ClusterConfig {
    /// Each treated region's adoption year.
    pub fn adoption_year(&self, region: &str) -> i32 {
        self.adoption
            .get(region)
            .copied()
            .unwrap_or(self.treatment_start)
    }
}

fn yes() -> bool {
    true
}

impl Config {
    /// Checks the sections that are not parsed into other types: references between sections,
    /// region codes, bounds. Returns (dotted key, message) pairs.
    fn check_sections(&self) -> Vec<(String, String)> {
        let mut issues = Vec::new();
        let regions = regstat_transform::RegionDictionary::builtin();
        let aliases = || {
            self.regions
                .aliases
                .iter()
                .map(|(label, code)| (label.as_str(), code.as_str()))
        };
        let alias_issues = issues.len();
        for alias in aliases() {
            if let Err(e) = regions.with_aliases([alias]) {
                issues.push(("regions.aliases".to_string(), e.to_string()));
            }
        }
        // Each alone may fit and two together clash (one spelling, written twice, for two codes).
        if issues.len() == alias_issues {
            if let Err(e) = regions.with_aliases(aliases()) {
                issues.push(("regions.aliases".to_string(), e.to_string()));
            }
        }
        let mut indicator_ids = HashSet::new();
        let catalogue_ids: HashSet<&str> = regstat_transform::Catalogue::builtin()
            .entries
            .iter()
            .map(|e| e.id.as_str())
            .collect();
        for (i, ind) in self.indicators.iter().enumerate() {
            if !is_identifier(&ind.id) {
                issues.push((
                    format!("indicators[{i}].id"),
                    format!("expected letters, digits, '-' or '_', found {:?}", ind.id),
                ));
            }
            if !indicator_ids.insert(ind.id.as_str()) {
                issues.push((
                    format!("indicators[{i}].id"),
                    format!("indicator id {:?} is used twice", ind.id),
                ));
            }
        }
        for (i, ind) in self.indicators.iter().enumerate() {
            if ind.title_all.iter().any(|p| p.trim().is_empty()) {
                issues.push((
                    format!("indicators[{i}].title_all"),
                    "expected non-empty phrases".into(),
                ));
            }
            if ind.title_all.is_empty() && !ind.title_none.is_empty() {
                issues.push((
                    format!("indicators[{i}].title_none"),
                    "title_none rules titles out only beside title_all".into(),
                ));
            }
        }
        let mut tables = std::collections::HashMap::new();
        for (i, ind) in self.indicators.iter().enumerate() {
            for (j, t) in ind.rosstat_tables.iter().enumerate() {
                if let Some(other) = tables.insert(t.trim_end_matches('.'), &ind.id) {
                    issues.push((
                        format!("indicators[{i}].rosstat_tables[{j}]"),
                        format!("table {t} already belongs to indicator {other:?}"),
                    ));
                }
            }
        }
        let e = &self.estimation;
        if !(99..=1_000_000).contains(&e.bootstrap_reps) {
            issues.push((
                "estimation.bootstrap_reps".into(),
                format!("expected 99 to 1000000 draws, found {}", e.bootstrap_reps),
            ));
        }
        if !(2..=1_000_000).contains(&e.placebo_reps) {
            issues.push((
                "estimation.placebo_reps".into(),
                format!(
                    "expected 2 to 1000000 replications, found {}",
                    e.placebo_reps
                ),
            ));
        }
        if !(e.event_window[0] < -1 && e.event_window[1] >= 0) {
            issues.push((
                "estimation.event_window".into(),
                format!(
                    "expected [LO, HI] with LO < -1 <= HI (the reference -1 inside), found {:?}",
                    e.event_window
                ),
            ));
        }
        for (i, source) in self.sources.iter().enumerate() {
            if let Some(subject) = &source.parser.subject {
                if let Err(e) =
                    regions.with_municipalities(subject, self.municipalities.dictionary.clone())
                {
                    let hint = if self.municipalities.dictionary.is_empty() {
                        " (no [municipalities] classifier is loaded)"
                    } else {
                        ""
                    };
                    issues.push((format!("sources[{i}].parser.subject"), format!("{e}{hint}")));
                }
            }
        }
        let mut cluster_ids = HashSet::new();
        for (i, c) in self.clusters.iter().enumerate() {
            let key = |field: &str| format!("clusters[{i}].{field}");
            if !cluster_ids.insert(c.id.as_str()) {
                issues.push((key("id"), format!("cluster id {:?} is used twice", c.id)));
            }
            if c.treated.is_empty() {
                issues.push((
                    key("treated"),
                    "expected at least one treated region code".into(),
                ));
            }
            if c.control.is_empty() {
                issues.push((
                    key("control"),
                    "expected at least one control region code".into(),
                ));
            }
            let formations = &self.municipalities.dictionary;
            let mut subjects = std::collections::BTreeSet::new();
            for (field, codes) in [("treated", &c.treated), ("control", &c.control)] {
                for (j, code) in codes.iter().enumerate() {
                    let (noun, unknown) = match c.level {
                        ClusterLevel::Region => (
                            "region",
                            regions.get(code).is_none().then(|| {
                                format!("unknown region code {code:?} (expected an s_OKATO code such as \"42000000000\")")
                            }),
                        ),
                        ClusterLevel::Municipality => {
                            let formation = formations.entries().iter().find(|e| e.series == *code);
                            if let Some(e) = formation {
                                subjects.insert(e.subject.clone());
                            }
                            (
                                "formation",
                                formation.is_none().then(|| {
                                    format!(
                                        "no municipal formation with OKTMO code {code:?} in the [municipalities] classifier{}",
                                        if formations.is_empty() { " (none is loaded)" } else { "" }
                                    )
                                }),
                            )
                        }
                    };
                    if let Some(message) = unknown {
                        issues.push((format!("clusters[{i}].{field}[{j}]"), message));
                    }
                    if field == "control" && c.treated.contains(code) {
                        issues.push((
                            format!("clusters[{i}].control[{j}]"),
                            format!("{noun} {code} is both treated and control"),
                        ));
                    }
                }
            }
            if subjects.len() > 1 {
                issues.push((
                    key("level"),
                    format!(
                        "a municipal cluster compares formations of one subject, found subjects with OKTMO codes {}",
                        subjects.into_iter().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            for (j, ind) in c.indicators.iter().enumerate() {
                if !indicator_ids.contains(ind.as_str()) && !catalogue_ids.contains(ind.as_str()) {
                    issues.push((
                        format!("clusters[{i}].indicators[{j}]"),
                        format!("no indicator with id {ind:?} in [[indicators]] or the catalogue"),
                    ));
                }
            }
            for (j, y) in c.pre_years.iter().enumerate() {
                if *y >= c.treatment_start {
                    issues.push((
                        format!("clusters[{i}].pre_years[{j}]"),
                        format!(
                            "pre-treatment year {y} is not before treatment_start {}",
                            c.treatment_start
                        ),
                    ));
                }
            }
            for (region, year) in &c.adoption {
                if !c.treated.contains(region) {
                    issues.push((
                        format!("clusters[{i}].adoption.{region}"),
                        format!("region {region} is not among the cluster's treated regions"),
                    ));
                } else if !(1990..=2100).contains(year) {
                    issues.push((
                        format!("clusters[{i}].adoption.{region}"),
                        format!("expected a year, found {year}"),
                    ));
                }
            }
            for (indicator, dims) in &c.dimensions {
                if !c.indicators.contains(indicator) {
                    issues.push((
                        format!("clusters[{i}].dimensions.{indicator}"),
                        format!(
                            "{indicator:?} is not among the cluster's indicators ({})",
                            c.indicators.join(", ")
                        ),
                    ));
                } else if dims.is_empty()
                    || dims
                        .iter()
                        .any(|(k, v)| k.trim().is_empty() || v.trim().is_empty())
                {
                    issues.push((
                        format!("clusters[{i}].dimensions.{indicator}"),
                        "expected at least one dimension and value, e.g. { category = \"пенсии\" }"
                            .into(),
                    ));
                }
            }
            if let Some(h) = &c.headline {
                if !DESIGN_METHODS.contains(&h.as_str()) {
                    issues.push((
                        key("headline"),
                        format!("expected one of {}, found {h:?}", DESIGN_METHODS.join(", ")),
                    ));
                }
            }
            for (j, y) in c.post_years.iter().enumerate() {
                if *y < c.treatment_start {
                    issues.push((
                        format!("clusters[{i}].post_years[{j}]"),
                        format!(
                            "post-treatment year {y} is before treatment_start {}",
                            c.treatment_start
                        ),
                    ));
                }
            }
        }
        issues
    }

    /// The configured indicator a Rosstat table code publishes, if any.
    pub fn indicator_for_table(&self, table_code: &str) -> Option<&IndicatorConfig> {
        let code = table_code.trim_end_matches('.');
        self.indicators.iter().find(|i| {
            i.rosstat_tables
                .iter()
                .any(|t| t.trim_end_matches('.') == code)
        })
    }

    /// The region dictionary documents are read with: the shipped one and the configured aliases.
    pub fn regions(&self) -> &regstat_transform::RegionDictionary {
        self.region_dictionary.get_or_init(|| {
            let builtin = regstat_transform::RegionDictionary::builtin();
            let aliases = self
                .regions
                .aliases
                .iter()
                .map(|(label, code)| (label.as_str(), code.as_str()));
            // Validation refused any alias that would fail here; should one slip through (a Config
            // built without validating), the shipped dictionary is still right for everything else.
            builtin.with_aliases(aliases).unwrap_or_else(|e| {
                tracing::error!(error = %e, "region aliases ignored");
                builtin.clone()
            })
        })
    }

    /// The dictionary a source's documents are read with: the regions, and for a source whose
    /// `[sources.parser] subject` names the subject its documents are about, that subject's
    /// municipal formations too.
    pub fn regions_for(
        &self,
        source: Option<&crate::SourceConfig>,
    ) -> std::borrow::Cow<'_, regstat_transform::RegionDictionary> {
        let Some(subject) = source.and_then(|s| s.parser.subject.as_deref()) else {
            return std::borrow::Cow::Borrowed(self.regions());
        };
        match self
            .regions()
            .with_municipalities(subject, self.municipalities.dictionary.clone())
        {
            Ok(d) => std::borrow::Cow::Owned(d),
            // Validation refused such a subject; a Config built without validating reads regions.
            Err(e) => {
                tracing::error!(error = %e, "municipal labels not resolved");
                std::borrow::Cow::Borrowed(self.regions())
            }
        }
    }

    /// The configured indicator whose title phrases a table's title matches, when exactly one does.
    pub fn indicator_for_title(&self, title: &str) -> Option<&IndicatorConfig> {
        let mut found = self.indicators.iter().filter(|i| {
            !i.title_all.is_empty()
                && regstat_transform::catalogue::title_matches(title, &i.title_all, &i.title_none)
        });
        let first = found.next()?;
        found.next().is_none().then_some(first)
    }

    /// The configured indicator an EMISS indicator id publishes, if any.
    pub fn indicator_for_emiss(&self, emiss_id: &str) -> Option<&IndicatorConfig> {
        self.indicators
            .iter()
            .find(|i| i.emiss_ids.iter().any(|e| e == emiss_id))
    }
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
