//! Callaway & Sant'Anna (2021) group-time average treatment effects on a balanced panel, with
//! R `did`'s conventions (../shared/reference/did/README.md): ATT(g,t) as the DiD of means of
//! Y_t - Y_base between cohort g and its controls (never-treated, or not yet treated by
//! max(t, base) + anticipation); base period g - 1 - anticipation for post cells and t - 1 for pre
//! cells ("varying") or g - 1 - anticipation throughout ("universal", whose base cell is a 0 row);
//! influence functions scaled to all n units, analytic SE sqrt(mean(IF^2)/n), no small-sample
//! correction; the simple, group, dynamic and calendar aggregations with the influence function of
//! the estimated cohort shares (`wif`); and the multiplier bootstrap (Rademacher, IQR-based sigma,
//! max-t critical value) for uniform bands.
//!
//! Pre-processing as `did`: cohorts first treated after the last period are never treated;
//! cohorts treated in or before the first period (plus anticipation) are dropped with their units;
//! with not-yet-treated controls and no never-treated unit, periods from the last cohort's
//! adoption (less anticipation) on are dropped and that cohort only serves as a control.
//!
//! Without covariates the doubly robust, outcome-regression and IPW estimators of `did` coincide,
//! which is what is computed here; covariates are refused until their estimators land.

use std::collections::{BTreeMap, BTreeSet};

use statrs::distribution::{ContinuousCDF, Normal};

use crate::error::EstimateError;
use crate::panel::{Method, Panel, Report};
use crate::rng::SplitMix64;
use crate::Coefficient;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ControlGroup {
    Never,
    NotYet,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BasePeriod {
    Varying,
    Universal,
}

/// `did`'s `est_method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CsEstimation {
    Dr,
    Reg,
    Ipw,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CsSpec {
    pub control: ControlGroup,
    pub base_period: BasePeriod,
    pub estimation: CsEstimation,
    pub anticipation: i64,
    /// Multiplier-bootstrap draws for the uniform bands.
    pub band_reps: usize,
    pub seed: u64,
    pub alpha: f64,
}

impl Default for CsSpec {
    fn default() -> Self {
        Self {
            control: ControlGroup::Never,
            base_period: BasePeriod::Varying,
            estimation: CsEstimation::Dr,
            anticipation: 0,
            band_reps: 1000,
            seed: 20261122,
            alpha: 0.05,
        }
    }
}

/// One ATT(g,t).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GroupTime {
    pub group: i64,
    pub time: i64,
    pub estimate: f64,
    pub se: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// The uniform (simultaneous) band over all ATT(g,t).
    pub band_low: f64,
    pub band_high: f64,
    pub post: bool,
}

/// One row of an aggregation: a cohort (`group`), an event time (`event_time`) or a period
/// (`time`), with pointwise intervals and the aggregation's uniform band.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AggregationRow {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<i64>,
    pub estimate: f64,
    pub se: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub band_low: f64,
    pub band_high: f64,
}

/// An aggregation's overall effect and its rows.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Aggregation {
    pub estimate: f64,
    pub se: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// The critical value of the uniform band (pointwise z when the rows have no band).
    pub critical_value: f64,
    pub rows: Vec<AggregationRow>,
}

/// The balanced outcome matrix and each unit's cohort (0: never treated).
struct Data {
    y: Vec<Vec<f64>>,
    /// Covariates per unit and period (empty without covariates).
    x: Vec<Vec<Vec<f64>>>,
    cohort: Vec<i64>,
    periods: Vec<i64>,
    notes: Vec<String>,
}

