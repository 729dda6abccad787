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
//! Without covariates the doubly robust, outcome-regression and IPW estimators of `did` coincide
//! and influence functions are kept as coefficients per cohort ([`space`]); with covariates each
//! cell runs drdid's panel estimator and keeps its influence function per unit.

use std::collections::{BTreeMap, BTreeSet};

use statrs::distribution::{ContinuousCDF, Normal};

use crate::error::EstimateError;
use crate::panel::{Method, Panel, Report};
use crate::rng::SplitMix64;
use crate::Coefficient;

mod space;
use space::{CohortMoments, Space};

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
    /// Outcomes by period, then unit: unit i's period k at `k * units + i` (a cell reads two
    /// contiguous periods). Taken by [`CohortMoments`] when there are no covariates.
    y: Vec<f64>,
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
    let all_periods = crate::panel::distinct_periods(&d.time, rows);
    let (first, last) = match (all_periods.first(), all_periods.last()) {
        (Some(f), Some(l)) => (*f, *l),
        _ => {
            return Err(EstimateError::Design(
                "cs needs at least two periods".into(),
            ))
        }
    };
    let codes = &panel.unit_codes().codes;
    let levels = panel.unit_codes().levels;

    // Pass one: the units in order of first appearance, each with its first row and its cohort as
    // did pre-processes it (first treated after the last period: never treated; in or before the
    // first period plus anticipation: dropped). `position[code]` marks the units seen here, then
    // holds each kept unit's place.
    const UNSEEN: u32 = u32::MAX;
    let mut position: Vec<u32> = vec![UNSEEN; levels];
    // At most one entry a unit: sized once (grown by doubling, its copies took fresh memory).
    let mut order: Vec<(u32, usize, i64)> = Vec::with_capacity(levels);
    let (mut late, mut early) = (0, 0);
    for &i in rows {
        let c = codes[i] as usize;
        if position[c] != UNSEEN {
            continue;
        }
        position[c] = 0;
        let mut g = panel.adoption(i).unwrap_or(0);
        if g > last + spec.anticipation {
            g = 0;
            late += 1;
        }
        if g != 0 && g <= first + spec.anticipation {
            early += 1;
            g = -1;
        }
        order.push((c as u32, i, g));
    }
    let mut notes = Vec::new();
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
    order.retain(|(_, _, g)| *g >= 0);
    let mut periods = all_periods;
    if !order.iter().any(|(_, _, g)| *g == 0) {
        match spec.control {
            ControlGroup::Never => {
                return Err(EstimateError::Design(
                    "cs: no never-treated unit to compare with; use --control notyet".into(),
                ))
            }
            ControlGroup::NotYet => {
                let latest = order.iter().map(|(_, _, g)| *g).max().unwrap_or(0);
                notes.push(format!(
                    "no never-treated unit: periods from {} on are dropped and the cohort of {latest} serves only as a control",
                    latest - spec.anticipation
                ));
                periods.retain(|t| *t < latest - spec.anticipation);
            }
        }
    }
    if periods.len() < 2 {
        return Err(EstimateError::Design(
            "cs needs at least two periods".into(),
        ));
    }
    // Units ordered by cohort (stably, so in order of first appearance within a cohort): each
    // cohort's units are then one range, which the moments of [`CohortMoments`] read as
    // contiguous slices. `position[code]`: the unit's place, or UNSEEN when it is left out.
    order.sort_by_key(|(_, _, g)| *g);
    let units = order.len();
    position.fill(UNSEEN);
    for (p, (c, _, _)) in order.iter().enumerate() {
        position[*c as usize] = p as u32;
    }
    let t_count = periods.len();
    let consecutive = periods[t_count - 1] - periods[0] + 1 == t_count as i64;
    let period_index = |t: i64| -> Option<usize> {
        if consecutive {
            usize::try_from(t - periods[0])
                .ok()
                .filter(|&k| k < t_count)
        } else {
            periods.binary_search(&t).ok()
        }
    };
    // Pass two: each row's outcome into its unit's place in its period (by period, then unit).
    // A unit and period are given once at most (the panel refuses duplicates), so the table is
    // complete when every place was written.
    let outcome = &d.outcomes[j].1;
    let mut y = vec![f64::NAN; t_count * units];
    let mut at: Vec<u32> = if d.covariates.is_empty() {
        Vec::new()
    } else {
        vec![u32::MAX; t_count * units]
    };
    let mut written = 0usize;
    for &i in rows {
        let p = position[codes[i] as usize];
        if p == UNSEEN {
            continue;
        }
        let Some(k) = period_index(d.time[i]) else {
            continue;
        };
        y[k * units + p as usize] = outcome[i];
        if !at.is_empty() {
            at[p as usize * t_count + k] = i as u32;
        }
        written += 1;
    }
    if written < t_count * units {
        let incomplete: Vec<usize> = (0..units)
            .filter(|&p| (0..t_count).any(|k| y[k * units + p].is_nan()))
            .collect();
        // Named in order of first appearance, as the file lists them.
        let mut named: Vec<usize> = incomplete.iter().map(|&p| order[p].1).collect();
        named.sort_unstable();
        return Err(EstimateError::Design(format!(
            "cs needs a balanced panel (R did without allow_unbalanced_panel): {} of {} units lack `{}` in some of the {} periods ({}{})",
            incomplete.len(),
            units,
            d.outcomes[j].0,
            t_count,
            named.iter().take(5).map(|&i| &d.unit[i]).collect::<Vec<_>>().join(", "),
            if incomplete.len() > 5 { ", ..." } else { "" }
        )));
    }
    Ok(Data {
        y,
        x: if d.covariates.is_empty() {
            Vec::new()
        } else {
            at.chunks(t_count)
                .map(|at| {
                    at.iter()
                        .map(|&i| d.covariates.iter().map(|(_, c)| c[i as usize]).collect())
                        .collect()
                })
                .collect()
        },
        cohort: order.iter().map(|(_, _, g)| *g).collect(),
        periods,
        notes,
    })
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
    let pscore = || -> Result<PropensityWeights, String> {
        let p: Vec<f64> = logit(&xm, d)?
            .into_iter()
            .map(|p| p.min(1.0 - 1e-6))
            .collect();
        let mut info = DMatrix::<f64>::zeros(k, k);
        for (i, pi) in p.iter().enumerate().take(n) {
            let xi = xm.row(i).transpose();
            info += &xi * xi.transpose() * (pi * (1.0 - pi));
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

fn cells(
    d: &Data,
    spec: &CsSpec,
    cohorts: &Cohorts,
    space: &Space,
    notes: &mut Vec<String>,
) -> Result<Vec<Cell>, EstimateError> {
    let t_count = d.periods.len();
    let mut groups: Vec<i64> = cohorts.values.iter().copied().filter(|g| *g > 0).collect();
    if spec.control == ControlGroup::NotYet && !cohorts.values.contains(&0) {
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
    // The plan: each cell's cohort, period and base period, in did's order; the cells are then
    // computed on every core, each thread taking a contiguous run of the plan.
    let mut plan: Vec<Planned> = Vec::new();
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
            plan.push(Planned {
                g,
                t,
                tc,
                pret,
                post,
            });
        }
    }
    let threads = match space {
        // A few coefficients per cell: no pass over the units to share out.
        Space::Outcomes(_) => 1,
        Space::Units(_) => std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, plan.len().max(1)),
    };
    let per_thread = plan.len().div_ceil(threads).max(1);
    let computed: Vec<Result<Result<Cell, String>, EstimateError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = plan
            .chunks(per_thread)
            .map(|run| {
                scope.spawn(move || {
                    run.iter()
                        .map(|p| cell(d, spec, p, tfac, cohorts, space))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("a CS cell thread panicked"))
            .collect()
    });
    let mut out = Vec::with_capacity(computed.len());
    for c in computed {
        match c? {
            Ok(cell) => out.push(cell),
            Err(note) => notes.push(note),
        }
    }
    if out.is_empty() {
        return Err(EstimateError::Design(
            "cs: no group-time effect could be estimated".into(),
        ));
    }
    Ok(out)
}

/// One planned ATT(g,t): cohort `g`, the period index `tc` compared with the base `pret`.
struct Planned {
    g: i64,
    t: usize,
    tc: usize,
    pret: usize,
    post: bool,
}

/// One ATT(g,t) with its influence function in `space`, or the note saying why it is left out.
fn cell(
    d: &Data,
    spec: &CsSpec,
    p: &Planned,
    tfac: usize,
    cohorts: &Cohorts,
    space: &Space,
) -> Result<Result<Cell, String>, EstimateError> {
    let n = d.cohort.len();
    let &Planned {
        g,
        t,
        tc,
        pret,
        post,
    } = p;
    if spec.base_period == BasePeriod::Universal && d.periods[pret] == d.periods[tc] {
        return Ok(Ok(Cell {
            group: g,
            time: d.periods[tc],
            att: 0.0,
            inf: vec![0.0; space.len()],
            post: false,
        }));
    }
    let threshold = d.periods[t.max(pret) + tfac] + spec.anticipation;
    let is_control = |c: i64| match spec.control {
        ControlGroup::Never => c == 0,
        ControlGroup::NotYet => c == 0 || (c > threshold && c != g),
    };
    let no_controls = || {
        format!(
            "ATT({g},{}) has no control units and is left out",
            d.periods[tc]
        )
    };
    let (att, inf) = if let Space::Outcomes(moments) = space {
        // Intercept only: dr, reg and ipw all reduce to the difference of mean changes.
        let index = |c: i64| {
            cohorts
                .values
                .binary_search(&c)
                .expect("a cohort of the units")
        };
        match moments.cell(index(g), pret, tc, |c| is_control(cohorts.values[c])) {
            Some(cell) => cell,
            None => return Ok(Err(no_controls())),
        }
    } else {
        // The comparison: cohort g (D = 1) and its controls (D = 0); the rest of n left
        // out.
        let kept: Vec<usize> = (0..n)
            .filter(|&i| d.cohort[i] == g || is_control(d.cohort[i]))
            .collect();
        let treated: Vec<f64> = kept
            .iter()
            .map(|&i| (d.cohort[i] == g) as u8 as f64)
            .collect();
        if !treated.contains(&1.0) || !treated.contains(&0.0) {
            return Ok(Err(no_controls()));
        }
        let (y_tc, y_pret) = (&d.y[tc * n..(tc + 1) * n], &d.y[pret * n..(pret + 1) * n]);
        let dy: Vec<f64> = kept.iter().map(|&i| y_tc[i] - y_pret[i]).collect();
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
        let (att, inf_kept) = drdid_panel(&dy, &treated, &x, spec.estimation)
            .map_err(|e| EstimateError::Design(format!("cs: ATT({g},{}): {e}", d.periods[tc])))?;
        let scale = n as f64 / kept.len() as f64;
        let mut inf = vec![0.0; n];
        for (k, &i) in kept.iter().enumerate() {
            inf[i] = scale * inf_kept[k];
        }
        (att, inf)
    };
    Ok(Ok(Cell {
        group: g,
        time: d.periods[tc],
        att,
        inf,
        post,
    }))
}

/// The units' cohorts encoded once for the aggregations: each unit's index into `values`.
struct Cohorts {
    of_unit: Vec<u32>,
    values: Vec<i64>,
    /// Units per value.
    sizes: Vec<usize>,
}

impl Cohorts {
    /// From each unit's cohort. The units usually come ordered by cohort ([`data`]), where the
    /// distinct values are the runs (a set built from 50,000 units' cohorts cost milliseconds).
    fn new(cohort: &[i64]) -> Self {
        // One value per run, then sorted: a few values, never a copy of the units' cohorts.
        let mut values: Vec<i64> = Vec::new();
        for &c in cohort {
            if values.last() != Some(&c) {
                values.push(c);
            }
        }
        values.sort_unstable();
        values.dedup();
        let mut sizes = vec![0; values.len()];
        let mut last: Option<(i64, u32)> = None;
        let of_unit = cohort
            .iter()
            .map(|&c| {
                let index = match last {
                    Some((value, index)) if value == c => index,
                    _ => values.binary_search(&c).expect("a cohort of the units") as u32,
                };
                last = Some((c, index));
                sizes[index as usize] += 1;
                index
            })
            .collect();
        Self {
            of_unit,
            values,
            sizes,
        }
    }

    /// The share of units in cohort `g` (0 for a value no unit has).
    fn share(&self, g: i64) -> f64 {
        self.values
            .binary_search(&g)
            .map_or(0.0, |k| self.sizes[k] as f64 / self.of_unit.len() as f64)
    }
}

/// How an aggregate's influence function is made of the cells': a weight per cell and a term
/// per cohort (did's `wif`, which depends on a unit only through its cohort). The aggregate's
/// bootstrap draws are the same combination of the cells' draws and of each cohort's sum of
/// signs, so a band over aggregates makes no pass over the units of its own.
#[derive(Debug, Clone, Default)]
struct Combination {
    cells: Vec<(usize, f64)>,
    cohort_terms: Vec<f64>,
}

/// The weighted aggregate of cells `keep` with cohort-share weights, its influence function
/// including the estimation of the shares (`did`'s `wif`), and how that is made of the cells'.
fn aggregate(
    cells: &[Cell],
    keep: &[usize],
    share: &dyn Fn(i64) -> f64,
    cohorts: &Cohorts,
    space: &Space,
    with_wif: bool,
) -> (f64, Vec<f64>, Combination) {
    let weight: Vec<f64> = keep.iter().map(|&k| share(cells[k].group)).collect();
    let spg: f64 = weight.iter().sum();
    let att: f64 = keep
        .iter()
        .zip(&weight)
        .map(|(&k, w)| cells[k].att * w)
        .sum::<f64>()
        / spg;
    let mut inf = vec![0.0; space.len()];
    let mut combination = Combination::default();
    for (&k, w) in keep.iter().zip(&weight) {
        let w = w / spg;
        combination.cells.push((k, w));
        for (total, v) in inf.iter_mut().zip(&cells[k].inf) {
            *total += w * v;
        }
    }
    if with_wif {
        // did's wif: unit i's term is sum_k [(1{g_i = g_k} - s_k)/spg
        // - sum_l (1{g_i = g_l} - s_l) s_k/spg^2] att_k. It depends on i only through its cohort,
        // so it is computed once per cohort and added to each unit.
        let term: Vec<f64> = cohorts
            .values
            .iter()
            .map(|&c| {
                let centered =
                    |k: usize| (c == cells[k].group) as u8 as f64 - share(cells[k].group);
                let row_sum: f64 = keep.iter().map(|&k| centered(k)).sum();
                keep.iter()
                    .zip(&weight)
                    .map(|(&k, s)| (centered(k) / spg - row_sum * s / (spg * spg)) * cells[k].att)
                    .sum()
            })
            .collect();
        space.add_cohort_terms(&mut inf, &term);
        combination.cohort_terms = term;
    }
    (att, inf, combination)
}

/// Draws of the multiplier bootstrap: one random word gives 64 draws' signs for a unit.
const BAND_BLOCK: usize = 64;

/// The multiplier bootstrap's Rademacher signs, drawn once per report and shared by every band
/// (each band used to draw the same signs again from the same seed): per block of 64 draws, one
/// random word per unit, bit r the sign of draw r (set: -1).
struct Multipliers {
    words: Vec<u64>,
    units: usize,
    reps: usize,
}

impl Multipliers {
    fn new(units: usize, reps: usize, seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed);
        let words = (0..reps.div_ceil(BAND_BLOCK) * units)
            .map(|_| rng.next_u64())
            .collect();
        Self { words, units, reps }
    }

    /// Each column's draws sum_i v_i x_i / sqrt(n), `[column][draw]`, the columns of every group
    /// in turn; a group's columns are read over its range of units only (they are indexed by
    /// unit). Blocks of draws are shared out to the cores; within a block each unit adds its value
    /// to 64 accumulators per column with the signs of its word (zeros, units outside a
    /// comparison, skipped).
    fn draws(&self, groups: &[(std::ops::Range<usize>, Vec<&[f64]>)]) -> Vec<Vec<f64>> {
        let (n, reps) = (self.units, self.reps);
        let k: usize = groups.iter().map(|(_, cols)| cols.len()).sum();
        let blocks = reps.div_ceil(BAND_BLOCK);
        let root = (n as f64).sqrt();
        let block = |b: usize| block_sums(&self.words[b * n..(b + 1) * n], groups, k);
        let threads = std::thread::available_parallelism()
            .map_or(1, |t| t.get())
            .clamp(1, blocks.max(1));
        let per_thread = blocks.div_ceil(threads).max(1);
        let sums: Vec<Vec<f64>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..blocks)
                .step_by(per_thread)
                .map(|first| {
                    let block = &block;
                    scope.spawn(move || {
                        (first..(first + per_thread).min(blocks))
                            .map(block)
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("a bootstrap thread panicked"))
                .collect()
        });
        let mut out = vec![vec![0.0; reps]; k];
        for (b, acc) in sums.iter().enumerate() {
            let draws = BAND_BLOCK.min(reps - b * BAND_BLOCK);
            for (c, column) in out.iter_mut().enumerate() {
                for r in 0..draws {
                    column[b * BAND_BLOCK + r] = acc[c * BAND_BLOCK + r] / root;
                }
            }
        }
        out
    }
}

