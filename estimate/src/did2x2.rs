//! The 2x2 difference-in-differences of the Lipetsk study (Charykova & Markova 2019, eq. 7):
//! d = (treated after - treated before) - (control after - control before), on logs by default.
//!
//! This is the one 2x2 of regstat: the run's cluster designs ([`did2x2`], on chosen before/after
//! years) and `regstat estimate --method did2x2` (on a validated [`crate::Panel`]) both go through
//! [`two_by_two`]. It is the OLS y = a + b·treated + c·post + d·treated_x_post (plus covariates and
//! weights where given), with no unit or time effects, and `treated_x_post` is its headline term.
//! Its variance: the clusters given, else CR1 clustered by unit when both groups have at least two
//! units, else the classical (iid) one, reported beside a placebo-in-space test, because with a
//! single treated region no t statistic can be trusted.

use std::collections::BTreeSet;

use crate::demean::DemeanOptions;
use crate::error::EstimateError;
use crate::factor::Factor;
use crate::fit::{fit, Collinear, Design, Fit, VcovSpec};
use crate::Coefficient;

/// The headline term of every 2x2.
pub const TREATED_X_POST: &str = "treated_x_post";

/// One yearly figure of one region.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelObs {
    pub unit: String,
    pub year: i32,
    pub value: f64,
}

#[derive(Debug, Clone)]
pub struct Did2x2Input<'a> {
    pub panel: &'a [PanelObs],
    pub treated: &'a [String],
    /// Years of the "before" cell; observations in neither list are not used.
    pub pre_years: &'a [i32],
    pub post_years: &'a [i32],
    pub log_outcome: bool,
}

/// Placebo-in-space inference: the same estimator with each control region pretending to be treated.
/// With one treated region, the rank of the real effect among the placebos is the honest p-value.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Placebo {
    pub effects: Vec<(String, f64)>,
    /// (1 + #{|placebo| >= |effect|}) / (1 + #placebos).
    pub p_value: f64,
    pub sd: f64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Did2x2 {
    /// The interaction coefficient from the regression y = a + b*treated + c*post + d*treated*post.
    pub effect: Coefficient,
    /// Cell means: treated before/after, control before/after (on the log scale when logged;
    /// weighted when weights are given).
    pub treated_pre: f64,
    pub treated_post: f64,
    pub control_pre: f64,
    pub control_post: f64,
    /// 100 * (exp(d) - 1) when the outcome is logged.
    pub effect_percent: Option<f64>,
    pub n_obs: usize,
    pub n_treated: usize,
    pub n_control: usize,
    /// How the standard error was computed.
    pub vcov: String,
    pub placebo: Option<Placebo>,
}

/// The rows of a 2x2: each row's unit, outcome, group and period side.
pub(crate) struct Cells<'a> {
    pub units: &'a [String],
    pub y: &'a [f64],
    pub treated: &'a [bool],
    pub post: &'a [bool],
    pub covariates: &'a [(String, Vec<f64>)],
    pub weights: Option<&'a [f64]>,
    /// Cluster variables given by the user; `None` for the rule above.
    pub clusters: Option<Vec<Factor>>,
    pub collinear: Collinear,
}

/// A 2x2 with the fit behind it (for the bootstrap) and the variance it used.
pub(crate) struct TwoByTwo {
    pub result: Did2x2,
    pub fit: Fit,
    pub vcov: VcovSpec,
}

fn design(cells: &Cells<'_>, treated: &[bool], rows: &[usize]) -> Design {
    let column = |f: &dyn Fn(usize) -> f64| rows.iter().map(|&i| f(i)).collect::<Vec<f64>>();
    let flag = |b: bool| b as u8 as f64;
    let mut regressors = vec![
        (
            TREATED_X_POST.to_string(),
            column(&|i| flag(treated[i] && cells.post[i])),
        ),
        ("treated".to_string(), column(&|i| flag(treated[i]))),
        ("post".to_string(), column(&|i| flag(cells.post[i]))),
    ];
    for (name, values) in cells.covariates {
        regressors.push((name.clone(), column(&|i| values[i])));
    }
    Design {
        outcomes: vec![("y".into(), column(&|i| cells.y[i]))],
        regressors,
        fixed_effects: vec![],
        weights: cells.weights.map(|w| column(&|i| w[i])),
        intercept: true,
        collinear: cells.collinear,
    }
}

