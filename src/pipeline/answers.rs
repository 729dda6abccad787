//! Which design answers "did the cluster work?" for each cluster, and the estimators beyond the 2x2,
//! TWFE and event study that it needs (SDID, SC, CS, SA), on the warehouse's yearly panel.
//!
//! The choice: one treated region -> SDID as the headline with SC, the 2x2 and TWFE beside
//! (placebo inference); treated regions adopting in different years -> CS with SA and TWFE beside;
//! one adoption year for several regions -> TWFE with the event study and the 2x2 beside.
//! `headline` in the cluster's config overrides it. Every stored row says its role and why.

use std::collections::{BTreeMap, BTreeSet};

use regstat_config::{ClusterConfig, EstimationSettings};
use regstat_estimate::{
    estimate, Coefficient, CsSpec, Method, Panel, PanelData, PanelObs, Spec, SynthSe, SynthSpec,
    Treatment,
};
use regstat_warehouse::{EstimateDetails, EstimateRow, EventTimeRow, GroupTimeRow, WeightRow};

/// The design of one cluster: its headline method, the methods beside it, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct DesignChoice {
    pub headline: String,
    pub beside: Vec<String>,
    pub reason: String,
}

impl DesignChoice {
    /// The part of `method`'s rows in this design (`headline` or `beside`) and the reason they carry.
    pub fn role_of(&self, method: &str) -> (&'static str, String) {
        if method == self.headline {
            ("headline", self.reason.clone())
        } else {
            ("beside", format!("beside the headline {}", self.headline))
        }
    }
}

/// The answer of one method for one cluster and indicator, for the run's printout.
#[derive(Debug, Clone)]
pub struct DesignSummary {
    pub cluster_id: String,
    pub indicator_id: String,
    pub method: String,
    pub role: String,
    pub reason: String,
    pub effect: Option<Coefficient>,
    /// How the effect's uncertainty was computed.
    pub inference: String,
    /// Why the method could not be estimated.
    pub error: Option<String>,
}

pub fn choose(cluster: &ClusterConfig) -> DesignChoice {
    let years: BTreeSet<i32> = cluster
        .treated
        .iter()
        .map(|r| cluster.adoption_year(r))
        .collect();
    let n = cluster.treated.len();
    let (headline, beside, reason): (&str, &[&str], String) = if n == 1 {
        (
            "sdid",
            &["sc", "did2x2", "twfe"],
            "one treated region: synthetic DiD builds the counterfactual from the donor pool, with placebo inference; a 2x2 or TWFE against chosen controls has no usable asymptotic inference".into(),
        )
    } else if years.len() > 1 {
        (
            "cs",
            &["sunab", "twfe"],
            format!(
                "{n} treated regions adopting in {} different years: TWFE is biased when effects differ by cohort or grow over time, Callaway & Sant'Anna compares each cohort with never-treated regions",
                years.len()
            ),
        )
    } else {
        (
            "twfe",
            &["event-study", "did2x2"],
            format!("{n} treated regions adopting in one year: TWFE with its event study"),
        )
    };
    let mut choice = DesignChoice {
        headline: headline.to_string(),
        beside: beside.iter().map(|s| s.to_string()).collect(),
        reason,
    };
    if let Some(set) = &cluster.headline {
        if *set != choice.headline {
            choice.reason = format!(
                "set in the config (headline = \"{set}\"); by default it would be {}",
                choice.headline
            );
            if !choice.beside.contains(&choice.headline) {
                let default = choice.headline.clone();
                choice.beside.insert(0, default);
            }
            choice.beside.retain(|m| m != set);
            choice.headline = set.clone();
        }
    }
    choice
}

/// The largest balanced panel: the years in which every region has a figure.
fn balanced(panel: &[PanelObs], regions: usize) -> (Vec<PanelObs>, usize) {
    let mut per_year: BTreeMap<i32, usize> = BTreeMap::new();
    for p in panel {
        *per_year.entry(p.year).or_default() += 1;
    }
    let complete: BTreeSet<i32> = per_year
        .iter()
        .filter(|(_, n)| **n == regions)
        .map(|(y, _)| *y)
        .collect();
    let dropped = per_year.len() - complete.len();
    (
        panel
            .iter()
            .filter(|p| complete.contains(&p.year))
            .cloned()
            .collect(),
        dropped,
    )
}

