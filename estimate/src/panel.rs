//! From a panel (unit, time, outcomes, treatment) to the estimators: the 2x2, TWFE and event-study
//! designs, their inference, and one [`Report`] per outcome.
//!
//! A [`Panel`] is validated once, by [`Panel::new`]: column lengths, one row per unit and period,
//! a treatment of 0/1 (or a cohort constant within each unit), positive weights. Adoption (a unit's
//! first treated period) is derived there from every row of the treatment, before any row is left
//! out for a missing outcome, so a unit whose outcome is missing in its adoption year keeps its
//! adoption year. Each outcome is then estimated on its own complete rows (as fixest does); outcomes
//! with the same complete rows share one demeaning.

use std::collections::{BTreeMap, BTreeSet};

use crate::bootstrap::{wild_cluster_bootstrap, BootstrapProblem, BootstrapResult, BootstrapSpec};
use crate::cs::{cs_report, Aggregation, CsSpec, GroupTime};
use crate::demean::DemeanOptions;
use crate::did2x2::{two_by_two, Cells, Placebo, TREATED_X_POST};
use crate::error::EstimateError;
use crate::factor::Factor;
use crate::fit::{fit_owned, wald, Collinear, Design, Fit, VcovSpec, WaldTest};
use crate::sunab::sunab_reports;
use crate::synth_panel::{synth_report, SynthSpec};
use crate::{Coefficient, Labels};

/// How treatment is given.
#[derive(Debug, Clone)]
pub enum Treatment {
    /// A 0/1 indicator per row (NaN where missing); a unit's adoption period is its first treated
    /// period.
    Indicator { name: String, values: Vec<f64> },
    /// The first treated period per row's unit; 0 for never treated, R did's convention (files
    /// give 0 or leave the cell empty). An integer per row rather than an `Option`: a 500,000-row
    /// panel's column converts in place from the file's numbers.
    Cohort { name: String, values: Vec<i64> },
}

impl Treatment {
    pub fn name(&self) -> &str {
        match self {
            Treatment::Indicator { name, .. } | Treatment::Cohort { name, .. } => name,
        }
    }
}

/// The columns of a panel as read, before validation. Float columns hold NaN where a value is
/// missing.
#[derive(Debug, Clone)]
pub struct PanelData {
    pub unit: Labels,
    pub time: Vec<i64>,
    pub outcomes: Vec<(String, Vec<f64>)>,
    pub covariates: Vec<(String, Vec<f64>)>,
    pub treatment: Treatment,
    /// Row weights with the column's name.
    pub weights: Option<(String, Vec<f64>)>,
    /// Cluster variables (one, or two for two-way clustering): the column's name and its label per
    /// row. Empty: by unit when unit effects are in the model (as fixest), else iid errors.
    pub cluster: Vec<(String, Labels)>,
}

/// A validated panel: see the module's documentation for what [`Panel::new`] checks.
#[derive(Debug, Clone)]
pub struct Panel {
    data: PanelData,
    /// Each row's unit as a dense code (levels in order of first appearance).
    units: Factor,
    /// Each unit's adoption period (first treated period) by unit code, `None` for never
    /// treated (per unit, not per row: a row's is one lookup away, and a copy per row was 8 MB of
    /// a 500,000-row panel).
    unit_adoption: Vec<Option<i64>>,
    /// The first unit whose treatment switches off after adoption: (unit, on, off).
    switches_off: Option<(String, i64, i64)>,
}

