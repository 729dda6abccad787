//! The 2x2 difference-in-differences of the Lipetsk study (Charykova & Markova 2019, eq. 7):
//! d = (treated after - treated before) - (control after - control before), on logs by default.

use std::collections::BTreeSet;

use crate::demean::DemeanOptions;
use crate::error::EstimateError;
use crate::factor::Factor;
use crate::fit::{fit, Design, VcovSpec};
use crate::Coefficient;

/// One yearly figure of one region.
#[derive(Debug, Clone, PartialEq)]
pub struct PanelObs {
    pub unit: String,
    pub year: i32,
    pub value: f64,
}

#[derive(Debug, Clone)]
pub struct Did2x2Input<'a> {
    pub panel: &'a [PanelObs],
    pub treated: &'a [String],
    /// Years of the "before" cell; observations in neither list are not used.
    pub pre_years: &'a [i32],
    pub post_years: &'a [i32],
    pub log_outcome: bool,
}

/// Placebo-in-space inference: the same estimator with each control region pretending to be treated.
/// With one treated region, the rank of the real effect among the placebos is the honest p-value.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Placebo {
    pub effects: Vec<(String, f64)>,
    /// (1 + #{|placebo| >= |effect|}) / (1 + #placebos).
    pub p_value: f64,
    pub sd: f64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Did2x2 {
    /// The interaction coefficient from the regression y = a + b*treated + c*post + d*treated*post.
    pub effect: Coefficient,
    /// Cell means: treated before/after, control before/after (on the log scale when logged).
    pub treated_pre: f64,
    pub treated_post: f64,
    pub control_pre: f64,
    pub control_post: f64,
    /// 100 * (exp(d) - 1) when the outcome is logged.
    pub effect_percent: Option<f64>,
    pub n_obs: usize,
    pub n_treated: usize,
    pub n_control: usize,
    /// How the standard error was computed.
    pub vcov: String,
    pub placebo: Option<Placebo>,
}

struct Row {
    unit: usize,
    treated: bool,
    post: bool,
    y: f64,
}