fn data(panel: &Panel, rows: &[usize], j: usize, spec: &CsSpec) -> Result<Data, EstimateError> {
    let d = panel.data();
    if d.weights.is_some() {
        return Err(EstimateError::Design(
            "cs: weights are not supported yet".into(),
        ));
    }
    let adoption = panel.adoption();
    let mut periods: Vec<i64> = rows
        .iter()
        .map(|&i| d.time[i])
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // Per unit (in order of first appearance): its cohort and, per period, the row (for the
    // outcome and the covariates); usize::MAX where the unit has no row in that period.
    let codes = &panel.unit_codes().codes;
    let mut slot: Vec<usize> = vec![usize::MAX; panel.unit_codes().levels];
    let mut unit_rows: Vec<(usize, i64, Vec<usize>)> = Vec::new();
    for &i in rows {
        let c = codes[i] as usize;
        if slot[c] == usize::MAX {
            slot[c] = unit_rows.len();
            unit_rows.push((i, adoption[i].unwrap_or(0), vec![usize::MAX; periods.len()]));
        }
        let k = periods
            .binary_search(&d.time[i])
            .expect("a period of the rows");
        unit_rows[slot[c]].2[k] = i;
    }
    let incomplete: Vec<&str> = unit_rows
        .iter()
        .filter(|(_, _, at)| at.contains(&usize::MAX))
        .map(|(first, _, _)| d.unit[*first].as_str())
        .collect();
    if !incomplete.is_empty() {
        return Err(EstimateError::Design(format!(
            "cs needs a balanced panel (R did without allow_unbalanced_panel): {} of {} units lack `{}` in some of the {} periods ({}{})",
            incomplete.len(),
            unit_rows.len(),
            d.outcomes[j].0,
            periods.len(),
            incomplete.iter().take(5).copied().collect::<Vec<_>>().join(", "),
            if incomplete.len() > 5 { ", ..." } else { "" }
        )));
    }
    let mut notes = Vec::new();
    let last = *periods.last().expect("rows are not empty");
    let first = periods[0];
    let mut units: Vec<(i64, Vec<usize>)> = Vec::new();
    let (mut late, mut early) = (0, 0);
    for (_, g, at) in unit_rows {
        let mut g = g;
        if g > last + spec.anticipation {
            g = 0;
            late += 1;
        }
        if g != 0 && g <= first + spec.anticipation {
            early += 1;
            continue;
        }
        units.push((g, at));
    }
    if late > 0 {
        notes.push(format!(
            "{late} units first treated after the last period count as never treated"
        ));
    }
    if early > 0 {
        notes.push(format!(
            "{early} units already treated in the first period (plus anticipation) are dropped"
        ));
    }
    if !units.iter().any(|(g, _)| *g == 0) {
        match spec.control {
            ControlGroup::Never => {
                return Err(EstimateError::Design(
                    "cs: no never-treated unit to compare with; use --control notyet".into(),
                ))
            }
            ControlGroup::NotYet => {
                let latest = units.iter().map(|(g, _)| *g).max().unwrap_or(0);
                let keep: Vec<usize> = (0..periods.len())
                    .filter(|&k| periods[k] < latest - spec.anticipation)
                    .collect();
                notes.push(format!(
                    "no never-treated unit: periods from {} on are dropped and the cohort of {latest} serves only as a control",
                    latest - spec.anticipation
                ));
                periods = keep.iter().map(|&k| periods[k]).collect();
                for (_, at) in &mut units {
                    *at = keep.iter().map(|&k| at[k]).collect();
                }
            }
        }
    }
    if periods.len() < 2 {
        return Err(EstimateError::Design(
            "cs needs at least two periods".into(),
        ));
    }
    let outcome = &d.outcomes[j].1;
    Ok(Data {
        y: units
            .iter()
            .map(|(_, at)| at.iter().map(|&i| outcome[i]).collect())
            .collect(),
        x: if d.covariates.is_empty() {
            Vec::new()
        } else {
            units
                .iter()
                .map(|(_, at)| {
                    at.iter()
                        .map(|&i| d.covariates.iter().map(|(_, c)| c[i]).collect())
                        .collect()
                })
                .collect()
        },
        cohort: units.iter().map(|(g, _)| *g).collect(),
        periods,
        notes,
    })
}

/// The DiD of mean changes between treated (d = 1) and controls, with its influence function.
fn difference_of_means(dy: &[f64], d: &[f64]) -> (f64, Vec<f64>) {
    let n = dy.len() as f64;
    let (mut n_d, mut s_d, mut s_c) = (0.0, 0.0, 0.0);
    for (y, t) in dy.iter().zip(d) {
        if *t == 1.0 {
            n_d += 1.0;
            s_d += y;
        } else {
            s_c += y;
        }
    }
    let n_c = n - n_d;
    let (m_d, m_c) = (s_d / n_d, s_c / n_c);
    let (p_d, p_c) = (n_d / n, n_c / n);
    let inf = dy
        .iter()
        .zip(d)
        .map(|(y, t)| {
            if *t == 1.0 {
                (y - m_d) / p_d
            } else {
                -(y - m_c) / p_c
            }
        })
        .collect();
    (m_d - m_c, inf)
}

