//! Synthetic difference-in-differences (Arkhangelsky, Athey, Hirshberg, Imbens & Wager 2021) and
//! synthetic control (Abadie, Diamond & Hainmueller 2010) with R synthdid's conventions, which are
//! the reference: `synthdid_estimate`, `sc_estimate` and `did_estimate` on the same matrix.
//!
//! The matrix Y has the N0 control units first, then the N1 treated ones; columns are periods, the
//! T0 pre-treatment ones first (a block design: every treated unit adopts at the same period).
//! Weights are fitted on the collapsed form (controls and the treated average; pre periods and the
//! post average) by Frank-Wolfe with exact line search on
//! `|A w - b|^2 + eta |w|^2` over the simplex, a first round of 100 iterations, then "sparsified"
//! (weights at most a quarter of the largest set to zero) and refitted to convergence, as synthdid
//! does. Regularisation: noise = sd of the controls' pre-period first differences;
//! zeta_omega = (N1 T1)^(1/4) noise for SDID (1e-6 noise for SC), zeta_lambda = 1e-6 noise.
//!
//! Standard errors as synthdid's `vcov`: placebo (controls reassigned at random as treated,
//! the only one valid with one treated unit), jackknife (fixed weights; undefined with one treated
//! unit) and bootstrap (units resampled), each sqrt((r-1)/r) sd(replicates) for r replications.

use nalgebra::DMatrix;

use crate::error::EstimateError;
use crate::rng::SplitMix64;

/// Which of synthdid's three estimators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SynthEstimator {
    Sdid,
    Sc,
    Did,
}

/// synthdid's `opts`: the tuning fixed at the first fit and reused by every replication.
#[derive(Debug, Clone, Copy)]
struct Options {
    zeta_omega: f64,
    zeta_lambda: f64,
    omega_intercept: bool,
    lambda_intercept: bool,
    update_omega: bool,
    update_lambda: bool,
    min_decrease: f64,
    max_iter: usize,
    max_iter_pre_sparsify: usize,
}

/// A fitted synthetic estimator on one matrix.
#[derive(Debug, Clone)]
pub struct SynthFit {
    pub estimator: SynthEstimator,
    pub tau: f64,
    /// Control unit weights (N0), summing to one.
    pub omega: Vec<f64>,
    /// Pre-period weights (T0): summing to one for SDID and DiD, zero for SC.
    pub lambda: Vec<f64>,
    pub noise_level: f64,
    pub zeta_omega: f64,
    pub zeta_lambda: f64,
    n0: usize,
    t0: usize,
    options: Options,
}

/// Standard-error methods of synthdid's `vcov`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SynthSe {
    Placebo,
    Jackknife,
    Bootstrap,
}

fn sum_normalize(v: &[f64]) -> Vec<f64> {
    let s: f64 = v.iter().sum();
    if s != 0.0 {
        v.iter().map(|x| x / s).collect()
    } else {
        vec![1.0 / v.len() as f64; v.len()]
    }
}

fn sparsify(v: &[f64]) -> Vec<f64> {
    let max = v.iter().fold(f64::MIN, |a, b| a.max(*b));
    let cut: Vec<f64> = v
        .iter()
        .map(|x| if *x <= max / 4.0 { 0.0 } else { *x })
        .collect();
    let s: f64 = cut.iter().sum();
    cut.iter().map(|x| x / s).collect()
}

