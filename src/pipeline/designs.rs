//! The estimates of a run: every cluster's 2x2 per indicator, its TWFE with the wild bootstrap and its
//! event study, and the 2x2 of each treated region, on the warehouse's latest figures.

use std::collections::BTreeMap;
use std::collections::BTreeSet;

use regstat_config::{ClusterConfig, ClusterLevel, Config};
use regstat_estimate::{did2x2, Did2x2, Did2x2Input, PanelObs};
use regstat_warehouse::{
    EstimateDetails, EstimatePanelRow, EstimateRow, EventTimeRow, PanelUnit, PlaceboRow, TestRow,
    Warehouse,
};

use super::{EffectSummary, PipelineError, RunReport, TwfeSummary};

/// Every configured cluster's designs per indicator, on the warehouse's latest figures, and the
/// panels they were estimated on.
/// Every cluster's rows, the panels they used and their details, for the warehouse.
pub(super) type ClusterEstimates = (
    Vec<EstimateRow>,
    Vec<EstimatePanelRow>,
    Vec<EstimateDetails>,
);

/// One cluster and indicator's TWFE and event-study rows, the TWFE summary and event-time rows.
/// What the panel designs (TWFE and the event study) of one cluster and indicator produced.
pub(super) struct PanelDesigns {
    pub rows: Vec<EstimateRow>,
    pub twfe: Option<TwfeSummary>,
    pub events: Vec<EventTimeRow>,
    pub tests: Vec<TestRow>,
}

