//! Where the influence functions of a CS estimate live.
//!
//! With covariates, each ATT(g,t)'s influence function is a value per unit ([`Space::Units`]).
//! Without them it is, for a unit of cohort c, a(c) (Y_t - Y_base)(i) + b(c): linear in the unit's
//! outcomes with coefficients set by its cohort; so is every aggregate of such cells, did's `wif`
//! term included (it is constant within a cohort). There an influence function is kept as those
//! coefficients ([`Space::Outcomes`]): a few per cohort instead of one per unit. Its sum of
//! squares comes from each cohort's cross-products of outcomes, its multiplier-bootstrap draws from
//! each cohort's draws of them, and the cells and aggregations of a 50,000-unit panel make one pass
//! over the units (the moments) instead of one per cell and aggregate.
//!
//! The features are the changes since the first period, z_t(i) = Y_t(i) - Y_0(i) for t = 1..T-1,
//! centred within the cohort: the unit's level cancels before anything is squared (cross-products
//! of raw levels, say regional GRP in millions, would lose most digits of a variance of changes to
//! cancellation), and a centred feature's cross-product with the constant is zero.
//!
//! Coordinates: cohort c (in [`Cohorts`]'s order) has the block `c * T .. (c + 1) * T`: slots
//! `0..T-1` multiply z_1..z_{T-1}, slot `T - 1` is the constant.

use std::ops::Range;

use super::{Cohorts, Multipliers};

/// The cohorts' moments of their units' changes since the first period.
pub(super) struct CohortMoments {
    /// Periods T.
    periods: usize,
    units: usize,
    /// Each cohort's units: a contiguous range (units are ordered by cohort).
    ranges: Vec<Range<usize>>,
    /// Per cohort, the mean of z_t over its units, t = 1..T-1.
    means: Vec<Vec<f64>>,
    /// Per cohort, the sums over its units of centred z_s z_t: (T-1) x (T-1), row-major.
    cross: Vec<Vec<f64>>,
    /// The centred changes, period-major: unit i's centred z_t at `t * units + i` (the first
    /// period's row, t = 0, is the outcomes' own and unused: the changes are made in place).
    centred: Vec<f64>,
}

impl CohortMoments {
    /// From the outcomes by period, then unit (unit i's period k at `k * units + i`), of units
    /// ordered by cohort; the changes are made in the outcomes' own memory.
    pub(super) fn new(y: Vec<f64>, periods: usize, cohorts: &Cohorts) -> Self {
        let units = cohorts.of_unit.len();
        debug_assert_eq!(y.len(), periods * units);
        debug_assert!(cohorts.of_unit.windows(2).all(|w| w[0] <= w[1]));
        let mut start = 0;
        let ranges: Vec<Range<usize>> = cohorts
            .sizes
            .iter()
            .map(|&size| {
                start += size;
                start - size..start
            })
            .collect();
        let features = periods - 1;
        let mut centred = y;
        let mut means = vec![vec![0.0; features]; ranges.len()];
        let (first, later) = centred.split_at_mut(units);
        for (f, out) in later.chunks_mut(units.max(1)).enumerate() {
            for (c, range) in ranges.iter().enumerate() {
                if range.is_empty() {
                    continue;
                }
                let mut sum = 0.0;
                for i in range.clone() {
                    let z = out[i] - first[i];
                    out[i] = z;
                    sum += z;
                }
                let mean = sum / range.len() as f64;
                means[c][f] = mean;
                for z in &mut out[range.clone()] {
                    *z -= mean;
                }
            }
        }
        let cross = ranges
            .iter()
            .map(|range| {
                let mut m = vec![0.0; features * features];
                let feature = |f: usize| &centred[(f + 1) * units..(f + 2) * units][range.clone()];
                for s in 0..features {
                    let zs = feature(s);
                    for t in s..features {
                        let zt = feature(t);
                        let v: f64 = zs.iter().zip(zt).map(|(a, b)| a * b).sum();
                        m[s * features + t] = v;
                        m[t * features + s] = v;
                    }
                }
                m
            })
            .collect();
        Self {
            periods,
            units,
            ranges,
            means,
            cross,
            centred,
        }
    }

    /// Coordinates of an influence function.
    fn len(&self) -> usize {
        self.ranges.len() * self.periods
    }

    /// Cohort c's mean change from period index `base` to `to`.
    fn mean_change(&self, c: usize, base: usize, to: usize) -> f64 {
        let mean = |k: usize| if k == 0 { 0.0 } else { self.means[c][k - 1] };
        mean(to) - mean(base)
    }

