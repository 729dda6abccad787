//! The wild cluster restricted bootstrap (WCR) for a single coefficient, as fwildclusterboot and
//! wildboottest compute it by default: the null imposed on the residuals, Rademacher or Webb weights
//! drawn per cluster, the t statistic built with the same CR1 variance as the fit, and a symmetric
//! p-value, the share of |t*| at least |t|. With G clusters and 2^G <= reps, all 2^G Rademacher sign
//! patterns are enumerated, so the p-value does not depend on the seed.
//!
//! Each draw costs O(G^2), not a refit (the algebra of Roodman et al. 2019, "Fast and wild"): with
//! a = X(X'X)^-1 e_j and restricted residuals u, the bootstrap numerator is sum_h v_h N_h with
//! N_h = sum_{i in h} a_i u_i, and the cluster scores of the bootstrap fit are K v with
//! K = E - P Q', P_g = sum_{i in g} a_i x_i, Q_h = (X'X)^-1 sum_{i in h} x_i u_i. Both are
//! linear in the hypothesised value b0, so the confidence interval (by test inversion) costs only
//! O(reps) per evaluated b0.
//!
//! Fixed effects. X and y arrive with the fixed effects D projected out. The bootstrap data
//! y* = X_r b_r + D g_r + v*u are refitted with D in the model, so the bootstrap residuals are
//! M_Z (v*u), Z = [X, D], and a cluster's score is sum_{i in g} a_i (M_D (v*u))_i - P_g b*. When every
//! fixed effect is nested in the clusters (unit effects, unit clusters), M_D (v*u) = v*u and
//! E = diag(N): the fast path. Otherwise (time effects are never nested in unit clusters)
//! E_gh = sum_{i in h} (M_D (a*1_g))_i u_i, which needs one demeaning of a*1_g per cluster g; that
//! is the bootstrap fwildclusterboot runs with the non-nested effects as dummies, and exact
//! enumeration with the effects as dummies reproduces it (tests below).

use nalgebra::{DMatrix, DVector};

use crate::demean::{demean, DemeanOptions};
use crate::error::EstimateError;
use crate::factor::Factor;
use crate::rng::SplitMix64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BootWeights {
    Rademacher,
    Webb,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BootstrapSpec {
    pub weights: BootWeights,
    pub reps: usize,
    pub seed: u64,
    /// Significance level of the interval (0.05 for 95 %).
    pub alpha: f64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BootstrapResult {
    pub kind: String,
    /// Draws actually used (2^G when enumerated).
    pub reps: usize,
    pub enumerated: bool,
    pub p: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// One coefficient's bootstrap problem: the fit's demeaned and weighted X and y, its bread,
/// the clusters, the CR1 factor and the estimate with its standard error, and the fixed effects
/// and row weights that were projected out of X and y.
pub struct BootstrapProblem<'a> {
    pub x: &'a DMatrix<f64>,
    pub y: &'a DVector<f64>,
    pub bread: &'a DMatrix<f64>,
    /// The column of X under test.
    pub coefficient: usize,
    pub cluster: &'a Factor,
    /// G/(G-1) (n-1)/(n-K), the fit's CR1 factor.
    pub small_sample: f64,
    pub estimate: f64,
    pub se: f64,
    pub fixed_effects: &'a [Factor],
    pub weights: Option<&'a [f64]>,
}

/// How many clusters' columns are demeaned at once for E.
const E_BATCH: usize = 32;

/// E_gh = sum_{i in h} (M_D (a*1_g))_i u_i for the two residual vectors, in the weighted space:
/// M_D z = sqrt(w) * demean_w(z / sqrt(w)).
fn non_nested_e(
    problem: &BootstrapProblem<'_>,
    a: &DVector<f64>,
    uy: &DVector<f64>,
    ux: &DVector<f64>,
) -> Result<(DMatrix<f64>, DMatrix<f64>), EstimateError> {
    let n = a.len();
    let g = problem.cluster.levels;
    let root: Vec<f64> = match problem.weights {
        Some(w) => w.iter().map(|w| w.sqrt()).collect(),
        None => vec![1.0; n],
    };
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); g];
    for (i, c) in problem.cluster.codes.iter().enumerate() {
        members[*c as usize].push(i);
    }
    let mut e_y = DMatrix::<f64>::zeros(g, g);
    let mut e_x = DMatrix::<f64>::zeros(g, g);
    let options = DemeanOptions::default();
    for first in (0..g).step_by(E_BATCH) {
        let batch: Vec<usize> = (first..(first + E_BATCH).min(g)).collect();
        let mut columns: Vec<Vec<f64>> = batch
            .iter()
            .map(|&cg| {
                let mut col = vec![0.0; n];
                for &i in &members[cg] {
                    col[i] = a[i] / root[i];
                }
                col
            })
            .collect();
        let report = demean(
            &mut columns,
            problem.fixed_effects,
            problem.weights,
            options,
        );
        if !report.converged {
            return Err(EstimateError::NotConverged(report.iterations));
        }
        for (col, &cg) in columns.iter().zip(&batch) {
            for i in 0..n {
                let m = col[i] * root[i];
                let h = problem.cluster.codes[i] as usize;
                e_y[(cg, h)] += m * uy[i];
                e_x[(cg, h)] += m * ux[i];
            }
        }
    }
    Ok((e_y, e_x))
}