/// Solves the symmetric positive definite system A b = r, or says which model failed.
fn solve_spd(
    a: nalgebra::DMatrix<f64>,
    r: nalgebra::DVector<f64>,
    what: &str,
) -> Result<nalgebra::DVector<f64>, String> {
    a.cholesky().map(|c| c.solve(&r)).ok_or_else(|| {
        format!("the {what} is singular (a covariate without variation in this comparison)")
    })
}

/// The logit of `d` on `x` by Newton-Raphson (as glm), fitted probabilities.
fn logit(x: &nalgebra::DMatrix<f64>, d: &[f64]) -> Result<Vec<f64>, String> {
    use nalgebra::DVector;
    let (n, k) = x.shape();
    let mut beta = DVector::<f64>::zeros(k);
    for _ in 0..100 {
        let p: Vec<f64> = (0..n)
            .map(|i| 1.0 / (1.0 + (-x.row(i).dot(&beta.transpose())).exp()))
            .collect();
        let mut h = nalgebra::DMatrix::<f64>::zeros(k, k);
        let mut g = DVector::<f64>::zeros(k);
        for i in 0..n {
            let w = p[i] * (1.0 - p[i]);
            let xi = x.row(i).transpose();
            h += &xi * xi.transpose() * w;
            g += xi * (d[i] - p[i]);
        }
        let step = solve_spd(h, g, "propensity score's information matrix")?;
        beta += &step;
        if step.amax() <= 1e-10 * (1.0 + beta.amax()) {
            return Ok((0..n)
                .map(|i| 1.0 / (1.0 + (-x.row(i).dot(&beta.transpose())).exp()))
                .collect());
        }
    }
    Err("the propensity score did not converge (treated and controls may be perfectly separated by the covariates)".into())
}