    /// ATT(g,t) without covariates (all of did's estimators reduce to it): cohort `treated`'s mean
    /// change from period index `base` to `to` less that of the cohorts `control` says are its
    /// controls, with its influence function scaled to all units as did does; `None` when either
    /// side has no unit.
    pub(super) fn cell(
        &self,
        treated: usize,
        base: usize,
        to: usize,
        control: impl Fn(usize) -> bool,
    ) -> Option<(f64, Vec<f64>)> {
        let n = self.units as f64;
        let size = |c: usize| self.ranges[c].len();
        let n_d = size(treated);
        let controls: Vec<usize> = (0..self.ranges.len())
            .filter(|&c| c != treated && control(c) && size(c) > 0)
            .collect();
        let n_c: usize = controls.iter().map(|&c| size(c)).sum();
        if n_d == 0 || n_c == 0 {
            return None;
        }
        let m_d = self.mean_change(treated, base, to);
        let m_c = controls
            .iter()
            .map(|&c| size(c) as f64 * self.mean_change(c, base, to))
            .sum::<f64>()
            / n_c as f64;
        // Unit i of a cohort with factor a: a (dy_i - m), where dy_i is the centred change plus
        // the cohort's mean change: a (z~_to - z~_base) + a (mean change - m).
        let mut inf = vec![0.0; self.len()];
        let mut set = |c: usize, a: f64, m: f64| {
            let block = &mut inf[c * self.periods..(c + 1) * self.periods];
            if to > 0 {
                block[to - 1] += a;
            }
            if base > 0 {
                block[base - 1] -= a;
            }
            block[self.periods - 1] += a * (self.mean_change(c, base, to) - m);
        };
        set(treated, n / n_d as f64, m_d);
        for &c in &controls {
            set(c, -n / n_c as f64, m_c);
        }
        Some((m_d - m_c, inf))
    }
}