/// Per draw: the pieces of t*(b0) = (ny - b0 nx) / sqrt(c (uu - 2 b0 uw + b0^2 ww)).
struct Draw {
    ny: f64,
    nx: f64,
    uu: f64,
    uw: f64,
    ww: f64,
}

/// Wild cluster restricted bootstrap of one coefficient.
pub fn wild_cluster_bootstrap(
    problem: &BootstrapProblem<'_>,
    spec: &BootstrapSpec,
) -> Result<BootstrapResult, EstimateError> {
    let BootstrapProblem {
        x,
        y,
        bread,
        coefficient: j,
        cluster,
        small_sample: c,
        estimate: beta,
        se,
        ..
    } = *problem;
    let (n, k) = x.shape();
    let g = cluster.levels;
    if g < 2 {
        return Err(EstimateError::TooFewClusters(g));
    }
    // Restricted residuals as functions of b0: u(b0) = M_r y - b0 M_r x_j.
    let xj = x.column(j).into_owned();
    let (uy, ux) = if k == 1 {
        (y.clone_owned(), xj.clone())
    } else {
        let others: Vec<usize> = (0..k).filter(|&i| i != j).collect();
        let xr = x.select_columns(&others);
        let br = (xr.transpose() * &xr)
            .try_inverse()
            .ok_or(EstimateError::Singular)?;
        let resid = |v: &DVector<f64>| v - &xr * (&br * (xr.transpose() * v));
        (resid(y), resid(&xj))
    };
    let a = x * bread.column(j); // n-vector
    let mut n_y = DVector::<f64>::zeros(g);
    let mut n_x = DVector::<f64>::zeros(g);
    let mut p = DMatrix::<f64>::zeros(g, k);
    let mut sxu_y = DMatrix::<f64>::zeros(g, k);
    let mut sxu_x = DMatrix::<f64>::zeros(g, k);
    for i in 0..n {
        let h = cluster.codes[i] as usize;
        n_y[h] += a[i] * uy[i];
        n_x[h] += a[i] * ux[i];
        for col in 0..k {
            p[(h, col)] += a[i] * x[(i, col)];
            sxu_y[(h, col)] += x[(i, col)] * uy[i];
            sxu_x[(h, col)] += x[(i, col)] * ux[i];
        }
    }
    let q_y = sxu_y * bread; // G x k, row h = Q_h'
    let q_x = sxu_x * bread;
    let nested = problem
        .fixed_effects
        .iter()
        .all(|f| f.is_nested_in(cluster));
    let (e_y, e_x) = if nested {
        (DMatrix::from_diagonal(&n_y), DMatrix::from_diagonal(&n_x))
    } else {
        non_nested_e(problem, &a, &uy, &ux)?
    };
    let k_y = e_y - &p * q_y.transpose();
    let k_x = e_x - &p * q_x.transpose();

    let enumerated =
        spec.weights == BootWeights::Rademacher && g < 63 && (1usize << g) <= spec.reps;
    let reps = if enumerated { 1usize << g } else { spec.reps };
    let mut rng = SplitMix64::new(spec.seed);
    let webb = [
        -(1.5f64).sqrt(),
        -1.0,
        -(0.5f64).sqrt(),
        (0.5f64).sqrt(),
        1.0,
        (1.5f64).sqrt(),
    ];
    let mut v = DVector::<f64>::zeros(g);
    let mut draws = Vec::with_capacity(reps);
    for r in 0..reps {
        for h in 0..g {
            v[h] = if enumerated {
                if (r >> h) & 1 == 1 {
                    -1.0
                } else {
                    1.0
                }
            } else {
                match spec.weights {
                    BootWeights::Rademacher => {
                        if rng.below(2) == 0 {
                            -1.0
                        } else {
                            1.0
                        }
                    }
                    BootWeights::Webb => webb[rng.below(6) as usize],
                }
            };
        }
        let u = &k_y * &v;
        let w = &k_x * &v;
        draws.push(Draw {
            ny: n_y.dot(&v),
            nx: n_x.dot(&v),
            uu: u.dot(&u),
            uw: u.dot(&w),
            ww: w.dot(&w),
        });
    }

    let p_at = |b0: f64| -> f64 {
        let t = ((beta - b0) / se).abs();
        let extreme = draws
            .iter()
            .filter(|d| {
                let den = (c * (d.uu - 2.0 * b0 * d.uw + b0 * b0 * d.ww))
                    .max(0.0)
                    .sqrt();
                let ts = if den > 0.0 {
                    ((d.ny - b0 * d.nx) / den).abs()
                } else {
                    f64::INFINITY
                };
                // A relative tolerance keeps ties (the all-ones draw reproduces t exactly) counted.
                ts >= t * (1.0 - 1e-12)
            })
            .count();
        extreme as f64 / reps as f64
    };
    let p = p_at(0.0);
    let ci_low = invert(&p_at, beta, -se, spec.alpha);
    let ci_high = invert(&p_at, beta, se, spec.alpha);
    let kind = match spec.weights {
        BootWeights::Rademacher => "wild cluster restricted, Rademacher",
        BootWeights::Webb => "wild cluster restricted, Webb",
    };
    Ok(BootstrapResult {
        kind: kind.to_string(),
        reps,
        enumerated,
        p,
        ci_low,
        ci_high,
    })
}

