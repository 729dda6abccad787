//! The wild cluster restricted bootstrap (WCR) for a single coefficient, as fwildclusterboot and
//! wildboottest compute it by default: the null imposed on the residuals, Rademacher or Webb weights
//! drawn per cluster, the t statistic built with the same CR1 variance as the fit, and a symmetric
//! p-value, the share of |t*| at least |t|. With G clusters and 2^G <= reps, all 2^G Rademacher sign
//! patterns are enumerated, so the p-value does not depend on the seed.
//!
//! Each draw costs O(G^2), not a refit (the algebra of Roodman et al. 2019, "Fast and wild"): with
//! a = X(X'X)^-1 e_j and restricted residuals u, the bootstrap numerator is sum_h v_h N_h with
//! N_h = sum_{i in h} a_i u_i, and the cluster scores of the bootstrap fit are K v with
//! K = diag(N) - P Q', P_g = sum_{i in g} a_i x_i, Q_h = (X'X)^-1 sum_{i in h} x_i u_i. Both are
//! linear in the hypothesised value b0, so the confidence interval (by test inversion) costs only
//! O(reps) per evaluated b0.

use nalgebra::{DMatrix, DVector};

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

/// Per draw: the pieces of t*(b0) = (ny - b0 nx) / sqrt(c (uu - 2 b0 uw + b0^2 ww)).
struct Draw {
    ny: f64,
    nx: f64,
    uu: f64,
    uw: f64,
    ww: f64,
}

/// Wild cluster restricted bootstrap for coefficient `j` of the regression of `y` on `x` (both
/// already demeaned and weighted), clusters `cluster`, CR1 factor `c`, estimate `beta` with
/// standard error `se`.
#[allow(clippy::too_many_arguments)]
pub fn wild_cluster_bootstrap(
    x: &DMatrix<f64>,
    y: &DVector<f64>,
    bread: &DMatrix<f64>,
    j: usize,
    cluster: &Factor,
    c: f64,
    beta: f64,
    se: f64,
    spec: &BootstrapSpec,
) -> Result<BootstrapResult, EstimateError> {
    let (n, k) = x.shape();
    let g = cluster.levels;
    if g < 2 {
        return Err(EstimateError::TooFewClusters(g));
    }
    // Restricted residuals as functions of b0: u(b0) = M_r y - b0 M_r x_j.
    let xj = x.column(j).into_owned();
    let (uy, ux) = if k == 1 {
        (y.clone(), xj.clone())
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
    let k_y = DMatrix::from_diagonal(&n_y) - &p * q_y.transpose();
    let k_x = DMatrix::from_diagonal(&n_x) - &p * q_x.transpose();

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
            &f.x,
            &yv,
            &f.bread,
            0,
            &cl,
            c,
            o.coef[0],
            o.coefficients[0].se,
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
                &f.x,
                &yv,
                &f.bread,
                0,
                &cl,
                1.0,
                o.coef[0],
                o.coefficients[0].se,
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