/// One ATT(g,t) and its influence function on the comparison's units, as DRDID's panel estimators
/// (`drdid_panel`, `reg_did_panel`, `std_ipw_did_panel`, which R did calls) with unit weights 1 and
/// trimming of controls whose propensity score reaches 0.995. Without covariates (x the intercept
/// alone) all three reduce to the difference of mean changes.
fn drdid_panel(
    dy: &[f64],
    d: &[f64],
    x: &[Vec<f64>],
    estimation: CsEstimation,
) -> Result<(f64, Vec<f64>), String> {
    use nalgebra::{DMatrix, DVector};
    let n = dy.len();
    let k = x[0].len();
    let nf = n as f64;
    let xm = DMatrix::from_fn(n, k, |i, c| x[i][c]);
    let mean = |v: &dyn Fn(usize) -> f64| (0..n).map(v).sum::<f64>() / nf;
    let col_means = |v: &dyn Fn(usize) -> f64| {
        DVector::from_fn(k, |c, _| (0..n).map(|i| v(i) * x[i][c]).sum::<f64>() / nf)
    };
    // Outcome model: OLS of dy on x among controls; its asymptotic linear representation.
    let outcome = || -> Result<(Vec<f64>, DMatrix<f64>), String> {
        let mut xtx = DMatrix::<f64>::zeros(k, k);
        let mut xty = DVector::<f64>::zeros(k);
        for i in (0..n).filter(|&i| d[i] == 0.0) {
            let xi = xm.row(i).transpose();
            xtx += &xi * xi.transpose();
            xty += xi * dy[i];
        }
        let beta = solve_spd(xtx.clone(), xty, "outcome regression among the controls")?;
        let fitted: Vec<f64> = (0..n).map(|i| xm.row(i).dot(&beta.transpose())).collect();
        let inv = (xtx / nf)
            .try_inverse()
            .ok_or("the outcome regression is singular")?;
        let mut rep = DMatrix::<f64>::zeros(n, k);
        for i in (0..n).filter(|&i| d[i] == 0.0) {
            let e = dy[i] - fitted[i];
            let row = (xm.row(i) * e) * &inv;
            rep.set_row(i, &row);
        }
        Ok((fitted, rep))
    };
    // Propensity score: logit and its asymptotic linear representation; returned as the trimmed
    // weights of treated (D) and controls (p (1 - D) / (1 - p)) that IPW and DR both use.
    let pscore = || -> Result<(Vec<f64>, Vec<f64>, DMatrix<f64>), String> {
        let p: Vec<f64> = logit(&xm, d)?
            .into_iter()
            .map(|p| p.min(1.0 - 1e-6))
            .collect();
        let mut info = DMatrix::<f64>::zeros(k, k);
        for i in 0..n {
            let xi = xm.row(i).transpose();
            info += &xi * xi.transpose() * (p[i] * (1.0 - p[i]));
        }
        let hessian = (info / nf)
            .try_inverse()
            .ok_or("the propensity score's information matrix is singular")?;
        let mut rep = DMatrix::<f64>::zeros(n, k);
        for i in 0..n {
            let row = (xm.row(i) * (d[i] - p[i])) * &hessian;
            rep.set_row(i, &row);
        }
        let trim = |i: usize| {
            if d[i] == 1.0 || p[i] < 0.995 {
                1.0
            } else {
                0.0
            }
        };
        let wt = (0..n).map(|i| trim(i) * d[i]).collect();
        let wc = (0..n)
            .map(|i| trim(i) * p[i] * (1.0 - d[i]) / (1.0 - p[i]))
            .collect();
        Ok((wt, wc, rep))
    };
    match estimation {
        CsEstimation::Reg => {
            let (fitted, rep) = outcome()?;
            let w_treat = mean(&|i| d[i]);
            let eta_treat = mean(&|i| d[i] * dy[i]) / w_treat;
            let eta_cont = mean(&|i| d[i] * fitted[i]) / w_treat;
            let m1 = col_means(&|i| d[i]);
            let lin = &rep * m1;
            let inf = (0..n)
                .map(|i| {
                    let treat = (d[i] * dy[i] - d[i] * eta_treat) / w_treat;
                    let control = (d[i] * fitted[i] - d[i] * eta_cont + lin[i]) / w_treat;
                    treat - control
                })
                .collect();
            Ok((eta_treat - eta_cont, inf))
        }
        CsEstimation::Ipw => {
            let (wt, wc, rep) = pscore()?;
            let (mt, mc) = (mean(&|i| wt[i]), mean(&|i| wc[i]));
            let eta_treat = mean(&|i| wt[i] * dy[i]) / mt;
            let eta_cont = mean(&|i| wc[i] * dy[i]) / mc;
            let m2 = col_means(&|i| wc[i] * (dy[i] - eta_cont));
            let lin = &rep * m2;
            let inf = (0..n)
                .map(|i| {
                    let treat = (wt[i] * dy[i] - wt[i] * eta_treat) / mt;
                    let control = (wc[i] * dy[i] - wc[i] * eta_cont + lin[i]) / mc;
                    treat - control
                })
                .collect();
            Ok((eta_treat - eta_cont, inf))
        }
        CsEstimation::Dr => {
            let (fitted, rep_ols) = outcome()?;
            let (wt, wc, rep_ps) = pscore()?;
            let (mt, mc) = (mean(&|i| wt[i]), mean(&|i| wc[i]));
            let resid: Vec<f64> = (0..n).map(|i| dy[i] - fitted[i]).collect();
            let eta_treat = mean(&|i| wt[i] * resid[i]) / mt;
            let eta_cont = mean(&|i| wc[i] * resid[i]) / mc;
            let treat_ols = &rep_ols * col_means(&|i| wt[i]);
            let cont_ps = &rep_ps * col_means(&|i| wc[i] * (resid[i] - eta_cont));
            let cont_ols = &rep_ols * col_means(&|i| wc[i]);
            let inf = (0..n)
                .map(|i| {
                    let treat = (wt[i] * resid[i] - wt[i] * eta_treat - treat_ols[i]) / mt;
                    let control =
                        (wc[i] * resid[i] - wc[i] * eta_cont + cont_ps[i] - cont_ols[i]) / mc;
                    treat - control
                })
                .collect();
            Ok((eta_treat - eta_cont, inf))
        }
    }
}

