//! Every estimator on simulated panels with known effects, and the panel API on base_did.

use regstat_estimate::{
    estimate, fit, BootWeights, BootstrapSpec, DemeanOptions, Design, Factor, Method, Panel,
    PanelData, Spec, SplitMix64, Treatment, VcovSpec,
};

mod common;
use common::{normal, one_outcome};

/// Units 0..n_units, periods 1..=t; units with index < treated adopt at `adopt` (staggered by
/// `stagger` periods per unit group when asked); y = unit + time effects + effect(rel) + noise.
fn simulate(
    n_units: usize,
    t: i64,
    treated: usize,
    adopt: i64,
    effect: impl Fn(i64) -> f64,
    noise: f64,
    seed: u64,
) -> PanelData {
    let mut rng = SplitMix64::new(seed);
    let mut normal = move || normal(&mut rng);
    let (mut unit, mut time, mut y, mut cohort) = (vec![], vec![], vec![], vec![]);
    for u in 0..n_units {
        let alpha = normal();
        let adoption = (u < treated).then_some(adopt);
        for p in 1..=t {
            let rel = adoption.map(|a| p - a);
            let te = rel.map_or(0.0, &effect);
            unit.push(format!("u{u}"));
            time.push(p);
            y.push(alpha + 0.3 * p as f64 + te + noise * normal());
            cohort.push(adoption.unwrap_or(0));
        }
    }
    one_outcome(
        unit,
        time,
        y,
        Treatment::Cohort {
            name: "g".into(),
            values: cohort,
        },
    )
}

#[test]
fn twfe_recovers_a_constant_effect() {
    let panel = simulate(200, 10, 100, 6, |r| if r >= 0 { 2.0 } else { 0.0 }, 1.0, 11);
    let r = &estimate(&Panel::new(panel.clone()).unwrap(), &Spec::default()).unwrap()[0];
    let c = &r.estimates[0];
    assert_eq!(c.term, "g");
    assert!((c.estimate - 2.0).abs() < 4.0 * c.se, "{c:?}");
    assert!(c.se < 0.15 && c.p < 1e-10);
    assert_eq!((r.n_obs, r.n_units, r.n_clusters), (2000, 200, Some(200)));
    assert_eq!(r.vcov, "CR1 clustered by unit");
}

#[test]
fn event_study_recovers_dynamics_and_a_clean_pretrend() {
    let effect = |r: i64| if r >= 0 { 1.0 + 0.5 * r as f64 } else { 0.0 };
    let panel = simulate(300, 10, 150, 6, effect, 0.5, 5);
    let spec = Spec {
        method: Method::EventStudy,
        ..Spec::default()
    };
    let r = &estimate(&Panel::new(panel.clone()).unwrap(), &spec).unwrap()[0];
    assert_eq!(r.event_study.len(), 10, "rel -5..4 including the reference");
    for e in &r.event_study {
        let truth = effect(e.rel_time);
        assert!(
            (e.estimate - truth).abs() < 4.0 * e.se.max(1e-9),
            "{e:?} vs {truth}"
        );
    }
    let reference = r.event_study.iter().find(|e| e.rel_time == -1).unwrap();
    assert_eq!(reference.estimate, 0.0);
    let pre = r.pretrend.as_ref().unwrap();
    assert_eq!((pre.df1, pre.tested), (4, 4));
    assert!(pre.p > 0.001, "no pre-trend was simulated: {pre:?}");

    // With a pre-trend the joint test rejects.
    let trending = simulate(300, 10, 150, 6, |r| 0.4 * r as f64, 0.5, 5);
    let r = &estimate(&Panel::new(trending).unwrap(), &spec).unwrap()[0];
    assert!(r.pretrend.as_ref().unwrap().p < 1e-6);
}

#[test]
fn event_study_bins_far_leads_and_lags() {
    let panel = simulate(100, 10, 50, 6, |r| if r >= 0 { 1.0 } else { 0.0 }, 0.5, 9);
    let spec = Spec {
        method: Method::EventStudy,
        window: Some((-3, 2)),
        ..Spec::default()
    };
    let r = &estimate(&Panel::new(panel.clone()).unwrap(), &spec).unwrap()[0];
    let rels: Vec<i64> = r.event_study.iter().map(|e| e.rel_time).collect();
    assert_eq!(rels, [-3, -2, -1, 0, 1, 2]);
}

