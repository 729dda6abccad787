//! What the estimate crate's integration tests share: seeded draws and the one-outcome panel.
#![allow(dead_code)] // Each test binary uses its own part.

use regstat_estimate::{PanelData, SplitMix64, Treatment};

/// A uniform draw in [0, 1).
pub fn uniform(rng: &mut SplitMix64) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Sum of 12 uniforms minus 6: a standard normal approximation, plenty for tests.
pub fn normal(rng: &mut SplitMix64) -> f64 {
    (0..12).map(|_| uniform(rng)).sum::<f64>() - 6.0
}

/// A panel of one outcome `y`, no covariates, weights or cluster columns.
pub fn one_outcome(
    unit: Vec<String>,
    time: Vec<i64>,
    y: Vec<f64>,
    treatment: Treatment,
) -> PanelData {
    PanelData {
        unit: unit.into_iter().collect(),
        time,
        outcomes: vec![("y".into(), y)],
        covariates: vec![],
        treatment,
        weights: None,
        cluster: vec![],
    }
}