pub(super) fn estimate_clusters(
    config: &Config,
    warehouse: &Warehouse,
    run_id: i64,
    report: &mut RunReport,
) -> Result<ClusterEstimates, PipelineError> {
    let mut rows = Vec::new();
    let mut panels = Vec::new();
    let mut details = Vec::new();
    for cluster in &config.clusters {
        let regions: Vec<String> = cluster
            .treated
            .iter()
            .chain(&cluster.control)
            .cloned()
            .collect();
        for indicator in &cluster.indicators {
            let no_dimensions = BTreeMap::new();
            let wanted = cluster.dimensions.get(indicator).unwrap_or(&no_dimensions);
            let unit = match cluster.level {
                ClusterLevel::Region => PanelUnit::Region,
                ClusterLevel::Municipality => PanelUnit::Municipality,
            };
            let points = warehouse.yearly_panel(indicator, unit, &regions, wanted)?;
            if points.is_empty() {
                let sets = warehouse.yearly_dimension_sets(indicator)?;
                if sets.is_empty() {
                    // Not a failure: the source that publishes it has not run yet (a daemon's
                    // first runs).
                    tracing::warn!(cluster = %cluster.id, %indicator, "no figures yet; no estimate");
                } else {
                    // Figures exist, but not the series asked for: say which there are, so the
                    // config can name one (a category table gives several figures per region
                    // and year, and mixing them would be no panel at all).
                    let available: Vec<&str> = sets
                        .iter()
                        .map(|(text, _)| {
                            if text.is_empty() {
                                "no dimensions"
                            } else {
                                text.as_str()
                            }
                        })
                        .collect();
                    let message = format!(
                        "cluster {}: indicator {indicator} has no yearly figures {} for these regions; its figures come as: {}; name one in clusters.dimensions.{indicator}",
                        cluster.id,
                        if wanted.is_empty() {
                            "without dimensions".to_string()
                        } else {
                            format!("with dimensions {wanted:?}")
                        },
                        available.join("; ")
                    );
                    tracing::warn!("{message}");
                    report.failures.push(message);
                }
                continue;
            }
            let panel: Vec<PanelObs> = points
                .iter()
                .map(|p| PanelObs {
                    unit: p.region_code.clone(),
                    year: p.year,
                    value: p.value,
                })
                .collect();
            panels.extend(points.iter().map(|p| EstimatePanelRow {
                run_id,
                cluster_id: cluster.id.clone(),
                indicator_id: indicator.clone(),
                unit: p.region_code.clone(),
                year: p.year,
                value: p.value,
                outcome: if cluster.log_outcome {
                    p.value.ln()
                } else {
                    p.value
                },
                cohort: if cluster.treated.contains(&p.region_code) {
                    cluster.adoption_year(&p.region_code)
                } else {
                    0
                },
                document_sha256: p.document_sha256.clone(),
                sheet: p.sheet.clone(),
                cell: p.cell.clone(),
            }));
            let choice = super::answers::choose(cluster);
            let first_row = rows.len();
            let mut detail = EstimateDetails {
                run_id,
                cluster_id: cluster.id.clone(),
                indicator_id: indicator.clone(),
                ..EstimateDetails::default()
            };
            match panel_designs(run_id, cluster, &config.estimation, indicator, &panel) {
                Ok(designs) => {
                    rows.extend(designs.rows);
                    detail.event_times.extend(designs.events);
                    detail.tests.extend(designs.tests);
                    if let Some(t) = designs.twfe {
                        report.twfe.push(t);
                    }
                }
                Err(e) => report.failures.push(format!(
                    "cluster {} indicator {indicator}: TWFE: {e}",
                    cluster.id
                )),
            }
            if cluster.treated.len() > 1 {
                rows.extend(per_region(
                    run_id,
                    cluster,
                    indicator,
                    &panel,
                    report,
                    &mut detail,
                ));
            }
            let adoptions: BTreeSet<i32> = cluster
                .treated
                .iter()
                .map(|r| cluster.adoption_year(r))
                .collect();
            if adoptions.len() > 1 {
                // One 2x2 has one before and one after: with regions adopting in different years it
                // would count a late region's untreated years as treated. The row says so; each
                // region's own 2x2 (above) starts at its adoption year.
                let mut row = blank_row(
                    run_id,
                    cluster,
                    indicator,
                    "did2x2",
                    regstat_estimate::TREATED_X_POST,
                    panel.len(),
                );
                row.reason = Some(format!(
                    "not estimated: the regions adopt in different years ({}), so one 2x2 has no common before and after; see each region's 2x2 and the staggered designs",
                    adoptions.iter().map(|y| y.to_string()).collect::<Vec<_>>().join(", ")
                ));
                rows.push(row);
            } else {
                let start = adoptions
                    .first()
                    .copied()
                    .unwrap_or(cluster.treatment_start);
                let (pre_years, post_years) = design_years(cluster, start, &panel);
                let input = Did2x2Input {
                    panel: &panel,
                    treated: &cluster.treated,
                    pre_years: &pre_years,
                    post_years: &post_years,
                    log_outcome: cluster.log_outcome,
                };
                match did2x2(&input) {
                    Ok(result) => {
                        rows.extend(estimate_rows(
                            run_id,
                            cluster,
                            indicator,
                            &result,
                            &pre_years,
                            &post_years,
                        ));
                        detail
                            .placebos
                            .extend(placebo_rows(regstat_estimate::TREATED_X_POST, &result));
                        report.estimates.push(EffectSummary {
                            cluster_id: cluster.id.clone(),
                            indicator_id: indicator.clone(),
                            result,
                            pre_years,
                            post_years,
                        });
                    }
                    Err(e) => {
                        tracing::error!(cluster = %cluster.id, %indicator, error = %e, "no estimate");
                        report
                            .failures
                            .push(format!("cluster {} indicator {indicator}: {e}", cluster.id));
                    }
                }
            }
            // Every row of this cluster and indicator says its part in the design.
            // (A row that could not be estimated keeps its own reason.)
            for row in &mut rows[first_row..] {
                let (role, reason) = choice.role_of(&row.method);
                row.role = Some(role.into());
                row.reason.get_or_insert(reason);
            }
            let (modern, summaries) = super::answers::modern_designs(
                run_id,
                cluster,
                &config.estimation,
                indicator,
                &panel,
                &choice,
                &mut detail,
            );
            rows.extend(modern);
            details.push(detail);
            report.designs.extend(summaries);
        }
    }
    Ok((rows, panels, details))
}

/// A row of `method` and `term` for a cluster and indicator, with nothing estimated yet.
pub(super) fn blank_row(
    run_id: i64,
    cluster: &ClusterConfig,
    indicator: &str,
    method: &str,
    term: &str,
    n_obs: usize,
) -> EstimateRow {
    EstimateRow {
        run_id,
        cluster_id: cluster.id.clone(),
        indicator_id: indicator.to_string(),
        method: method.into(),
        term: term.into(),
        estimate: f64::NAN,
        std_error: f64::NAN,
        t_stat: f64::NAN,
        p_value: f64::NAN,
        ci_low: f64::NAN,
        ci_high: f64::NAN,
        df: f64::NAN,
        n_obs,
        n_treated: cluster.treated.len(),
        n_control: cluster.control.len(),
        pre_years: vec![],
        post_years: vec![],
        log_outcome: cluster.log_outcome,
        vcov: String::new(),
        means_json: "{}".into(),
        role: None,
        reason: None,
    }
}

