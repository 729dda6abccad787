//! Callaway & Sant'Anna on simulated staggered panels with known effects: where effects grow with
//! time since adoption and differ by cohort, TWFE is biased (Goodman-Bacon 2021) and CS recovers
//! the truth.

use regstat_estimate::{
    estimate, BasePeriod, ControlGroup, CsSpec, Method, Panel, PanelData, Spec, SplitMix64,
    Treatment,
};

mod common;
use common::{normal, one_outcome, uniform};

/// Cohorts adopting at 4, 6 and 8 (and never), periods 1..=10; the effect at event time e >= 0 of a
/// cohort g is (1 + e) * scale(g), so it grows and differs by cohort. Returns the panel and the
/// true simple ATT (the cohort-share weighted mean of the post cells' effects).
fn staggered(units_per_cohort: usize, noise: f64, seed: u64) -> (PanelData, f64) {
    let mut rng = SplitMix64::new(seed);
    let mut normal = move || normal(&mut rng);
    let cohorts = [0i64, 4, 6, 8];
    let scale = |g: i64| match g {
        4 => 1.0,
        6 => 0.5,
        8 => 0.25,
        _ => 0.0,
    };
    let (mut unit, mut time, mut y, mut g_col) = (vec![], vec![], vec![], vec![]);
    let (mut sum, mut weight) = (0.0, 0.0);
    for (c, &g) in cohorts.iter().enumerate() {
        for u in 0..units_per_cohort {
            let alpha = normal();
            for t in 1..=10i64 {
                let effect = if g > 0 && t >= g {
                    (1 + t - g) as f64 * scale(g)
                } else {
                    0.0
                };
                if g > 0 && t >= g {
                    sum += effect;
                    weight += 1.0;
                }
                unit.push(format!("c{c}u{u}"));
                time.push(t);
                y.push(alpha + 0.2 * t as f64 + effect + noise * normal());
                g_col.push(g);
            }
        }
    }
    let data = one_outcome(
        unit,
        time,
        y,
        Treatment::Cohort {
            name: "g".into(),
            values: g_col,
        },
    );
    (data, sum / weight)
}

fn cs(data: PanelData, cs: CsSpec) -> regstat_estimate::Report {
    estimate(
        &Panel::new(data).unwrap(),
        &Spec {
            method: Method::Cs,
            cs,
            ..Spec::default()
        },
    )
    .unwrap()
    .remove(0)
}

#[test]
fn cs_recovers_dynamic_heterogeneous_effects_where_twfe_is_biased() {
    let (data, truth) = staggered(60, 0.01, 1);
    let r = cs(data.clone(), CsSpec::default());
    let simple = &r.aggregations["simple"];
    assert!(
        (simple.estimate - truth).abs() < 0.01,
        "cs {} vs truth {truth}",
        simple.estimate
    );
    assert_eq!(r.estimates[0].estimate, simple.estimate);
    // Dynamic: the effect at event time e is the cohort-weighted mean of (1 + e) scale(g).
    let dynamic = &r.aggregations["dynamic"];
    let at = |e: i64| {
        dynamic
            .rows
            .iter()
            .find(|row| row.event_time == Some(e))
            .unwrap()
            .estimate
    };
    assert!(at(-2).abs() < 0.01 && at(-1).abs() < 0.01, "no pre-trends");
    assert!((at(0) - (1.0 + 0.5 + 0.25) / 3.0).abs() < 0.01, "{}", at(0));
    assert!(
        (at(4) - (5.0 + 2.5) / 2.0).abs() < 0.01,
        "e = 4: cohorts 4 and 6 only: {}",
        at(4)
    );
    for row in &dynamic.rows {
        assert!(
            row.band_low <= row.ci_low && row.ci_high <= row.band_high,
            "the uniform band contains the pointwise one"
        );
    }
    // TWFE on the same data is biased by the forbidden comparisons.
    let twfe = estimate(&Panel::new(data).unwrap(), &Spec::default())
        .unwrap()
        .remove(0);
    assert!(
        (twfe.estimates[0].estimate - truth).abs() > 0.3,
        "twfe {} vs truth {truth}",
        twfe.estimates[0].estimate
    );
    // Every cohort's group-time effect is there, pre and post.
    assert_eq!(r.att_gt.len(), 3 * 9);
    assert_eq!(
        r.aggregations.keys().collect::<Vec<_>>(),
        ["calendar", "dynamic", "group", "simple"]
    );
}

#[test]
fn not_yet_treated_controls_and_universal_base_periods() {
    let (data, truth) = staggered(60, 0.01, 2);
    let notyet = cs(
        data.clone(),
        CsSpec {
            control: ControlGroup::NotYet,
            ..CsSpec::default()
        },
    );
    assert!((notyet.aggregations["simple"].estimate - truth).abs() < 0.01);
    let universal = cs(
        data,
        CsSpec {
            base_period: BasePeriod::Universal,
            ..CsSpec::default()
        },
    );
    // The universal base period g-1 appears as a zero row per cohort.
    let zeros = universal
        .att_gt
        .iter()
        .filter(|c| c.time == c.group - 1)
        .count();
    assert_eq!(zeros, 3);
    assert!(universal
        .att_gt
        .iter()
        .filter(|c| c.time == c.group - 1)
        .all(|c| c.estimate == 0.0 && c.se.is_nan()));
    assert_eq!(universal.att_gt.len(), 3 * 10);
}

