//! Linear models with fixed effects, covariates and weights, for many outcomes at once, with iid,
//! HC1 and cluster-robust (one- or two-way) variances following fixest's small-sample conventions
//! (../shared/reference/did/README.md):
//!
//! - iid: sigma^2 (X'X)^-1 with sigma^2 = e'e / (n - K);
//! - HC1: n / (n - K) * bread * sum(x_i x_i' e_i^2) * bread;
//! - CR1: G/(G-1) * (n-1)/(n-K) * bread * sum_g(X_g' e_g e_g' X_g) * bread, where K counts the
//!   coefficients plus the fixed effects' degrees of freedom less those nested in a cluster variable
//!   (each nested factor keeps one); two-way clustering
//!   sums the two one-way meats less the intersection's, with one G_min/(G_min-1) factor;
//! - t tests with n - K degrees of freedom, or G - 1 with clustering.

use nalgebra::{DMatrix, DVector};

use crate::demean::{demean, DemeanOptions};
use crate::error::EstimateError;
use crate::factor::Factor;
use crate::Coefficient;

/// What to regress: outcomes (each fitted separately on the same right-hand side), regressors,
/// fixed effects and optional weights. All columns have one entry per row.
#[derive(Debug, Clone, Default)]
pub struct Design {
    pub outcomes: Vec<(String, Vec<f64>)>,
    pub regressors: Vec<(String, Vec<f64>)>,
    pub fixed_effects: Vec<Factor>,
    pub weights: Option<Vec<f64>>,
    /// Add an intercept (only meaningful without fixed effects).
    pub intercept: bool,
    /// What to do with a regressor collinear with the ones before it (or with the fixed effects).
    pub collinear: Collinear,
}

/// What [`fit`] does with a regressor that is collinear with the fixed effects or the regressors
/// listed before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Collinear {
    /// Remove it and say so in [`Fit::dropped`], as fixest does (its default).
    #[default]
    Drop,
    /// Fail the fit, naming it.
    Error,
}

#[derive(Debug, Clone, PartialEq)]
pub enum VcovSpec {
    Iid,
    Hc1,
    /// One or two cluster variables.
    Cluster(Vec<Factor>),
}

/// One outcome's fit.
#[derive(Debug, Clone)]
pub struct OutcomeFit {
    pub outcome: String,
    pub terms: Vec<String>,
    pub coef: DVector<f64>,
    pub vcov: DMatrix<f64>,
    pub residuals: DVector<f64>,
    pub coefficients: Vec<Coefficient>,
}

/// The fits of all outcomes plus what inference beyond them (bootstrap, Wald tests) needs.
#[derive(Debug, Clone)]
pub struct Fit {
    pub outcomes: Vec<OutcomeFit>,
    /// Demeaned regressors, rows scaled by sqrt(weight).
    pub x: DMatrix<f64>,
    /// Demeaned outcomes, scaled likewise, one column per outcome.
    pub y: DMatrix<f64>,
    /// (X'X)^-1.
    pub bread: DMatrix<f64>,
    pub n_obs: usize,
    /// K of the small-sample correction.
    pub k_adjust: usize,
    pub n_clusters: Option<usize>,
    /// Degrees of freedom of the t and F tests.
    pub df: f64,
    pub demean_iterations: usize,
    /// Regressors removed because they are collinear with the fixed effects or the regressors
    /// before them (in the order given), as fixest removes them.
    pub dropped: Vec<String>,
}

impl Fit {
    pub fn outcome(&self, name: &str) -> Option<&OutcomeFit> {
        self.outcomes.iter().find(|o| o.outcome == name)
    }
}

impl OutcomeFit {
    /// The index of a term among the kept regressors.
    pub fn index(&self, term: &str) -> Option<usize> {
        self.terms.iter().position(|t| t == term)
    }
}

/// Collinearity tolerance: a column whose squared norm not explained by the columns before it is
/// below this share of its own squared norm is collinear with them (fixest's `collin.tol`).
const COLLINEARITY_TOLERANCE: f64 = 1e-10;

