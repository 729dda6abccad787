//! Synthetic control and synthetic DiD through `estimate`, on panels built here: the single treated
//! region of the product's question, and the errors a user meets.

use regstat_estimate::{
    estimate, Method, Panel, PanelData, Spec, SplitMix64, SynthSe, SynthSpec, Treatment,
};

mod common;
use common::{one_outcome, uniform};

/// Donors follow two common factors with their own loadings; the treated unit is a mix of three
/// donors plus a level, and gains `effect` from period `adopt` on.
fn factor_panel(donors: usize, periods: i64, adopt: i64, effect: f64, seed: u64) -> PanelData {
    let mut rng = SplitMix64::new(seed);
    let mut unif = move || uniform(&mut rng) - 0.5;
    let loads: Vec<(f64, f64, f64)> = (0..donors)
        .map(|_| (unif() * 4.0, unif() * 2.0, unif() * 2.0))
        .collect();
    let factor = |t: i64| ((t as f64 * 0.5).sin(), t as f64 / 10.0);
    let (mut unit, mut time, mut y, mut d) = (vec![], vec![], vec![], vec![]);
    for t in 1..=periods {
        let (f1, f2) = factor(t);
        let mut values = Vec::new();
        for (u, (a, l1, l2)) in loads.iter().enumerate() {
            let v = a + l1 * f1 + l2 * f2 + 0.05 * unif();
            values.push(v);
            unit.push(format!("d{u:02}"));
            time.push(t);
            y.push(v);
            d.push(0.0);
        }
        unit.push("lipetsk".into());
        time.push(t);
        let on = t >= adopt;
        // Inside the donors' convex hull (no level shift), where SC, which has no intercept, can fit it.
        y.push(
            0.4 * values[0] + 0.35 * values[1] + 0.25 * values[2] + if on { effect } else { 0.0 },
        );
        d.push(on as u8 as f64);
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

fn run(
    data: PanelData,
    method: Method,
) -> Result<regstat_estimate::Report, regstat_estimate::EstimateError> {
    estimate(
        &Panel::new(data).unwrap(),
        &Spec {
            method,
            ..Spec::default()
        },
    )
    .map(|mut r| r.remove(0))
}

#[test]
fn sdid_and_sc_recover_the_effect_of_one_treated_region() {
    for method in [Method::Sdid, Method::Sc] {
        let r = run(factor_panel(12, 20, 14, 2.0, 1), method).unwrap();
        let att = &r.estimates[0];
        assert_eq!(att.term, "att");
        assert!(
            (att.estimate - 2.0).abs() < 0.25,
            "{method:?}: {}",
            att.estimate
        );
        assert!(att.se > 0.0 && att.se.is_finite(), "{att:?}");
        let w = r.weights.as_ref().unwrap();
        assert_eq!(w.units.len(), 12);
        assert!((w.units.iter().map(|u| u.weight).sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(w.units.iter().all(|u| u.weight >= 0.0));
        assert_eq!(w.times.len(), 13);
        assert_eq!(r.path.len(), 20);
        let post: Vec<f64> = r.path.iter().filter(|p| p.post).map(|p| p.effect).collect();
        assert!((post.iter().sum::<f64>() / post.len() as f64 - att.estimate).abs() < 1e-9);
        if method == Method::Sc {
            let placebo = r.synth_placebo.as_ref().unwrap();
            assert_eq!(placebo.donors.len(), 12);
            assert!(placebo.p_value <= 2.0 / 13.0, "{placebo:?}");
        }
        assert!(r.notes.iter().any(|n| n.contains("one treated unit")));
    }
}

#[test]
fn jackknife_with_one_treated_unit_says_it_is_undefined() {
    let spec = Spec {
        method: Method::Sdid,
        synth: SynthSpec {
            se: SynthSe::Jackknife,
            ..SynthSpec::default()
        },
        ..Spec::default()
    };
    let r = estimate(&Panel::new(factor_panel(8, 12, 9, 1.0, 2)).unwrap(), &spec)
        .unwrap()
        .remove(0);
    assert!(r.estimates[0].se.is_nan());
    assert!(
        r.notes.iter().any(|n| n.contains("undefined")),
        "{:?}",
        r.notes
    );
}

#[test]
fn designs_synthetic_methods_cannot_take_are_named() {
    // Staggered adoption.
    let mut data = factor_panel(8, 12, 9, 1.0, 3);
    let n = data.unit.len();
    for i in 0..n {
        if &data.unit[i] == "d00" && data.time[i] >= 6 {
            if let Treatment::Indicator { values, .. } = &mut data.treatment {
                values[i] = 1.0;
            }
        }
    }
    let err = run(data, Method::Sdid).unwrap_err().to_string();
    assert!(
        err.contains("block design") && err.contains("6, 9"),
        "{err}"
    );
    // Unbalanced.
    let mut data = factor_panel(8, 12, 9, 1.0, 3);
    let i = data.unit.iter().position(|u| u == "d03").unwrap();
    data.outcomes[0].1[i] = f64::NAN;
    let err = run(data, Method::Sc).unwrap_err().to_string();
    assert!(
        err.contains("balanced panel") && err.contains("d03"),
        "{err}"
    );
    // One donor.
    let mut data = factor_panel(3, 12, 9, 1.0, 3);
    let keep: Vec<bool> = data.unit.iter().map(|u| u != "d00" && u != "d01").collect();
    let pick = |v: &[f64]| {
        v.iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(x, _)| *x)
            .collect::<Vec<f64>>()
    };
    data.time = data
        .time
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(x, _)| *x)
        .collect();
    data.unit = data
        .unit
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(x, _)| x)
        .collect();
    data.outcomes[0].1 = pick(&data.outcomes[0].1);
    if let Treatment::Indicator { values, .. } = &mut data.treatment {
        *values = pick(values);
    }
    let err = run(data, Method::Sdid).unwrap_err().to_string();
    assert!(err.contains("donor pool of at least 2"), "{err}");
    // No pre-period.
    let err = run(factor_panel(6, 8, 1, 1.0, 4), Method::Sdid)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no pre-treatment period"), "{err}");
}