/// One cell with its influence function over all n units.
struct Cell {
    group: i64,
    time: i64,
    att: f64,
    inf: Vec<f64>,
    post: bool,
}

fn se_of(inf: &[f64]) -> f64 {
    let n = inf.len() as f64;
    let se = (inf.iter().map(|v| v * v).sum::<f64>() / n).sqrt() / n.sqrt();
    if se <= f64::EPSILON.sqrt() * 10.0 {
        f64::NAN
    } else {
        se
    }
}

fn cells(d: &Data, spec: &CsSpec, notes: &mut Vec<String>) -> Result<Vec<Cell>, EstimateError> {
    let n = d.cohort.len();
    let t_count = d.periods.len();
    let mut groups: Vec<i64> = d
        .cohort
        .iter()
        .copied()
        .filter(|g| *g > 0)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if spec.control == ControlGroup::NotYet && !d.cohort.contains(&0) {
        let latest = groups.iter().copied().max().unwrap_or(0);
        groups.retain(|g| *g < latest);
    }
    if groups.is_empty() {
        return Err(EstimateError::Design(
            "cs: no treated cohort with a pre-treatment period".into(),
        ));
    }
    let (tfac, loops) = match spec.base_period {
        BasePeriod::Varying => (1, t_count - 1),
        BasePeriod::Universal => (0, t_count),
    };
    let mut out = Vec::new();
    for &g in &groups {
        let pret_g = (0..t_count)
            .rev()
            .find(|&k| d.periods[k] + spec.anticipation < g);
        let Some(pret_g) = pret_g else {
            notes.push(format!(
                "cohort {g} has no pre-treatment period and is dropped"
            ));
            continue;
        };
        for t in 0..loops {
            let tc = t + tfac;
            let post = g <= d.periods[tc];
            let pret = if spec.base_period == BasePeriod::Universal || post {
                pret_g
            } else {
                t
            };
            if spec.base_period == BasePeriod::Universal && d.periods[pret] == d.periods[tc] {
                out.push(Cell {
                    group: g,
                    time: d.periods[tc],
                    att: 0.0,
                    inf: vec![0.0; n],
                    post: false,
                });
                continue;
            }
            let threshold = d.periods[t.max(pret) + tfac] + spec.anticipation;
            let is_control = |c: i64| match spec.control {
                ControlGroup::Never => c == 0,
                ControlGroup::NotYet => c == 0 || (c > threshold && c != g),
            };
            // The comparison: cohort g (D = 1) and its controls (D = 0); the rest of n left out.
            let kept: Vec<usize> = (0..n)
                .filter(|&i| d.cohort[i] == g || is_control(d.cohort[i]))
                .collect();
            let treated: Vec<f64> = kept
                .iter()
                .map(|&i| (d.cohort[i] == g) as u8 as f64)
                .collect();
            if !treated.contains(&1.0) || !treated.contains(&0.0) {
                notes.push(format!(
                    "ATT({g},{}) has no control units and is left out",
                    d.periods[tc]
                ));
                continue;
            }
            let dy: Vec<f64> = kept.iter().map(|&i| d.y[i][tc] - d.y[i][pret]).collect();
            let (att, inf_kept) = if d.x.is_empty() {
                // Intercept only: dr, reg and ipw all reduce to the difference of mean changes,
                // with IF D(dy - m_D)/p_D - (1 - D)(dy - m_C)/p_C (no allocation per unit).
                difference_of_means(&dy, &treated)
            } else {
                // Covariates from the earlier of the two periods, with an intercept, as did.
                let earlier = tc.min(pret);
                let x: Vec<Vec<f64>> = kept
                    .iter()
                    .map(|&i| {
                        let mut row = vec![1.0];
                        row.extend(&d.x[i][earlier]);
                        row
                    })
                    .collect();
                drdid_panel(&dy, &treated, &x, spec.estimation).map_err(|e| {
                    EstimateError::Design(format!("cs: ATT({g},{}): {e}", d.periods[tc]))
                })?
            };
            let scale = n as f64 / kept.len() as f64;
            let mut inf = vec![0.0; n];
            for (k, &i) in kept.iter().enumerate() {
                inf[i] = scale * inf_kept[k];
            }
            out.push(Cell {
                group: g,
                time: d.periods[tc],
                att,
                inf,
                post,
            });
        }
    }
    if out.is_empty() {
        return Err(EstimateError::Design(
            "cs: no group-time effect could be estimated".into(),
        ));
    }
    Ok(out)
}