pub(crate) fn two_by_two(cells: &Cells<'_>) -> Result<TwoByTwo, EstimateError> {
    let n = cells.y.len();
    let all: Vec<usize> = (0..n).collect();
    let means = cell_means(cells, cells.treated, &all)?;
    let treated_units: BTreeSet<&str> = (0..n)
        .filter(|&i| cells.treated[i])
        .map(|i| cells.units[i].as_str())
        .collect();
    let control_units: BTreeSet<&str> = (0..n)
        .filter(|&i| !cells.treated[i])
        .map(|i| cells.units[i].as_str())
        .collect();
    let (vcov, vcov_name) = match &cells.clusters {
        Some(given) => {
            let name = match given.as_slice() {
                [c] => format!("CR1 clustered by {}", c.name),
                [a, b] => format!("two-way CR1 clustered by {} and {}", a.name, b.name),
                _ => return Err(EstimateError::Design("one or two cluster variables".into())),
            };
            (VcovSpec::Cluster(given.clone()), name)
        }
        // Clustering by region is only meaningful with several regions on both sides; with a
        // single treated region the classical variance is reported (as the study did) beside the
        // placebo test.
        None if treated_units.len() >= 2 && control_units.len() >= 2 => (
            VcovSpec::Cluster(vec![Factor::from_labels("unit", cells.units)]),
            "CR1 clustered by unit".to_string(),
        ),
        None => (VcovSpec::Iid, "iid (classical OLS)".to_string()),
    };
    let fitted = fit(
        &design(cells, cells.treated, &all),
        &vcov,
        DemeanOptions::default(),
    )?;
    let out = &fitted.outcomes[0];
    let effect = out
        .index(TREATED_X_POST)
        .map(|i| out.coefficients[i].clone())
        .ok_or_else(|| EstimateError::TreatmentCollinear(TREATED_X_POST.into()))?;
    if cells.covariates.is_empty() && cells.weights.is_none() {
        let by_means = (means[3] - means[2]) - (means[1] - means[0]);
        debug_assert!((effect.estimate - by_means).abs() < 1e-8 * (1.0 + by_means.abs()));
    }
    let placebo = placebo(cells, &control_units, effect.estimate);
    let result = Did2x2 {
        effect,
        control_pre: means[0],
        control_post: means[1],
        treated_pre: means[2],
        treated_post: means[3],
        effect_percent: None,
        n_obs: n,
        n_treated: treated_units.len(),
        n_control: control_units.len(),
        vcov: vcov_name,
        placebo,
    };
    Ok(TwoByTwo {
        result,
        fit: fitted,
        vcov,
    })
}

/// The study's 2x2 on chosen before/after years of a yearly panel (the run's cluster designs).
pub fn did2x2(input: &Did2x2Input<'_>) -> Result<Did2x2, EstimateError> {
    let mut units = Vec::new();
    let mut y = Vec::new();
    let mut treated = Vec::new();
    let mut post = Vec::new();
    for o in input.panel {
        let is_post = input.post_years.contains(&o.year);
        if !is_post && !input.pre_years.contains(&o.year) {
            continue;
        }
        let value = if input.log_outcome {
            if o.value <= 0.0 {
                return Err(EstimateError::NonPositiveForLog(
                    o.value,
                    o.unit.clone(),
                    o.year,
                ));
            }
            o.value.ln()
        } else {
            o.value
        };
        units.push(o.unit.clone());
        y.push(value);
        treated.push(input.treated.contains(&o.unit));
        post.push(is_post);
    }
    let cells = Cells {
        units: &units,
        y: &y,
        treated: &treated,
        post: &post,
        covariates: &[],
        weights: None,
        clusters: None,
        collinear: Collinear::Drop,
    };
    let mut result = two_by_two(&cells)?.result;
    result.effect_percent = input
        .log_outcome
        .then(|| 100.0 * (result.effect.estimate.exp() - 1.0));
    Ok(result)
}

/// Means of control-pre, control-post, treated-pre, treated-post over `rows`.
fn cell_means(
    cells: &Cells<'_>,
    treated: &[bool],
    rows: &[usize],
) -> Result<[f64; 4], EstimateError> {
    let mut sums = [0.0; 4];
    let mut totals = [0.0; 4];
    for &i in rows {
        let cell = (treated[i] as usize) * 2 + cells.post[i] as usize;
        let w = cells.weights.map_or(1.0, |w| w[i]);
        sums[cell] += w * cells.y[i];
        totals[cell] += w;
    }
    let names = [
        "control before",
        "control after",
        "treated before",
        "treated after",
    ];
    let mut means = [0.0; 4];
    for i in 0..4 {
        if totals[i] == 0.0 {
            return Err(EstimateError::EmptyCell(names[i]));
        }
        means[i] = sums[i] / totals[i];
    }
    Ok(means)
}

