//! `regstat estimate`: the DiD estimators on a panel file (CSV or Parquet).

use std::path::PathBuf;

use anyhow::{bail, Context};
use regstat_estimate::{
    estimate, BootWeights, BootstrapSpec, Method, Panel, Report, Spec, Treatment,
};
use regstat_warehouse::files::{read_columns, ColumnData, ColumnKind};

/// Raw flags, validated into a [`Panel`] and a [`Spec`] by [`EstimateArgs::run`].
#[derive(clap::Args, Debug)]
pub struct EstimateArgs {
    /// The panel: a .csv or .parquet file with one row per unit and period.
    #[arg(long)]
    pub panel: PathBuf,
    #[arg(long)]
    pub unit: String,
    /// Integer period column (a year, or a period index).
    #[arg(long)]
    pub time: String,
    /// One or more outcome columns, comma-separated; each is estimated with the same design.
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
    /// Fixed effects: `unit,time` (default) or `none` (an intercept instead).
    #[arg(long, default_value = "unit,time")]
    pub fe: String,
    /// Cluster column, or two (`a,b`) for two-way clustering; by default the unit when unit effects
    /// are in the model, else iid errors.
    #[arg(long, value_delimiter = ',')]
    pub cluster: Vec<String>,
    #[arg(long)]
    pub weights: Option<String>,
    /// Event-study reference period, relative to adoption.
    #[arg(long, default_value_t = -1, allow_hyphen_values = true)]
    pub r#ref: i64,
    /// Event-study window `LO,HI`: relative times outside are binned into the endpoints.
    #[arg(long, value_delimiter = ',', num_args = 2, allow_hyphen_values = true)]
    pub window: Option<Vec<i64>>,
    /// `wild`: the wild cluster restricted bootstrap for the treatment coefficient.
    #[arg(long)]
    pub bootstrap: Option<String>,
    #[arg(long, default_value_t = 9999)]
    pub reps: usize,
    #[arg(long, default_value_t = 20261122)]
    pub seed: u64,
    /// Bootstrap weights: rademacher or webb.
    #[arg(long, default_value = "rademacher")]
    pub boot_weights: String,
    /// Print JSON: one object for one outcome, a list for several.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum MethodArg {
    Did2x2,
    Twfe,
    EventStudy,
}

impl EstimateArgs {
    fn spec(&self) -> anyhow::Result<Spec> {
        let method = match self.method {
            MethodArg::Did2x2 => Method::Did2x2,
            MethodArg::Twfe => Method::Twfe,
            MethodArg::EventStudy => Method::EventStudy,
        };
        let unit_time_fe = match self.fe.as_str() {
            "unit,time" | "time,unit" => true,
            "none" => false,
            other => bail!("--fe: expected `unit,time` or `none`, found {other:?}"),
        };
        let bootstrap = match self.bootstrap.as_deref() {
            None => None,
            Some("wild") => {
                let weights = match self.boot_weights.as_str() {
                    "rademacher" => BootWeights::Rademacher,
                    "webb" => BootWeights::Webb,
                    other => bail!("--boot-weights: expected rademacher or webb, found {other:?}"),
                };
                if self.reps < 99 {
                    bail!("--reps: expected at least 99 draws, found {}", self.reps);
                }
                Some(BootstrapSpec {
                    weights,
                    reps: self.reps,
                    seed: self.seed,
                    alpha: 0.05,
                })
            }
            Some(other) => bail!("--bootstrap: expected `wild`, found {other:?}"),
        };
        let window = match self.window.as_deref() {
            Some([lo, hi]) if lo < hi => Some((*lo, *hi)),
            Some(w) => bail!("--window: expected LO,HI with LO < HI, found {w:?}"),
            None => None,
        };
        Ok(Spec {
            method,
            unit_time_fe,
            reference: self.r#ref,
            window,
            bootstrap,
            ..Spec::default()
        })
    }