impl Panel {
    pub fn new(data: PanelData) -> Result<Self, EstimateError> {
        let n = data.unit.len();
        if n == 0 {
            return Err(EstimateError::NoRows);
        }
        let check = |column: &str, len: usize| EstimateError::check_length(column, n, len);
        check("time", data.time.len())?;
        for (name, values) in data.outcomes.iter().chain(&data.covariates) {
            check(name, values.len())?;
        }
        match &data.treatment {
            Treatment::Indicator { name, values } => check(name, values.len())?,
            Treatment::Cohort { name, values } => check(name, values.len())?,
        }
        if let Some((name, w)) = &data.weights {
            check(name, w.len())?;
            if let Some(i) = w
                .iter()
                .position(|w| !w.is_nan() && (!w.is_finite() || *w <= 0.0))
            {
                return Err(EstimateError::BadWeight {
                    column: name.clone(),
                    unit: data.unit[i].to_string(),
                    time: data.time[i],
                    value: w[i],
                });
            }
        }
        for (name, labels) in &data.cluster {
            check(name, labels.len())?;
        }
        if data.cluster.len() > 2 {
            return Err(EstimateError::BadParameter {
                parameter: "cluster",
                message: format!("one or two cluster variables, found {}", data.cluster.len()),
            });
        }
        if data.outcomes.is_empty() {
            return Err(EstimateError::NoOutcome);
        }
        // Units encoded once, from the labels' codes (no hashing); everything per unit is indexed
        // by these codes.
        let units = Factor::from_codes(
            "unit",
            data.unit.codes().iter().copied(),
            data.unit.names().len(),
        );
        let code = |i: usize| units.codes[i] as usize;
        if let Some(i) = first_duplicate(&units, &data.time) {
            return Err(EstimateError::DuplicateRow {
                unit: data.unit[i].to_string(),
                time: data.time[i],
            });
        }

        let mut unit_adoption: Vec<Option<i64>> = vec![None; units.levels];
        match &data.treatment {
            Treatment::Indicator { name, values } => {
                for i in 0..n {
                    let v = values[i];
                    if !(v.is_nan() || v == 0.0 || v == 1.0) {
                        return Err(EstimateError::BadTreatment {
                            column: name.clone(),
                            unit: data.unit[i].to_string(),
                            time: data.time[i],
                            value: v,
                        });
                    }
                    if v == 1.0 {
                        let entry = &mut unit_adoption[code(i)];
                        *entry = Some(entry.map_or(data.time[i], |a| a.min(data.time[i])));
                    }
                }
            }
            Treatment::Cohort { name, values } => {
                // Each unit's cohort as first given (0: never), checked on its other rows.
                let mut first: Vec<Option<i64>> = vec![None; units.levels];
                for i in 0..n {
                    let cohort = values[i];
                    match first[code(i)] {
                        None => first[code(i)] = Some(cohort),
                        Some(seen) if seen != cohort => {
                            let show = |c: i64| match c {
                                0 => "never (0 or empty)".to_string(),
                                c => c.to_string(),
                            };
                            return Err(EstimateError::CohortVaries {
                                column: name.clone(),
                                unit: data.unit[i].to_string(),
                                first: show(seen),
                                second: show(cohort),
                            });
                        }
                        Some(_) => {}
                    }
                }
                for (adoption, cohort) in unit_adoption.iter_mut().zip(first) {
                    *adoption = cohort.filter(|c| *c != 0);
                }
            }
        }
        // A cohort is absorbing by construction (treated from its period on); only an indicator
        // can switch off.
        let switches_off = match &data.treatment {
            Treatment::Cohort { .. } => None,
            Treatment::Indicator { values, .. } => (0..n)
                .filter(|&i| values[i] == 0.0)
                .filter_map(|i| {
                    unit_adoption[code(i)]
                        .filter(|a| data.time[i] > *a)
                        .map(|a| (data.unit[i].to_string(), a, data.time[i]))
                })
                .min_by(|a, b| (&a.0, a.2).cmp(&(&b.0, b.2))),
        };
        Ok(Self {
            data,
            units,
            unit_adoption,
            switches_off,
        })
    }

    pub fn data(&self) -> &PanelData {
        &self.data
    }

    pub fn len(&self) -> usize {
        self.data.unit.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.unit.is_empty()
    }

    /// Each row's unit as a dense code.
    pub fn unit_codes(&self) -> &Factor {
        &self.units
    }

    /// Row `row`'s treatment as given (1, 0, NaN where missing); for a cohort, whether the row's
    /// period is on or after it.
    pub fn treated(&self, row: usize) -> f64 {
        treated_in(&self.data.treatment, &self.data.time, row)
    }

    /// The adoption period of row `row`'s unit, `None` for never treated.
    pub fn adoption(&self, row: usize) -> Option<i64> {
        self.unit_adoption[self.units.codes[row] as usize]
    }

    fn require_absorbing(&self, method: Method) -> Result<(), EstimateError> {
        match &self.switches_off {
            Some((unit, on, off)) => Err(EstimateError::TreatmentSwitchesOff {
                column: self.data.treatment.name().to_string(),
                unit: unit.clone(),
                on: *on,
                off: *off,
                method: method.as_str(),
            }),
            None => Ok(()),
        }
    }
}

/// Row `i`'s treatment: the indicator as given, or for a cohort whether the period is on or after
/// it. Computed where it is read: a copy per row was 4 MB of a 500,000-row panel.
fn treated_in(treatment: &Treatment, time: &[i64], i: usize) -> f64 {
    match treatment {
        Treatment::Indicator { values, .. } => values[i],
        Treatment::Cohort { values, .. } => (values[i] != 0 && time[i] >= values[i]) as u8 as f64,
    }
}