/// One block of 64 draws: for each column (the columns of every group in turn), the 64 sums
/// sum_i v_i x_i over its group's units, the signs v_i the bits of unit i's word. Compiled also
/// for AVX2, chosen at run time where the processor has it: four accumulators an instruction
/// instead of two halves the bands' time. The sums are the same to the bit either way (each
/// accumulator adds its terms in the same order, and no multiply-add is fused).
#[multiversion::multiversion(targets("x86_64+avx2"))]
fn block_sums(
    words: &[u64],
    groups: &[(std::ops::Range<usize>, Vec<&[f64]>)],
    columns: usize,
) -> Vec<f64> {
    let mut acc = vec![0.0; columns * BAND_BLOCK];
    let mut signs = [0.0f64; BAND_BLOCK];
    let mut first_column = 0;
    for (units, cols) in groups {
        let acc = &mut acc[first_column * BAND_BLOCK..(first_column + cols.len()) * BAND_BLOCK];
        first_column += cols.len();
        for i in units.clone() {
            let word = words[i];
            for (r, s) in signs.iter_mut().enumerate() {
                *s = if (word >> r) & 1 == 1 { -1.0 } else { 1.0 };
            }
            for (c, col) in cols.iter().enumerate() {
                let x = col[i];
                if x == 0.0 {
                    continue;
                }
                for (a, s) in acc[c * BAND_BLOCK..(c + 1) * BAND_BLOCK]
                    .iter_mut()
                    .zip(&signs)
                {
                    *a += s * x;
                }
            }
        }
    }
    acc
}