/// Each control unit in turn pretends to be treated, the others stay controls, and the same
/// regression is run on the control rows alone.
fn placebo(cells: &Cells<'_>, controls: &BTreeSet<&str>, actual: f64) -> Option<Placebo> {
    if controls.len() < 2 {
        return None;
    }
    let rows: Vec<usize> = (0..cells.y.len()).filter(|&i| !cells.treated[i]).collect();
    let mut effects = Vec::new();
    for &pretend in controls {
        let treated: Vec<bool> = cells.units.iter().map(|u| u == pretend).collect();
        if cell_means(cells, &treated, &rows).is_err() {
            continue;
        }
        let Ok(f) = fit(
            &design(cells, &treated, &rows),
            &VcovSpec::Iid,
            DemeanOptions::default(),
        ) else {
            continue;
        };
        let out = &f.outcomes[0];
        if let Some(i) = out.index(TREATED_X_POST) {
            effects.push((pretend.to_string(), out.coef[i]));
        }
    }
    if effects.is_empty() {
        return None;
    }
    let k = effects.len() as f64;
    let extreme = effects
        .iter()
        .filter(|(_, e)| e.abs() >= actual.abs() - 1e-12)
        .count() as f64;
    let mean = effects.iter().map(|(_, e)| e).sum::<f64>() / k;
    let sd = (effects.iter().map(|(_, e)| (e - mean).powi(2)).sum::<f64>() / (k - 1.0)).sqrt();
    Some(Placebo {
        effects,
        p_value: (1.0 + extreme) / (1.0 + k),
        sd,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(unit: &str, year: i32, value: f64) -> PanelObs {
        PanelObs {
            unit: unit.into(),
            year,
            value,
        }
    }

    #[test]
    fn equals_the_difference_of_cell_means() {
        // Treated grows by 30 more than controls: (160-100) - ((95+85)/2 - (60+40)/2) = 60 - 40 = 20.
        let panel = [
            obs("T", 2005, 100.0),
            obs("T", 2016, 160.0),
            obs("A", 2005, 60.0),
            obs("A", 2016, 95.0),
            obs("B", 2005, 40.0),
            obs("B", 2016, 85.0),
            obs("C", 2005, 50.0),
            obs("C", 2016, 90.0),
        ];
        let treated = ["T".to_string()];
        let r = did2x2(&Did2x2Input {
            panel: &panel,
            treated: &treated,
            pre_years: &[2005],
            post_years: &[2016],
            log_outcome: false,
        })
        .unwrap();
        let expected = (160.0 - 100.0) - ((95.0 + 85.0 + 90.0) / 3.0 - (60.0 + 40.0 + 50.0) / 3.0);
        assert!((r.effect.estimate - expected).abs() < 1e-9, "{r:?}");
        assert_eq!((r.n_treated, r.n_control, r.n_obs), (1, 3, 8));
        assert_eq!(r.vcov, "iid (classical OLS)");
        let p = r.placebo.unwrap();
        assert_eq!(p.effects.len(), 3);
        // Placebo for A: (95-60) - ((85+90)/2 - (40+50)/2) = 35 - 42.5 = -7.5.
        assert!((p.effects[0].1 + 7.5).abs() < 1e-9);
        assert_eq!(
            p.p_value, 0.25,
            "the real effect is the most extreme of four"
        );
    }

    #[test]
    fn recovers_a_simulated_effect_with_clustered_errors() {
        // 20 treated and 20 control regions, 4 years each side, true effect 0.3 on logs, region and
        // year effects, small deterministic noise.
        let mut panel = Vec::new();
        let mut treated = Vec::new();
        for u in 0..40 {
            let unit = format!("R{u:02}");
            let is_treated = u < 20;
            if is_treated {
                treated.push(unit.clone());
            }
            for (k, year) in [2001, 2002, 2003, 2004, 2013, 2014, 2015, 2016]
                .into_iter()
                .enumerate()
            {
                let post = year >= 2012;
                let noise = (((u * 7 + k * 13) % 11) as f64 - 5.0) / 500.0;
                let log_y = 3.0
                    + 0.05 * u as f64
                    + 0.02 * k as f64
                    + if is_treated && post { 0.3 } else { 0.0 }
                    + noise;
                panel.push(obs(&unit, year, log_y.exp()));
            }
        }
        let r = did2x2(&Did2x2Input {
            panel: &panel,
            treated: &treated,
            pre_years: &[2001, 2002, 2003, 2004],
            post_years: &[2013, 2014, 2015, 2016],
            log_outcome: true,
        })
        .unwrap();
        assert!(
            (r.effect.estimate - 0.3).abs() < 0.01,
            "{}",
            r.effect.estimate
        );
        assert_eq!(r.vcov, "CR1 clustered by unit");
        assert_eq!(r.effect.df, 39.0);
        assert!(r.effect.ci_low < 0.3 && 0.3 < r.effect.ci_high);
        assert!(r.effect.p < 1e-6);
        assert!(
            (r.effect_percent.unwrap() - 100.0 * (r.effect.estimate.exp() - 1.0)).abs() < 1e-12
        );
    }

    #[test]
    fn empty_cells_and_non_positive_logs_are_errors() {
        let panel = [
            obs("T", 2005, 1.0),
            obs("A", 2005, 1.0),
            obs("A", 2016, 2.0),
        ];
        let treated = ["T".to_string()];
        let input = Did2x2Input {
            panel: &panel,
            treated: &treated,
            pre_years: &[2005],
            post_years: &[2016],
            log_outcome: false,
        };
        assert_eq!(
            did2x2(&input).unwrap_err(),
            EstimateError::EmptyCell("treated after")
        );
        let panel = [obs("T", 2005, 0.0)];
        let input = Did2x2Input {
            panel: &panel,
            log_outcome: true,
            ..input
        };
        assert!(matches!(
            did2x2(&input).unwrap_err(),
            EstimateError::NonPositiveForLog(..)
        ));
    }
}