/// The weighted aggregate of cells `keep` with cohort-share weights, and its influence function
/// including the estimation of the shares (`did`'s `wif`).
fn aggregate(
    cells: &[Cell],
    keep: &[usize],
    share: &dyn Fn(i64) -> f64,
    cohort: &[i64],
    with_wif: bool,
) -> (f64, Vec<f64>) {
    let n = cohort.len();
    let spg: f64 = keep.iter().map(|&k| share(cells[k].group)).sum();
    let att: f64 = keep
        .iter()
        .map(|&k| cells[k].att * share(cells[k].group))
        .sum::<f64>()
        / spg;
    let mut inf = vec![0.0; n];
    for &k in keep {
        let w = share(cells[k].group) / spg;
        for i in 0..n {
            inf[i] += w * cells[k].inf[i];
        }
    }
    if with_wif {
        for i in 0..n {
            let centered =
                |k: usize| (cohort[i] == cells[k].group) as u8 as f64 - share(cells[k].group);
            let row_sum: f64 = keep.iter().map(|&k| centered(k)).sum();
            for &k in keep {
                let w = centered(k) / spg - row_sum * share(cells[k].group) / (spg * spg);
                inf[i] += w * cells[k].att;
            }
        }
    }
    (att, inf)
}

/// Draws of the multiplier bootstrap done per matrix product.
const BAND_BLOCK: usize = 64;

/// The multiplier bootstrap's critical value for a uniform band over the columns `infs` (`did`'s
/// `mboot`): Rademacher signs per unit, b* = sqrt(n) mean(v IF) per column, sigma from the
/// interquartile range, the 1 - alpha quantile (type 1) of max |b*/sigma|. Each block of draws
/// is one matrix product (draws x units) (units x columns); signs come 64 to a random word.
/// With no draws (`band_reps` 0) the pointwise z is returned: no uniform band.
fn uniform_critical_value(infs: &[&[f64]], reps: usize, seed: u64, alpha: f64) -> f64 {
    use nalgebra::DMatrix;
    let z = Normal::new(0.0, 1.0)
        .expect("standard normal")
        .inverse_cdf(1.0 - alpha / 2.0);
    let cols: Vec<&[f64]> = infs
        .iter()
        .copied()
        .filter(|c| !se_of(c).is_nan())
        .collect();
    if cols.is_empty() || reps < 2 {
        return z;
    }
    let n = cols[0].len();
    let k = cols.len();
    let inf = DMatrix::from_fn(n, k, |i, c| cols[c][i]);
    let mut rng = SplitMix64::new(seed);
    let mut bres = vec![vec![0.0; reps]; k];
    let root = (n as f64).sqrt();
    let mut start = 0;
    while start < reps {
        let b = BAND_BLOCK.min(reps - start);
        let mut signs = DMatrix::<f64>::zeros(b, n);
        for i in 0..n {
            let word = rng.next_u64();
            for r in 0..b {
                signs[(r, i)] = if (word >> r) & 1 == 1 { -1.0 } else { 1.0 };
            }
        }
        let product = signs * &inf;
        for c in 0..k {
            for r in 0..b {
                bres[c][start + r] = product[(r, c)] / root;
            }
        }
        start += b;
    }
    let iqr_norm = 2.0
        * Normal::new(0.0, 1.0)
            .expect("standard normal")
            .inverse_cdf(0.75);
    let type1 =
        |sorted: &[f64], p: f64| sorted[((p * sorted.len() as f64).ceil() as usize).max(1) - 1];
    let sigma: Vec<f64> = bres
        .iter()
        .map(|b| {
            let mut s = b.clone();
            s.sort_by(|a, b| a.total_cmp(b));
            (type1(&s, 0.75) - type1(&s, 0.25)) / iqr_norm
        })
        .collect();
    let mut bt: Vec<f64> = (0..reps)
        .map(|b| {
            (0..k)
                .filter(|&c| sigma[c] > f64::EPSILON.sqrt() * 10.0)
                .map(|c| (bres[c][b] / sigma[c]).abs())
                .fold(f64::NEG_INFINITY, f64::max)
        })
        .filter(|x| x.is_finite())
        .collect();
    if bt.is_empty() {
        return z;
    }
    bt.sort_by(|a, b| a.total_cmp(b));
    let crit = type1(&bt, 1.0 - alpha);
    // As did: never narrower than the pointwise interval.
    if crit.is_finite() && crit >= z {
        crit
    } else {
        z
    }
}

