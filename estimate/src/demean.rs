//! Removing fixed effects: weighted demeaning by one factor is exact; with several, alternating
//! projections (the method of fixest and reghdfe) repeat until no column moves by more than the
//! tolerance. All columns (every outcome and regressor) are demeaned in one pass over the rows per
//! sweep, which is what makes many outcomes cheap.

use crate::factor::Factor;

/// Convergence settings for several fixed effects.
#[derive(Debug, Clone, Copy)]
pub struct DemeanOptions {
    pub tolerance: f64,
    pub max_iterations: usize,
}

impl Default for DemeanOptions {
    fn default() -> Self {
        Self {
            tolerance: 1e-10,
            max_iterations: 10_000,
        }
    }
}

/// Outcome of demeaning: how many sweeps it took and whether it converged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DemeanReport {
    pub iterations: usize,
    pub converged: bool,
}

/// Demeans `columns` (each of length n) in place by the fixed effects, with row weights.
pub fn demean(
    columns: &mut [Vec<f64>],
    fixed_effects: &[Factor],
    weights: Option<&[f64]>,
    options: DemeanOptions,
) -> DemeanReport {
    if fixed_effects.is_empty() || columns.is_empty() {
        return DemeanReport {
            iterations: 0,
            converged: true,
        };
    }
    let n = columns[0].len();
    let w = |i: usize| weights.map_or(1.0, |w| w[i]);
    // Per factor: the total weight of each level, computed once.
    let level_weights: Vec<Vec<f64>> = fixed_effects
        .iter()
        .map(|f| {
            let mut totals = vec![0.0; f.levels];
            for i in 0..n {
                totals[f.codes[i] as usize] += w(i);
            }
            totals
        })
        .collect();
    let m = columns.len();
    let mut sums: Vec<f64> = Vec::new();
    let single = fixed_effects.len() == 1;
    for iteration in 1..=options.max_iterations {
        let mut max_change: f64 = 0.0;
        for (f, totals) in fixed_effects.iter().zip(&level_weights) {
            // Level sums for every column at once: sums[level * m + column].
            sums.clear();
            sums.resize(f.levels * m, 0.0);
            for i in 0..n {
                let base = f.codes[i] as usize * m;
                let wi = w(i);
                for (c, col) in columns.iter().enumerate() {
                    sums[base + c] += wi * col[i];
                }
            }
            for (level, total) in totals.iter().enumerate() {
                if *total > 0.0 {
                    for c in 0..m {
                        sums[level * m + c] /= total;
                    }
                }
            }
            for (c, col) in columns.iter_mut().enumerate() {
                for i in 0..n {
                    let mean = sums[f.codes[i] as usize * m + c];
                    col[i] -= mean;
                }
            }
            if !single {
                max_change = max_change.max(sums.iter().fold(0.0_f64, |a, b| a.max(b.abs())));
            }
        }
        if single || max_change < options.tolerance {
            return DemeanReport {
                iterations: iteration,
                converged: true,
            };
        }
    }
    DemeanReport {
        iterations: options.max_iterations,
        converged: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_way_demeaning_removes_additive_effects_on_an_unbalanced_panel() {
        // y = a_unit + b_time exactly, with a row missing: demeaned y must vanish.
        let mut units = Vec::new();
        let mut times = Vec::new();
        let mut y = Vec::new();
        for u in 0..7 {
            for t in 0..5 {
                if (u, t) == (3, 2) {
                    continue;
                }
                units.push(u);
                times.push(t);
                y.push(10.0 * u as f64 + (t * t) as f64);
            }
        }
        let fe = [
            Factor::from_labels("u", &units),
            Factor::from_labels("t", &times),
        ];
        let mut cols = vec![y];
        let report = demean(&mut cols, &fe, None, DemeanOptions::default());
        assert!(report.converged);
        assert!(
            cols[0].iter().all(|v| v.abs() < 1e-8),
            "{:?}",
            &cols[0][..5]
        );
    }
}
