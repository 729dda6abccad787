//! `regstat estimate`: the DiD estimators on a panel file (CSV or Parquet).
//!
//! Flags are turned into typed values once ([`EstimateArgs::spec`]), the file's columns into a
//! validated [`Panel`] ([`EstimateArgs::panel`]); every error names the flag, or the file, column,
//! row and value at fault.

use std::path::PathBuf;

use anyhow::{bail, Context};
use regstat_estimate::{
    estimate, BasePeriod, BootWeights, BootstrapSpec, Collinear, ControlGroup, CsEstimation,
    CsSpec, Effects, EstimateError, Labels, Method, Panel, PanelData, Report, Spec, SynthSe,
    SynthSpec, Treatment,
};
use regstat_warehouse::files::{read_columns, ColumnData, ColumnKind, TextColumn, MISSING_PERIOD};

/// Raw flags, validated into a [`Panel`] and a [`Spec`] by [`EstimateArgs::run`].
#[derive(clap::Args, Debug)]
pub struct EstimateArgs {
    /// The panel: a .csv or .parquet file with one row per unit and period. Column names are
    /// matched exactly (`d` and `D` are two columns).
    #[arg(long)]
    pub panel: PathBuf,
    #[arg(long)]
    pub unit: String,
    /// Integer period column (a year, or a period index); a non-integer period is an error.
    #[arg(long)]
    pub time: String,
    /// One or more outcome columns, comma-separated; each is estimated with the same design on its
    /// own complete rows.
    #[arg(long, value_delimiter = ',', required = true)]
    pub outcome: Vec<String>,
    /// 0/1 treatment indicator per row; a unit's adoption period is its first treated period.
    #[arg(long, conflicts_with = "cohort", required_unless_present = "cohort")]
    pub treat: Option<String>,
    /// First treated period per unit (0 or empty for never treated).
    #[arg(long)]
    pub cohort: Option<String>,
    #[arg(long, value_enum)]
    pub method: MethodArg,
    #[arg(long, value_delimiter = ',')]
    pub covariates: Vec<String>,
    /// Fixed effects of twfe and event-study: `unit,time` (default) or `none` (an intercept
    /// instead). did2x2 is the study's OLS and takes none.
    #[arg(long)]
    pub fe: Option<String>,
    /// Cluster column, or two (`a,b`) for two-way clustering; by default the unit when unit effects
    /// are in the model, else iid errors (did2x2: by unit when both groups have two units or more).
    #[arg(long, value_delimiter = ',')]
    pub cluster: Vec<String>,
    #[arg(long)]
    pub weights: Option<String>,
    /// Event-study reference period, relative to adoption.
    #[arg(long, allow_hyphen_values = true)]
    pub r#ref: Option<i64>,
    /// Event-study window `LO,HI` (e.g. `-5,5`): relative times outside are binned into the
    /// endpoints.
    #[arg(long, allow_hyphen_values = true)]
    pub window: Option<String>,
    /// `wild`: the wild cluster restricted bootstrap for the treatment coefficient.
    #[arg(long)]
    pub bootstrap: Option<String>,
    /// Draws of the wild bootstrap, 99 to 1,000,000 (default 9,999; all 2^G sign patterns when
    /// that is fewer), or replications of the sc/sdid standard error (default 200).
    #[arg(long)]
    pub reps: Option<usize>,
    /// sc and sdid: the standard error, `placebo` (default; the one valid with one treated unit),
    /// `jackknife` or `bootstrap`, as R synthdid computes them.
    #[arg(long, value_enum)]
    pub se: Option<SeArg>,
    #[arg(long, default_value_t = 20261122)]
    pub seed: u64,
    /// Bootstrap weights: rademacher or webb.
    #[arg(long, default_value = "rademacher")]
    pub boot_weights: String,
    /// cs: the comparison units, `never` treated (default) or `notyet` treated.
    #[arg(long, value_enum)]
    pub control: Option<ControlArg>,
    /// cs: doubly robust (default), outcome regression or inverse probability weighting (they
    /// coincide without covariates).
    #[arg(long, value_enum)]
    pub est_method: Option<EstMethodArg>,
    /// cs: periods of anticipation before adoption.
    #[arg(long)]
    pub anticipation: Option<i64>,
    /// cs: base period of the pre-treatment cells, `varying` (t-1, default) or `universal` (g-1).
    #[arg(long, value_enum)]
    pub base_period: Option<BasePeriodArg>,
    /// A regressor collinear with the fixed effects or the regressors before it: `drop` it with a
    /// note (fixest's default) or stop with an `error`.
    #[arg(long, value_enum, default_value = "drop")]
    pub collinear: CollinearArg,
    /// Print JSON: one object for one outcome, a list for several.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum MethodArg {
    Did2x2,
    Twfe,
    EventStudy,
    /// Synthetic control.
    Sc,
    /// Synthetic difference-in-differences.
    Sdid,
    /// Callaway & Sant'Anna group-time effects with their aggregations.
    Cs,
    /// Sun & Abraham interaction-weighted event study (fixest's sunab).
    Sunab,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ControlArg {
    Never,
    Notyet,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum BasePeriodArg {
    Varying,
    Universal,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum EstMethodArg {
    Dr,
    Reg,
    Ipw,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum SeArg {
    Placebo,
    Jackknife,
    Bootstrap,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum CollinearArg {
    Drop,
    Error,
}

/// The library's parameter errors, named by the flags that set them.
fn flag_error(e: EstimateError) -> anyhow::Error {
    match e {
        EstimateError::BadParameter { parameter, message } => {
            let flag = match parameter {
                "reference" => "ref",
                "window" | "reps" | "bootstrap" | "cluster" | "anticipation" => parameter,
                other => return anyhow::anyhow!("{other}: {message}"),
            };
            anyhow::anyhow!("--{flag}: {message}")
        }
        other => other.into(),
    }
}

/// `LO,HI` with LO < HI.
fn parse_window(text: &str) -> anyhow::Result<(i64, i64)> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let [lo, hi] = parts.as_slice() else {
        bail!("--window: expected LO,HI (two integers, e.g. -5,5), found {text:?}");
    };
    let parse = |s: &str| {
        s.parse::<i64>().with_context(|| {
            format!("--window: expected LO,HI (two integers, e.g. -5,5), found {text:?}")
        })
    };
    let (lo, hi) = (parse(lo)?, parse(hi)?);
    if lo >= hi {
        bail!("--window: expected LO < HI, found {text:?}");
    }
    Ok((lo, hi))
}

impl EstimateArgs {
    fn spec(&self) -> anyhow::Result<Spec> {
        let method = match self.method {
            MethodArg::Did2x2 => Method::Did2x2,
            MethodArg::Twfe => Method::Twfe,
            MethodArg::EventStudy => Method::EventStudy,
            MethodArg::Sc => Method::Sc,
            MethodArg::Sdid => Method::Sdid,
            MethodArg::Cs => Method::Cs,
            MethodArg::Sunab => Method::Sunab,
        };
        let effects = match (self.fe.as_deref(), method) {
            (None, _) => Effects::UnitAndTime,
            (Some(_), Method::Did2x2) => bail!(
                "--fe: did2x2 is the study's OLS of the outcome on treated, post and treated_x_post \
                 with an intercept and no fixed effects; for unit and time effects use --method twfe"
            ),
            (Some("unit,time" | "time,unit"), _) => Effects::UnitAndTime,
            (Some("none"), _) => Effects::None,
            (Some(other), _) => bail!("--fe: expected `unit,time` or `none`, found {other:?}"),
        };
        let bootstrap = match self.bootstrap.as_deref() {
            None => None,
            Some("wild") => {
                let weights = match self.boot_weights.as_str() {
                    "rademacher" => BootWeights::Rademacher,
                    "webb" => BootWeights::Webb,
                    other => bail!("--boot-weights: expected rademacher or webb, found {other:?}"),
                };
                Some(BootstrapSpec {
                    weights,
                    reps: self.reps.unwrap_or(9999),
                    seed: self.seed,
                    alpha: 0.05,
                })
            }
            Some(other) => bail!("--bootstrap: expected `wild`, found {other:?}"),
        };
        let window = self.window.as_deref().map(parse_window).transpose()?;
        self.check_flags_apply(method)?;
        let spec = Spec {
            method,
            effects,
            reference: self.r#ref.unwrap_or(-1),
            window,
            bootstrap,
            synth: SynthSpec {
                se: match self.se.unwrap_or(SeArg::Placebo) {
                    SeArg::Placebo => SynthSe::Placebo,
                    SeArg::Jackknife => SynthSe::Jackknife,
                    SeArg::Bootstrap => SynthSe::Bootstrap,
                },
                replications: self.reps.unwrap_or(200),
                seed: self.seed,
            },
            cs: CsSpec {
                control: match self.control.unwrap_or(ControlArg::Never) {
                    ControlArg::Never => ControlGroup::Never,
                    ControlArg::Notyet => ControlGroup::NotYet,
                },
                base_period: match self.base_period.unwrap_or(BasePeriodArg::Varying) {
                    BasePeriodArg::Varying => BasePeriod::Varying,
                    BasePeriodArg::Universal => BasePeriod::Universal,
                },
                estimation: match self.est_method.unwrap_or(EstMethodArg::Dr) {
                    EstMethodArg::Dr => CsEstimation::Dr,
                    EstMethodArg::Reg => CsEstimation::Reg,
                    EstMethodArg::Ipw => CsEstimation::Ipw,
                },
                anticipation: self.anticipation.unwrap_or(0),
                band_reps: self.reps.unwrap_or(1000),
                seed: self.seed,
                alpha: 0.05,
            },
            collinear: match self.collinear {
                CollinearArg::Drop => Collinear::Drop,
                CollinearArg::Error => Collinear::Error,
            },
            ..Spec::default()
        };
        spec.check().map_err(flag_error)?;
        Ok(spec)
    }

    /// A flag that the method does not use is an error, not silently ignored.
    fn check_flags_apply(&self, method: Method) -> anyhow::Result<()> {
        let given: [(&str, bool, &[Method]); 8] = [
            ("--se", self.se.is_some(), &[Method::Sc, Method::Sdid]),
            ("--control", self.control.is_some(), &[Method::Cs]),
            ("--est-method", self.est_method.is_some(), &[Method::Cs]),
            ("--anticipation", self.anticipation.is_some(), &[Method::Cs]),
            ("--base-period", self.base_period.is_some(), &[Method::Cs]),
            (
                "--window",
                self.window.is_some(),
                &[Method::EventStudy, Method::Sunab],
            ),
            (
                "--ref",
                self.r#ref.is_some(),
                &[Method::EventStudy, Method::Sunab],
            ),
            (
                "--bootstrap",
                self.bootstrap.is_some(),
                &[Method::Did2x2, Method::Twfe],
            ),
        ];
        for (flag, set, methods) in given {
            if set && !methods.contains(&method) {
                bail!(
                    "{flag} applies to {}, not to {}",
                    methods
                        .iter()
                        .map(|m| m.as_str())
                        .collect::<Vec<_>>()
                        .join(" and "),
                    method.as_str()
                );
            }
        }
        Ok(())
    }

    /// Reads the panel's columns and validates them into a [`Panel`].
    fn panel(&self) -> anyhow::Result<Panel> {
        if self.cluster.len() > 2 {
            bail!(
                "--cluster: one or two columns, found {}",
                self.cluster.len()
            );
        }
        let treatment_column = match (&self.treat, &self.cohort) {
            (Some(t), _) => t,
            (None, Some(c)) => c,
            (None, None) => bail!("one of --treat or --cohort is required"),
        };
        let mut cols: Vec<(&str, ColumnKind)> = vec![
            (&self.unit, ColumnKind::Text),
            (&self.time, ColumnKind::Period),
            (
                treatment_column,
                match self.treat {
                    Some(_) => ColumnKind::Number,
                    None => ColumnKind::Period,
                },
            ),
        ];
        cols.extend(
            self.outcome
                .iter()
                .map(|o| (o.as_str(), ColumnKind::Number)),
        );
        cols.extend(
            self.covariates
                .iter()
                .map(|c| (c.as_str(), ColumnKind::Number)),
        );
        if let Some(w) = &self.weights {
            cols.push((w, ColumnKind::Number));
        }
        cols.extend(self.cluster.iter().map(|c| (c.as_str(), ColumnKind::Text)));
        let started = std::time::Instant::now();
        let mut data = read_columns(&self.panel, &cols)?.into_iter();
        tracing::debug!(elapsed = ?started.elapsed(), "columns read");
        let file = self.panel.display();

        let labels = |column: &str, data: ColumnData| -> anyhow::Result<Labels> {
            let ColumnData::Text(v) = data else {
                unreachable!("read as text")
            };
            // A label of spaces is as empty as an empty cell.
            let blank: Vec<bool> = v.labels.iter().map(|l| l.trim().is_empty()).collect();
            if let Some(row) = v
                .codes
                .iter()
                .position(|&c| c == TextColumn::MISSING || blank[c as usize])
            {
                bail!(
                    "{file}: column `{column}`, data row {}: empty; every row needs one",
                    row + 1
                );
            }
            Ok(Labels::from_codes(column, v.codes, v.labels)?)
        };
        let numbers = |data: ColumnData| -> Vec<f64> {
            let ColumnData::Number(v) = data else {
                unreachable!("read as numbers")
            };
            v
        };
        let unit = labels(&self.unit, data.next().expect("unit"))?;
        let time = periods(
            &file,
            &self.time,
            data.next().expect("time"),
            EmptyPeriod::Refused,
        )?;
        let treatment_values = data.next().expect("treatment");
        let treatment = match (&self.treat, &self.cohort) {
            (Some(name), _) => Treatment::Indicator {
                name: name.clone(),
                values: numbers(treatment_values),
            },
            (None, Some(name)) => Treatment::Cohort {
                name: name.clone(),
                values: periods(&file, name, treatment_values, EmptyPeriod::NeverTreated)?,
            },
            (None, None) => unreachable!("checked above"),
        };
        let outcomes = self
            .outcome
            .iter()
            .map(|name| (name.clone(), numbers(data.next().expect("outcome"))))
            .collect();
        let covariates = self
            .covariates
            .iter()
            .map(|name| (name.clone(), numbers(data.next().expect("covariate"))))
            .collect();
        let weights = self
            .weights
            .as_ref()
            .map(|name| (name.clone(), numbers(data.next().expect("weights"))));
        let cluster = self
            .cluster
            .iter()
            .map(|name| Ok((name.clone(), labels(name, data.next().expect("cluster"))?)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let panel = Panel::new(PanelData {
            unit,
            time,
            outcomes,
            covariates,
            treatment,
            weights,
            cluster,
        })
        .with_context(|| format!("{file}"))?;
        Ok(panel)
    }

    pub fn run(&self) -> anyhow::Result<()> {
        let spec = self.spec()?;
        let started = std::time::Instant::now();
        let panel = self.panel()?;
        tracing::debug!(elapsed = ?started.elapsed(), rows = panel.len(), "panel read and validated");
        let started = std::time::Instant::now();
        let reports = estimate(&panel, &spec).map_err(flag_error)?;
        tracing::debug!(elapsed = ?started.elapsed(), "estimated");
        if self.json {
            let json = if reports.len() == 1 {
                serde_json::to_string_pretty(&reports[0])?
            } else {
                serde_json::to_string_pretty(&reports)?
            };
            println!("{json}");
        } else {
            for r in &reports {
                print_report(r);
            }
        }
        for r in &reports {
            for note in &r.notes {
                eprintln!("regstat estimate: {}: {note}", r.outcome);
            }
        }
        Ok(())
    }
}

/// What an empty cell of a period column means.
#[derive(Clone, Copy)]
enum EmptyPeriod {
    /// An error: every row needs a period.
    Refused,
    /// A cohort column: never treated, as 0 (R did's convention).
    NeverTreated,
}

/// A period column (read as whole numbers: the reader refuses fractions, naming the row) with its
/// empty cells settled.
fn periods(
    file: &impl std::fmt::Display,
    column: &str,
    data: ColumnData,
    empty: EmptyPeriod,
) -> anyhow::Result<Vec<i64>> {
    let ColumnData::Period(mut values) = data else {
        unreachable!("read as periods")
    };
    match empty {
        EmptyPeriod::Refused => {
            if let Some(row) = values.iter().position(|&v| v == MISSING_PERIOD) {
                bail!(
                    "{file}: column `{column}`, data row {}: empty; every row needs a period",
                    row + 1
                );
            }
        }
        EmptyPeriod::NeverTreated => {
            for v in values.iter_mut().filter(|v| **v == MISSING_PERIOD) {
                *v = 0;
            }
        }
    }
    Ok(values)
}

fn print_report(r: &Report) {
    println!(
        "{} on {}: {} observations, {} units, {}",
        r.method,
        r.outcome,
        r.n_obs,
        r.n_units,
        match r.n_clusters {
            Some(g) => format!("{} clusters ({})", g, r.vcov),
            None => r.vcov.clone(),
        }
    );
    println!(
        "  {:<22} {:>12} {:>11} {:>8} {:>9} {:>12} {:>12}",
        "term", "estimate", "s.e.", "t", "p", "95% low", "95% high"
    );
    for c in &r.estimates {
        println!(
            "  {:<22} {:>12.6} {:>11.6} {:>8.3} {:>9.4} {:>12.6} {:>12.6}",
            c.term, c.estimate, c.se, c.t, c.p, c.ci_low, c.ci_high
        );
    }
    if let Some(cells) = &r.did2x2 {
        println!(
            "  cells (from period {}): treated {:.6} -> {:.6}, control {:.6} -> {:.6}; {} treated, {} control units",
            cells.adoption,
            cells.treated_pre,
            cells.treated_post,
            cells.control_pre,
            cells.control_post,
            cells.n_treated,
            cells.n_control
        );
        if let Some(p) = &cells.placebo {
            println!(
                "  placebo in space over {} control units: p = {:.4}, sd of placebo effects {:.6}",
                p.effects.len(),
                p.p_value,
                p.sd
            );
        }
    }
    if let Some(p) = &r.pretrend {
        println!(
            "  pre-trends: joint F({}, {}) = {:.4}, p = {:.4}{}",
            p.df1,
            p.df2,
            p.stat,
            p.p,
            if p.df1 < p.tested {
                format!(" (rank {} of {} leads' covariance)", p.df1, p.tested)
            } else {
                String::new()
            }
        );
    }
    for (name, a) in &r.aggregations {
        println!(
            "  {name:<9} ATT {:>12.6} s.e. {:>10.6}  95% CI [{:.6}, {:.6}]{}",
            a.estimate,
            a.se,
            a.ci_low,
            a.ci_high,
            if a.rows.is_empty() {
                String::new()
            } else {
                format!(
                    "  ({} rows, uniform band critical value {:.3})",
                    a.rows.len(),
                    a.critical_value
                )
            }
        );
    }
    if let Some(w) = &r.weights {
        let donors: Vec<String> = w
            .units
            .iter()
            .filter(|u| u.weight > 0.0)
            .map(|u| format!("{} {:.3}", u.unit.as_deref().unwrap_or("?"), u.weight))
            .collect();
        println!("  donor weights: {}", donors.join(", "));
        let times: Vec<String> = w
            .times
            .iter()
            .filter(|t| t.weight > 0.0)
            .map(|t| format!("{} {:.3}", t.time.unwrap_or_default(), t.weight))
            .collect();
        if !times.is_empty() {
            println!("  pre-period weights: {}", times.join(", "));
        }
    }
    if let Some(p) = &r.synth_placebo {
        println!(
            "  placebo in space (post/pre RMSPE ratio {:.3} ranked among {} donors): p = {:.4}",
            p.treated_rmspe_ratio,
            p.donors.len(),
            p.p_value
        );
    }
    if let Some(b) = &r.bootstrap {
        println!(
            "  bootstrap ({}, {} draws{}): p = {:.4}, 95% CI [{:.6}, {:.6}]",
            b.kind,
            b.reps,
            if b.enumerated {
                ", all sign patterns"
            } else {
                ""
            },
            b.p,
            b.ci_low,
            b.ci_high
        );
    }
    println!();
}