fn row(
    key: (Option<i64>, Option<i64>, Option<i64>),
    estimate: f64,
    inf: &[f64],
    z: f64,
    crit: f64,
) -> AggregationRow {
    let se = se_of(inf);
    AggregationRow {
        group: key.0,
        event_time: key.1,
        time: key.2,
        estimate,
        se,
        ci_low: estimate - z * se,
        ci_high: estimate + z * se,
        band_low: estimate - crit * se,
        band_high: estimate + crit * se,
    }
}

/// An aggregation from its rows' (key, estimate, influence function) and its overall effect.
fn aggregation(
    rows: Vec<((Option<i64>, Option<i64>, Option<i64>), f64, Vec<f64>)>,
    overall: (f64, Vec<f64>),
    spec: &CsSpec,
    z: f64,
) -> Aggregation {
    let infs: Vec<&[f64]> = rows.iter().map(|(_, _, f)| f.as_slice()).collect();
    let crit = if rows.is_empty() {
        z
    } else {
        uniform_critical_value(&infs, spec.band_reps, spec.seed, spec.alpha)
    };
    let se = se_of(&overall.1);
    Aggregation {
        estimate: overall.0,
        se,
        ci_low: overall.0 - z * se,
        ci_high: overall.0 + z * se,
        critical_value: crit,
        rows: rows
            .iter()
            .map(|(key, est, inf)| row(*key, *est, inf, z, crit))
            .collect(),
    }
}