/// The methods of the choice that the 2x2/TWFE/event-study code does not compute, as rows and
/// summaries. A method that cannot be estimated gives a row that says why; the run goes on.
pub(super) fn modern_designs(
    run_id: i64,
    cluster: &ClusterConfig,
    settings: &EstimationSettings,
    indicator: &str,
    panel: &[PanelObs],
    choice: &DesignChoice,
    details: &mut EstimateDetails,
) -> (Vec<EstimateRow>, Vec<DesignSummary>) {
    let mut rows = Vec::new();
    let mut summaries = Vec::new();
    // One balanced, validated panel serves every method of the choice.
    let regions: BTreeSet<&str> = panel.iter().map(|p| p.unit.as_str()).collect();
    let (used, dropped_years) = balanced(panel, regions.len());
    let validated = cluster_panel(cluster, indicator, &used)
        .and_then(Panel::new)
        .map_err(|e| e.to_string());
    let methods = std::iter::once(&choice.headline).chain(&choice.beside);
    for name in methods.filter(|m| ["sdid", "sc", "cs", "sunab"].contains(&m.as_str())) {
        let (role, reason) = choice.role_of(name);
        let outcome = validated
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|panel| estimate_one(name, settings, panel));
        let mut base = EstimateRow {
            role: Some(role.into()),
            reason: Some(reason.clone()),
            ..super::designs::blank_row(run_id, cluster, indicator, name, "att", used.len())
        };
        let mut summary = DesignSummary {
            cluster_id: cluster.id.clone(),
            indicator_id: indicator.to_string(),
            method: name.clone(),
            role: role.into(),
            reason: reason.clone(),
            effect: None,
            inference: String::new(),
            error: None,
        };
        match outcome {
            Ok(report) => {
                let c = &report.estimates[0];
                let mut notes = report.notes.clone();
                if dropped_years > 0 {
                    notes.insert(0, format!("{dropped_years} years left out where some region has no figure (a balanced panel is needed)"));
                }
                base = EstimateRow {
                    means_json: serde_json::json!({
                        "weights": report.weights,
                        "aggregations": report.aggregations,
                        "placebo": report.synth_placebo.as_ref().map(|p| serde_json::json!({"p_value": p.p_value, "treated_rmspe_ratio": p.treated_rmspe_ratio})),
                        "notes": notes,
                    })
                    .to_string(),
                    ..super::designs::with_coefficient(base, c, &report.vcov)
                };
                summary.inference = report.vcov.clone();
                collect_details(name, &report, details);
                summary.effect = Some(c.clone());
                rows.push(base.clone());
                if let Some(p) = &report.synth_placebo {
                    // SC's placebo-in-space test as its own row, as the 2x2's placebo.
                    rows.push(EstimateRow {
                        term: "att:placebo".into(),
                        p_value: p.p_value,
                        std_error: f64::NAN,
                        t_stat: f64::NAN,
                        ci_low: f64::NAN,
                        ci_high: f64::NAN,
                        df: f64::NAN,
                        vcov: format!(
                            "placebo in space: post/pre RMSPE ratio ranked among {} donors",
                            p.donors.len()
                        ),
                        ..base
                    });
                }
            }
            Err(e) => {
                tracing::warn!(cluster = %cluster.id, indicator, method = %name, error = %e, "design not estimated");
                summary.error = Some(e.clone());
                rows.push(EstimateRow {
                    reason: Some(format!("not estimated: {e}")),
                    ..base
                });
            }
        }
        summaries.push(summary);
    }
    (rows, summaries)
}

/// A cluster's yearly figures as a panel for the estimators: on logs when the cluster says so, each
/// treated region's cohort its own adoption year, controls never treated.
pub(super) fn cluster_panel(
    cluster: &ClusterConfig,
    indicator: &str,
    panel: &[PanelObs],
) -> Result<PanelData, regstat_estimate::EstimateError> {
    let mut values = Vec::with_capacity(panel.len());
    for p in panel {
        if cluster.log_outcome && p.value <= 0.0 {
            return Err(regstat_estimate::EstimateError::NonPositiveForLog(
                p.value,
                p.unit.clone(),
                p.year,
            ));
        }
        values.push(if cluster.log_outcome {
            p.value.ln()
        } else {
            p.value
        });
    }
    Ok(PanelData {
        unit: panel.iter().map(|p| p.unit.clone()).collect(),
        time: panel.iter().map(|p| p.year as i64).collect(),
        outcomes: vec![(indicator.to_string(), values)],
        covariates: vec![],
        treatment: Treatment::Cohort {
            name: "treated".into(),
            values: panel
                .iter()
                .map(|p| {
                    if cluster.treated.contains(&p.unit) {
                        cluster.adoption_year(&p.unit) as i64
                    } else {
                        0
                    }
                })
                .collect(),
        },
        weights: None,
        cluster: vec![],
    })
}