#[test]
fn did2x2_and_bootstrap_on_few_clusters() {
    // 10 clusters (units), common adoption: the 2x2 and a wild bootstrap enumerating 2^10 patterns.
    let panel = simulate(10, 4, 5, 3, |r| if r >= 0 { 3.0 } else { 0.0 }, 0.3, 21);
    let spec = Spec {
        method: Method::Did2x2,
        bootstrap: Some(BootstrapSpec {
            weights: BootWeights::Rademacher,
            reps: 9999,
            seed: 1,
            alpha: 0.05,
        }),
        ..Spec::default()
    };
    let r = &estimate(&Panel::new(panel.clone()).unwrap(), &spec).unwrap()[0];
    let c = &r.estimates[0];
    assert!((c.estimate - 3.0).abs() < 0.5, "{c:?}");
    let b = r.bootstrap.as_ref().unwrap();
    assert!(b.enumerated && b.reps == 1024, "{b:?}");
    // 2 of 1024 patterns (v and -v of the observed split) are as extreme as the data when the effect
    // dominates: the smallest p-value enumeration can give.
    assert!(b.p <= 0.01, "{b:?}");
    assert!(b.ci_low < c.estimate && c.estimate < b.ci_high);
    let null = simulate(10, 4, 5, 3, |_| 0.0, 1.0, 22);
    let r = &estimate(&Panel::new(null).unwrap(), &spec).unwrap()[0];
    assert!(r.bootstrap.as_ref().unwrap().p > 0.05, "{:?}", r.bootstrap);
}

#[test]
fn did2x2_is_the_study_ols_with_its_cells() {
    let panel = simulate(40, 2, 20, 2, |r| if r >= 0 { 1.5 } else { 0.0 }, 0.2, 3);
    let spec = Spec {
        method: Method::Did2x2,
        ..Spec::default()
    };
    let r = &estimate(&Panel::new(panel.clone()).unwrap(), &spec).unwrap()[0];
    let terms: Vec<&str> = r.estimates.iter().map(|c| c.term.as_str()).collect();
    assert_eq!(terms, ["treated_x_post", "treated", "post", "(Intercept)"]);
    assert_eq!(
        r.vcov, "CR1 clustered by unit",
        "20 treated and 20 control units"
    );
    let cells = r.did2x2.as_ref().unwrap();
    assert_eq!(
        (cells.n_treated, cells.n_control, cells.adoption),
        (20, 20, 2)
    );
    let by_means =
        (cells.treated_post - cells.treated_pre) - (cells.control_post - cells.control_pre);
    assert!((r.estimates[0].estimate - by_means).abs() < 1e-12);
    let with_fe = &estimate(&Panel::new(panel.clone()).unwrap(), &Spec::default()).unwrap()[0];
    // On a balanced two-period panel the 2x2 equals the TWFE.
    assert!((r.estimates[0].estimate - with_fe.estimates[0].estimate).abs() < 1e-9);
}

#[test]
fn staggered_cohorts_are_refused_by_the_2x2() {
    let mut panel = simulate(20, 6, 10, 3, |_| 0.0, 1.0, 1);
    if let Treatment::Cohort { values, .. } = &mut panel.treatment {
        for v in values.iter_mut().take(6) {
            *v = 4;
        }
    }
    let err = estimate(
        &Panel::new(panel).unwrap(),
        &Spec {
            method: Method::Did2x2,
            ..Spec::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("common adoption"), "{err}");
}

#[test]
fn integer_weights_equal_replicated_rows() {
    let panel = simulate(30, 6, 15, 4, |r| if r >= 0 { 1.0 } else { 0.0 }, 1.0, 8);
    let w: Vec<f64> = (0..panel.unit.len()).map(|i| (1 + i % 3) as f64).collect();
    let weighted = PanelData {
        weights: Some(("w".into(), w.clone())),
        ..panel.clone()
    };
    let a = &estimate(&Panel::new(weighted).unwrap(), &Spec::default()).unwrap()[0].estimates[0];
    // The same regression with every row repeated weight times (a panel refuses repeated rows, so
    // the replicated data go to the regression core directly).
    let Treatment::Cohort { values, .. } = &panel.treatment else {
        unreachable!()
    };
    let (mut unit, mut time, mut y, mut d) = (vec![], vec![], vec![], vec![]);
    for i in 0..panel.unit.len() {
        for _ in 0..w[i] as usize {
            unit.push(panel.unit[i].to_string());
            time.push(panel.time[i]);
            y.push(panel.outcomes[0].1[i]);
            d.push((values[i] != 0 && panel.time[i] >= values[i]) as u8 as f64);
        }
    }
    let design = Design {
        outcomes: vec![("y".into(), y)],
        regressors: vec![("g".into(), d)],
        fixed_effects: vec![
            Factor::from_labels("unit", &unit),
            Factor::from_labels("time", &time),
        ],
        ..Design::default()
    };
    let b = &fit(&design, &VcovSpec::Iid, DemeanOptions::default())
        .unwrap()
        .outcomes[0]
        .coefficients[0];
    assert!(
        (a.estimate - b.estimate).abs() < 1e-9,
        "{} vs {}",
        a.estimate,
        b.estimate
    );
}
