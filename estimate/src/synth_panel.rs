//! Synthetic control and synthetic DiD on a validated [`Panel`]: the outcome's rows become the
//! units x periods matrix synthdid takes (controls first, pre periods first), and the fit becomes a
//! [`Report`] with its weights, effect path and, for SC, the placebo-in-space test of Abadie,
//! Diamond & Hainmueller (2010).

use std::collections::{BTreeMap, BTreeSet};

use nalgebra::DMatrix;

use crate::error::EstimateError;
use crate::panel::{Method, Panel, Report, SynthPlacebo, Weight, Weights};
use crate::synth::{synth_fit, SynthEstimator, SynthSe};
use crate::Coefficient;

/// How synthetic estimates are made uncertain: synthdid's `vcov` method, its replications and the
/// seed of their random draws.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SynthSpec {
    pub se: SynthSe,
    pub replications: usize,
    pub seed: u64,
}

impl Default for SynthSpec {
    fn default() -> Self {
        Self {
            se: SynthSe::Placebo,
            replications: 200,
            seed: 20261122,
        }
    }
}

/// The units x periods matrix of outcome `j` on `rows`: controls, then treated units, each sorted
/// by label; periods ascending. Refuses unbalanced rows, naming the incomplete units.
struct Matrix {
    y: DMatrix<f64>,
    units: Vec<String>,
    periods: Vec<i64>,
    n0: usize,
    t0: usize,
    adoption: i64,
}

fn matrix(
    panel: &Panel,
    rows: &[usize],
    j: usize,
    method: Method,
) -> Result<Matrix, EstimateError> {
    let data = panel.data();
    let adoption = |i: usize| panel.adoption(i);
    let adoptions: BTreeSet<i64> = rows.iter().filter_map(|&i| adoption(i)).collect();
    let start = match adoptions.iter().copied().collect::<Vec<_>>()[..] {
        [a] => a,
        [] => {
            return Err(EstimateError::Design(format!(
                "{} needs a treated unit; no unit adopts",
                method.as_str()
            )))
        }
        _ => {
            return Err(EstimateError::Design(format!(
                "{} needs one adoption period for every treated unit (a block design), found {}; use cs for staggered adoption",
                method.as_str(),
                adoptions.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", ")
            )))
        }
    };
    let periods: Vec<i64> = rows
        .iter()
        .map(|&i| data.time[i])
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut by_unit: BTreeMap<(bool, &str), BTreeMap<i64, f64>> = BTreeMap::new();
    for &i in rows {
        by_unit
            .entry((adoption(i).is_some(), &data.unit[i]))
            .or_default()
            .insert(data.time[i], data.outcomes[j].1[i]);
    }
    let incomplete: Vec<&str> = by_unit
        .iter()
        .filter(|(_, values)| values.len() != periods.len())
        .map(|((_, unit), _)| *unit)
        .collect();
    if !incomplete.is_empty() {
        return Err(EstimateError::Design(format!(
            "{} needs a balanced panel: {} of {} units lack a value of `{}` in some of the {} periods ({}{})",
            method.as_str(),
            incomplete.len(),
            by_unit.len(),
            data.outcomes[j].0,
            periods.len(),
            incomplete.iter().take(5).copied().collect::<Vec<_>>().join(", "),
            if incomplete.len() > 5 { ", ..." } else { "" }
        )));
    }
    let units: Vec<String> = by_unit.keys().map(|(_, u)| u.to_string()).collect();
    let n0 = by_unit.keys().filter(|(treated, _)| !treated).count();
    let t0 = periods.iter().filter(|p| **p < start).count();
    if t0 == 0 {
        return Err(EstimateError::Design(format!(
            "{}: the treated units have no pre-treatment period (adoption {start}, first period {})",
            method.as_str(),
            periods[0]
        )));
    }
    let values: Vec<&BTreeMap<i64, f64>> = by_unit.values().collect();
    let y = DMatrix::from_fn(units.len(), periods.len(), |r, c| values[r][&periods[c]]);
    Ok(Matrix {
        y,
        units,
        periods,
        n0,
        t0,
        adoption: start,
    })
}

/// Post/pre root mean squared prediction error of an SC path.
fn rmspe_ratio(path: &[f64], t0: usize) -> f64 {
    let rms = |v: &[f64]| (v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64).sqrt();
    rms(&path[t0..]) / rms(&path[..t0])
}