    /// Reads the panel, dropping rows with a missing value in any used column (and saying how many).
    fn panel(&self) -> anyhow::Result<Panel> {
        let mut cols: Vec<(&str, ColumnKind)> = vec![
            (&self.unit, ColumnKind::Text),
            (&self.time, ColumnKind::Integer),
        ];
        cols.extend(self.outcome.iter().map(|o| (o.as_str(), ColumnKind::Float)));
        cols.extend(
            self.covariates
                .iter()
                .map(|c| (c.as_str(), ColumnKind::Float)),
        );
        match (&self.treat, &self.cohort) {
            (Some(t), _) => cols.push((t, ColumnKind::Float)),
            (None, Some(c)) => cols.push((c, ColumnKind::Integer)),
            (None, None) => bail!("one of --treat or --cohort is required"),
        }
        if let Some(w) = &self.weights {
            cols.push((w, ColumnKind::Float));
        }
        if self.cluster.len() > 2 {
            bail!(
                "--cluster: one or two columns, found {}",
                self.cluster.len()
            );
        }
        cols.extend(self.cluster.iter().map(|c| (c.as_str(), ColumnKind::Text)));
        let data = read_columns(&self.panel, &cols)
            .with_context(|| format!("reading the panel {}", self.panel.display()))?;
        let n = match &data[0] {
            ColumnData::Text(v) => v.len(),
            _ => unreachable!("unit is text"),
        };
        // Rows complete in every column but the cohort (whose empty cells mean never treated).
        let cohort_index = self
            .cohort
            .as_ref()
            .map(|_| 2 + self.outcome.len() + self.covariates.len());
        let keep: Vec<bool> = (0..n)
            .map(|i| {
                data.iter().enumerate().all(|(c, col)| {
                    Some(c) == cohort_index
                        || match col {
                            ColumnData::Text(v) => v[i].is_some(),
                            ColumnData::Integer(v) => v[i].is_some(),
                            ColumnData::Float(v) => v[i].is_some_and(f64::is_finite),
                        }
                })
            })
            .collect();
        let dropped = keep.iter().filter(|k| !**k).count();
        if dropped > 0 {
            eprintln!("regstat estimate: {dropped} of {n} rows dropped for missing values");
        }
        let text = |c: &ColumnData| -> Vec<String> {
            match c {
                ColumnData::Text(v) => v
                    .iter()
                    .zip(&keep)
                    .filter(|(_, k)| **k)
                    .map(|(x, _)| x.clone().unwrap_or_default())
                    .collect(),
                _ => unreachable!(),
            }
        };
        let float = |c: &ColumnData| -> Vec<f64> {
            match c {
                ColumnData::Float(v) => v
                    .iter()
                    .zip(&keep)
                    .filter(|(_, k)| **k)
                    .map(|(x, _)| x.unwrap_or(f64::NAN))
                    .collect(),
                _ => unreachable!(),
            }
        };
        let int = |c: &ColumnData| -> Vec<Option<i64>> {
            match c {
                ColumnData::Integer(v) => v
                    .iter()
                    .zip(&keep)
                    .filter(|(_, k)| **k)
                    .map(|(x, _)| *x)
                    .collect(),
                _ => unreachable!(),
            }
        };
        let mut idx = 2;
        let mut take = |count: usize| {
            let range = idx..idx + count;
            idx += count;
            range
        };
        let outcomes = take(self.outcome.len())
            .zip(&self.outcome)
            .map(|(i, name)| (name.clone(), float(&data[i])))
            .collect();
        let covariates = take(self.covariates.len())
            .zip(&self.covariates)
            .map(|(i, name)| (name.clone(), float(&data[i])))
            .collect();
        let t = take(1).start;
        let treatment = match (&self.treat, &self.cohort) {
            (Some(name), _) => Treatment::Indicator {
                name: name.clone(),
                values: float(&data[t]),
            },
            (None, Some(name)) => Treatment::Cohort {
                name: name.clone(),
                values: int(&data[t]),
            },
            (None, None) => unreachable!("checked above"),
        };
        let weights = self.weights.as_ref().map(|_| float(&data[take(1).start]));
        let cluster = take(self.cluster.len())
            .zip(&self.cluster)
            .map(|(i, name)| (name.clone(), text(&data[i])))
            .collect();
        let time = int(&data[1])
            .into_iter()
            .map(|t| t.expect("kept rows have a time"))
            .collect();
        Ok(Panel {
            unit: text(&data[0]),
            time,
            outcomes,
            covariates,
            treatment,
            weights,
            cluster,
        })
    }

    pub fn run(&self) -> anyhow::Result<()> {
        let spec = self.spec()?;
        let panel = self.panel()?;
        let reports = estimate(&panel, &spec)?;
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
        Ok(())
    }
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
    if let Some(p) = &r.pretrend {
        println!(
            "  pre-trends: joint F({}, .) = {:.4}, p = {:.4}",
            p.df, p.stat, p.p
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
