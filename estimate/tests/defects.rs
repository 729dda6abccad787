//! Regression tests for the defects found by cross-checking against fixest conventions (issue 10):
//! each builds a small panel in the test and fails on the code before its fix.

use regstat_estimate::{
    estimate, fit, BootWeights, BootstrapSpec, DemeanOptions, Design, EstimateError, Factor,
    Labels, Method, Panel, PanelData, Spec, SplitMix64, Treatment, VcovSpec,
};

mod common;
use common::{normal, one_outcome};

/// `units` units over periods 1..=periods; the first `treated` adopt at `adopt`; y has unit and
/// period effects, a true effect of 1 and noise.
fn panel(units: usize, periods: i64, treated: usize, adopt: i64, seed: u64) -> PanelData {
    let mut rng = SplitMix64::new(seed);
    let (mut unit, mut time, mut y, mut d) = (vec![], vec![], vec![], vec![]);
    for u in 0..units {
        let alpha = normal(&mut rng);
        for t in 1..=periods {
            let on = u < treated && t >= adopt;
            unit.push(format!("r{u}"));
            time.push(t);
            d.push(on as u8 as f64);
            y.push(alpha + 0.2 * t as f64 + if on { 1.0 } else { 0.0 } + normal(&mut rng));
        }
    }
    one_outcome(
        unit,
        time,
        y,
        Treatment::Indicator {
            name: "d".into(),
            values: d,
        },
    )
}

fn twfe(data: PanelData) -> regstat_estimate::Report {
    estimate(&Panel::new(data).unwrap(), &Spec::default())
        .unwrap()
        .remove(0)
}

/// 10.1: outcomes in the hundreds of millions (roubles) converge, and scale the estimate exactly.
#[test]
fn large_outcomes_converge_on_an_unbalanced_panel() {
    let mut data = panel(40, 12, 15, 7, 1);
    // Unbalanced: drop a scattering of rows.
    let keep: Vec<bool> = (0..data.unit.len()).map(|i| (i * 7) % 11 != 3).collect();
    let pick = |v: &Vec<f64>| {
        v.iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(x, _)| *x)
            .collect::<Vec<f64>>()
    };
    data.unit = data
        .unit
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(x, _)| x)
        .collect();
    data.time = data
        .time
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(x, _)| *x)
        .collect();
    data.outcomes[0].1 = pick(&data.outcomes[0].1);
    if let Treatment::Indicator { values, .. } = &mut data.treatment {
        *values = pick(values);
    }
    let small = twfe(data.clone());
    let y = data.outcomes[0].1.clone();
    data.outcomes[0].1 = y.iter().map(|v| 5e8 + 3e8 * v).collect();
    let large = twfe(data);
    let (a, b) = (&small.estimates[0], &large.estimates[0]);
    assert!(
        (b.estimate / 3e8 - a.estimate).abs() < 1e-8,
        "{} vs {}",
        b.estimate / 3e8,
        a.estimate
    );
    assert!((b.se / 3e8 - a.se).abs() < 1e-8);
}

/// 10.3: the adoption year comes from the treatment column, even where the outcome is missing.
#[test]
fn a_missing_outcome_in_the_adoption_year_does_not_shift_relative_times() {
    let mut data = panel(12, 8, 6, 5, 2);
    let full = estimate(
        &Panel::new(data.clone()).unwrap(),
        &Spec {
            method: Method::EventStudy,
            ..Spec::default()
        },
    )
    .unwrap()
    .remove(0);
    // Unit r0's outcome goes missing in its adoption year 5.
    let i = (0..data.unit.len())
        .find(|&i| &data.unit[i] == "r0" && data.time[i] == 5)
        .unwrap();
    data.outcomes[0].1[i] = f64::NAN;
    let r = estimate(
        &Panel::new(data.clone()).unwrap(),
        &Spec {
            method: Method::EventStudy,
            ..Spec::default()
        },
    )
    .unwrap()
    .remove(0);
    let rels: Vec<i64> = r.event_study.iter().map(|e| e.rel_time).collect();
    let full_rels: Vec<i64> = full.event_study.iter().map(|e| e.rel_time).collect();
    assert_eq!(rels, full_rels);
    assert_eq!(r.n_obs, 95);
    // The same as an event study whose dummies are built from the adoption year by hand.
    let rows: Vec<usize> = (0..data.unit.len()).filter(|&k| k != i).collect();
    let rel = |k: usize| {
        (data.unit[k]
            .trim_start_matches('r')
            .parse::<usize>()
            .unwrap()
            < 6)
        .then(|| data.time[k] - 5)
    };
    let mut regressors = vec![];
    for r in (-4..=3).filter(|r| *r != -1) {
        regressors.push((
            format!("rel_time::{r}"),
            rows.iter()
                .map(|&k| (rel(k) == Some(r)) as u8 as f64)
                .collect(),
        ));
    }
    let units: Vec<&str> = rows.iter().map(|&k| &data.unit[k]).collect();
    let design = Design {
        outcomes: vec![(
            "y".into(),
            rows.iter().map(|&k| data.outcomes[0].1[k]).collect(),
        )],
        regressors,
        fixed_effects: vec![
            Factor::from_labels("unit", &units),
            Factor::from_labels(
                "time",
                &rows.iter().map(|&k| data.time[k]).collect::<Vec<_>>(),
            ),
        ],
        ..Design::default()
    };
    let by_hand = fit(
        &design,
        &VcovSpec::Cluster(vec![Factor::from_labels("unit", &units)]),
        DemeanOptions::default(),
    )
    .unwrap();
    let at0 = r.event_study.iter().find(|e| e.rel_time == 0).unwrap();
    let k0 = by_hand.outcomes[0].index("rel_time::0").unwrap();
    assert!((at0.estimate - by_hand.outcomes[0].coef[k0]).abs() < 1e-10);
}