pub fn did2x2(input: &Did2x2Input<'_>) -> Result<Did2x2, EstimateError> {
    let units: Vec<&str> = input
        .panel
        .iter()
        .map(|o| o.unit.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut rows = Vec::new();
    for o in input.panel {
        let post = input.post_years.contains(&o.year);
        if !post && !input.pre_years.contains(&o.year) {
            continue;
        }
        let y = if input.log_outcome {
            if o.value <= 0.0 {
                return Err(EstimateError::NonPositiveForLog(
                    o.value,
                    o.unit.clone(),
                    o.year,
                ));
            }
            o.value.ln()
        } else {
            o.value
        };
        let unit = units.binary_search(&o.unit.as_str()).expect("unit listed");
        rows.push(Row {
            unit,
            treated: input.treated.contains(&o.unit),
            post,
            y,
        });
    }
    let means = cell_means(&rows)?;
    let effect_by_means = (means[3] - means[2]) - (means[1] - means[0]);

    let n = rows.len();
    let column = |f: &dyn Fn(&Row) -> f64| rows.iter().map(f).collect::<Vec<f64>>();
    let treated_units: BTreeSet<usize> =
        rows.iter().filter(|r| r.treated).map(|r| r.unit).collect();
    let control_units: BTreeSet<usize> =
        rows.iter().filter(|r| !r.treated).map(|r| r.unit).collect();
    // Clustering by region is only meaningful with several regions on both sides; with a single
    // treated region the classical variance is reported (as the study did) beside the placebo test.
    let (vcov, vcov_name) = if treated_units.len() >= 2 && control_units.len() >= 2 {
        let regions: Vec<usize> = rows.iter().map(|r| r.unit).collect();
        (
            VcovSpec::Cluster(vec![Factor::from_labels("region", &regions)]),
            "CR1 clustered by region",
        )
    } else {
        (VcovSpec::Iid, "iid (classical OLS)")
    };
    // y = a + b*treated + c*post + d*treated*post: the same regression core as every other estimator.
    let design = Design {
        outcomes: vec![("y".into(), column(&|r| r.y))],
        regressors: vec![
            ("treated".into(), column(&|r| r.treated as u8 as f64)),
            ("post".into(), column(&|r| r.post as u8 as f64)),
            (
                "treated_x_post".into(),
                column(&|r| (r.treated && r.post) as u8 as f64),
            ),
        ],
        intercept: true,
        ..Design::default()
    };
    let fitted = fit(&design, &vcov, DemeanOptions::default())?;
    let d = &fitted.outcomes[0].coefficients[2];
    debug_assert!((d.estimate - effect_by_means).abs() < 1e-8 * (1.0 + effect_by_means.abs()));
    let effect = d.clone();

    let placebo = (!control_units.is_empty() && input.treated.len() == treated_units.len())
        .then(|| placebo(&rows, &control_units, effect.estimate));
    Ok(Did2x2 {
        effect_percent: input
            .log_outcome
            .then(|| 100.0 * (effect.estimate.exp() - 1.0)),
        effect,
        control_pre: means[0],
        control_post: means[1],
        treated_pre: means[2],
        treated_post: means[3],
        n_obs: n,
        n_treated: treated_units.len(),
        n_control: control_units.len(),
        vcov: vcov_name.to_string(),
        placebo: placebo.flatten(),
    })
}

/// Means of control-pre, control-post, treated-pre, treated-post.
fn cell_means(rows: &[Row]) -> Result<[f64; 4], EstimateError> {
    let mut sums = [0.0; 4];
    let mut counts = [0usize; 4];
    for r in rows {
        let i = (r.treated as usize) * 2 + r.post as usize;
        sums[i] += r.y;
        counts[i] += 1;
    }
    let names = [
        "control before",
        "control after",
        "treated before",
        "treated after",
    ];
    let mut means = [0.0; 4];
    for i in 0..4 {
        if counts[i] == 0 {
            return Err(EstimateError::EmptyCell(names[i]));
        }
        means[i] = sums[i] / counts[i] as f64;
    }
    Ok(means)
}

fn placebo(rows: &[Row], controls: &BTreeSet<usize>, actual: f64) -> Option<Placebo> {
    if controls.len() < 2 {
        return None;
    }
    let mut effects = Vec::new();
    for &pretend in controls {
        let placebo_rows: Vec<Row> = rows
            .iter()
            .filter(|r| !r.treated)
            .map(|r| Row {
                unit: r.unit,
                treated: r.unit == pretend,
                post: r.post,
                y: r.y,
            })
            .collect();
        if let Ok(m) = cell_means(&placebo_rows) {
            effects.push((pretend, (m[3] - m[2]) - (m[1] - m[0])));
        }
    }
    let k = effects.len() as f64;
    let extreme = effects
        .iter()
        .filter(|(_, e)| e.abs() >= actual.abs() - 1e-12)
        .count() as f64;
    let mean = effects.iter().map(|(_, e)| e).sum::<f64>() / k;
    let sd = (effects.iter().map(|(_, e)| (e - mean).powi(2)).sum::<f64>() / (k - 1.0)).sqrt();
    Some(Placebo {
        effects: effects
            .into_iter()
            .map(|(u, e)| (u.to_string(), e))
            .collect(),
        p_value: (1.0 + extreme) / (1.0 + k),
        sd,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(unit: &str, year: i32, value: f64) -> PanelObs {
        PanelObs {
            unit: unit.into(),
            year,
            value,
        }
    }

    #[test]
    fn equals_the_difference_of_cell_means() {
        // Treated grows by 30 more than controls: (160-100) - ((95+85)/2 - (60+40)/2) = 60 - 40 = 20.
        let panel = [
            obs("T", 2005, 100.0),
            obs("T", 2016, 160.0),
            obs("A", 2005, 60.0),
            obs("A", 2016, 95.0),
            obs("B", 2005, 40.0),
            obs("B", 2016, 85.0),
            obs("C", 2005, 50.0),
            obs("C", 2016, 90.0),
        ];
        let treated = ["T".to_string()];
        let r = did2x2(&Did2x2Input {
            panel: &panel,
            treated: &treated,
            pre_years: &[2005],
            post_years: &[2016],
            log_outcome: false,
        })
        .unwrap();
        let expected = (160.0 - 100.0) - ((95.0 + 85.0 + 90.0) / 3.0 - (60.0 + 40.0 + 50.0) / 3.0);
        assert!((r.effect.estimate - expected).abs() < 1e-9, "{r:?}");
        assert_eq!((r.n_treated, r.n_control, r.n_obs), (1, 3, 8));
        assert_eq!(r.vcov, "iid (classical OLS)");
        let p = r.placebo.unwrap();
        assert_eq!(p.effects.len(), 3);
        // Placebo for A: (95-60) - ((85+90)/2 - (40+50)/2) = 35 - 42.5 = -7.5.
        assert!((p.effects[0].1 + 7.5).abs() < 1e-9);
        assert_eq!(
            p.p_value, 0.25,
            "the real effect is the most extreme of four"
        );
    }

    #[test]
    fn recovers_a_simulated_effect_with_clustered_errors() {
        // 20 treated and 20 control regions, 4 years each side, true effect 0.3 on logs, region and
        // year effects, small deterministic noise.
        let mut panel = Vec::new();
        let mut treated = Vec::new();
        for u in 0..40 {
            let unit = format!("R{u:02}");
            let is_treated = u < 20;
            if is_treated {
                treated.push(unit.clone());
            }
            for (k, year) in [2001, 2002, 2003, 2004, 2013, 2014, 2015, 2016]
                .into_iter()
                .enumerate()
            {
                let post = year >= 2012;
                let noise = (((u * 7 + k * 13) % 11) as f64 - 5.0) / 500.0;
                let log_y = 3.0
                    + 0.05 * u as f64
                    + 0.02 * k as f64
                    + if is_treated && post { 0.3 } else { 0.0 }
                    + noise;
                panel.push(obs(&unit, year, log_y.exp()));
            }
        }
        let r = did2x2(&Did2x2Input {
            panel: &panel,
            treated: &treated,
            pre_years: &[2001, 2002, 2003, 2004],
            post_years: &[2013, 2014, 2015, 2016],
            log_outcome: true,
        })
        .unwrap();
        assert!(
            (r.effect.estimate - 0.3).abs() < 0.01,
            "{}",
            r.effect.estimate
        );
        assert_eq!(r.vcov, "CR1 clustered by region");
        assert_eq!(r.effect.df, 39.0);
        assert!(r.effect.ci_low < 0.3 && 0.3 < r.effect.ci_high);
        assert!(r.effect.p < 1e-6);
        assert!(
            (r.effect_percent.unwrap() - 100.0 * (r.effect.estimate.exp() - 1.0)).abs() < 1e-12
        );
    }

    #[test]
    fn empty_cells_and_non_positive_logs_are_errors() {
        let panel = [
            obs("T", 2005, 1.0),
            obs("A", 2005, 1.0),
            obs("A", 2016, 2.0),
        ];
        let treated = ["T".to_string()];
        let input = Did2x2Input {
            panel: &panel,
            treated: &treated,
            pre_years: &[2005],
            post_years: &[2016],
            log_outcome: false,
        };
        assert_eq!(
            did2x2(&input).unwrap_err(),
            EstimateError::EmptyCell("treated after")
        );
        let panel = [obs("T", 2005, 0.0)];
        let input = Did2x2Input {
            panel: &panel,
            log_outcome: true,
            ..input
        };
        assert!(matches!(
            did2x2(&input).unwrap_err(),
            EstimateError::NonPositiveForLog(..)
        ));
    }
}