/// The multiplier bootstrap's draws of the cells and of each cohort's sum of signs, from which
/// every aggregate's draws are combined ([`Combination`]).
struct BandDraws {
    /// `[cell][draw]`: sum_i v_i IF_k(i) / sqrt(n).
    cells: Vec<Vec<f64>>,
    /// `[cohort][draw]`: sum over the cohort's units of v_i / sqrt(n).
    cohorts: Vec<Vec<f64>>,
}

impl BandDraws {
    /// One pass over the units for all cells and cohorts; `None` without draws.
    fn new(cells: &[Cell], space: &Space, multipliers: Option<&Multipliers>) -> Option<Self> {
        let multipliers = multipliers.filter(|m| m.reps >= 2)?;
        let infs: Vec<&[f64]> = cells.iter().map(|c| c.inf.as_slice()).collect();
        let (cells, cohorts) = space.draws(&infs, multipliers);
        Some(Self { cells, cohorts })
    }

    /// The draws of the aggregate made as `combination` says.
    fn combined(&self, combination: &Combination) -> Vec<f64> {
        let reps = self.cells.first().map_or(0, |c| c.len());
        let mut out = vec![0.0; reps];
        for &(k, w) in &combination.cells {
            for (o, d) in out.iter_mut().zip(&self.cells[k]) {
                *o += w * d;
            }
        }
        for (term, sums) in combination.cohort_terms.iter().zip(&self.cohorts) {
            for (o, d) in out.iter_mut().zip(sums) {
                *o += term * d;
            }
        }
        out
    }
}