/// Placebo in space: every donor in turn is the treated unit of an SC fitted on the other donors;
/// the p-value is the rank of the treated unit's post/pre RMSPE ratio among all of them.
fn sc_placebo(m: &Matrix, treated_ratio: f64) -> Result<SynthPlacebo, EstimateError> {
    let mut donors = Vec::new();
    for d in 0..m.n0 {
        let mut order: Vec<usize> = (0..m.n0).filter(|&i| i != d).collect();
        order.push(d);
        let y = m.y.select_rows(&order);
        let fit = match synth_fit(&y, m.n0 - 1, m.t0, SynthEstimator::Sc) {
            Ok(fit) => fit,
            Err(_) => continue,
        };
        let path = fit.path(&y);
        donors.push((m.units[d].clone(), fit.tau, rmspe_ratio(&path, m.t0)));
    }
    let at_least = donors
        .iter()
        .filter(|(_, _, r)| *r >= treated_ratio * (1.0 - 1e-12))
        .count();
    Ok(SynthPlacebo {
        p_value: (1 + at_least) as f64 / (1 + donors.len()) as f64,
        treated_rmspe_ratio: treated_ratio,
        donors: donors
            .into_iter()
            .map(|(unit, effect, ratio)| crate::panel::DonorPlacebo {
                unit,
                effect,
                rmspe_ratio: ratio,
            })
            .collect(),
    })
}

pub(crate) fn synth_report(
    panel: &Panel,
    method: Method,
    spec: &SynthSpec,
    rows: &[usize],
    j: usize,
) -> Result<Report, EstimateError> {
    let data = panel.data();
    if !data.covariates.is_empty() || data.weights.is_some() {
        return Err(EstimateError::Design(format!(
            "{} takes no covariates or weights (the weights are fitted on pre-treatment outcomes)",
            method.as_str()
        )));
    }
    let estimator = match method {
        Method::Sc => SynthEstimator::Sc,
        Method::Sdid => SynthEstimator::Sdid,
        _ => unreachable!("synthetic methods only"),
    };
    let m = matrix(panel, rows, j, method)?;
    let n1 = m.units.len() - m.n0;
    let fit = synth_fit(&m.y, m.n0, m.t0, estimator)?;
    let mut notes = Vec::new();
    let se = fit.se(&m.y, spec.se, spec.replications, spec.seed)?;
    let se_name = match spec.se {
        SynthSe::Placebo => format!("placebo ({} replications)", spec.replications),
        SynthSe::Jackknife => "jackknife (fixed weights)".to_string(),
        SynthSe::Bootstrap => format!("bootstrap ({} replications)", spec.replications),
    };
    if se.is_none() {
        notes.push(format!(
            "the {} standard error is undefined with {n1} treated unit (synthdid returns NA); use --se placebo",
            match spec.se {
                SynthSe::Jackknife => "jackknife",
                _ => "bootstrap",
            }
        ));
    }
    let path = fit.path(&m.y);
    let placebo = if method == Method::Sc {
        Some(sc_placebo(&m, rmspe_ratio(&path, m.t0))?)
    } else {
        None
    };
    if n1 == 1 {
        notes.push(
            "one treated unit: inference rests on placebos among the donors, not on asymptotics"
                .into(),
        );
    }
    Ok(Report {
        method: method.as_str().to_string(),
        outcome: data.outcomes[j].0.clone(),
        n_obs: m.units.len() * m.periods.len(),
        n_units: m.units.len(),
        n_clusters: None,
        vcov: se_name,
        estimates: vec![Coefficient::from_estimate(
            "att",
            fit.tau,
            se.unwrap_or(f64::NAN),
            f64::INFINITY,
        )],
        weights: Some(Weights {
            units: m.units[..m.n0]
                .iter()
                .zip(&fit.omega)
                .map(|(u, w)| Weight {
                    unit: Some(u.clone()),
                    time: None,
                    weight: *w,
                })
                .collect(),
            times: m.periods[..m.t0]
                .iter()
                .zip(&fit.lambda)
                .map(|(t, w)| Weight {
                    unit: None,
                    time: Some(*t),
                    weight: *w,
                })
                .collect(),
        }),
        path: m
            .periods
            .iter()
            .zip(&path)
            .map(|(t, e)| crate::panel::PathPoint {
                time: *t,
                effect: *e,
                post: *t >= m.adoption,
            })
            .collect(),
        synth_placebo: placebo,
        notes,
        ..Report::empty(method)
    })
}