/// `row` carrying a coefficient's estimate and inference, computed as `vcov` says.
pub(super) fn with_coefficient(
    row: EstimateRow,
    c: &regstat_estimate::Coefficient,
    vcov: &str,
) -> EstimateRow {
    EstimateRow {
        estimate: c.estimate,
        std_error: c.se,
        t_stat: c.t,
        p_value: c.p,
        ci_low: c.ci_low,
        ci_high: c.ci_high,
        df: c.df,
        vcov: vcov.to_string(),
        ..row
    }
}

/// The configured before/after years, or by default every year before and from `start` (the
/// treatment start, or a region's own adoption year).
pub(super) fn design_years(
    cluster: &ClusterConfig,
    start: i32,
    panel: &[PanelObs],
) -> (Vec<i32>, Vec<i32>) {
    let years: BTreeSet<i32> = panel.iter().map(|p| p.year).collect();
    let pick = |configured: &[i32], default: &dyn Fn(i32) -> bool| -> Vec<i32> {
        if configured.is_empty() {
            years.iter().copied().filter(|y| default(*y)).collect()
        } else {
            configured.to_vec()
        }
    };
    (
        pick(&cluster.pre_years, &|y| y < start),
        pick(&cluster.post_years, &|y| y >= start),
    )
}

pub(super) fn estimate_rows(
    run_id: i64,
    cluster: &ClusterConfig,
    indicator: &str,
    r: &Did2x2,
    pre: &[i32],
    post: &[i32],
) -> Vec<EstimateRow> {
    let means = serde_json::json!({
        "treated_pre": r.treated_pre, "treated_post": r.treated_post,
        "control_pre": r.control_pre, "control_post": r.control_post,
        "effect_percent": r.effect_percent,
        "placebo": r.placebo.as_ref().map(|p| serde_json::json!({
            "p_value": p.p_value, "sd": p.sd, "regions": p.effects.len(),
        })),
    })
    .to_string();
    let base = EstimateRow {
        n_treated: r.n_treated,
        n_control: r.n_control,
        pre_years: pre.to_vec(),
        post_years: post.to_vec(),
        means_json: means,
        ..with_coefficient(
            blank_row(
                run_id,
                cluster,
                indicator,
                "did2x2",
                &r.effect.term,
                r.n_obs,
            ),
            &r.effect,
            &r.vcov,
        )
    };
    let mut rows = vec![base.clone()];
    if let Some(p) = &r.placebo {
        // The placebo row: same effect, its p-value from the rank among control regions; the standard
        // error is the placebo effects' standard deviation. No t interval is claimed.
        rows.push(EstimateRow {
            term: format!("{}:placebo", r.effect.term),
            std_error: p.sd,
            t_stat: r.effect.estimate / p.sd,
            p_value: p.p_value,
            ci_low: f64::NAN,
            ci_high: f64::NAN,
            df: f64::NAN,
            vcov: format!("placebo in space over {} control regions", p.effects.len()),
            ..base
        });
    }
    rows
}

/// Each control region's 2x2 effect when it pretends to be treated, keyed by its code.
fn placebo_rows(term: &str, r: &Did2x2) -> Vec<PlaceboRow> {
    r.placebo
        .iter()
        .flat_map(|p| &p.effects)
        .map(|(region, effect)| PlaceboRow {
            method: "did2x2".into(),
            term: term.into(),
            region_code: region.clone(),
            effect: *effect,
            rmspe_ratio: f64::NAN,
        })
        .collect()
}