/// synthdid's `sc.weight.fw`: weights on the first `ncol - 1` columns of `y` reproducing its last,
/// by Frank-Wolfe steps with exact line search for |A x - b|^2 + eta |x|^2 on the simplex.
///
/// Written for speed, not as a transcription: A x is kept up to date from the step
/// (A (x + s d) = Ax + s (A_i - Ax), since d = e_i - x), so each iteration costs one product A'r and
/// allocates nothing; the iterates are synthdid's.
fn sc_weight_fw(
    y: &DMatrix<f64>,
    zeta: f64,
    intercept: bool,
    init: Option<Vec<f64>>,
    min_decrease: f64,
    max_iter: usize,
) -> Vec<f64> {
    let (n, cols) = y.shape();
    let t0 = cols - 1;
    let mut y = y.clone();
    if intercept {
        for mut col in y.column_iter_mut() {
            let mean = col.mean();
            col.add_scalar_mut(-mean);
        }
    }
    // Column-major storage: column j of A is a[j * n..(j + 1) * n].
    let a: Vec<f64> = y.columns(0, t0).iter().copied().collect();
    let b: Vec<f64> = y.column(t0).iter().copied().collect();
    let eta = n as f64 * zeta * zeta;
    let mut x = init.unwrap_or_else(|| vec![1.0 / t0 as f64; t0]);
    let mut ax = vec![0.0; n];
    for (j, xj) in x.iter().enumerate() {
        if *xj != 0.0 {
            for (r, v) in ax.iter_mut().zip(&a[j * n..(j + 1) * n]) {
                *r += xj * v;
            }
        }
    }
    let mut resid = vec![0.0; n];
    let mut grad = vec![0.0; t0];
    let objective = |x: &[f64], ax: &[f64]| {
        let err: f64 = ax.iter().zip(&b).map(|(p, q)| (p - q) * (p - q)).sum();
        zeta * zeta * x.iter().map(|v| v * v).sum::<f64>() + err / n as f64
    };
    let (mut previous, mut current) = (f64::NAN, f64::NAN);
    let mut t = 0;
    while t < max_iter && (t < 2 || previous - current > min_decrease * min_decrease) {
        t += 1;
        for r in 0..n {
            resid[r] = ax[r] - b[r];
        }
        for j in 0..t0 {
            let col = &a[j * n..(j + 1) * n];
            grad[j] = col.iter().zip(&resid).map(|(c, r)| c * r).sum::<f64>() + eta * x[j];
        }
        // which.min: the first index of the smallest half-gradient.
        let mut i = 0;
        for j in 1..t0 {
            if grad[j] < grad[i] {
                i = j;
            }
        }
        // d = e_i - x; A d = A_i - Ax.
        let d_norm2: f64 = x
            .iter()
            .enumerate()
            .map(|(j, v)| if j == i { (1.0 - v) * (1.0 - v) } else { v * v })
            .sum();
        if d_norm2 > 0.0 {
            let col = &a[i * n..(i + 1) * n];
            let derr2: f64 = col.iter().zip(&ax).map(|(c, p)| (c - p) * (c - p)).sum();
            let grad_d: f64 = grad[i] - grad.iter().zip(&x).map(|(g, v)| g * v).sum::<f64>();
            let step = (-grad_d / (derr2 + eta * d_norm2)).clamp(0.0, 1.0);
            for v in x.iter_mut() {
                *v *= 1.0 - step;
            }
            x[i] += step;
            for (p, c) in ax.iter_mut().zip(col) {
                *p += step * (c - *p);
            }
        }
        previous = current;
        current = objective(&x, &ax);
    }
    x
}

/// The (N0+1) x (T0+1) collapsed form: control rows and the treated average; pre columns and the
/// post average.
fn collapsed_form(y: &DMatrix<f64>, n0: usize, t0: usize) -> DMatrix<f64> {
    let (n, t) = y.shape();
    let mut c = DMatrix::<f64>::zeros(n0 + 1, t0 + 1);
    let (n1, t1) = ((n - n0) as f64, (t - t0) as f64);
    for i in 0..n {
        let row = i.min(n0);
        let wr = if i < n0 { 1.0 } else { 1.0 / n1 };
        for j in 0..t {
            let col = j.min(t0);
            let wc = if j < t0 { 1.0 } else { 1.0 / t1 };
            c[(row, col)] += wr * wc * y[(i, j)];
        }
    }
    c
}

/// synthdid's `noise.level`: sd of the controls' first differences over the pre periods.
fn noise_level(y: &DMatrix<f64>, n0: usize, t0: usize) -> f64 {
    let diffs: Vec<f64> = (0..n0)
        .flat_map(|i| (1..t0).map(move |j| (i, j)))
        .map(|(i, j)| y[(i, j)] - y[(i, j - 1)])
        .collect();
    let m = diffs.len() as f64;
    if m < 2.0 {
        return 0.0;
    }
    let mean = diffs.iter().sum::<f64>() / m;
    (diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (m - 1.0)).sqrt()
}

/// synthdid's fit of one set of weights: a first round of `max_iter_pre_sparsify` iterations from
/// `init`, then, from the sparsified result, a round to convergence.
fn two_round_weights(
    y: &DMatrix<f64>,
    zeta: f64,
    intercept: bool,
    init: Option<Vec<f64>>,
    options: &Options,
) -> Vec<f64> {
    let first = sc_weight_fw(
        y,
        zeta,
        intercept,
        init,
        options.min_decrease,
        options.max_iter_pre_sparsify,
    );
    sc_weight_fw(
        y,
        zeta,
        intercept,
        Some(sparsify(&first)),
        options.min_decrease,
        options.max_iter,
    )
}