/// Columns with their names: regressors, outcomes.
type NamedColumns = Vec<(String, Vec<f64>)>;

/// The distinct periods of `rows`, in order: a bitmap over their range when it is not much larger
/// than the rows (years, months, period indices), else a sort.
pub(crate) fn distinct_periods(time: &[i64], rows: &[usize]) -> Vec<i64> {
    let (lo, hi) = rows.iter().fold((i64::MAX, i64::MIN), |(lo, hi), &i| {
        (lo.min(time[i]), hi.max(time[i]))
    });
    if rows.is_empty() {
        return Vec::new();
    }
    let span = hi as i128 - lo as i128 + 1;
    if span <= (4 * rows.len() as i128).max(1 << 16) {
        let mut present = vec![false; span as usize];
        for &i in rows {
            present[(time[i] - lo) as usize] = true;
        }
        return (0..span as usize)
            .filter(|&k| present[k])
            .map(|k| lo + k as i64)
            .collect();
    }
    let mut periods: Vec<i64> = rows.iter().map(|&i| time[i]).collect();
    periods.sort_unstable();
    periods.dedup();
    periods
}

/// The later row of the first unit and period given twice, if any. A grid of units x periods
/// when it is not much larger than the rows (every panel of years or months), else a sort.
fn first_duplicate(units: &Factor, time: &[i64]) -> Option<usize> {
    let n = time.len();
    let (lo, hi) = time
        .iter()
        .fold((i64::MAX, i64::MIN), |(lo, hi), &t| (lo.min(t), hi.max(t)));
    let span = (hi as i128 - lo as i128 + 1) as u128;
    let cells = span * units.levels as u128;
    if cells <= (4 * n as u128).max(1 << 16) {
        let span = span as usize;
        let mut seen = vec![false; cells as usize];
        let mut duplicate: Option<usize> = None;
        for i in 0..n {
            let cell = units.codes[i] as usize * span + (time[i] - lo) as usize;
            if std::mem::replace(&mut seen[cell], true) {
                // The sort below reports the later of the two rows; so does this, for the
                // first pair in (unit, period) order.
                let key = |r: usize| (units.codes[r], time[r]);
                if duplicate.is_none_or(|d| key(i) < key(d)) {
                    duplicate = Some(i);
                }
            }
        }
        return duplicate;
    }
    let mut pairs: Vec<(u32, i64, u32)> = (0..n)
        .map(|i| (units.codes[i], time[i], i as u32))
        .collect();
    pairs.sort_unstable();
    pairs
        .windows(2)
        .find(|w| (w[0].0, w[0].1) == (w[1].0, w[1].1))
        .map(|w| w[1].2.max(w[0].2) as usize)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    Did2x2,
    Twfe,
    EventStudy,
    /// Synthetic control (Abadie, Diamond & Hainmueller), as synthdid's `sc_estimate`.
    Sc,
    /// Synthetic difference-in-differences (Arkhangelsky et al. 2021).
    Sdid,
    /// Callaway & Sant'Anna (2021) group-time effects and their aggregations.
    Cs,
    /// Sun & Abraham (2021) interaction-weighted event study, as fixest's `sunab`.
    Sunab,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Did2x2 => "did2x2",
            Method::Twfe => "twfe",
            Method::EventStudy => "event-study",
            Method::Sc => "sc",
            Method::Sdid => "sdid",
            Method::Cs => "cs",
            Method::Sunab => "sunab",
        }
    }
}

/// The fixed effects of the TWFE and event-study designs (the 2x2 has none: it is the study's OLS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effects {
    UnitAndTime,
    /// An intercept instead.
    None,
}

/// Largest number of bootstrap draws accepted: each draw keeps five numbers, and beyond this the
/// Monte Carlo error of a p-value is far below anything that matters.
pub const MAX_BOOTSTRAP_REPS: usize = 1_000_000;

#[derive(Debug, Clone)]
pub struct Spec {
    pub method: Method,
    pub effects: Effects,
    /// Event-study reference period (relative time), default -1.
    pub reference: i64,
    /// Event-study window: relative times below/above are binned into the endpoints.
    pub window: Option<(i64, i64)>,
    pub bootstrap: Option<BootstrapSpec>,
    pub demean: DemeanOptions,
    pub collinear: Collinear,
    /// Standard errors of sc and sdid.
    pub synth: SynthSpec,
    /// Callaway & Sant'Anna's settings.
    pub cs: CsSpec,
}