/// The multiplier bootstrap's critical value for a uniform band over columns whose draws are
/// `bres` (`did`'s `mboot`): Rademacher signs per unit, b* = sqrt(n) mean(v IF) per column, sigma
/// from the interquartile range, the 1 - alpha quantile (type 1) of max |b*/sigma|. Without
/// draws (`band_reps` 0, or no column with a standard error) the pointwise z is returned: no
/// uniform band.
fn uniform_critical_value(bres: &[Vec<f64>], alpha: f64) -> f64 {
    let z = Normal::new(0.0, 1.0)
        .expect("standard normal")
        .inverse_cdf(1.0 - alpha / 2.0);
    let Some(reps) = bres.first().map(|b| b.len()).filter(|&r| r >= 2) else {
        return z;
    };
    let k = bres.len();
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
    se: f64,
    z: f64,
    crit: f64,
) -> AggregationRow {
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

/// An aggregation row's key (group, event time, calendar time), estimate and influence function.
type AggregatedRow = (
    (Option<i64>, Option<i64>, Option<i64>),
    f64,
    Vec<f64>,
    Combination,
);

/// The propensity step's treated and control weights and its information matrix.
type PropensityWeights = (Vec<f64>, Vec<f64>, nalgebra::DMatrix<f64>);

/// An aggregation from its rows' (key, estimate, influence function, combination of the cells)
/// and its overall effect; the rows' uniform band from the cells' draws.
fn aggregation(
    rows: Vec<AggregatedRow>,
    overall: (f64, Vec<f64>),
    band: Option<&BandDraws>,
    space: &Space,
    alpha: f64,
    z: f64,
) -> Aggregation {
    let ses: Vec<f64> = rows.iter().map(|(_, _, inf, _)| space.se(inf)).collect();
    let crit = match band {
        Some(band) if !rows.is_empty() => {
            let draws: Vec<Vec<f64>> = rows
                .iter()
                .zip(&ses)
                .filter(|(_, se)| !se.is_nan())
                .map(|((_, _, _, combination), _)| band.combined(combination))
                .collect();
            uniform_critical_value(&draws, alpha)
        }
        _ => z,
    };
    let se = space.se(&overall.1);
    Aggregation {
        estimate: overall.0,
        se,
        ci_low: overall.0 - z * se,
        ci_high: overall.0 + z * se,
        critical_value: crit,
        rows: rows
            .iter()
            .zip(ses)
            .map(|((key, est, _, _), se)| row(*key, *est, se, z, crit))
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
    let mut d = data(panel, rows, j, spec)?;
    let mut notes = d.notes.clone();
    let cohort = &Cohorts::new(&d.cohort);
    // Without covariates the outcomes become the moments' changes in place.
    let moments =
        d.x.is_empty()
            .then(|| CohortMoments::new(std::mem::take(&mut d.y), d.periods.len(), cohort));
    let space = &match &moments {
        Some(moments) => Space::Outcomes(moments),
        None => Space::Units(cohort),
    };
    let cells = cells(&d, spec, cohort, space, &mut notes)?;
    let n = d.cohort.len();
    let z = Normal::new(0.0, 1.0)
        .expect("standard normal")
        .inverse_cdf(1.0 - spec.alpha / 2.0);
    let share = |g: i64| cohort.share(g);

    // ATT(g,t) with the uniform band over all of them. The cells' draws are made once; every
    // aggregation's band combines them.
    let multipliers = (spec.band_reps >= 2).then(|| Multipliers::new(n, spec.band_reps, spec.seed));
    let band = BandDraws::new(&cells, space, multipliers.as_ref());
    let band = band.as_ref();
    drop(multipliers);
    let crit_gt = match band {
        Some(band) => {
            let draws: Vec<Vec<f64>> = cells
                .iter()
                .zip(&band.cells)
                .filter(|(c, _)| !space.se(&c.inf).is_nan())
                .map(|(_, d)| d.clone())
                .collect();
            uniform_critical_value(&draws, spec.alpha)
        }
        None => z,
    };
    let att_gt: Vec<GroupTime> = cells
        .iter()
        .map(|c| {
            let se = space.se(&c.inf);
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
    let (att, inf, _) = aggregate(&cells, &post, &share, cohort, space, true);
    aggregations.insert(
        "simple".to_string(),
        aggregation(vec![], (att, inf), band, space, spec.alpha, z),
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
        let (att, inf, combination) = aggregate(&cells, &keep, &|_| 1.0, cohort, space, false);
        group_cells.push(Cell {
            group: g,
            time: 0,
            att,
            inf: inf.clone(),
            post: true,
        });
        group_rows.push(((Some(g), None, None), att, inf, combination));
    }
    let all_groups: Vec<usize> = (0..group_cells.len()).collect();
    let (att, inf, _) = aggregate(&group_cells, &all_groups, &share, cohort, space, true);
    drop(group_cells);
    aggregations.insert(
        "group".to_string(),
        aggregation(group_rows, (att, inf), band, space, spec.alpha, z),
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
        let (att, inf, combination) = aggregate(&cells, &keep, &share, cohort, space, true);
        event_rows.push(((None, Some(e), None), att, inf, combination));
    }
    let nonneg: Vec<&AggregatedRow> = event_rows
        .iter()
        .filter(|((_, e, _), _, _, _)| e.unwrap_or(-1) >= 0)
        .collect();
    let dyn_overall = mean_of(&nonneg, space.len());
    aggregations.insert(
        "dynamic".to_string(),
        aggregation(event_rows, dyn_overall, band, space, spec.alpha, z),
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
        let (att, inf, combination) = aggregate(&cells, &keep, &share, cohort, space, true);
        calendar_rows.push(((None, None, Some(t)), att, inf, combination));
    }
    let all_cal: Vec<&AggregatedRow> = calendar_rows.iter().collect();
    let cal_overall = mean_of(&all_cal, space.len());
    aggregations.insert(
        "calendar".to_string(),
        aggregation(calendar_rows, cal_overall, band, space, spec.alpha, z),
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
fn mean_of(rows: &[&AggregatedRow], len: usize) -> (f64, Vec<f64>) {
    let k = rows.len() as f64;
    let att = rows.iter().map(|r| r.1).sum::<f64>() / k;
    let mut inf = vec![0.0; len];
    for r in rows {
        for (total, v) in inf.iter_mut().zip(&r.2) {
            *total += v / k;
        }
    }
    (att, inf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An aggregate's draws combined from the cells' draws equal the draws of its influence
    /// function computed over the units, for cohort-share weights with did's wif term.
    #[test]
    fn combined_draws_equal_the_draws_of_the_aggregate() {
        let n = 300;
        let cohort: Vec<i64> = (0..n).map(|i| [0, 3, 5][i % 3]).collect();
        let cohorts = Cohorts::new(&cohort);
        let mut rng = SplitMix64::new(7);
        let mut uniform = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
        let cells: Vec<Cell> = [(3, 3), (3, 4), (5, 5), (5, 6)]
            .into_iter()
            .map(|(group, time)| Cell {
                group,
                time,
                att: uniform(),
                inf: (0..n)
                    .map(|i| {
                        if cohort[i] == group || cohort[i] == 0 {
                            uniform()
                        } else {
                            0.0
                        }
                    })
                    .collect(),
                post: true,
            })
            .collect();
        let share = |g: i64| cohort.iter().filter(|c| **c == g).count() as f64 / n as f64;
        let multipliers = Multipliers::new(n, 130, 11);
        let space = Space::Units(&cohorts);
        let band = BandDraws::new(&cells, &space, Some(&multipliers)).expect("draws");
        for (keep, with_wif) in [
            (vec![0, 1, 2, 3], true),
            (vec![1, 3], true),
            (vec![0, 1], false),
        ] {
            let (_, inf, combination) =
                aggregate(&cells, &keep, &share, &cohorts, &space, with_wif);
            let direct = multipliers.draws(&[(0..n, vec![inf.as_slice()])]).remove(0);
            let combined = band.combined(&combination);
            assert_eq!(direct.len(), 130);
            for (a, b) in direct.iter().zip(&combined) {
                assert!((a - b).abs() < 1e-12, "{a} vs {b}");
            }
        }
    }
}