/// TWFE over every year (region and year effects, CR1 by region, a wild cluster bootstrap because
/// regions are few) and an event study around the treatment start (leads and lags binned at -5 and
/// +5, reference -1, with the joint pre-trend test), on logs when the cluster says so.
pub(super) fn panel_designs(
    run_id: i64,
    cluster: &ClusterConfig,
    settings: &regstat_config::EstimationSettings,
    indicator: &str,
    panel: &[PanelObs],
) -> Result<PanelDesigns, regstat_estimate::EstimateError> {
    use regstat_estimate::{estimate, BootWeights, BootstrapSpec, Method, Panel, Spec};
    // Each treated region at its own adoption year (TWFE and the event study take staggered
    // adoption; the 2x2 keeps the study's common before/after years).
    let data = super::answers::cluster_panel(cluster, indicator, panel)?;
    let data = Panel::new(data)?;
    let base =
        |method: &str, term: &str| blank_row(run_id, cluster, indicator, method, term, panel.len());
    let from_coef = |method: &str, c: &regstat_estimate::Coefficient, vcov: &str| {
        with_coefficient(base(method, &c.term), c, vcov)
    };
    let mut rows = Vec::new();
    let mut events: Vec<EventTimeRow> = Vec::new();
    let mut tests = Vec::new();
    let twfe_spec = Spec {
        method: Method::Twfe,
        bootstrap: Some(BootstrapSpec {
            weights: BootWeights::Webb,
            reps: settings.bootstrap_reps,
            seed: settings.seed,
            alpha: 0.05,
        }),
        ..Spec::default()
    };
    let twfe = estimate(&data, &twfe_spec)?.remove(0);
    let main = &twfe.estimates[0];
    rows.push(from_coef("twfe", main, &twfe.vcov));
    if let Some(b) = &twfe.bootstrap {
        rows.push(EstimateRow {
            estimate: main.estimate,
            p_value: b.p,
            ci_low: b.ci_low,
            ci_high: b.ci_high,
            vcov: format!("{}, {} draws", b.kind, b.reps),
            ..base("twfe", &format!("{}:wild_bootstrap", main.term))
        });
    }
    let es_spec = Spec {
        method: Method::EventStudy,
        window: Some((settings.event_window[0], settings.event_window[1])),
        ..Spec::default()
    };
    match estimate(&data, &es_spec) {
        Ok(mut es) => {
            let es = es.remove(0);
            events.extend(super::answers::event_time_rows(
                "event-study",
                &es.event_study,
                es_spec.reference,
            ));
            for c in es
                .estimates
                .iter()
                .filter(|c| c.term.starts_with("rel_time::"))
            {
                rows.push(from_coef("event-study", c, &es.vcov));
            }
            if let Some(p) = &es.pretrend {
                tests.push(TestRow {
                    method: "event-study".into(),
                    test: "pretrend_wald".into(),
                    statistic: p.stat,
                    df1: p.df1,
                    df2: p.df2,
                    p_value: p.p,
                    tested: p.tested,
                    description: if p.df1 < p.tested {
                        format!(
                            "joint Wald F test of {} leads on the rank {} of their covariance, {}",
                            p.tested, p.df1, es.vcov
                        )
                    } else {
                        format!("joint Wald F test of {} leads, {}", p.tested, es.vcov)
                    },
                });
            }
        }
        Err(e) => tracing::warn!(cluster = %cluster.id, indicator, error = %e, "no event study"),
    }
    Ok(PanelDesigns {
        rows,
        twfe: Some(TwfeSummary {
            cluster_id: cluster.id.clone(),
            indicator_id: indicator.to_string(),
            report: twfe,
        }),
        events,
        tests,
    })
}

/// With several treated regions, the 2x2 of each against the control pool.
pub(super) fn per_region(
    run_id: i64,
    cluster: &ClusterConfig,
    indicator: &str,
    panel: &[PanelObs],
    report: &mut RunReport,
    detail: &mut EstimateDetails,
) -> Vec<EstimateRow> {
    let mut rows = Vec::new();
    for region in &cluster.treated {
        let own: Vec<PanelObs> = panel
            .iter()
            .filter(|p| p.unit == *region || cluster.control.contains(&p.unit))
            .cloned()
            .collect();
        let (pre, post) = design_years(cluster, cluster.adoption_year(region), &own);
        let treated = [region.clone()];
        let input = Did2x2Input {
            panel: &own,
            treated: &treated,
            pre_years: &pre,
            post_years: &post,
            log_outcome: cluster.log_outcome,
        };
        match did2x2(&input) {
            Ok(r) => {
                detail.placebos.extend(placebo_rows(
                    &format!("{}[{region}]", regstat_estimate::TREATED_X_POST),
                    &r,
                ));
                for mut row in estimate_rows(run_id, cluster, indicator, &r, &pre, &post) {
                    // treated_x_post -> treated_x_post[region], and its :placebo row likewise.
                    row.term = row.term.replacen(
                        regstat_estimate::TREATED_X_POST,
                        &format!("{}[{region}]", regstat_estimate::TREATED_X_POST),
                        1,
                    );
                    rows.push(row);
                }
            }
            Err(e) => report.failures.push(format!(
                "cluster {} indicator {indicator} region {region}: {e}",
                cluster.id
            )),
        }
    }
    rows
}