/// The columns of X'X to keep, in order: a Cholesky factorisation column by column that skips any
/// column whose pivot falls below the tolerance relative to its diagonal (an exact zero too).
fn independent_columns(xtx: &DMatrix<f64>) -> Vec<usize> {
    let k = xtx.nrows();
    let mut kept: Vec<usize> = Vec::with_capacity(k);
    // Rows of the lower factor for the kept columns, in kept order.
    let mut l: Vec<Vec<f64>> = Vec::with_capacity(k);
    for j in 0..k {
        let diag = xtx[(j, j)];
        // A zero, negative or NaN pivot: the column is collinear with those kept.
        if diag.is_nan() || diag <= 0.0 || !diag.is_finite() {
            continue;
        }
        let mut row = Vec::with_capacity(kept.len() + 1);
        for (a, &ka) in kept.iter().enumerate() {
            let dot: f64 = (0..a).map(|b| l[a][b] * row[b]).sum();
            row.push((xtx[(j, ka)] - dot) / l[a][a]);
        }
        let pivot = diag - row.iter().map(|v| v * v).sum::<f64>();
        if pivot <= COLLINEARITY_TOLERANCE * diag {
            continue;
        }
        row.push(pivot.sqrt());
        l.push(row);
        kept.push(j);
    }
    kept
}

/// Degrees of freedom absorbed by a set of fixed effects: their levels less one per extra factor
/// (exact for connected designs, as fixest counts them).
fn fe_dof(fes: &[&Factor]) -> usize {
    let levels: usize = fes.iter().map(|f| f.levels).sum();
    levels.saturating_sub(fes.len().saturating_sub(1))
}

pub fn fit(design: &Design, vcov: &VcovSpec, options: DemeanOptions) -> Result<Fit, EstimateError> {
    fit_owned(design.clone(), vcov, options)
}

