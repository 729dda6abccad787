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
}

impl Fit {
    pub fn outcome(&self, name: &str) -> Option<&OutcomeFit> {
        self.outcomes.iter().find(|o| o.outcome == name)
    }
}

/// Degrees of freedom absorbed by a set of fixed effects: their levels less one per extra factor
/// (exact for connected designs, as fixest counts them).
fn fe_dof(fes: &[&Factor]) -> usize {
    let levels: usize = fes.iter().map(|f| f.levels).sum();
    levels.saturating_sub(fes.len().saturating_sub(1))
}

pub fn fit(design: &Design, vcov: &VcovSpec, options: DemeanOptions) -> Result<Fit, EstimateError> {
    let n = design
        .outcomes
        .first()
        .map(|(_, y)| y.len())
        .ok_or(EstimateError::NoOutcome)?;
    let k = design.regressors.len() + design.intercept as usize;
    if k == 0 {
        return Err(EstimateError::NoRegressor);
    }
    let check = |len: usize| {
        if len == n {
            Ok(())
        } else {
            Err(EstimateError::Dimensions {
                expected: n,
                found: len,
            })
        }
    };
    for (_, c) in design.outcomes.iter().chain(&design.regressors) {
        check(c.len())?;
    }
    for f in &design.fixed_effects {
        check(f.codes.len())?;
    }
    if let Some(w) = &design.weights {
        check(w.len())?;
        if w.iter().any(|w| w.is_nan() || *w <= 0.0 || w.is_infinite()) {
            return Err(EstimateError::BadWeights);
        }
    }

    // Demean every outcome and regressor in one pass.
    let mut columns: Vec<Vec<f64>> = design.outcomes.iter().map(|(_, c)| c.clone()).collect();
    columns.extend(design.regressors.iter().map(|(_, c)| c.clone()));
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
    let x = DMatrix::from_fn(n, k, |i, j| columns[m + j][i]);

    let xtx = x.transpose() * &x;
    let bread = xtx.clone().try_inverse().ok_or(EstimateError::Singular)?;
    if (&xtx * &bread - DMatrix::<f64>::identity(k, k)).amax() > 1e-6 {
        return Err(EstimateError::Singular);
    }
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

    let mut names: Vec<String> = design.regressors.iter().map(|(n, _)| n.clone()).collect();
    if design.intercept {
        names.push("(Intercept)".into());
    }
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

/// Joint Wald test that the coefficients at `indices` are all zero: F = b' V^-1 b / q with
/// F(q, df) p-value (fixest's `wald`).
pub fn wald(fit: &OutcomeFit, indices: &[usize], df: f64) -> Option<(f64, usize, f64)> {
    use statrs::distribution::{ContinuousCDF, FisherSnedecor};
    if indices.is_empty() {
        return None;
    }
    let q = indices.len();
    let b = DVector::from_iterator(q, indices.iter().map(|&i| fit.coef[i]));
    let v = DMatrix::from_fn(q, q, |r, c| fit.vcov[(indices[r], indices[c])]);
    let vi = v.try_inverse()?;
    let stat = (b.transpose() * vi * &b)[(0, 0)] / q as f64;
    let p = FisherSnedecor::new(q as f64, df)
        .ok()
        .map(|d| 1.0 - d.cdf(stat))?;
    Some((stat, q, p))
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
        assert_eq!(
            fit(&design, &VcovSpec::Iid, DemeanOptions::default()).unwrap_err(),
            EstimateError::Singular
        );
    }
}