/// 10.4: with as many leads as clusters the leads' covariance is singular; the pre-trend test
/// runs on its rank and says so, instead of an F of 1e12.
#[test]
fn pretrend_with_as_many_leads_as_clusters_uses_the_rank() {
    let data = panel(5, 12, 2, 9, 3);
    let r = estimate(
        &Panel::new(data).unwrap(),
        &Spec {
            method: Method::EventStudy,
            ..Spec::default()
        },
    )
    .unwrap()
    .remove(0);
    let w = r.pretrend.unwrap();
    assert_eq!(w.tested, 7);
    assert!(w.df1 <= 4, "rank at most G - 1 = 4: {w:?}");
    assert!(w.stat.is_finite() && w.stat >= 0.0 && w.stat < 1e6, "{w:?}");
    assert!(
        r.notes.iter().any(|n| n.contains("pseudo-inverse")),
        "{:?}",
        r.notes
    );
}

/// 10.5: the TWFE wild cluster restricted bootstrap equals exact enumeration of all 2^G sign
/// patterns with the unit and time effects as dummies, refitted each time.
#[test]
fn twfe_wild_bootstrap_equals_enumeration_with_explicit_dummies() {
    for seed in [4, 5, 6] {
        let data = panel(6, 5, 3, 3, seed);
        let spec = Spec {
            bootstrap: Some(BootstrapSpec {
                weights: BootWeights::Rademacher,
                reps: 999,
                seed: 1,
                alpha: 0.05,
            }),
            ..Spec::default()
        };
        let r = estimate(&Panel::new(data.clone()).unwrap(), &spec)
            .unwrap()
            .remove(0);
        let boot = r.bootstrap.unwrap();
        assert!(boot.enumerated && boot.reps == 64);

        // By brute force: the model with dummies, no fixed effects.
        let n = data.unit.len();
        let Treatment::Indicator { values: d, .. } = &data.treatment else {
            unreachable!()
        };
        let mut dummies = vec![];
        for u in 1..6 {
            dummies.push((
                format!("u{u}"),
                (0..n)
                    .map(|i| (data.unit[i] == format!("r{u}")) as u8 as f64)
                    .collect::<Vec<f64>>(),
            ));
        }
        for t in 2..=5 {
            dummies.push((
                format!("t{t}"),
                (0..n).map(|i| (data.time[i] == t) as u8 as f64).collect(),
            ));
        }
        let mut full = vec![("d".to_string(), d.clone())];
        full.extend(dummies.clone());
        let clusters = VcovSpec::Cluster(vec![Factor::from_labels(
            "unit",
            &data.unit.iter().collect::<Vec<_>>(),
        )]);
        let y = data.outcomes[0].1.clone();
        let design = |y: Vec<f64>, regressors: Vec<(String, Vec<f64>)>| Design {
            outcomes: vec![("y".into(), y)],
            regressors,
            intercept: true,
            ..Design::default()
        };
        let observed = fit(
            &design(y.clone(), full.clone()),
            &clusters,
            DemeanOptions::default(),
        )
        .unwrap();
        let t_obs = observed.outcomes[0].coefficients[0].t.abs();
        assert!((observed.outcomes[0].coef[0] - r.estimates[0].estimate).abs() < 1e-10);
        let restricted = fit(
            &design(y.clone(), dummies.clone()),
            &VcovSpec::Iid,
            DemeanOptions::default(),
        )
        .unwrap();
        let u = &restricted.outcomes[0].residuals;
        let unit = Factor::from_labels("unit", &data.unit.iter().collect::<Vec<_>>());
        let mut extreme = 0;
        for pattern in 0..64usize {
            let ystar: Vec<f64> = (0..n)
                .map(|i| {
                    let s = if (pattern >> unit.codes[i]) & 1 == 1 {
                        -1.0
                    } else {
                        1.0
                    };
                    y[i] - u[i] + s * u[i]
                })
                .collect();
            let refit = fit(
                &design(ystar, full.clone()),
                &clusters,
                DemeanOptions::default(),
            )
            .unwrap();
            if refit.outcomes[0].coefficients[0].t.abs() >= t_obs * (1.0 - 1e-12) {
                extreme += 1;
            }
        }
        assert_eq!(boot.p, extreme as f64 / 64.0, "seed {seed}");
    }
}