/// [`fit`] taking the design by value, so its columns are demeaned in place instead of copied
/// (for large panels the copies, not the arithmetic, dominate).
pub fn fit_owned(
    mut design: Design,
    vcov: &VcovSpec,
    options: DemeanOptions,
) -> Result<Fit, EstimateError> {
    let design = &mut design;
    let n = design
        .outcomes
        .first()
        .map(|(_, y)| y.len())
        .ok_or(EstimateError::NoOutcome)?;
    let k = design.regressors.len() + design.intercept as usize;
    if k == 0 {
        return Err(EstimateError::NoRegressor);
    }
    let check = |column: &str, len: usize| EstimateError::check_length(column, n, len);
    for (name, c) in design.outcomes.iter().chain(&design.regressors) {
        check(name, c.len())?;
    }
    for f in &design.fixed_effects {
        check(&f.name, f.codes.len())?;
    }
    if let Some(w) = &design.weights {
        check("weights", w.len())?;
        if let Some(i) = w.iter().position(|w| !(w.is_finite() && *w > 0.0)) {
            return Err(EstimateError::BadWeight {
                column: "weights".into(),
                unit: String::new(),
                time: i as i64,
                value: w[i],
            });
        }
    }
    if n == 0 {
        return Err(EstimateError::NoRows);
    }

    // Demean every outcome and regressor in one pass.
    let mut columns: Vec<Vec<f64>> = design
        .outcomes
        .iter_mut()
        .map(|(_, c)| std::mem::take(c))
        .collect();
    columns.extend(design.regressors.iter_mut().map(|(_, c)| std::mem::take(c)));
    if design.intercept {
        columns.push(vec![1.0; n]);
    }
    let report = demean(
        &mut columns,
        &design.fixed_effects,
        design.weights.as_deref(),
        options,
    );
    if !report.converged {
        return Err(EstimateError::NotConverged(report.iterations));
    }
    if let Some(w) = &design.weights {
        for col in &mut columns {
            for (v, w) in col.iter_mut().zip(w) {
                *v *= w.sqrt();
            }
        }
    }
    let m = design.outcomes.len();
    let y = DMatrix::from_fn(n, m, |i, j| columns[j][i]);
    let mut names: Vec<String> = design.regressors.iter().map(|(n, _)| n.clone()).collect();
    if design.intercept {
        names.push("(Intercept)".into());
    }
    let x_all = DMatrix::from_fn(n, k, |i, j| columns[m + j][i]);
    let xtx_all = x_all.transpose() * &x_all;
    let kept = independent_columns(&xtx_all);
    let dropped: Vec<String> = (0..k)
        .filter(|j| !kept.contains(j))
        .map(|j| names[j].clone())
        .collect();
    if !dropped.is_empty() {
        if design.collinear == Collinear::Error || kept.is_empty() {
            return Err(EstimateError::Collinear(dropped));
        }
        tracing::info!(?dropped, "regressors removed for collinearity");
    }
    let names: Vec<String> = kept.iter().map(|j| names[*j].clone()).collect();
    let k = kept.len();
    let x = x_all.select_columns(&kept);
    let xtx = xtx_all.select_rows(&kept).select_columns(&kept);
    // X'X is positive definite on the kept columns; Cholesky solves it (as fixest does).
    let bread = xtx
        .cholesky()
        .ok_or_else(|| EstimateError::Collinear(names.clone()))?
        .inverse();
    let coefs = &bread * (x.transpose() * &y);
    let residuals = &y - &x * &coefs;

    // The small-sample K: the coefficients plus the fixed effects' degrees of freedom, less those of
    // fixed effects nested in a cluster variable (each keeps one, as fixest counts them: with unit
    // and period effects and unit clusters, K = k + periods; with period effects alone and period
    // clusters, K = k + 1).
    let all: Vec<&Factor> = design.fixed_effects.iter().collect();
    let nested: usize = match vcov {
        VcovSpec::Cluster(cl) => design
            .fixed_effects
            .iter()
            .filter(|f| cl.iter().any(|c| f.is_nested_in(c)))
            .map(|f| f.levels - 1)
            .sum(),
        _ => 0,
    };
    let k_adjust = k + fe_dof(&all) - nested;
    if n <= k_adjust {
        return Err(EstimateError::TooFewObservations { n, k: k_adjust });
    }
    let (n_clusters, df) = match vcov {
        VcovSpec::Cluster(cl) if !cl.is_empty() => {
            let g = cl.iter().map(|c| c.levels).min().unwrap_or(0);
            if g < 2 {
                return Err(EstimateError::TooFewClusters(g));
            }
            (Some(g), (g - 1) as f64)
        }
        VcovSpec::Cluster(_) => return Err(EstimateError::TooFewClusters(0)),
        _ => (None, (n - k_adjust) as f64),
    };

    let mut outcomes = Vec::with_capacity(m);
    for (j, (outcome, _)) in design.outcomes.iter().enumerate() {
        let e = residuals.column(j).into_owned();
        let v = variance(&x, &bread, &e, vcov, n, k_adjust);
        let coef = coefs.column(j).into_owned();
        let coefficients = names
            .iter()
            .enumerate()
            .map(|(i, name)| Coefficient::from_estimate(name, coef[i], v[(i, i)].sqrt(), df))
            .collect();
        outcomes.push(OutcomeFit {
            outcome: outcome.clone(),
            terms: names.clone(),
            coef,
            vcov: v,
            residuals: e,
            coefficients,
        });
    }
    Ok(Fit {
        outcomes,
        x,
        y,
        bread,
        n_obs: n,
        k_adjust,
        n_clusters,
        df,
        demean_iterations: report.iterations,
        dropped,
    })
}

/// The variance of the coefficients for residuals `e`.
pub(crate) fn variance(
    x: &DMatrix<f64>,
    bread: &DMatrix<f64>,
    e: &DVector<f64>,
    vcov: &VcovSpec,
    n: usize,
    k_adjust: usize,
) -> DMatrix<f64> {
    let k = x.ncols();
    let dof = (n - k_adjust) as f64;
    match vcov {
        VcovSpec::Iid => bread * (e.dot(e) / dof),
        VcovSpec::Hc1 => {
            let mut meat = DMatrix::<f64>::zeros(k, k);
            for i in 0..n {
                let xi = x.row(i);
                meat += xi.transpose() * xi * (e[i] * e[i]);
            }
            bread * meat * bread * (n as f64 / dof)
        }
        VcovSpec::Cluster(clusters) => {
            let meat = match clusters.as_slice() {
                [one] => cluster_meat(x, e, one),
                [a, b] => {
                    cluster_meat(x, e, a) + cluster_meat(x, e, b)
                        - cluster_meat(x, e, &a.interact(b))
                }
                _ => unreachable!("one or two cluster variables"),
            };
            let g = clusters.iter().map(|c| c.levels).min().unwrap_or(2) as f64;
            let adj = g / (g - 1.0) * (n as f64 - 1.0) / dof;
            bread * meat * bread * adj
        }
    }
}