pub(crate) fn cs_report(
    panel: &Panel,
    spec: &CsSpec,
    rows: &[usize],
    j: usize,
) -> Result<Report, EstimateError> {
    if spec.anticipation < 0 {
        return Err(EstimateError::BadParameter {
            parameter: "anticipation",
            message: format!("expected 0 or more periods, found {}", spec.anticipation),
        });
    }
    let d = data(panel, rows, j, spec)?;
    let mut notes = d.notes.clone();
    let cells = cells(&d, spec, &mut notes)?;
    let n = d.cohort.len();
    let z = Normal::new(0.0, 1.0)
        .expect("standard normal")
        .inverse_cdf(1.0 - spec.alpha / 2.0);
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for g in &d.cohort {
        *counts.entry(*g).or_default() += 1;
    }
    let share = |g: i64| counts.get(&g).copied().unwrap_or(0) as f64 / n as f64;
    let cohort = &d.cohort;

    // ATT(g,t) with the uniform band over all of them.
    let all_infs: Vec<&[f64]> = cells.iter().map(|c| c.inf.as_slice()).collect();
    let crit_gt = uniform_critical_value(&all_infs, spec.band_reps, spec.seed, spec.alpha);
    let att_gt: Vec<GroupTime> = cells
        .iter()
        .map(|c| {
            let se = se_of(&c.inf);
            GroupTime {
                group: c.group,
                time: c.time,
                estimate: c.att,
                se,
                ci_low: c.att - z * se,
                ci_high: c.att + z * se,
                band_low: c.att - crit_gt * se,
                band_high: c.att + crit_gt * se,
                post: c.post,
            }
        })
        .collect();

    let post: Vec<usize> = (0..cells.len()).filter(|&k| cells[k].post).collect();
    if post.is_empty() {
        return Err(EstimateError::Design(
            "cs: no post-treatment group-time effect".into(),
        ));
    }
    let mut aggregations = BTreeMap::new();
    let simple = aggregate(&cells, &post, &share, cohort, true);
    aggregations.insert(
        "simple".to_string(),
        aggregation(vec![], simple.clone(), spec, z),
    );

    // By cohort: the mean of its post cells; overall weighted by cohort shares, with their wif.
    let groups: Vec<i64> = cells
        .iter()
        .map(|c| c.group)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut group_rows = Vec::new();
    let mut group_cells = Vec::new();
    for &g in &groups {
        let keep: Vec<usize> = post
            .iter()
            .copied()
            .filter(|&k| cells[k].group == g)
            .collect();
        if keep.is_empty() {
            continue;
        }
        let (att, inf) = aggregate(&cells, &keep, &|_| 1.0, cohort, false);
        group_cells.push(Cell {
            group: g,
            time: 0,
            att,
            inf: inf.clone(),
            post: true,
        });
        group_rows.push(((Some(g), None, None), att, inf));
    }
    let all_groups: Vec<usize> = (0..group_cells.len()).collect();
    let overall_group = aggregate(&group_cells, &all_groups, &share, cohort, true);
    aggregations.insert(
        "group".to_string(),
        aggregation(group_rows, overall_group, spec, z),
    );

    // By event time e = t - g; overall: the mean over e >= 0.
    let events: Vec<i64> = cells
        .iter()
        .map(|c| c.time - c.group)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut event_rows = Vec::new();
    for &e in &events {
        let keep: Vec<usize> = (0..cells.len())
            .filter(|&k| cells[k].time - cells[k].group == e)
            .collect();
        let (att, inf) = aggregate(&cells, &keep, &share, cohort, true);
        event_rows.push(((None, Some(e), None), att, inf));
    }
    let nonneg: Vec<&(_, f64, Vec<f64>)> = event_rows
        .iter()
        .filter(|((_, e, _), _, _)| e.unwrap_or(-1) >= 0)
        .collect();
    let dyn_overall = mean_of(&nonneg, n);
    aggregations.insert(
        "dynamic".to_string(),
        aggregation(event_rows, dyn_overall, spec, z),
    );

    // By calendar period t (from the first cohort on, periods with post cells); overall: the mean.
    let min_g = groups.first().copied().unwrap_or(i64::MAX);
    let mut calendar_rows = Vec::new();
    for &t in d.periods.iter().filter(|t| **t >= min_g) {
        let keep: Vec<usize> = post
            .iter()
            .copied()
            .filter(|&k| cells[k].time == t)
            .collect();
        if keep.is_empty() {
            continue;
        }
        let (att, inf) = aggregate(&cells, &keep, &share, cohort, true);
        calendar_rows.push(((None, None, Some(t)), att, inf));
    }
    let all_cal: Vec<&(_, f64, Vec<f64>)> = calendar_rows.iter().collect();
    let cal_overall = mean_of(&all_cal, n);
    aggregations.insert(
        "calendar".to_string(),
        aggregation(calendar_rows, cal_overall, spec, z),
    );

    let headline = &aggregations["simple"];
    let att = Coefficient::from_estimate("att", headline.estimate, headline.se, f64::INFINITY);
    Ok(Report {
        outcome: panel.data().outcomes[j].0.clone(),
        n_obs: n * d.periods.len(),
        n_units: n,
        n_clusters: Some(n),
        vcov: if spec.band_reps == 0 {
            "influence functions by unit (R did: analytic, no small-sample correction); no uniform bands".to_string()
        } else {
            format!(
                "influence functions by unit (R did: analytic, no small-sample correction); uniform bands from {} multiplier-bootstrap draws",
                spec.band_reps
            )
        },
        estimates: vec![att],
        att_gt,
        aggregations,
        notes,
        ..Report::empty(Method::Cs)
    })
}

/// The equally weighted mean of several rows and of their influence functions.
fn mean_of(
    rows: &[&((Option<i64>, Option<i64>, Option<i64>), f64, Vec<f64>)],
    n: usize,
) -> (f64, Vec<f64>) {
    let k = rows.len() as f64;
    let att = rows.iter().map(|r| r.1).sum::<f64>() / k;
    let mut inf = vec![0.0; n];
    for r in rows {
        for i in 0..n {
            inf[i] += r.2[i] / k;
        }
    }
    (att, inf)
}