/// 10.9: a treatment that is not 0/1, a cohort that varies within a unit and repeated unit-period
/// rows are errors naming the column, the unit and the values.
#[test]
fn bad_treatments_cohorts_and_duplicates_are_named() {
    for bad in [2.0, 0.5] {
        let mut data = panel(6, 4, 3, 3, 7);
        if let Treatment::Indicator { values, .. } = &mut data.treatment {
            values[2] = bad;
        }
        let err = Panel::new(data).unwrap_err();
        assert_eq!(
            err,
            EstimateError::BadTreatment {
                column: "d".into(),
                unit: "r0".into(),
                time: 3,
                value: bad
            }
        );
        assert!(err.to_string().contains("must be 0 or 1"), "{err}");
    }
    let mut data = panel(6, 4, 3, 3, 7);
    data.treatment = Treatment::Cohort {
        name: "g".into(),
        values: (0..24).map(|i| if i < 12 { 3 } else { 0 }).collect(),
    };
    if let Treatment::Cohort { values, .. } = &mut data.treatment {
        values[1] = 4;
    }
    let err = Panel::new(data).unwrap_err();
    assert!(
        matches!(&err, EstimateError::CohortVaries { unit, first, second, .. } if unit == "r0" && first == "3" && second == "4"),
        "{err}"
    );
    let mut data = panel(6, 4, 3, 3, 7);
    data.time[1] = 1;
    let err = Panel::new(data).unwrap_err();
    assert_eq!(
        err,
        EstimateError::DuplicateRow {
            unit: "r0".into(),
            time: 1
        }
    );
}

/// 10.10: each outcome is estimated on its own complete rows: adding an outcome with missing values
/// leaves another outcome's estimate as it was alone.
#[test]
fn each_outcome_uses_its_own_complete_rows() {
    let data = panel(20, 8, 10, 5, 8);
    let alone = twfe(data.clone());
    let mut both = data.clone();
    let mut z = data.outcomes[0]
        .1
        .iter()
        .map(|v| v * 2.0 + 1.0)
        .collect::<Vec<f64>>();
    for k in (0..z.len()).step_by(9) {
        z[k] = f64::NAN;
    }
    both.outcomes.push(("z".into(), z));
    let reports = estimate(&Panel::new(both).unwrap(), &Spec::default()).unwrap();
    assert_eq!(reports[0].n_obs, 160);
    assert_eq!(reports[0].estimates[0], alone.estimates[0]);
    assert_eq!(reports[1].n_obs, 160 - 18);
    assert!(
        reports[1].notes[0].contains("18 of 160 rows left out"),
        "{:?}",
        reports[1].notes
    );
}