fn cluster_meat(x: &DMatrix<f64>, e: &DVector<f64>, cluster: &Factor) -> DMatrix<f64> {
    let k = x.ncols();
    let mut scores = DMatrix::<f64>::zeros(cluster.levels, k);
    for i in 0..x.nrows() {
        let g = cluster.codes[i] as usize;
        for j in 0..k {
            scores[(g, j)] += x[(i, j)] * e[i];
        }
    }
    scores.transpose() * scores
}

/// A joint Wald test that several coefficients are all zero.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct WaldTest {
    /// F = b' V^+ b / rank.
    pub stat: f64,
    /// Numerator degrees of freedom: the rank of V, which is the number of coefficients tested
    /// unless V is singular.
    pub df1: usize,
    /// Denominator degrees of freedom (n - K, or G - 1 with clustering).
    pub df2: f64,
    pub p: f64,
    /// Coefficients tested.
    pub tested: usize,
}

/// Joint Wald test that the coefficients at `indices` are all zero, F(rank, df) as fixest's `wald`.
/// Their covariance is singular when there are as many of them as clusters or more (a CR1 matrix
/// has rank at most G - 1): then the Moore-Penrose inverse over its rank is used and the test has
/// that many numerator degrees of freedom (as Stata drops the dependent constraints), never an
/// inverse of a singular matrix.
pub fn wald(fit: &OutcomeFit, indices: &[usize], df: f64) -> Option<WaldTest> {
    use statrs::distribution::{ContinuousCDF, FisherSnedecor};
    if indices.is_empty() {
        return None;
    }
    let q = indices.len();
    let b = DVector::from_iterator(q, indices.iter().map(|&i| fit.coef[i]));
    let v = DMatrix::from_fn(q, q, |r, c| fit.vcov[(indices[r], indices[c])]);
    if !v.iter().all(|x| x.is_finite()) {
        return None;
    }
    let eigen = v.symmetric_eigen();
    let largest = eigen.eigenvalues.iter().fold(0.0_f64, |a, l| a.max(*l));
    if largest <= 0.0 {
        return None;
    }
    let cutoff = largest * 1e-9;
    let mut stat = 0.0;
    let mut rank = 0;
    for (i, lambda) in eigen.eigenvalues.iter().enumerate() {
        if *lambda > cutoff {
            let projection = eigen.eigenvectors.column(i).dot(&b);
            stat += projection * projection / lambda;
            rank += 1;
        }
    }
    let stat = stat / rank as f64;
    let p = FisherSnedecor::new(rank as f64, df)
        .ok()
        .map(|d| 1.0 - d.cdf(stat))?;
    Some(WaldTest {
        stat,
        df1: rank,
        df2: df,
        p,
        tested: q,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(xs: &[f64], e: &[f64]) -> Design {
        Design {
            outcomes: vec![(
                "y".into(),
                xs.iter().zip(e).map(|(x, e)| 1.0 + 2.0 * x + e).collect(),
            )],
            regressors: vec![("x".into(), xs.to_vec())],
            intercept: true,
            ..Design::default()
        }
    }

    #[test]
    fn recovers_a_known_line_and_textbook_standard_errors() {
        // y = 1 + 2x + e with e known: OLS by hand gives slope 2 + Sxy/Sxx, and the residual
        // variance sum(e^2)/(n-2).
        let xs = [1.0, 2.0, 3.0, 4.0, 5.0];
        let e = [0.1, -0.1, 0.0, 0.1, -0.1];
        let f = fit(&line(&xs, &e), &VcovSpec::Iid, DemeanOptions::default()).unwrap();
        let o = &f.outcomes[0];
        // Closed form: slope = Sxy/Sxx with Sxx = 10.
        let sxy: f64 = xs.iter().zip(&e).map(|(x, e)| (x - 3.0) * e).sum();
        assert!((o.coef[0] - (2.0 + sxy / 10.0)).abs() < 1e-12);
        let rss: f64 = o.residuals.iter().map(|r| r * r).sum();
        assert!((o.coefficients[0].se - (rss / 3.0 / 10.0).sqrt()).abs() < 1e-12);
        assert_eq!(f.df, 3.0);
    }

    #[test]
    fn collinear_designs_are_refused() {
        let design = Design {
            outcomes: vec![("y".into(), vec![1.0; 4])],
            regressors: vec![
                ("a".into(), vec![0.0, 1.0, 2.0, 3.0]),
                ("b".into(), vec![0.0, 1.0, 2.0, 3.0]),
            ],
            ..Design::default()
        };
        let error = Design {
            collinear: Collinear::Error,
            ..design.clone()
        };
        assert_eq!(
            fit(&error, &VcovSpec::Iid, DemeanOptions::default()).unwrap_err(),
            EstimateError::Collinear(vec!["b".into()])
        );
    }

    /// Regression (issue 10.13): a collinear regressor is removed with a note, as fixest does,
    /// and the remaining fit equals the fit without it.
    #[test]
    fn collinear_regressors_are_dropped_in_order() {
        let xs = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let e = [0.1, -0.1, 0.0, 0.1, -0.1, 0.05];
        let mut with = line(&xs, &e);
        with.regressors
            .push(("twice".into(), xs.iter().map(|x| 2.0 * x).collect()));
        with.regressors
            .push(("z".into(), vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0]));
        let mut without = line(&xs, &e);
        without
            .regressors
            .push(("z".into(), vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0]));
        let a = fit(&with, &VcovSpec::Hc1, DemeanOptions::default()).unwrap();
        let b = fit(&without, &VcovSpec::Hc1, DemeanOptions::default()).unwrap();
        assert_eq!(a.dropped, vec!["twice".to_string()]);
        assert_eq!(a.outcomes[0].terms, vec!["x", "z", "(Intercept)"]);
        for (ca, cb) in a.outcomes[0]
            .coefficients
            .iter()
            .zip(&b.outcomes[0].coefficients)
        {
            assert!((ca.estimate - cb.estimate).abs() < 1e-12);
            assert!((ca.se - cb.se).abs() < 1e-12);
        }
    }

    /// Regression (issue 10.4): testing as many coefficients as clusters inverted a singular
    /// covariance (F of 1e12 or negative). The test now runs on the covariance's rank.
    #[test]
    fn wald_uses_the_rank_of_a_singular_covariance() {
        // 3 clusters, 4 dummies: the CR1 covariance of 4 coefficients has rank at most 2.
        let n = 12;
        let cl: Vec<usize> = (0..n).map(|i| i % 3).collect();
        let mut regressors = Vec::new();
        for d in 0..4 {
            regressors.push((
                format!("d{d}"),
                (0..n).map(|i| ((i / 3) == d) as u8 as f64).collect(),
            ));
        }
        let y: Vec<f64> = (0..n).map(|i| ((i * 37) % 11) as f64 / 3.0).collect();
        let design = Design {
            outcomes: vec![("y".into(), y)],
            regressors,
            ..Design::default()
        };
        let f = fit(
            &design,
            &VcovSpec::Cluster(vec![Factor::from_labels("cl", &cl)]),
            DemeanOptions::default(),
        )
        .unwrap();
        let w = wald(&f.outcomes[0], &[0, 1, 2, 3], f.df).unwrap();
        assert_eq!(w.tested, 4);
        assert!(w.df1 <= 2, "{w:?}");
        assert!(w.stat.is_finite() && w.stat >= 0.0 && w.stat < 1e6, "{w:?}");
        assert!(w.p > 0.0 && w.p <= 1.0);
    }
}