impl Default for Spec {
    fn default() -> Self {
        Self {
            method: Method::Twfe,
            effects: Effects::UnitAndTime,
            reference: -1,
            window: None,
            bootstrap: None,
            demean: DemeanOptions::default(),
            collinear: Collinear::Drop,
            synth: SynthSpec::default(),
            cs: CsSpec::default(),
        }
    }
}

impl Spec {
    /// Checks the parameters before any data is touched.
    pub fn check(&self) -> Result<(), EstimateError> {
        if let Some((lo, hi)) = self.window {
            if lo >= hi {
                return Err(EstimateError::BadParameter {
                    parameter: "window",
                    message: format!("expected LO < HI, found {lo},{hi}"),
                });
            }
            if !(lo..=hi).contains(&self.reference) {
                return Err(EstimateError::BadParameter {
                    parameter: "reference",
                    message: format!(
                        "the reference period {} lies outside the window {lo},{hi}",
                        self.reference
                    ),
                });
            }
        }
        if let Some(b) = &self.bootstrap {
            if !(99..=MAX_BOOTSTRAP_REPS).contains(&b.reps) {
                return Err(EstimateError::BadParameter {
                    parameter: "reps",
                    message: format!(
                        "expected 99 to {MAX_BOOTSTRAP_REPS} draws, found {}",
                        b.reps
                    ),
                });
            }
            if !(b.alpha > 0.0 && b.alpha < 1.0) {
                return Err(EstimateError::BadParameter {
                    parameter: "alpha",
                    message: format!("expected a level between 0 and 1, found {}", b.alpha),
                });
            }
            if !matches!(self.method, Method::Did2x2 | Method::Twfe) {
                return Err(EstimateError::BadParameter {
                    parameter: "bootstrap",
                    message: format!(
                        "the wild bootstrap applies to did2x2 and twfe, not to {}",
                        self.method.as_str()
                    ),
                });
            }
        }
        if matches!(self.method, Method::Sc | Method::Sdid)
            && !(2..=MAX_BOOTSTRAP_REPS).contains(&self.synth.replications)
        {
            return Err(EstimateError::BadParameter {
                parameter: "reps",
                message: format!(
                    "expected 2 to {MAX_BOOTSTRAP_REPS} replications, found {}",
                    self.synth.replications
                ),
            });
        }
        if self.method == Method::Cs
            && self.cs.band_reps != 0
            && !(99..=MAX_BOOTSTRAP_REPS).contains(&self.cs.band_reps)
        {
            return Err(EstimateError::BadParameter {
                parameter: "reps",
                message: format!(
                    "expected 0 (no uniform bands) or 99 to {MAX_BOOTSTRAP_REPS} multiplier-bootstrap draws, found {}",
                    self.cs.band_reps
                ),
            });
        }
        if self.demean.tolerance.is_nan()
            || self.demean.tolerance <= 0.0
            || self.demean.max_iterations == 0
        {
            return Err(EstimateError::BadParameter {
                parameter: "demean",
                message: "a positive tolerance and at least one iteration".into(),
            });
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EventCoefficient {
    pub rel_time: i64,
    pub estimate: f64,
    pub se: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// The joint pre-trend test of an event study: every lead is zero.
pub type Pretrend = WaldTest;

/// The 2x2's cells and placebo test (did2x2 only).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TwoByTwoCells {
    pub treated_pre: f64,
    pub treated_post: f64,
    pub control_pre: f64,
    pub control_post: f64,
    pub n_treated: usize,
    pub n_control: usize,
    /// The common adoption period: "post" is every period from it on.
    pub adoption: i64,
    pub placebo: Option<Placebo>,
}

/// A weight of a synthetic estimator: a donor unit's or a pre-period's.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Weight {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<i64>,
    pub weight: f64,
}

/// SC and SDID weights: donors (omega) and pre-periods (lambda; zero for SC).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Weights {
    pub units: Vec<Weight>,
    pub times: Vec<Weight>,
}

/// The estimated effect in one period (treated minus its synthetic counterpart, net of the
/// pre-period offset), marked pre or post adoption.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PathPoint {
    pub time: i64,
    pub effect: f64,
    pub post: bool,
}

/// One donor's placebo: its SC effect and post/pre RMSPE ratio when it pretends to be treated.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DonorPlacebo {
    pub unit: String,
    pub effect: f64,
    pub rmspe_ratio: f64,
}