/// 10.11: TWFE estimates on the treatment column as given (feols(y ~ d | unit + time)), also when it
/// switches off; designs built on adoption refuse a treatment that switches off.
#[test]
fn twfe_reads_the_treatment_as_given_and_adoption_designs_refuse_switching_off() {
    let mut data = panel(10, 8, 5, 3, 9);
    if let Treatment::Indicator { values, .. } = &mut data.treatment {
        // Unit r0 stops being treated in periods 7 and 8.
        values[6] = 0.0;
        values[7] = 0.0;
    }
    let r = twfe(data.clone());
    let Treatment::Indicator { values: d, .. } = &data.treatment else {
        unreachable!()
    };
    let design = Design {
        outcomes: vec![("y".into(), data.outcomes[0].1.clone())],
        regressors: vec![("d".into(), d.clone())],
        fixed_effects: vec![
            Factor::from_labels("unit", &data.unit.iter().collect::<Vec<_>>()),
            Factor::from_labels("time", &data.time),
        ],
        ..Design::default()
    };
    let feols = fit(
        &design,
        &VcovSpec::Cluster(vec![Factor::from_labels(
            "unit",
            &data.unit.iter().collect::<Vec<_>>(),
        )]),
        DemeanOptions::default(),
    )
    .unwrap();
    assert!((r.estimates[0].estimate - feols.outcomes[0].coef[0]).abs() < 1e-12);
    for method in [Method::EventStudy, Method::Did2x2] {
        let err = estimate(
            &Panel::new(data.clone()).unwrap(),
            &Spec {
                method,
                ..Spec::default()
            },
        )
        .unwrap_err();
        assert!(
            matches!(&err, EstimateError::TreatmentSwitchesOff { unit, on: 3, off: 7, .. } if unit == "r0"),
            "{err}"
        );
    }
}

/// 10.13: a covariate collinear with the fixed effects is removed with a note, not a failed fit;
/// `Collinear::Error` refuses it by name.
#[test]
fn a_covariate_collinear_with_the_effects_is_dropped() {
    let mut data = panel(10, 6, 5, 4, 10);
    let n = data.unit.len();
    data.covariates.push((
        "size".into(),
        (0..n).map(|i| (i / 6) as f64 * 1.5).collect(),
    ));
    data.covariates
        .push(("x".into(), (0..n).map(|i| ((i * 37) % 13) as f64).collect()));
    let r = twfe(data.clone());
    assert_eq!(r.dropped, vec!["size".to_string()]);
    assert!(r.estimates.iter().all(|c| c.term != "size"));
    assert!(r.notes.iter().any(|n| n.contains("size")));
    let err = estimate(
        &Panel::new(data).unwrap(),
        &Spec {
            collinear: regstat_estimate::Collinear::Error,
            ..Spec::default()
        },
    )
    .unwrap_err();
    assert_eq!(err, EstimateError::Collinear(vec!["size".into()]));
}

/// 10.14: the library validates before it indexes: columns of different lengths and out-of-range
/// draws are errors, never panics.
#[test]
fn panels_and_specs_are_validated_before_use() {
    let mut data = panel(4, 3, 2, 2, 11);
    data.outcomes[0].1.pop();
    assert_eq!(
        Panel::new(data).unwrap_err(),
        EstimateError::Dimensions {
            column: "y".into(),
            expected: 12,
            found: 11
        }
    );
    let mut data = panel(4, 3, 2, 2, 11);
    data.cluster
        .push(("state".into(), vec!["a"; 5].into_iter().collect()));
    assert!(matches!(
        Panel::new(data).unwrap_err(),
        EstimateError::Dimensions { .. }
    ));
    let mut data = panel(4, 3, 2, 2, 11);
    data.unit = Labels::default();
    data.time.clear();
    data.outcomes[0].1.clear();
    data.treatment = Treatment::Indicator {
        name: "d".into(),
        values: vec![],
    };
    assert_eq!(Panel::new(data).unwrap_err(), EstimateError::NoRows);
    let ok = Panel::new(panel(4, 3, 2, 2, 11)).unwrap();
    for reps in [10, 50_000_000] {
        let spec = Spec {
            bootstrap: Some(BootstrapSpec {
                weights: BootWeights::Webb,
                reps,
                seed: 1,
                alpha: 0.05,
            }),
            ..Spec::default()
        };
        let err = estimate(&ok, &spec).unwrap_err();
        assert!(err.to_string().starts_with("reps:"), "{err}");
    }
}

/// A treatment that does not vary within units and periods (every unit always or never treated)
/// says that the treatment is collinear, not a generic collinearity list.
#[test]
fn a_treatment_absorbed_by_the_effects_is_named() {
    let mut data = panel(6, 4, 3, 1, 12);
    if let Treatment::Indicator { values, .. } = &mut data.treatment {
        for (i, v) in values.iter_mut().enumerate() {
            *v = (i < 12) as u8 as f64;
        }
    }
    let err = estimate(&Panel::new(data).unwrap(), &Spec::default()).unwrap_err();
    assert_eq!(err, EstimateError::TreatmentCollinear("d".into()));
}