/// Fits with given tuning and optional starting weights (synthdid_estimate with `opts`).
fn estimate_with(
    y: &DMatrix<f64>,
    n0: usize,
    t0: usize,
    options: Options,
    omega0: Option<Vec<f64>>,
    lambda0: Option<Vec<f64>>,
) -> (f64, Vec<f64>, Vec<f64>) {
    let (n, t) = y.shape();
    let yc = collapsed_form(y, n0, t0);
    let lambda = if options.update_lambda {
        let rows = yc.rows(0, n0).into_owned();
        two_round_weights(
            &rows,
            options.zeta_lambda,
            options.lambda_intercept,
            lambda0,
            &options,
        )
    } else {
        lambda0.unwrap_or_else(|| vec![1.0 / t0 as f64; t0])
    };
    let omega = if options.update_omega {
        let cols = yc.columns(0, t0).transpose();
        two_round_weights(
            &cols,
            options.zeta_omega,
            options.omega_intercept,
            omega0,
            &options,
        )
    } else {
        omega0.unwrap_or_else(|| vec![1.0 / n0 as f64; n0])
    };
    let (n1, t1) = ((n - n0) as f64, (t - t0) as f64);
    let mut tau = 0.0;
    for i in 0..n {
        let wi = if i < n0 { -omega[i] } else { 1.0 / n1 };
        for j in 0..t {
            let wj = if j < t0 { -lambda[j] } else { 1.0 / t1 };
            tau += wi * wj * y[(i, j)];
        }
    }
    (tau, omega, lambda)
}

/// Fits SDID, SC or DiD on `y` (controls first, pre periods first).
pub fn synth_fit(
    y: &DMatrix<f64>,
    n0: usize,
    t0: usize,
    estimator: SynthEstimator,
) -> Result<SynthFit, EstimateError> {
    let (n, t) = y.shape();
    if n0 < 2 {
        return Err(EstimateError::Design(format!(
            "a donor pool of at least 2 control units is needed, found {n0}"
        )));
    }
    if n0 >= n {
        return Err(EstimateError::Design("no treated unit".into()));
    }
    if t0 < 2 {
        return Err(EstimateError::Design(format!(
            "at least 2 pre-treatment periods are needed, found {t0}"
        )));
    }
    if t0 >= t {
        return Err(EstimateError::Design("no post-treatment period".into()));
    }
    if !y.iter().all(|v| v.is_finite()) {
        return Err(EstimateError::Design(
            "the outcome matrix has missing values".into(),
        ));
    }
    let noise = noise_level(y, n0, t0);
    let (n1, t1) = ((n - n0) as f64, (t - t0) as f64);
    let eta_omega = match estimator {
        SynthEstimator::Sdid => (n1 * t1).powf(0.25),
        _ => 1e-6,
    };
    let options = Options {
        zeta_omega: eta_omega * noise,
        zeta_lambda: 1e-6 * noise,
        omega_intercept: estimator != SynthEstimator::Sc,
        lambda_intercept: true,
        update_omega: estimator != SynthEstimator::Did,
        update_lambda: estimator == SynthEstimator::Sdid,
        min_decrease: 1e-5 * noise,
        max_iter: 10_000,
        max_iter_pre_sparsify: 100,
    };
    let lambda0 = match estimator {
        SynthEstimator::Sc => Some(vec![0.0; t0]),
        _ => None,
    };
    let (tau, omega, lambda) = estimate_with(y, n0, t0, options, None, lambda0);
    Ok(SynthFit {
        estimator,
        tau,
        omega,
        lambda,
        noise_level: noise,
        zeta_omega: options.zeta_omega,
        zeta_lambda: options.zeta_lambda,
        n0,
        t0,
        options,
    })
}