/// Abadie, Diamond & Hainmueller's placebo-in-space test: the treated unit's post/pre RMSPE ratio
/// ranked among the donors' (p = (1 + #donors at least as extreme) / (1 + #donors)).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SynthPlacebo {
    pub p_value: f64,
    pub treated_rmspe_ratio: f64,
    pub donors: Vec<DonorPlacebo>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Report {
    pub method: String,
    pub outcome: String,
    pub n_obs: usize,
    pub n_units: usize,
    pub n_clusters: Option<usize>,
    pub vcov: String,
    /// The headline coefficient first, then the others.
    pub estimates: Vec<Coefficient>,
    pub event_study: Vec<EventCoefficient>,
    pub pretrend: Option<Pretrend>,
    pub bootstrap: Option<BootstrapResult>,
    pub did2x2: Option<TwoByTwoCells>,
    /// Regressors removed for collinearity.
    pub dropped: Vec<String>,
    /// SC and SDID: donor and pre-period weights.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weights: Option<Weights>,
    /// SC and SDID: the effect by period.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub path: Vec<PathPoint>,
    /// SC: the placebo-in-space RMSPE test.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub synth_placebo: Option<SynthPlacebo>,
    /// CS: every ATT(g,t).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub att_gt: Vec<GroupTime>,
    /// CS: `simple`, `group`, `dynamic` and `calendar`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub aggregations: BTreeMap<String, Aggregation>,
    /// What a reader must know about this estimate (rows left out, reduced tests).
    pub notes: Vec<String>,
}

impl Report {
    /// A report of `method` with nothing in it yet, for the estimators to fill.
    pub(crate) fn empty(method: Method) -> Self {
        Self {
            method: method.as_str().to_string(),
            outcome: String::new(),
            n_obs: 0,
            n_units: 0,
            n_clusters: None,
            vcov: String::new(),
            estimates: Vec::new(),
            event_study: Vec::new(),
            pretrend: None,
            bootstrap: None,
            did2x2: None,
            dropped: Vec::new(),
            weights: None,
            path: Vec::new(),
            synth_placebo: None,
            att_gt: Vec::new(),
            aggregations: BTreeMap::new(),
            notes: Vec::new(),
        }
    }
}