#[test]
fn designs_cs_cannot_take_are_named() {
    let (mut data, _) = staggered(5, 0.1, 3);
    data.outcomes[0].1[7] = f64::NAN;
    let err = estimate(
        &Panel::new(data).unwrap(),
        &Spec {
            method: Method::Cs,
            ..Spec::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("balanced panel") && err.contains("c0u0"),
        "{err}"
    );
    let (mut data, _) = staggered(5, 0.1, 3);
    if let Treatment::Cohort { values, .. } = &mut data.treatment {
        for v in values.iter_mut() {
            if *v == 0 {
                *v = 9;
            }
        }
    }
    let err = estimate(
        &Panel::new(data.clone()).unwrap(),
        &Spec {
            method: Method::Cs,
            ..Spec::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("no never-treated unit") && err.contains("--control notyet"),
        "{err}"
    );
    let r = cs(
        data,
        CsSpec {
            control: ControlGroup::NotYet,
            ..CsSpec::default()
        },
    );
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("periods from 9 on are dropped")),
        "{:?}",
        r.notes
    );
}

#[test]
fn sun_abraham_recovers_the_same_truth_and_its_event_path() {
    let (data, truth) = staggered(60, 0.01, 4);
    let r = estimate(
        &Panel::new(data.clone()).unwrap(),
        &Spec {
            method: Method::Sunab,
            ..Spec::default()
        },
    )
    .unwrap()
    .remove(0);
    assert_eq!(r.estimates[0].term, "att");
    assert!(
        (r.estimates[0].estimate - truth).abs() < 0.01,
        "sunab {} vs {truth}",
        r.estimates[0].estimate
    );
    let at = |e: i64| {
        r.event_study
            .iter()
            .find(|c| c.rel_time == e)
            .unwrap()
            .estimate
    };
    assert_eq!(at(-1), 0.0, "the reference period");
    assert!((at(0) - (1.0 + 0.5 + 0.25) / 3.0).abs() < 0.01);
    assert!((at(4) - (5.0 + 2.5) / 2.0).abs() < 0.01);
    assert!(r.aggregations.contains_key("att"));
    // Without never-treated units the last cohort is the reference and its periods are dropped.
    let (mut late, _) = staggered(20, 0.01, 5);
    if let Treatment::Cohort { values, .. } = &mut late.treatment {
        values.iter_mut().filter(|v| **v == 0).for_each(|v| *v = 10);
    }
    let r = estimate(
        &Panel::new(late).unwrap(),
        &Spec {
            method: Method::Sunab,
            ..Spec::default()
        },
    )
    .unwrap()
    .remove(0);
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("cohort of 10 is the reference")),
        "{:?}",
        r.notes
    );
}

/// Parallel trends only conditional on a covariate: trends grow with x, and treated units have
/// larger x. Unconditional CS is biased; reg, ipw and dr with the covariate recover the effect.
#[test]
fn covariates_restore_conditional_parallel_trends() {
    use regstat_estimate::CsEstimation;
    let mut rng = SplitMix64::new(9);
    let mut unif = move || uniform(&mut rng);
    let (mut unit, mut time, mut y, mut g_col, mut x_col) =
        (vec![], vec![], vec![], vec![], vec![]);
    for u in 0..600 {
        let x = unif() * 2.0;
        // More likely treated (cohort 5) when x is large; logit in x.
        let treated = unif() < 1.0 / (1.0 + (-(2.0 * x - 2.0)).exp());
        let alpha = unif();
        for t in 1..=8i64 {
            let effect = if treated && t >= 5 { 1.0 } else { 0.0 };
            unit.push(format!("u{u}"));
            time.push(t);
            y.push(alpha + t as f64 * (0.2 + 0.5 * x) + effect + 0.01 * unif());
            g_col.push(if treated { 5 } else { 0 });
            x_col.push(x);
        }
    }
    let data = one_outcome(
        unit,
        time,
        y,
        Treatment::Cohort {
            name: "g".into(),
            values: g_col,
        },
    );
    let plain = cs(data.clone(), CsSpec::default()).aggregations["simple"].estimate;
    assert!(
        (plain - 1.0).abs() > 0.2,
        "unconditional CS is biased here: {plain}"
    );
    let with_x = PanelData {
        covariates: vec![("x".into(), x_col)],
        ..data
    };
    for estimation in [CsEstimation::Reg, CsEstimation::Ipw, CsEstimation::Dr] {
        let r = cs(
            with_x.clone(),
            CsSpec {
                estimation,
                ..CsSpec::default()
            },
        );
        let simple = &r.aggregations["simple"];
        assert!(
            (simple.estimate - 1.0).abs() < 0.05,
            "{estimation:?}: {}",
            simple.estimate
        );
        assert!(
            simple.se > 0.0 && simple.se < 0.1,
            "{estimation:?}: {}",
            simple.se
        );
    }
}
