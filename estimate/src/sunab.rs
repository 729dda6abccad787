//! Sun & Abraham's (2021) interaction-weighted event study, as fixest's `sunab`: one dummy per
//! treated cohort g and relative period e = t - g (the reference e = `--ref`, default -1, left
//! out; relative periods binned by the window when one is given), with unit and time effects, the
//! never-treated units as the reference cohort, and errors clustered by unit (CR1, as the linear
//! engine). Without never-treated units the last-treated cohort is the reference and the periods
//! from its adoption on are dropped (it has no untreated comparison there).
//!
//! Aggregation as fixest's `aggregate`: an event-time effect is the mean of its cohorts'
//! coefficients weighted by their numbers of observations; the ATT weights every post-adoption cell
//! likewise; variances by the delta method, w' V w, t tests with the fit's degrees of freedom.

use std::collections::{BTreeMap, BTreeSet};

use nalgebra::DVector;
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::cs::{Aggregation, AggregationRow};
use crate::error::EstimateError;
use crate::factor::Factor;
use crate::fit::{fit_owned, Design, VcovSpec};
use crate::panel::{EventCoefficient, Method, Panel, Report, Spec};
use crate::Coefficient;

pub(crate) fn sunab_reports(
    panel: &Panel,
    spec: &Spec,
    rows: &[usize],
    outcomes: &[usize],
) -> Result<Vec<Report>, EstimateError> {
    let data = panel.data();
    let adoption = |i: usize| panel.adoption(i);
    let mut notes = Vec::new();
    let mut rows: Vec<usize> = rows.to_vec();
    let has_never = rows.iter().any(|&i| adoption(i).is_none());
    let reference_cohort = if has_never {
        None
    } else {
        let last = rows
            .iter()
            .filter_map(|&i| adoption(i))
            .max()
            .ok_or_else(|| EstimateError::Design("sunab needs a treated cohort".into()))?;
        rows.retain(|&i| data.time[i] < last);
        notes.push(format!(
            "no never-treated unit: the cohort of {last} is the reference and the periods from {last} on are dropped"
        ));
        Some(last)
    };
    let cohorts: BTreeSet<i64> = rows
        .iter()
        .filter_map(|&i| adoption(i))
        .filter(|g| Some(*g) != reference_cohort)
        .collect();
    if cohorts.is_empty() {
        return Err(EstimateError::Design(
            "sunab needs a treated cohort besides the reference".into(),
        ));
    }
    let rel = |i: usize| -> Option<(i64, i64)> {
        let g = adoption(i)?;
        if Some(g) == reference_cohort {
            return None;
        }
        let e = data.time[i] - g;
        Some((
            g,
            match spec.window {
                Some((lo, hi)) => e.clamp(lo, hi),
                None => e,
            },
        ))
    };
    // One dummy per observed (cohort, relative period) but the reference period.
    let cells: BTreeSet<(i64, i64)> = rows
        .iter()
        .filter_map(|&i| rel(i))
        .filter(|(_, e)| *e != spec.reference)
        .collect();
    let mut regressors: Vec<(String, Vec<f64>)> = Vec::new();
    let mut cell_of: Vec<(i64, i64)> = Vec::new();
    let mut size: BTreeMap<(i64, i64), f64> = BTreeMap::new();
    for &(g, e) in &cells {
        let column: Vec<f64> = rows
            .iter()
            .map(|&i| (rel(i) == Some((g, e))) as u8 as f64)
            .collect();
        size.insert((g, e), column.iter().sum());
        regressors.push((format!("cohort::{g}:rel::{e}"), column));
        cell_of.push((g, e));
    }
    for (name, values) in &data.covariates {
        regressors.push((name.clone(), rows.iter().map(|&i| values[i]).collect()));
    }
    let unit = Factor::of_rows("unit", &data.unit, &rows);
    let time = Factor::from_labels(
        "time",
        &rows.iter().map(|&i| data.time[i]).collect::<Vec<_>>(),
    );
    let clusters: Vec<Factor> = match data.cluster.as_slice() {
        [] => vec![unit.clone()],
        given => given
            .iter()
            .map(|(name, labels)| Factor::of_rows(name, labels, &rows))
            .collect(),
    };
    let design = Design {
        outcomes: outcomes
            .iter()
            .map(|&j| {
                (
                    data.outcomes[j].0.clone(),
                    rows.iter().map(|&i| data.outcomes[j].1[i]).collect(),
                )
            })
            .collect(),
        regressors,
        fixed_effects: vec![unit.clone(), time],
        weights: data
            .weights
            .as_ref()
            .map(|(_, w)| rows.iter().map(|&i| w[i]).collect()),
        intercept: false,
        collinear: spec.collinear,
    };
    let fitted = fit_owned(design, &VcovSpec::Cluster(clusters.clone()), spec.demean)?;
    let t_crit = StudentsT::new(0.0, 1.0, fitted.df)
        .map(|d| d.inverse_cdf(0.975))
        .unwrap_or(f64::NAN);
    let mut reports = Vec::new();
    for out in &fitted.outcomes {
        // Kept cells and their coefficient indices.
        let kept: Vec<((i64, i64), usize)> = cell_of
            .iter()
            .filter_map(|&(g, e)| {
                out.index(&format!("cohort::{g}:rel::{e}"))
                    .map(|k| ((g, e), k))
            })
            .collect();
        let combine = |select: &dyn Fn(i64, i64) -> bool| -> Option<(f64, f64)> {
            let chosen: Vec<&((i64, i64), usize)> =
                kept.iter().filter(|((g, e), _)| select(*g, *e)).collect();
            let total: f64 = chosen.iter().map(|(c, _)| size[c]).sum();
            if chosen.is_empty() || total == 0.0 {
                return None;
            }
            let mut w = DVector::<f64>::zeros(out.coef.len());
            for (c, k) in &chosen {
                w[*k] = size[c] / total;
            }
            let estimate = w.dot(&out.coef);
            let var = (w.transpose() * &out.vcov * &w)[(0, 0)];
            Some((estimate, var.max(0.0).sqrt()))
        };
        let events: BTreeSet<i64> = kept.iter().map(|((_, e), _)| *e).collect();
        let mut event_rows = Vec::new();
        let mut event_study = Vec::new();
        for &e in &events {
            if let Some((est, se)) = combine(&|_, ee| ee == e) {
                event_rows.push(AggregationRow {
                    group: None,
                    event_time: Some(e),
                    time: None,
                    estimate: est,
                    se,
                    ci_low: est - t_crit * se,
                    ci_high: est + t_crit * se,
                    band_low: est - t_crit * se,
                    band_high: est + t_crit * se,
                });
                event_study.push(EventCoefficient {
                    rel_time: e,
                    estimate: est,
                    se,
                    ci_low: est - t_crit * se,
                    ci_high: est + t_crit * se,
                });
            }
        }
        event_study.push(EventCoefficient {
            rel_time: spec.reference,
            estimate: 0.0,
            se: 0.0,
            ci_low: 0.0,
            ci_high: 0.0,
        });
        event_study.sort_by_key(|e| e.rel_time);
        let (att, att_se) = combine(&|_, e| e >= 0).ok_or_else(|| {
            EstimateError::Design("sunab: no post-adoption cell to aggregate".into())
        })?;
        let headline = Coefficient::from_estimate("att", att, att_se, fitted.df);
        let mut estimates = vec![headline.clone()];
        estimates.extend(out.coefficients.iter().cloned());
        let mut aggregations = BTreeMap::new();
        aggregations.insert(
            "att".to_string(),
            Aggregation {
                estimate: att,
                se: att_se,
                ci_low: headline.ci_low,
                ci_high: headline.ci_high,
                critical_value: t_crit,
                rows: event_rows,
            },
        );
        let mut report_notes = notes.clone();
        if !fitted.dropped.is_empty() {
            report_notes.push(format!(
                "removed for collinearity: {}",
                fitted.dropped.join(", ")
            ));
        }
        reports.push(Report {
            outcome: out.outcome.clone(),
            n_obs: fitted.n_obs,
            n_units: unit.levels,
            n_clusters: fitted.n_clusters,
            vcov: match clusters.as_slice() {
                [c] => format!("CR1 clustered by {}", c.name),
                [a, b] => format!("two-way CR1 clustered by {} and {}", a.name, b.name),
                _ => unreachable!("one or two"),
            },
            estimates,
            event_study,
            aggregations,
            dropped: fitted.dropped.clone(),
            notes: report_notes,
            ..Report::empty(Method::Sunab)
        });
    }
    Ok(reports)
}