/// Event-study coefficients as stored rows: the pointwise interval serves as the band, and the
/// `reference` period is marked.
pub(super) fn event_time_rows<'a>(
    method: &'a str,
    coefficients: &'a [regstat_estimate::EventCoefficient],
    reference: i64,
) -> impl Iterator<Item = EventTimeRow> + 'a {
    coefficients.iter().map(move |e| EventTimeRow {
        method: method.to_string(),
        rel_time: e.rel_time,
        estimate: e.estimate,
        std_error: e.se,
        ci_low: e.ci_low,
        ci_high: e.ci_high,
        band_low: e.ci_low,
        band_high: e.ci_high,
        is_reference: e.rel_time == reference,
    })
}

/// What a report holds beyond its headline, as the rows dashboards and plots read.
fn collect_details(method: &str, report: &regstat_estimate::Report, details: &mut EstimateDetails) {
    if let Some(dynamic) = report.aggregations.get("dynamic") {
        details
            .event_times
            .extend(dynamic.rows.iter().filter_map(|r| {
                r.event_time.map(|e| EventTimeRow {
                    method: method.to_string(),
                    rel_time: e,
                    estimate: r.estimate,
                    std_error: r.se,
                    ci_low: r.ci_low,
                    ci_high: r.ci_high,
                    band_low: r.band_low,
                    band_high: r.band_high,
                    // The universal base period's zero row is the reference.
                    is_reference: r.estimate == 0.0 && r.se.is_nan(),
                })
            }));
    } else {
        details.event_times.extend(event_time_rows(
            method,
            &report.event_study,
            Spec::default().reference,
        ));
    }
    details
        .group_times
        .extend(report.att_gt.iter().map(|g| GroupTimeRow {
            cohort: g.group,
            year: g.time,
            estimate: g.estimate,
            std_error: g.se,
            ci_low: g.ci_low,
            ci_high: g.ci_high,
            band_low: g.band_low,
            band_high: g.band_high,
            post: g.post,
        }));
    if let Some(p) = &report.synth_placebo {
        details
            .placebos
            .extend(p.donors.iter().map(|d| regstat_warehouse::PlaceboRow {
                method: method.to_string(),
                term: report.estimates[0].term.clone(),
                region_code: d.unit.clone(),
                effect: d.effect,
                rmspe_ratio: d.rmspe_ratio,
            }));
    }
    if let Some(w) = &report.weights {
        details.weights.extend(w.units.iter().map(|u| WeightRow {
            method: method.to_string(),
            kind: "unit",
            unit: u.unit.clone(),
            year: None,
            weight: u.weight,
        }));
        details.weights.extend(w.times.iter().map(|t| WeightRow {
            method: method.to_string(),
            kind: "year",
            unit: None,
            year: t.time,
            weight: t.weight,
        }));
    }
}

fn estimate_one(
    name: &str,
    settings: &EstimationSettings,
    panel: &Panel,
) -> Result<regstat_estimate::Report, String> {
    let method = match name {
        "sdid" => Method::Sdid,
        "sc" => Method::Sc,
        "cs" => Method::Cs,
        "sunab" => Method::Sunab,
        other => return Err(format!("{other} is not estimated here")),
    };
    let spec = Spec {
        method,
        synth: SynthSpec {
            se: SynthSe::Placebo,
            replications: settings.placebo_reps,
            seed: settings.seed,
        },
        cs: CsSpec {
            seed: settings.seed,
            ..CsSpec::default()
        },
        ..Spec::default()
    };
    estimate(panel, &spec)
        .map(|mut r| r.remove(0))
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster(
        treated: &[&str],
        adoption: &[(&str, i32)],
        headline: Option<&str>,
    ) -> ClusterConfig {
        ClusterConfig {
            dimensions: Default::default(),
            level: Default::default(),
            id: "c".into(),
            name: "c".into(),
            treated: treated.iter().map(|s| s.to_string()).collect(),
            treatment_start: 2012,
            indicators: vec![],
            control: vec!["x".into()],
            pre_years: vec![],
            post_years: vec![],
            log_outcome: true,
            adoption: adoption.iter().map(|(r, y)| (r.to_string(), *y)).collect(),
            headline: headline.map(str::to_string),
        }
    }

    #[test]
    fn the_design_follows_the_treated_regions() {
        assert_eq!(choose(&cluster(&["a"], &[], None)).headline, "sdid");
        assert_eq!(
            choose(&cluster(&["a"], &[], None)).beside,
            ["sc", "did2x2", "twfe"]
        );
        let staggered = choose(&cluster(&["a", "b"], &[("b", 2016)], None));
        assert_eq!(
            (staggered.headline.as_str(), staggered.beside.as_slice()),
            ("cs", &["sunab".to_string(), "twfe".to_string()][..])
        );
        assert_eq!(choose(&cluster(&["a", "b"], &[], None)).headline, "twfe");
        let set = choose(&cluster(&["a"], &[], Some("sc")));
        assert_eq!(set.headline, "sc");
        assert!(
            set.reason.contains("set in the config") && set.beside.contains(&"sdid".to_string())
        );
    }
}