/// The space an estimate's influence functions live in (see the module's documentation).
pub(super) enum Space<'a> {
    /// A value per unit.
    Units(&'a Cohorts),
    /// Coefficients per cohort on the unit's centred changes and a constant.
    Outcomes(&'a CohortMoments),
}

impl Space<'_> {
    /// Units the influence functions are over.
    pub(super) fn units(&self) -> usize {
        match self {
            Space::Units(cohorts) => cohorts.of_unit.len(),
            Space::Outcomes(m) => m.units,
        }
    }

    /// Coordinates of an influence function.
    pub(super) fn len(&self) -> usize {
        match self {
            Space::Units(cohorts) => cohorts.of_unit.len(),
            Space::Outcomes(m) => m.len(),
        }
    }

    /// Adds to each unit the term of its cohort.
    pub(super) fn add_cohort_terms(&self, inf: &mut [f64], terms: &[f64]) {
        match self {
            Space::Units(cohorts) => {
                for (total, c) in inf.iter_mut().zip(&cohorts.of_unit) {
                    *total += terms[*c as usize];
                }
            }
            Space::Outcomes(m) => {
                for (c, term) in terms.iter().enumerate() {
                    inf[c * m.periods + m.periods - 1] += term;
                }
            }
        }
    }

    /// The sum over units of the influence function's squared values.
    fn sum_of_squares(&self, inf: &[f64]) -> f64 {
        match self {
            Space::Units(_) => inf.iter().map(|v| v * v).sum(),
            Space::Outcomes(m) => {
                let features = m.periods - 1;
                let mut total = 0.0;
                for (c, range) in m.ranges.iter().enumerate() {
                    let block = &inf[c * m.periods..(c + 1) * m.periods];
                    let (u, constant) = (&block[..features], block[features]);
                    let cross = &m.cross[c];
                    let mut quadratic = 0.0;
                    for s in 0..features {
                        if u[s] == 0.0 {
                            continue;
                        }
                        let row = &cross[s * features..(s + 1) * features];
                        quadratic += u[s] * row.iter().zip(u).map(|(x, v)| x * v).sum::<f64>();
                    }
                    // A quadratic form of a positive semi-definite matrix: never below zero but
                    // for rounding.
                    total += quadratic.max(0.0) + range.len() as f64 * constant * constant;
                }
                total
            }
        }
    }

    /// The analytic standard error, R did's sqrt(mean(IF^2) / n); NaN where it is zero to
    /// rounding (a cell that is zero by construction).
    pub(super) fn se(&self, inf: &[f64]) -> f64 {
        let n = self.units() as f64;
        let se = (self.sum_of_squares(inf) / n).sqrt() / n.sqrt();
        if se <= f64::EPSILON.sqrt() * 10.0 {
            f64::NAN
        } else {
            se
        }
    }

    /// The multiplier-bootstrap draws of each influence function in `infs` and of each cohort's
    /// indicator: `([inf][draw], [cohort][draw])`, each draw sum_i v_i x_i / sqrt(n).
    pub(super) fn draws(
        &self,
        infs: &[&[f64]],
        multipliers: &Multipliers,
    ) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
        match self {
            Space::Units(cohorts) => {
                let indicators: Vec<Vec<f64>> = (0..cohorts.values.len())
                    .map(|c| {
                        cohorts
                            .of_unit
                            .iter()
                            .map(|&u| (u as usize == c) as u8 as f64)
                            .collect()
                    })
                    .collect();
                let mut columns: Vec<&[f64]> = infs.to_vec();
                columns.extend(indicators.iter().map(|c| c.as_slice()));
                let mut draws = multipliers.draws(&[(0..cohorts.of_unit.len(), columns)]);
                let cohorts = draws.split_off(infs.len());
                (draws, cohorts)
            }
            Space::Outcomes(m) => {
                // The draws of every coordinate (each cohort's centred changes and constant over
                // its units), then each influence function's as their combination.
                let ones = vec![1.0; m.units];
                let groups: Vec<(Range<usize>, Vec<&[f64]>)> = m
                    .ranges
                    .iter()
                    .map(|range| {
                        let mut columns: Vec<&[f64]> = m
                            .centred
                            .chunks(m.units.max(1))
                            .skip(1)
                            .take(m.periods - 1)
                            .collect();
                        columns.push(&ones);
                        (range.clone(), columns)
                    })
                    .collect();
                let basis = multipliers.draws(&groups);
                let reps = basis.first().map_or(0, |b| b.len());
                let combined = infs
                    .iter()
                    .map(|inf| {
                        let mut out = vec![0.0; reps];
                        for (w, draws) in inf.iter().zip(&basis) {
                            if *w != 0.0 {
                                for (o, d) in out.iter_mut().zip(draws) {
                                    *o += w * d;
                                }
                            }
                        }
                        out
                    })
                    .collect();
                let cohorts = (0..m.ranges.len())
                    .map(|c| basis[c * m.periods + m.periods - 1].clone())
                    .collect();
                (combined, cohorts)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    /// A cell's coefficients mean, unit by unit, did's influence function n/n_D (dy - m_D) for
    /// the cohort and -n/n_C (dy - m_C) for its controls; sums of squares and bootstrap draws equal
    /// those of the per-unit values, on outcomes with large levels (where raw cross-products lose
    /// the digits).
    #[test]
    fn cohort_coefficients_equal_the_influence_function_unit_by_unit() {
        let (n, periods) = (240, 5);
        let mut rng = SplitMix64::new(3);
        let mut uniform = || (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
        // Units ordered by cohort: 0 (never), 3, 4 (period indices 0..5).
        let cohort: Vec<i64> = (0..n).map(|i| [0, 3, 4][i * 3 / n]).collect();
        let level: Vec<f64> = (0..n).map(|_| 1e7 * (1.0 + uniform())).collect();
        let mut y = vec![0.0; periods * n];
        for k in 0..periods {
            for i in 0..n {
                y[k * n + i] = level[i] + 0.3 * k as f64 + uniform();
            }
        }
        let cohorts = Cohorts::new(&cohort);
        let moments = CohortMoments::new(y.clone(), periods, &cohorts);
        let space = Space::Outcomes(&moments);
        let units = Space::Units(&cohorts);
        let multipliers = Multipliers::new(n, 70, 5);
        // Cohort 3 at period index 4 against base 2, never-treated and not-yet-treated controls.
        for controls in [vec![0usize], vec![0, 2]] {
            let (g, base, to) = (1usize, 2usize, 4usize);
            let (att, inf) = moments
                .cell(g, base, to, |c| controls.contains(&c))
                .expect("both sides");
            let dy = |i: usize| y[to * n + i] - y[base * n + i];
            let side = |c: usize| cohorts.of_unit.iter().filter(|&&o| o as usize == c).count();
            let in_side = |i: usize, cs: &[usize]| cs.contains(&(cohorts.of_unit[i] as usize));
            let mean_over = |cs: &[usize]| {
                let members: Vec<usize> = (0..n).filter(|&i| in_side(i, cs)).collect();
                members.iter().map(|&i| dy(i)).sum::<f64>() / members.len() as f64
            };
            let (m_d, m_c) = (mean_over(&[g]), mean_over(&controls));
            let n_c: usize = controls.iter().map(|&c| side(c)).sum();
            let direct: Vec<f64> = (0..n)
                .map(|i| {
                    if in_side(i, &[g]) {
                        n as f64 / side(g) as f64 * (dy(i) - m_d)
                    } else if in_side(i, &controls) {
                        -(n as f64) / n_c as f64 * (dy(i) - m_c)
                    } else {
                        0.0
                    }
                })
                .collect();
            assert!((att - (m_d - m_c)).abs() < 1e-9, "{att} vs {}", m_d - m_c);
            let (a, b) = (space.se(&inf), units.se(&direct));
            assert!((a - b).abs() < 1e-10 * b, "{a} vs {b}");
            let (ours, our_cohorts) = space.draws(&[&inf], &multipliers);
            let (theirs, their_cohorts) = units.draws(&[&direct], &multipliers);
            for (x, z) in ours[0].iter().zip(&theirs[0]) {
                assert!((x - z).abs() < 1e-8, "{x} vs {z}");
            }
            assert_eq!(our_cohorts, their_cohorts);
        }
    }
}
