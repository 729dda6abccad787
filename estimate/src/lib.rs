//! Difference-in-differences estimators with honest inference.
//!
//! [`fit`] is the regression core (iid, HC1 and cluster-robust CR1 variances with fixest's
//! small-sample conventions); [`did2x2`] is the Lipetsk study's 2x2 estimator (its eq. 7) computed
//! both from the four cell means and as a regression, with a placebo-in-space test for designs with a
//! single treated region, where a t statistic alone is not to be trusted.

mod bootstrap;
mod cs;
mod demean;
mod did2x2;
mod error;
mod factor;
mod fit;
mod labels;
mod panel;
mod rng;
mod sunab;
mod synth;
mod synth_panel;

pub use bootstrap::{
    wild_cluster_bootstrap, BootWeights, BootstrapProblem, BootstrapResult, BootstrapSpec,
};
pub use cs::{
    Aggregation, AggregationRow, BasePeriod, ControlGroup, CsEstimation, CsSpec, GroupTime,
};
pub use demean::{demean, DemeanOptions, DemeanReport};
pub use did2x2::{did2x2, Did2x2, Did2x2Input, PanelObs, Placebo, TREATED_X_POST};
pub use error::EstimateError;
pub use factor::Factor;
pub use fit::{fit, fit_owned, wald, Collinear, Design, Fit, OutcomeFit, VcovSpec, WaldTest};
pub use labels::Labels;
pub use panel::{
    estimate, DonorPlacebo, Effects, EventCoefficient, Method, Panel, PanelData, PathPoint,
    Pretrend, Report, Spec, SynthPlacebo, Treatment, TwoByTwoCells, Weight, Weights,
    MAX_BOOTSTRAP_REPS,
};
pub use rng::SplitMix64;
pub use synth::{synth_fit, SynthEstimator, SynthFit, SynthSe};
pub use synth_panel::SynthSpec;

/// A coefficient with its inference.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Coefficient {
    pub term: String,
    pub estimate: f64,
    pub se: f64,
    pub t: f64,
    pub p: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub df: f64,
}

impl Coefficient {
    /// t statistic, two-sided p-value and 95 % interval from a t distribution with `df` degrees of
    /// freedom, or the normal distribution when `df` is infinite (statrs' t quantile does not
    /// return for infinite df, so the normal is used explicitly).
    pub fn from_estimate(term: &str, estimate: f64, se: f64, df: f64) -> Self {
        use statrs::distribution::{ContinuousCDF, Normal, StudentsT};
        let t = estimate / se;
        let usable = se > 0.0 && se.is_finite();
        let (p, q) = if !usable || df.is_nan() || df <= 0.0 {
            (f64::NAN, f64::NAN)
        } else if df.is_infinite() {
            let dist = Normal::new(0.0, 1.0).expect("standard normal");
            (2.0 * (1.0 - dist.cdf(t.abs())), dist.inverse_cdf(0.975))
        } else {
            match StudentsT::new(0.0, 1.0, df) {
                Ok(dist) => (2.0 * (1.0 - dist.cdf(t.abs())), dist.inverse_cdf(0.975)),
                Err(_) => (f64::NAN, f64::NAN),
            }
        };
        Self {
            term: term.to_string(),
            estimate,
            se,
            t,
            p,
            ci_low: estimate - q * se,
            ci_high: estimate + q * se,
            df,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Coefficient;

    /// Infinite degrees of freedom (normal inference, as synthdid and did report) return at once.
    #[test]
    fn infinite_degrees_of_freedom_use_the_normal() {
        let c = Coefficient::from_estimate("att", 1.96, 1.0, f64::INFINITY);
        assert!((c.p - 0.05).abs() < 1e-3, "{c:?}");
        assert!((c.ci_high - 3.92).abs() < 1e-2);
        assert!(Coefficient::from_estimate("x", 1.0, 0.0, 10.0).p.is_nan());
    }
}