/// The regressors of one method on the rows `rows` of the panel, and the event-study terms
/// (relative time, regressor name).
fn regressors(
    panel: &Panel,
    spec: &Spec,
    rows: &[usize],
) -> Result<(NamedColumns, Vec<(i64, String)>), EstimateError> {
    let data = &panel.data;
    let mut regs = Vec::new();
    let mut event_terms = Vec::new();
    match spec.method {
        // The treatment as given, as feols(y ~ d | unit + time) reads it.
        Method::Twfe => regs.push((
            data.treatment.name().to_string(),
            rows.iter().map(|&i| panel.treated(i)).collect(),
        )),
        Method::EventStudy => {
            let rel: Vec<Option<i64>> = rows
                .iter()
                .map(|&i| {
                    panel.adoption(i).map(|a| {
                        let r = data.time[i] - a;
                        match spec.window {
                            Some((lo, hi)) => r.clamp(lo, hi),
                            None => r,
                        }
                    })
                })
                .collect();
            let values: BTreeSet<i64> = rel.iter().flatten().copied().collect();
            if !values.contains(&spec.reference) {
                return Err(EstimateError::BadParameter {
                    parameter: "reference",
                    message: format!(
                        "reference period {} is not among the relative times ({})",
                        spec.reference,
                        values
                            .iter()
                            .map(|v| v.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
            for r in values.into_iter().filter(|r| *r != spec.reference) {
                let name = format!("rel_time::{r}");
                event_terms.push((r, name.clone()));
                regs.push((
                    name,
                    rel.iter().map(|x| (*x == Some(r)) as u8 as f64).collect(),
                ));
            }
        }
        Method::Did2x2 | Method::Sc | Method::Sdid | Method::Cs | Method::Sunab => {
            unreachable!("these have their own designs")
        }
    }
    for (name, values) in &data.covariates {
        regs.push((name.clone(), rows.iter().map(|&i| values[i]).collect()));
    }
    Ok((regs, event_terms))
}

/// The cluster factors on `rows`: the given columns, else the unit when unit effects are in the
/// model (as fixest), else none.
fn clusters(panel: &Panel, rows: &[usize], unit: &Factor, default_to_unit: bool) -> Vec<Factor> {
    match panel.data.cluster.as_slice() {
        [] if default_to_unit => vec![unit.clone()],
        [] => vec![],
        given => given
            .iter()
            .map(|(name, labels)| Factor::of_rows(name, labels, rows))
            .collect(),
    }
}

fn vcov_name(clusters: &[Factor]) -> String {
    match clusters {
        [] => "iid".to_string(),
        [c] => format!("CR1 clustered by {}", c.name),
        [a, b] => format!("two-way CR1 clustered by {} and {}", a.name, b.name),
        _ => unreachable!("checked by Panel::new"),
    }
}

/// The outcomes grouped by their complete rows (treatment, covariates, weights and the outcome
/// all present): each group's rows, in order, and its outcomes. The rows are collected in one pass
/// per outcome (a mask per outcome, then the rows from it, was two more passes over the panel).
fn samples(panel: &Panel) -> Vec<(Vec<usize>, Vec<usize>)> {
    let data = &panel.data;
    let n = panel.len();
    let may_miss = matches!(data.treatment, Treatment::Indicator { .. })
        || !data.covariates.is_empty()
        || data.weights.is_some();
    let base: Option<Vec<bool>> = may_miss.then(|| {
        (0..n)
            .map(|i| {
                panel.treated(i).is_finite()
                    && data.covariates.iter().all(|(_, c)| c[i].is_finite())
                    && data.weights.as_ref().is_none_or(|(_, w)| w[i].is_finite())
            })
            .collect()
    });
    let mut groups: Vec<(Vec<usize>, Vec<usize>)> = Vec::new();
    for (j, (_, y)) in data.outcomes.iter().enumerate() {
        let mut rows = Vec::with_capacity(n);
        match &base {
            Some(base) => rows.extend((0..n).filter(|&i| base[i] && y[i].is_finite())),
            None => rows.extend((0..n).filter(|&i| y[i].is_finite())),
        }
        match groups.iter_mut().find(|(other, _)| *other == rows) {
            Some((_, outcomes)) => outcomes.push(j),
            None => groups.push((rows, vec![j])),
        }
    }
    groups
}

pub fn estimate(panel: &Panel, spec: &Spec) -> Result<Vec<Report>, EstimateError> {
    spec.check()?;
    if spec.method != Method::Twfe {
        panel.require_absorbing(spec.method)?;
    }
    let data = &panel.data;
    let mut reports: Vec<Option<Report>> = vec![None; data.outcomes.len()];
    for (rows, outcomes) in samples(panel) {
        let left_out = panel.len() - rows.len();
        let estimated = match spec.method {
            Method::Did2x2 => outcomes
                .iter()
                .map(|&j| did2x2_report(panel, spec, &rows, j))
                .collect::<Result<Vec<_>, _>>()?,
            Method::Cs => outcomes
                .iter()
                .map(|&j| cs_report(panel, &spec.cs, &rows, j))
                .collect::<Result<Vec<_>, _>>()?,
            Method::Sunab => sunab_reports(panel, spec, &rows, &outcomes)?,
            Method::Sc | Method::Sdid => outcomes
                .iter()
                .map(|&j| synth_report(panel, spec.method, &spec.synth, &rows, j))
                .collect::<Result<Vec<_>, _>>()?,
            Method::Twfe | Method::EventStudy => panel_design(panel, spec, &rows, &outcomes)?,
        };
        for (mut report, j) in estimated.into_iter().zip(&outcomes) {
            if left_out > 0 {
                report.notes.insert(
                    0,
                    format!(
                        "{left_out} of {} rows left out for a missing value in `{}`, a covariate, the weights or the treatment",
                        panel.len(),
                        data.outcomes[*j].0
                    ),
                );
            }
            reports[*j] = Some(report);
        }
    }
    Ok(reports
        .into_iter()
        .map(|r| r.expect("every outcome is in one sample"))
        .collect())
}

/// TWFE or event study for the outcomes sharing the rows `rows`.
fn panel_design(
    panel: &Panel,
    spec: &Spec,
    rows: &[usize],
    outcomes: &[usize],
) -> Result<Vec<Report>, EstimateError> {
    let data = &panel.data;
    if rows.is_empty() {
        return Err(EstimateError::Design(format!(
            "no complete rows for `{}`",
            data.outcomes[outcomes[0]].0
        )));
    }
    let (regs, event_terms) = regressors(panel, spec, rows)?;
    let times: Vec<i64> = rows.iter().map(|&i| data.time[i]).collect();
    let unit = Factor::of_rows("unit", &data.unit, rows);
    let time = Factor::from_labels("time", &times);
    let with_effects = spec.effects == Effects::UnitAndTime;
    let fixed_effects = if with_effects {
        vec![unit.clone(), time]
    } else {
        vec![]
    };
    let clusters = clusters(panel, rows, &unit, with_effects);
    let vcov = if clusters.is_empty() {
        VcovSpec::Iid
    } else {
        VcovSpec::Cluster(clusters.clone())
    };
    let weights: Option<Vec<f64>> = data
        .weights
        .as_ref()
        .map(|(_, w)| rows.iter().map(|&i| w[i]).collect());
    let design = Design {
        outcomes: outcomes
            .iter()
            .map(|&j| {
                let (name, y) = &data.outcomes[j];
                (name.clone(), rows.iter().map(|&i| y[i]).collect())
            })
            .collect(),
        regressors: regs,
        fixed_effects,
        weights,
        intercept: !with_effects,
        collinear: spec.collinear,
    };
    // The bootstrap needs the fixed effects and weights that the fit projects out.
    let projected = Design {
        fixed_effects: design.fixed_effects.clone(),
        weights: design.weights.clone(),
        ..Design::default()
    };
    let treatment = data.treatment.name();
    let fitted = fit_owned(design, &vcov, spec.demean).map_err(|e| match e {
        // The treatment itself collinear says so, whatever the collinearity policy.
        EstimateError::Collinear(names) if names.iter().any(|n| n == treatment) => {
            EstimateError::TreatmentCollinear(treatment.to_string())
        }
        other => other,
    })?;
    if spec.method == Method::Twfe && !fitted.outcomes[0].terms.iter().any(|t| t == treatment) {
        return Err(EstimateError::TreatmentCollinear(treatment.to_string()));
    }
    let mut reports = Vec::new();
    for (j, out) in fitted.outcomes.iter().enumerate() {
        let mut notes = Vec::new();
        if !fitted.dropped.is_empty() {
            notes.push(format!(
                "removed for collinearity with the fixed effects or the regressors before them: {}",
                fitted.dropped.join(", ")
            ));
        }
        let (event_study, pretrend) = if spec.method == Method::EventStudy {
            let mut es: Vec<EventCoefficient> = event_terms
                .iter()
                .filter_map(|(r, name)| {
                    out.index(name).map(|idx| {
                        let c = &out.coefficients[idx];
                        EventCoefficient {
                            rel_time: *r,
                            estimate: c.estimate,
                            se: c.se,
                            ci_low: c.ci_low,
                            ci_high: c.ci_high,
                        }
                    })
                })
                .collect();
            es.push(EventCoefficient {
                rel_time: spec.reference,
                estimate: 0.0,
                se: 0.0,
                ci_low: 0.0,
                ci_high: 0.0,
            });
            es.sort_by_key(|e| e.rel_time);
            let leads: Vec<usize> = event_terms
                .iter()
                .filter(|(r, _)| *r < 0)
                .filter_map(|(_, name)| out.index(name))
                .collect();
            let pretrend = wald(out, &leads, fitted.df);
            if let Some(w) = &pretrend {
                if w.df1 < w.tested {
                    notes.push(format!(
                        "the {} leads' covariance has rank {} (leads are as many as clusters or more): the pre-trend test uses its pseudo-inverse with {} numerator degrees of freedom",
                        w.tested, w.df1, w.df1
                    ));
                }
            }
            (es, pretrend)
        } else {
            (Vec::new(), None)
        };
        let bootstrap = match &spec.bootstrap {
            Some(b) => Some(bootstrap(&fitted, j, 0, &projected, &clusters, b)?),
            None => None,
        };
        reports.push(Report {
            method: spec.method.as_str().to_string(),
            outcome: out.outcome.clone(),
            n_obs: fitted.n_obs,
            n_units: unit.levels,
            n_clusters: fitted.n_clusters,
            vcov: vcov_name(&clusters),
            estimates: out.coefficients.clone(),
            event_study,
            pretrend,
            bootstrap,
            did2x2: None,
            dropped: fitted.dropped.clone(),
            notes,
            ..Report::empty(spec.method)
        });
    }
    Ok(reports)
}

/// The wild cluster restricted bootstrap of coefficient `coefficient` of outcome `j`.
fn bootstrap(
    fitted: &Fit,
    j: usize,
    coefficient: usize,
    design: &Design,
    clusters: &[Factor],
    spec: &BootstrapSpec,
) -> Result<BootstrapResult, EstimateError> {
    let [cluster] = clusters else {
        return Err(EstimateError::BadParameter {
            parameter: "bootstrap",
            message: "the wild cluster bootstrap needs exactly one cluster variable".into(),
        });
    };
    let g = cluster.levels as f64;
    let n = fitted.n_obs as f64;
    let small_sample = g / (g - 1.0) * (n - 1.0) / (n - fitted.k_adjust as f64);
    let out = &fitted.outcomes[j];
    let y = fitted.y.column(j).into_owned();
    let main = &out.coefficients[coefficient];
    wild_cluster_bootstrap(
        &BootstrapProblem {
            x: &fitted.x,
            y: &y,
            bread: &fitted.bread,
            coefficient,
            cluster,
            small_sample,
            estimate: main.estimate,
            se: main.se,
            fixed_effects: &design.fixed_effects,
            weights: design.weights.as_deref(),
        },
        spec,
    )
}

/// The study's 2x2 of outcome `j` on the rows `rows`: treated = units that adopt, post = periods
/// from the common adoption period on.
fn did2x2_report(
    panel: &Panel,
    spec: &Spec,
    rows: &[usize],
    j: usize,
) -> Result<Report, EstimateError> {
    let data = &panel.data;
    let adoptions: BTreeSet<i64> = rows.iter().filter_map(|&i| panel.adoption(i)).collect();
    let [start] = adoptions.iter().copied().collect::<Vec<_>>()[..] else {
        return Err(EstimateError::Design(format!(
            "did2x2 needs one common adoption period, found {} ({}); use twfe or event-study",
            adoptions.len(),
            adoptions
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    let units: Vec<String> = rows.iter().map(|&i| data.unit[i].to_string()).collect();
    let y: Vec<f64> = rows.iter().map(|&i| data.outcomes[j].1[i]).collect();
    let treated: Vec<bool> = rows.iter().map(|&i| panel.adoption(i).is_some()).collect();
    let post: Vec<bool> = rows.iter().map(|&i| data.time[i] >= start).collect();
    let covariates: Vec<(String, Vec<f64>)> = data
        .covariates
        .iter()
        .map(|(name, c)| (name.clone(), rows.iter().map(|&i| c[i]).collect()))
        .collect();
    let weights: Option<Vec<f64>> = data
        .weights
        .as_ref()
        .map(|(_, w)| rows.iter().map(|&i| w[i]).collect());
    let unit = Factor::from_labels("unit", &units);
    let mut given = clusters(panel, rows, &unit, false);
    if given.is_empty() && spec.bootstrap.is_some() {
        // The bootstrap's t statistic is a cluster-robust one: with no cluster column given, the
        // 2x2 clusters by unit so that its t and the bootstrap's are the same statistic.
        given = vec![unit.clone()];
    }
    let cells = Cells {
        units: &units,
        y: &y,
        treated: &treated,
        post: &post,
        covariates: &covariates,
        weights: weights.as_deref(),
        clusters: (!given.is_empty()).then(|| given.clone()),
        collinear: spec.collinear,
    };
    let two = two_by_two(&cells)?;
    let r = &two.result;
    let out = &two.fit.outcomes[0];
    let headline = out.index(TREATED_X_POST).expect("checked by two_by_two");
    let used_clusters = match &two.vcov {
        VcovSpec::Cluster(c) => c.clone(),
        _ => vec![],
    };
    let bootstrap = match &spec.bootstrap {
        Some(b) => {
            // No fixed effects: the 2x2 is an OLS with an intercept.
            let design = Design {
                weights: weights.clone(),
                ..Design::default()
            };
            Some(bootstrap(
                &two.fit,
                0,
                headline,
                &design,
                &used_clusters,
                b,
            )?)
        }
        None => None,
    };
    let mut estimates = vec![r.effect.clone()];
    estimates.extend(
        out.coefficients
            .iter()
            .filter(|c| c.term != TREATED_X_POST)
            .cloned(),
    );
    let mut notes = Vec::new();
    if r.n_treated == 1 {
        notes.push(
            "one treated unit: read the placebo p-value (or the bootstrap), not the t test".into(),
        );
    }
    Ok(Report {
        method: Method::Did2x2.as_str().to_string(),
        outcome: data.outcomes[j].0.clone(),
        n_obs: r.n_obs,
        n_units: unit.levels,
        n_clusters: two.fit.n_clusters,
        vcov: r.vcov.clone(),
        estimates,
        event_study: vec![],
        pretrend: None,
        bootstrap,
        did2x2: Some(TwoByTwoCells {
            treated_pre: r.treated_pre,
            treated_post: r.treated_post,
            control_pre: r.control_pre,
            control_post: r.control_post,
            n_treated: r.n_treated,
            n_control: r.n_control,
            adoption: start,
            placebo: r.placebo.clone(),
        }),
        dropped: two.fit.dropped.clone(),
        notes,
        ..Report::empty(Method::Did2x2)
    })
}