impl SynthFit {
    /// The fit's standard error by `method` with `reps` replications (placebo, bootstrap).
    /// `None` where synthdid returns NA: jackknife and bootstrap with one treated unit.
    pub fn se(
        &self,
        y: &DMatrix<f64>,
        method: SynthSe,
        reps: usize,
        seed: u64,
    ) -> Result<Option<f64>, EstimateError> {
        let (n, _) = y.shape();
        let (n0, t0) = (self.n0, self.t0);
        let n1 = n - n0;
        let mut rng = SplitMix64::new(seed);
        let lambda0 = Some(self.lambda.clone());
        let replicate_sd = |values: &[f64]| {
            let r = values.len() as f64;
            let mean = values.iter().sum::<f64>() / r;
            let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (r - 1.0)).sqrt();
            ((r - 1.0) / r).sqrt() * sd
        };
        match method {
            SynthSe::Placebo => {
                if n0 <= n1 {
                    return Err(EstimateError::Design(format!(
                        "the placebo standard error needs more control units than treated ones ({n0} controls, {n1} treated)"
                    )));
                }
                let mut values = Vec::with_capacity(reps);
                for _ in 0..reps {
                    // A random permutation of the controls: the last N1 pretend to be treated.
                    let mut ind: Vec<usize> = (0..n0).collect();
                    for i in (1..n0).rev() {
                        let j = rng.below(i as u64 + 1) as usize;
                        ind.swap(i, j);
                    }
                    let sub = y.select_rows(&ind);
                    let m0 = n0 - n1;
                    let omega0 = sum_normalize(
                        &ind[..m0].iter().map(|&i| self.omega[i]).collect::<Vec<_>>(),
                    );
                    let (tau, _, _) =
                        estimate_with(&sub, m0, t0, self.options, Some(omega0), lambda0.clone());
                    values.push(tau);
                }
                Ok(Some(replicate_sd(&values)))
            }
            SynthSe::Jackknife => {
                if n1 == 1 || self.omega.iter().filter(|w| **w != 0.0).count() == 1 {
                    return Ok(None);
                }
                let options = Options {
                    update_omega: false,
                    update_lambda: false,
                    ..self.options
                };
                let mut u = Vec::with_capacity(n);
                for drop in 0..n {
                    let ind: Vec<usize> = (0..n).filter(|&i| i != drop).collect();
                    let m0 = ind.iter().filter(|&&i| i < n0).count();
                    let omega0 = sum_normalize(
                        &ind.iter()
                            .filter(|&&i| i < n0)
                            .map(|&i| self.omega[i])
                            .collect::<Vec<_>>(),
                    );
                    let (tau, _, _) = estimate_with(
                        &y.select_rows(&ind),
                        m0,
                        t0,
                        options,
                        Some(omega0),
                        lambda0.clone(),
                    );
                    u.push(tau);
                }
                let k = n as f64;
                let mean = u.iter().sum::<f64>() / k;
                let var = u.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (k - 1.0);
                Ok(Some(((k - 1.0) / k * (k - 1.0) * var).sqrt()))
            }
            SynthSe::Bootstrap => {
                if n1 == 1 {
                    return Ok(None);
                }
                let mut values = Vec::with_capacity(reps);
                let mut attempts = 0usize;
                while values.len() < reps {
                    attempts += 1;
                    if attempts > 100 * reps {
                        return Err(EstimateError::Design(
                            "the bootstrap drew no sample with both treated and control units"
                                .into(),
                        ));
                    }
                    let mut ind: Vec<usize> =
                        (0..n).map(|_| rng.below(n as u64) as usize).collect();
                    ind.sort_unstable();
                    let m0 = ind.iter().filter(|&&i| i < n0).count();
                    if m0 == 0 || m0 == n {
                        continue;
                    }
                    let omega0 = sum_normalize(
                        &ind[..m0].iter().map(|&i| self.omega[i]).collect::<Vec<_>>(),
                    );
                    let (tau, _, _) = estimate_with(
                        &y.select_rows(&ind),
                        m0,
                        t0,
                        self.options,
                        Some(omega0),
                        lambda0.clone(),
                    );
                    values.push(tau);
                }
                Ok(Some(replicate_sd(&values)))
            }
        }
    }

    /// The effect path per period: treated average minus the weighted controls, less the
    /// lambda-weighted pre-period difference (zero for SC); its post-period mean is `tau`.
    pub fn path(&self, y: &DMatrix<f64>) -> Vec<f64> {
        let (n, t) = y.shape();
        let n1 = (n - self.n0) as f64;
        let gap: Vec<f64> = (0..t)
            .map(|j| {
                let treated: f64 = (self.n0..n).map(|i| y[(i, j)]).sum::<f64>() / n1;
                let synthetic: f64 = (0..self.n0).map(|i| self.omega[i] * y[(i, j)]).sum();
                treated - synthetic
            })
            .collect();
        let offset: f64 = (0..self.t0).map(|j| self.lambda[j] * gap[j]).sum();
        gap.iter().map(|g| g - offset).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A low-rank panel: the treated unit is an exact convex combination of two controls plus a
    /// level shift, and gains `effect` after T0.
    fn factor_panel(effect: f64) -> DMatrix<f64> {
        let (n0, t0, t) = (8, 10, 14);
        let mut y = DMatrix::<f64>::zeros(n0 + 1, t);
        for i in 0..n0 {
            for j in 0..t {
                let f1 = (j as f64 * 0.7).sin();
                let f2 = j as f64 / 5.0;
                y[(i, j)] = i as f64
                    + (i as f64 * 0.37).cos() * f1
                    + (i % 3) as f64 * f2
                    + 0.01 * ((i * 31 + j * 17) % 7) as f64;
            }
        }
        for j in 0..t {
            y[(n0, j)] =
                0.5 * y[(2, j)] + 0.5 * y[(5, j)] + 3.0 + if j >= t0 { effect } else { 0.0 };
        }
        y
    }

    #[test]
    fn sdid_and_did_are_exact_under_additive_effects() {
        // y = a_i + b_t (+ 2 for the treated after T0): with intercepts any weights give 2.
        let mut add = DMatrix::<f64>::zeros(9, 14);
        for i in 0..9 {
            for j in 0..14 {
                add[(i, j)] = (i * i) as f64 * 0.3
                    + (j as f64 * 0.9).sin() * 4.0
                    + if i == 8 && j >= 10 { 2.0 } else { 0.0 };
            }
        }
        for estimator in [SynthEstimator::Sdid, SynthEstimator::Did] {
            let fit = synth_fit(&add, 8, 10, estimator).unwrap();
            assert!((fit.tau - 2.0).abs() < 1e-9, "{estimator:?}: {}", fit.tau);
        }
    }

    #[test]
    fn weights_sum_to_one_and_the_path_averages_to_the_effect() {
        let y = factor_panel(2.0);
        let fit = synth_fit(&y, 8, 10, SynthEstimator::Sdid).unwrap();
        assert!((fit.omega.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((fit.lambda.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        let path = fit.path(&y);
        let post_mean = path[10..].iter().sum::<f64>() / 4.0;
        assert!((post_mean - fit.tau).abs() < 1e-10);
        // The DiD of synthdid is the plain 2x2 of means.
        let did = synth_fit(&y, 8, 10, SynthEstimator::Did).unwrap();
        let mean = |rows: std::ops::Range<usize>, cols: std::ops::Range<usize>| {
            let (nr, nc) = (rows.len() as f64, cols.len() as f64);
            rows.flat_map(|i| cols.clone().map(move |j| (i, j)))
                .map(|(i, j)| y[(i, j)])
                .sum::<f64>()
                / (nr * nc)
        };
        let by_means =
            (mean(8..9, 10..14) - mean(8..9, 0..10)) - (mean(0..8, 10..14) - mean(0..8, 0..10));
        assert!((did.tau - by_means).abs() < 1e-12);
        let sc = synth_fit(&y, 8, 10, SynthEstimator::Sc).unwrap();
        assert!(sc.lambda.iter().all(|l| *l == 0.0));
    }

    #[test]
    fn placebo_se_is_reproducible_and_undefined_ones_say_so() {
        let y = factor_panel(0.0);
        let fit = synth_fit(&y, 8, 10, SynthEstimator::Sdid).unwrap();
        let a = fit.se(&y, SynthSe::Placebo, 50, 7).unwrap().unwrap();
        let b = fit.se(&y, SynthSe::Placebo, 50, 7).unwrap().unwrap();
        assert_eq!(a, b);
        assert!(a > 0.0 && a.is_finite());
        assert_eq!(fit.se(&y, SynthSe::Jackknife, 0, 0).unwrap(), None);
        assert_eq!(fit.se(&y, SynthSe::Bootstrap, 50, 0).unwrap(), None);
    }

    #[test]
    fn too_few_donors_or_pre_periods_are_errors() {
        let y = factor_panel(1.0);
        assert!(synth_fit(&y.rows(7, 2).into_owned(), 1, 10, SynthEstimator::Sdid).is_err());
        assert!(synth_fit(&y, 8, 1, SynthEstimator::Sc)
            .unwrap_err()
            .to_string()
            .contains("pre-treatment"));
    }
}
