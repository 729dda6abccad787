//! From a panel (unit, time, outcomes, treatment) to the estimators: the 2x2, TWFE and event-study
//! designs, their inference, and one [`Report`] per outcome.

use std::collections::{BTreeSet, HashMap};

use crate::bootstrap::{wild_cluster_bootstrap, BootstrapResult, BootstrapSpec};
use crate::demean::DemeanOptions;
use crate::error::EstimateError;
use crate::factor::Factor;
use crate::fit::{fit, wald, Design, VcovSpec};
use crate::Coefficient;

/// How treatment is given.
#[derive(Debug, Clone)]
pub enum Treatment {
    /// A 0/1 indicator per row; a unit's adoption period is its first treated period.
    Indicator { name: String, values: Vec<f64> },
    /// The first treated period per row's unit; `None` (0 or empty in files) for never treated.
    Cohort {
        name: String,
        values: Vec<Option<i64>>,
    },
}

impl Treatment {
    pub fn name(&self) -> &str {
        match self {
            Treatment::Indicator { name, .. } | Treatment::Cohort { name, .. } => name,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Panel {
    pub unit: Vec<String>,
    pub time: Vec<i64>,
    pub outcomes: Vec<(String, Vec<f64>)>,
    pub covariates: Vec<(String, Vec<f64>)>,
    pub treatment: Treatment,
    pub weights: Option<Vec<f64>>,
    /// Cluster variables (one, or two for two-way clustering): the column's name and its label per
    /// row. Empty: by unit when unit effects are in the model (as fixest), else iid errors.
    pub cluster: Vec<(String, Vec<String>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    Did2x2,
    Twfe,
    EventStudy,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Did2x2 => "did2x2",
            Method::Twfe => "twfe",
            Method::EventStudy => "event-study",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Spec {
    pub method: Method,
    /// Unit and time fixed effects (true) or none, with an intercept (false).
    pub unit_time_fe: bool,
    /// Event-study reference period (relative time), default -1.
    pub reference: i64,
    /// Event-study window: relative times below/above are binned into the endpoints.
    pub window: Option<(i64, i64)>,
    pub bootstrap: Option<BootstrapSpec>,
    pub demean: DemeanOptions,
}

impl Default for Spec {
    fn default() -> Self {
        Self {
            method: Method::Twfe,
            unit_time_fe: true,
            reference: -1,
            window: None,
            bootstrap: None,
            demean: DemeanOptions::default(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EventCoefficient {
    pub rel_time: i64,
    pub estimate: f64,
    pub se: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Pretrend {
    /// F statistic of the joint Wald test that every lead is zero.
    pub stat: f64,
    pub df: usize,
    pub p: f64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Report {
    pub method: String,
    pub outcome: String,
    pub n_obs: usize,
    pub n_units: usize,
    pub n_clusters: Option<usize>,
    pub vcov: String,
    pub estimates: Vec<Coefficient>,
    pub event_study: Vec<EventCoefficient>,
    pub pretrend: Option<Pretrend>,
    pub bootstrap: Option<BootstrapResult>,
}

/// Adoption period per unit: the first treated period, `None` for never treated.
fn adoption(panel: &Panel) -> HashMap<&str, Option<i64>> {
    let mut first: HashMap<&str, Option<i64>> = HashMap::new();
    for (i, unit) in panel.unit.iter().enumerate() {
        let entry = first.entry(unit.as_str()).or_insert(None);
        match &panel.treatment {
            Treatment::Indicator { values, .. } => {
                if values[i] != 0.0 {
                    let t = panel.time[i];
                    *entry = Some(entry.map_or(t, |e| e.min(t)));
                }
            }
            Treatment::Cohort { values, .. } => {
                if let Some(c) = values[i].filter(|c| *c != 0) {
                    *entry = Some(c);
                }
            }
        }
    }
    first
}

pub fn estimate(panel: &Panel, spec: &Spec) -> Result<Vec<Report>, EstimateError> {
    let n = panel.unit.len();
    let adopt = adoption(panel);
    let treat_name = panel.treatment.name().to_string();
    let adoption_of = |i: usize| adopt[panel.unit[i].as_str()];
    let d: Vec<f64> = (0..n)
        .map(|i| adoption_of(i).is_some_and(|a| panel.time[i] >= a) as u8 as f64)
        .collect();

    let mut regressors: Vec<(String, Vec<f64>)> = Vec::new();
    let mut event_terms: Vec<(i64, usize)> = Vec::new();
    match spec.method {
        Method::Did2x2 => {
            let adoptions: BTreeSet<i64> = adopt.values().flatten().copied().collect();
            if adoptions.len() != 1 {
                return Err(EstimateError::Design(format!(
                    "did2x2 needs one common adoption period, found {}; use twfe or event-study",
                    adoptions.len()
                )));
            }
            let start = *adoptions.iter().next().expect("one adoption");
            let group: Vec<f64> = (0..n)
                .map(|i| adoption_of(i).is_some() as u8 as f64)
                .collect();
            let post: Vec<f64> = panel
                .time
                .iter()
                .map(|t| (*t >= start) as u8 as f64)
                .collect();
            let inter = group.iter().zip(&post).map(|(g, p)| g * p).collect();
            regressors.push((treat_name.clone(), inter));
            if !spec.unit_time_fe {
                regressors.push(("treated_group".into(), group));
                regressors.push(("post".into(), post));
            }
        }
        Method::Twfe => regressors.push((treat_name.clone(), d.clone())),
        Method::EventStudy => {
            let rel: Vec<Option<i64>> = (0..n)
                .map(|i| {
                    adoption_of(i).map(|a| {
                        let r = panel.time[i] - a;
                        match spec.window {
                            Some((lo, hi)) => r.clamp(lo, hi),
                            None => r,
                        }
                    })
                })
                .collect();
            let values: BTreeSet<i64> = rel.iter().flatten().copied().collect();
            if !values.contains(&spec.reference) {
                return Err(EstimateError::Design(format!(
                    "reference period {} is not among the relative times",
                    spec.reference
                )));
            }
            for r in values.into_iter().filter(|r| *r != spec.reference) {
                event_terms.push((r, regressors.len()));
                regressors.push((
                    format!("rel_time::{r}"),
                    rel.iter().map(|x| (*x == Some(r)) as u8 as f64).collect(),
                ));
            }
        }
    }
    regressors.extend(panel.covariates.iter().cloned());

    let unit = Factor::from_labels("unit", &panel.unit);
    let time = Factor::from_labels("time", &panel.time);
    let fixed_effects = if spec.unit_time_fe {
        vec![unit.clone(), time]
    } else {
        vec![]
    };
    // As fixest: cluster by the given columns, else by unit when unit effects are in the model.
    let clusters: Vec<Factor> = match panel.cluster.as_slice() {
        [] if spec.unit_time_fe => vec![unit.clone()],
        [] => vec![],
        given @ ([_] | [_, _]) => given
            .iter()
            .map(|(name, labels)| Factor::from_labels(name, labels))
            .collect(),
        more => {
            return Err(EstimateError::Design(format!(
                "one or two cluster variables, found {}",
                more.len()
            )))
        }
    };
    let vcov = if clusters.is_empty() {
        VcovSpec::Iid
    } else {
        VcovSpec::Cluster(clusters.clone())
    };
    let vcov_name = match clusters.as_slice() {
        [] => "iid".to_string(),
        [c] => format!("CR1 clustered by {}", c.name),
        [a, b] => format!("two-way CR1 clustered by {} and {}", a.name, b.name),
        _ => unreachable!("checked above"),
    };
    let design = Design {
        outcomes: panel.outcomes.clone(),
        regressors,
        fixed_effects,
        weights: panel.weights.clone(),
        intercept: !spec.unit_time_fe,
    };
    let fitted = fit(&design, &vcov, spec.demean)?;

    let mut reports = Vec::new();
    for (j, out) in fitted.outcomes.iter().enumerate() {
        let event_study: Vec<EventCoefficient> = if spec.method == Method::EventStudy {
            let mut es: Vec<EventCoefficient> = event_terms
                .iter()
                .map(|(r, idx)| {
                    let c = &out.coefficients[*idx];
                    EventCoefficient {
                        rel_time: *r,
                        estimate: c.estimate,
                        se: c.se,
                        ci_low: c.ci_low,
                        ci_high: c.ci_high,
                    }
                })
                .collect();
            es.push(EventCoefficient {
                rel_time: spec.reference,
                estimate: 0.0,
                se: 0.0,
                ci_low: 0.0,
                ci_high: 0.0,
            });
            es.sort_by_key(|e| e.rel_time);
            es
        } else {
            Vec::new()
        };
        let pretrend = if spec.method == Method::EventStudy {
            let leads: Vec<usize> = event_terms
                .iter()
                .filter(|(r, _)| *r < 0)
                .map(|(_, i)| *i)
                .collect();
            wald(out, &leads, fitted.df).map(|(stat, df, p)| Pretrend { stat, df, p })
        } else {
            None
        };
        let bootstrap = match (&spec.bootstrap, spec.method) {
            (Some(_), Method::EventStudy) => {
                return Err(EstimateError::Design(
                    "the wild bootstrap applies to did2x2 and twfe, not to event studies".into(),
                ))
            }
            (Some(b), _) => {
                let [cl] = clusters.as_slice() else {
                    return Err(EstimateError::Design(
                        "the wild cluster bootstrap needs exactly one cluster variable (--cluster)"
                            .into(),
                    ));
                };
                let g = cl.levels as f64;
                let nn = fitted.n_obs as f64;
                let c = g / (g - 1.0) * (nn - 1.0) / (nn - fitted.k_adjust as f64);
                let y = fitted.y.column(j).into_owned();
                let main = &out.coefficients[0];
                Some(wild_cluster_bootstrap(
                    &fitted.x,
                    &y,
                    &fitted.bread,
                    0,
                    cl,
                    c,
                    main.estimate,
                    main.se,
                    b,
                )?)
            }
            (None, _) => None,
        };
        reports.push(Report {
            method: spec.method.as_str().to_string(),
            outcome: out.outcome.clone(),
            n_obs: fitted.n_obs,
            n_units: unit.levels,
            n_clusters: fitted.n_clusters,
            vcov: vcov_name.clone(),
            estimates: out.coefficients.clone(),
            event_study,
            pretrend,
            bootstrap,
        });
    }
    Ok(reports)
}