/// The b0 on one side of `beta` where the bootstrap p-value falls to `alpha`: bracket by doubling
/// steps of `step`, then bisect.
fn invert(p_at: &dyn Fn(f64) -> f64, beta: f64, step: f64, alpha: f64) -> f64 {
    let mut inside = beta;
    let mut outside = beta + step;
    let mut tries = 0;
    while p_at(outside) > alpha {
        inside = outside;
        outside = beta + (outside - beta) * 2.0;
        tries += 1;
        if tries > 60 {
            return f64::NAN;
        }
    }
    for _ in 0..60 {
        let mid = 0.5 * (inside + outside);
        if p_at(mid) > alpha {
            inside = mid;
        } else {
            outside = mid;
        }
    }
    0.5 * (inside + outside)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::{fit, Design, VcovSpec};
    use crate::DemeanOptions;

    /// A small clustered data set with a true effect of zero.
    fn data(g: usize, per: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<f64>, Factor) {
        let mut rng = SplitMix64::new(seed);
        let mut unif = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
        let (mut y, mut d, mut z, mut cl) = (vec![], vec![], vec![], vec![]);
        for c in 0..g {
            let shock = unif();
            let treated = if c % 2 == 0 { 1.0 } else { 0.0 };
            for _ in 0..per {
                let zi = unif();
                d.push(treated);
                z.push(zi);
                y.push(0.5 * zi + shock + unif());
                cl.push(c);
            }
        }
        (y, d, z, Factor::from_labels("cl", &cl))
    }

    /// The fast t* against a brute-force refit for every one of the 2^G sign patterns.
    #[test]
    fn fast_algebra_matches_brute_force_refits() {
        let (y, d, z, cl) = data(6, 5, 7);
        let design = Design {
            outcomes: vec![("y".into(), y.clone())],
            regressors: vec![("d".into(), d.clone()), ("z".into(), z.clone())],
            intercept: true,
            ..Design::default()
        };
        let vcov = VcovSpec::Cluster(vec![cl.clone()]);
        let f = fit(&design, &vcov, DemeanOptions::default()).unwrap();
        let o = &f.outcomes[0];
        let (n, kk, g) = (30.0, f.k_adjust as f64, 6.0);
        let c = g / (g - 1.0) * (n - 1.0) / (n - kk);
        let spec = BootstrapSpec {
            weights: BootWeights::Rademacher,
            reps: 64,
            seed: 1,
            alpha: 0.05,
        };
        let yv = f.y.column(0).into_owned();
        let fast = wild_cluster_bootstrap(
            &BootstrapProblem {
                x: &f.x,
                y: &yv,
                bread: &f.bread,
                coefficient: 0,
                cluster: &cl,
                small_sample: c,
                estimate: o.coef[0],
                se: o.coefficients[0].se,
                fixed_effects: &[],
                weights: None,
            },
            &spec,
        )
        .unwrap();
        assert!(fast.enumerated && fast.reps == 64);

        // Brute force: impose d's coefficient = 0, flip cluster signs of restricted residuals, refit.
        let restricted = Design {
            regressors: vec![("z".into(), z.clone())],
            ..design.clone()
        };
        let r = fit(&restricted, &VcovSpec::Iid, DemeanOptions::default()).unwrap();
        let fitted: Vec<f64> = y
            .iter()
            .zip(r.outcomes[0].residuals.iter())
            .map(|(y, e)| y - e)
            .collect();
        let t_obs = o.coefficients[0].t.abs();
        let mut extreme = 0;
        for pattern in 0..64usize {
            let ystar: Vec<f64> = (0..30)
                .map(|i| {
                    let h = cl.codes[i] as usize;
                    let s = if (pattern >> h) & 1 == 1 { -1.0 } else { 1.0 };
                    fitted[i] + s * r.outcomes[0].residuals[i]
                })
                .collect();
            let bd = Design {
                outcomes: vec![("y".into(), ystar)],
                ..design.clone()
            };
            let bf = fit(&bd, &vcov, DemeanOptions::default()).unwrap();
            if bf.outcomes[0].coefficients[0].t.abs() >= t_obs * (1.0 - 1e-12) {
                extreme += 1;
            }
        }
        assert_eq!(fast.p, extreme as f64 / 64.0);
        assert!(fast.ci_low < o.coef[0] && o.coef[0] < fast.ci_high);
    }

    #[test]
    fn enumeration_ignores_the_seed_and_draws_are_reproducible() {
        let (y, d, _, cl) = data(8, 6, 3);
        let design = Design {
            outcomes: vec![("y".into(), y)],
            regressors: vec![("d".into(), d)],
            intercept: true,
            ..Design::default()
        };
        let f = fit(
            &design,
            &VcovSpec::Cluster(vec![cl.clone()]),
            DemeanOptions::default(),
        )
        .unwrap();
        let o = &f.outcomes[0];
        let yv = f.y.column(0).into_owned();
        let run = |weights, reps, seed| {
            let spec = BootstrapSpec {
                weights,
                reps,
                seed,
                alpha: 0.05,
            };
            wild_cluster_bootstrap(
                &BootstrapProblem {
                    x: &f.x,
                    y: &yv,
                    bread: &f.bread,
                    coefficient: 0,
                    cluster: &cl,
                    small_sample: 1.0,
                    estimate: o.coef[0],
                    se: o.coefficients[0].se,
                    fixed_effects: &[],
                    weights: None,
                },
                &spec,
            )
            .unwrap()
        };
        assert_eq!(
            run(BootWeights::Rademacher, 999, 1),
            run(BootWeights::Rademacher, 999, 2)
        );
        assert_eq!(
            run(BootWeights::Webb, 999, 5),
            run(BootWeights::Webb, 999, 5)
        );
        assert_ne!(run(BootWeights::Webb, 999, 5).p, f64::NAN);
    }
}
