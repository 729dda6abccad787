//! The run's figures, per cluster and indicator: effects by time relative to adoption (the event
//! study, CS dynamic effects with their uniform band, Sun-Abraham), the treated region against its
//! synthetic control or the control mean, and the SC/SDID donor weights. Each is drawn once as
//! SVG (text as outlines of the embedded PT Sans) and once as PNG, from the same drawing code.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::OnceLock;

use ab_glyph::FontRef;
use image::ImageEncoder;
use plotters::coord::types::{RangedCoordf64, RangedCoordi64};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::error::PublishError;
use crate::results::{IndicatorResults, RunResults};
use crate::svg_text::{finish, OutlinedSvg};
use crate::{Artifact, Language, Output, RunContext};

/// PT Sans (ParaType, free licence in `fonts/LICENSE-PTSans.txt`): drawn for the Russian civil
/// service's documents, full Cyrillic; embedded so nothing depends on system fonts.
pub const FONT_REGULAR: &[u8] = include_bytes!("../fonts/PTSans-Regular.ttf");
pub const FONT_BOLD: &[u8] = include_bytes!("../fonts/PTSans-Bold.ttf");
/// The family name plotters knows the embedded font by.
const FAMILY: &str = "PT Sans";

const BLUE: RGBColor = RGBColor(31, 90, 160);
const ORANGE: RGBColor = RGBColor(214, 110, 20);
const GREY: RGBColor = RGBColor(120, 120, 120);

fn fonts() -> Result<(FontRef<'static>, FontRef<'static>), PublishError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FAMILY, FontStyle::Normal, FONT_REGULAR).is_ok()
            && plotters::style::register_font(FAMILY, FontStyle::Bold, FONT_BOLD).is_ok()
    });
    if !ok {
        return Err(PublishError::Font(FAMILY));
    }
    Ok((
        FontRef::try_from_slice(FONT_REGULAR).map_err(|_| PublishError::Font("PTSans-Regular"))?,
        FontRef::try_from_slice(FONT_BOLD).map_err(|_| PublishError::Font("PTSans-Bold"))?,
    ))
}

/// One effect at a time relative to adoption.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectPoint {
    pub rel_time: i64,
    pub estimate: f64,
    pub ci: (f64, f64),
    /// A uniform band wider than the interval (CS), if any.
    pub band: Option<(f64, f64)>,
    pub is_reference: bool,
}

/// What a figure draws.
#[derive(Debug, Clone, PartialEq)]
pub enum Chart {
    EventTime {
        points: Vec<EffectPoint>,
        x_label: String,
        y_label: String,
    },
    Trajectory {
        treated: Vec<(i64, f64)>,
        counterfactual: Vec<(i64, f64)>,
        treated_label: String,
        counterfactual_label: String,
        adoption: Vec<i64>,
        y_label: String,
    },
    Bars {
        bars: Vec<(String, f64)>,
        x_label: String,
    },
}

/// A drawn figure.
#[derive(Debug, Clone)]
pub struct Figure {
    pub cluster_id: String,
    pub indicator_id: String,
    /// `event_study-<method>`, `trajectory`, `weights-<method>`.
    pub kind: String,
    pub title: String,
    pub chart: Chart,
    pub svg: String,
    pub png: Vec<u8>,
}

impl Figure {
    /// The figure's path in the run's directory, without the extension.
    pub fn stem(&self) -> String {
        format!(
            "plots/{}/{}/{}",
            safe(&self.cluster_id),
            safe(&self.indicator_id),
            self.kind
        )
    }
}

/// A path component from an id: letters, digits, `-` and `_` kept, anything else `_`.
fn safe(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Words of the figures in the report's language.
pub struct Words {
    pub lang: Language,
}

impl Words {
    pub fn pick<'a>(&self, ru: &'a str, en: &'a str) -> &'a str {
        match self.lang {
            Language::Ru => ru,
            Language::En => en,
        }
    }

    pub fn method(&self, method: &str) -> String {
        match method {
            "event-study" => self
                .pick("событийный анализ (TWFE)", "event study (TWFE)")
                .into(),
            "cs" => "Callaway–Sant'Anna".into(),
            "sunab" => "Sun–Abraham".into(),
            "sdid" => self
                .pick(
                    "синтетическая разность разностей (SDID)",
                    "synthetic DiD (SDID)",
                )
                .into(),
            "sc" => self
                .pick("синтетический контроль", "synthetic control")
                .into(),
            "twfe" => self
                .pick(
                    "разность разностей с фиксированными эффектами (TWFE)",
                    "two-way fixed effects DiD (TWFE)",
                )
                .into(),
            "did2x2" => self
                .pick("разность разностей 2×2", "2×2 difference-in-differences")
                .into(),
            other => other.into(),
        }
    }

    pub fn effect_axis(&self, indicator: &IndicatorResults) -> String {
        if indicator.log_outcome {
            self.pick(
                "эффект, лог. пункты (≈ доля)",
                "effect, log points (≈ share)",
            )
            .into()
        } else {
            match &indicator.unit {
                Some(u) => format!("{}, {u}", self.pick("эффект", "effect")),
                None => self.pick("эффект", "effect").into(),
            }
        }
    }
}

/// Every figure of the run's results.
pub fn figures(results: &RunResults, lang: Language) -> Result<Vec<Figure>, PublishError> {
    let words = Words { lang };
    let mut out = Vec::new();
    for cluster in &results.clusters {
        for indicator in &cluster.indicators {
            for chart in charts(indicator, &words) {
                let (kind, title, chart) = chart;
                out.push(render(&cluster.id, indicator, kind, title, chart)?);
            }
        }
    }
    Ok(out)
}

/// The charts of one cluster and indicator: (kind, title, chart).
fn charts(ind: &IndicatorResults, w: &Words) -> Vec<(String, String, Chart)> {
    let mut out = Vec::new();
    let mut methods: Vec<&str> = ind.event_time.iter().map(|e| e.method.as_str()).collect();
    methods.dedup();
    for method in methods {
        let points: Vec<EffectPoint> = ind
            .event_time
            .iter()
            .filter(|e| e.method == method && e.estimate.is_finite())
            .map(|e| EffectPoint {
                rel_time: e.rel_time,
                estimate: e.estimate,
                ci: (e.ci_low, e.ci_high),
                band: (e.band_low.is_finite()
                    && e.band_high.is_finite()
                    && (e.band_low < e.ci_low - 1e-12 || e.band_high > e.ci_high + 1e-12))
                    .then_some((e.band_low, e.band_high)),
                is_reference: e.is_reference,
            })
            .collect();
        if points.is_empty() {
            continue;
        }
        out.push((
            format!("event_study-{method}"),
            format!("{}: {}", ind.name, w.method(method)),
            Chart::EventTime {
                points,
                x_label: w
                    .pick(
                        "годы относительно начала программы",
                        "years relative to adoption",
                    )
                    .into(),
                y_label: w.effect_axis(ind),
            },
        ));
    }
    if let Some(chart) = trajectory(ind, w) {
        out.push((
            "trajectory".into(),
            format!(
                "{}: {}",
                ind.name,
                w.pick("программа и контрфакт", "programme and counterfactual")
            ),
            chart,
        ));
    }
    let mut weight_methods: Vec<&str> = ind
        .weights
        .iter()
        .filter(|x| x.unit.is_some())
        .map(|x| x.method.as_str())
        .collect();
    weight_methods.sort();
    weight_methods.dedup();
    for method in weight_methods {
        let mut bars: Vec<(String, f64)> = ind
            .weights
            .iter()
            .filter(|x| x.method == method && x.unit.is_some() && x.weight > 1e-4)
            .map(|x| {
                (
                    x.region_name
                        .clone()
                        .or_else(|| x.unit.clone())
                        .unwrap_or_default(),
                    x.weight,
                )
            })
            .collect();
        bars.sort_by(|a, b| b.1.total_cmp(&a.1));
        bars.truncate(15);
        if bars.is_empty() {
            continue;
        }
        out.push((
            format!("weights-{method}"),
            format!(
                "{}: {} ({})",
                ind.name,
                w.pick("веса регионов-доноров", "donor weights"),
                method.to_uppercase()
            ),
            Chart::Bars {
                bars,
                x_label: w
                    .pick(
                        "вес в синтетическом контроле",
                        "weight in the synthetic control",
                    )
                    .into(),
            },
        ));
    }
    out
}

/// The treated regions' mean against the synthetic control of the SDID or SC design (the
/// headline's if it is one), or against the control regions' mean. Figures are shown in the
/// indicator's own units (exp of the log outcome when the design is on logs).
fn trajectory(ind: &IndicatorResults, w: &Words) -> Option<Chart> {
    use std::collections::BTreeMap;
    if ind.panel.is_empty() {
        return None;
    }
    let level = |y: f64| if ind.log_outcome { y.exp() } else { y };
    let mut treated: BTreeMap<i64, (f64, usize)> = BTreeMap::new();
    let mut controls: BTreeMap<String, BTreeMap<i64, f64>> = BTreeMap::new();
    let mut treated_names: Vec<&str> = Vec::new();
    for p in &ind.panel {
        if !p.outcome.is_finite() {
            continue;
        }
        if p.cohort > 0 {
            let e = treated.entry(p.year).or_default();
            e.0 += p.outcome;
            e.1 += 1;
            if !treated_names.contains(&p.region_name.as_str()) {
                treated_names.push(&p.region_name);
            }
        } else {
            controls
                .entry(p.unit.clone())
                .or_default()
                .insert(p.year, p.outcome);
        }
    }
    let treated: BTreeMap<i64, f64> = treated
        .into_iter()
        .map(|(y, (s, n))| (y, s / n as f64))
        .collect();
    let headline = ind.headline().map(|e| e.method.as_str());
    let synth_method = ["sdid", "sc"]
        .into_iter()
        .filter(|m| {
            ind.weights
                .iter()
                .any(|x| x.method == *m && x.unit.is_some())
        })
        .min_by_key(|m| Some(*m) != headline);
    let (counterfactual, label): (BTreeMap<i64, f64>, String) = match synth_method {
        Some(method) => {
            let donors: Vec<(&str, f64)> = ind
                .weights
                .iter()
                .filter(|x| x.method == method)
                .filter_map(|x| x.unit.as_deref().map(|u| (u, x.weight)))
                .collect();
            let mut synth: BTreeMap<i64, f64> = BTreeMap::new();
            for year in treated.keys() {
                let value: Option<f64> = donors
                    .iter()
                    .map(|(u, wt)| controls.get(*u).and_then(|s| s.get(year)).map(|y| wt * y))
                    .sum();
                if let Some(v) = value {
                    synth.insert(*year, v);
                }
            }
            // SDID's synthetic control has an intercept: the treated minus synthetic gap over the
            // pre-treatment years, weighted by its time weights, shifts it onto the treated
            // series before adoption (as synthdid's plot draws it). SC has none.
            if method == "sdid" {
                let lambdas: Vec<(i64, f64)> = ind
                    .weights
                    .iter()
                    .filter(|x| x.method == method)
                    .filter_map(|x| x.year.map(|y| (y, x.weight)))
                    .collect();
                let total: f64 = lambdas.iter().map(|(_, l)| l).sum();
                if total > 0.0 {
                    let offset: f64 = lambdas
                        .iter()
                        .filter_map(|(y, l)| Some(l * (treated.get(y)? - synth.get(y)?)))
                        .sum::<f64>()
                        / total;
                    for v in synth.values_mut() {
                        *v += offset;
                    }
                }
            }
            (synth, w.method(method))
        }
        None => {
            let mut mean: BTreeMap<i64, (f64, usize)> = BTreeMap::new();
            for series in controls.values() {
                for (y, v) in series {
                    let e = mean.entry(*y).or_default();
                    e.0 += v;
                    e.1 += 1;
                }
            }
            (
                mean.into_iter()
                    .map(|(y, (s, n))| (y, s / n as f64))
                    .collect(),
                w.pick("среднее контрольных регионов", "control regions' mean")
                    .into(),
            )
        }
    };
    if treated.is_empty() || counterfactual.is_empty() {
        return None;
    }
    let treated_label = match treated_names.as_slice() {
        [one] => one.to_string(),
        many => format!(
            "{} ({})",
            w.pick("среднее регионов программы", "programme regions' mean"),
            many.len()
        ),
    };
    Some(Chart::Trajectory {
        treated: treated.into_iter().map(|(y, v)| (y, level(v))).collect(),
        counterfactual: counterfactual
            .into_iter()
            .map(|(y, v)| (y, level(v)))
            .collect(),
        treated_label,
        counterfactual_label: label,
        adoption: ind.adoption_years(),
        y_label: ind.unit.clone().unwrap_or_else(|| ind.name.clone()),
    })
}

/// An axis tick: as many decimals as the axis' span needs, no "-0", thousands grouped by a thin
/// space (as Russian typography and Rosstat's tables do).
fn tick(v: f64, span: f64) -> String {
    let decimals = if span > 0.0 {
        (-(span / 5.0).log10()).ceil().clamp(0.0, 6.0) as usize
    } else {
        2
    };
    let text = format!("{v:.decimals$}");
    let text = if text
        .trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        text.trim_start_matches('-').to_string()
    } else {
        text
    };
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (int, frac) = digits
        .split_once('.')
        .map_or((digits, None), |(i, f)| (i, Some(f)));
    let grouped = if int.len() > 4 {
        let mut out = String::new();
        for (i, ch) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                out.push('\u{2009}');
            }
            out.push(ch);
        }
        out
    } else {
        int.to_string()
    };
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// Years (or years relative to adoption) across, values up: the axes of the event-time and
/// trajectory charts, padded by 8 % of the values' span.
struct YearAxes<'a> {
    years: (i64, i64),
    values: (f64, f64),
    x_labels: usize,
    x_desc: Option<&'a str>,
    y_desc: &'a str,
}

type YearChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordi64, RangedCoordf64>>;

impl YearAxes<'_> {
    /// The chart with its caption and mesh drawn, and the padded value range.
    fn build<'a, DB: DrawingBackend>(
        &self,
        root: &'a DrawingArea<DB, Shift>,
        title: &str,
        k: f64,
    ) -> Result<(YearChart<'a, DB>, (f64, f64)), String> {
        let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
        let px = |v: f64| (v * k).round() as u32;
        let axis_font = (FAMILY, 14.0 * k).into_font().color(&BLACK.mix(0.85));
        let (ymin, ymax) = self.values;
        let pad = ((ymax - ymin) * 0.08).max(1e-9);
        let (lo, hi) = (ymin - pad, ymax + pad);
        let mut c = ChartBuilder::on(root)
            .caption(
                title,
                (FAMILY, 20.0 * k)
                    .into_font()
                    .style(FontStyle::Bold)
                    .color(&BLACK),
            )
            .margin(px(14.0))
            .x_label_area_size(px(if self.x_desc.is_some() { 46.0 } else { 40.0 }))
            .y_label_area_size(px(80.0))
            .build_cartesian_2d(self.years.0..self.years.1, lo..hi)
            .map_err(err)?;
        let span = hi - lo;
        let label = |v: &f64| tick(*v, span);
        let mut mesh = c.configure_mesh();
        mesh.x_labels(self.x_labels)
            .y_label_formatter(&label)
            .y_desc(self.y_desc)
            .label_style(axis_font.clone())
            .axis_desc_style(axis_font.clone())
            .light_line_style(WHITE.mix(0.0));
        if let Some(x) = self.x_desc {
            mesh.x_desc(x);
        }
        mesh.draw().map_err(err)?;
        Ok((c, (lo, hi)))
    }
}

/// A dashed vertical line at `x` (adoption) from `y.0` to `y.1`.
fn marker(x: i64, y: (f64, f64), k: f64) -> DashedLineSeries<std::vec::IntoIter<(i64, f64)>, u32> {
    let px = |v: f64| (v * k).round() as u32;
    DashedLineSeries::new(
        vec![(x, y.0), (x, y.1)],
        px(6.0),
        px(4.0),
        GREY.stroke_width(px(1.0).max(1)),
    )
}

fn size_of(chart: &Chart) -> (u32, u32) {
    match chart {
        Chart::Bars { bars, .. } => (900, 140 + 30 * bars.len() as u32),
        _ => (900, 480),
    }
}

fn render(
    cluster_id: &str,
    indicator: &IndicatorResults,
    kind: String,
    title: String,
    chart: Chart,
) -> Result<Figure, PublishError> {
    let (regular, bold) = fonts()?;
    let size = size_of(&chart);
    let failed = |message: String| PublishError::Plot {
        figure: format!("{cluster_id}/{}/{kind}", indicator.id),
        message,
    };
    let mut svg = String::new();
    let paths = Rc::new(RefCell::new(String::new()));
    {
        let backend = OutlinedSvg::new(&mut svg, size, regular, bold, paths.clone());
        let root = backend.into_drawing_area();
        draw_scaled(&root, &title, &chart, 1.0).map_err(&failed)?;
        root.present().map_err(|e| failed(e.to_string()))?;
    }
    let svg = finish(svg, &paths.borrow());
    // PNG at twice the size, for print and high-density screens.
    let scale = 2;
    let (w, h) = (size.0 * scale, size.1 * scale);
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        // The same drawing, scaled: plotters has no transform, so fonts and margins double.
        draw_scaled(&root, &title, &chart, scale as f64).map_err(&failed)?;
        root.present().map_err(|e| failed(e.to_string()))?;
    }
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(&rgb, w, h, image::ColorType::Rgb8)
        .map_err(|e| failed(e.to_string()))?;
    Ok(Figure {
        cluster_id: cluster_id.to_string(),
        indicator_id: indicator.id.clone(),
        kind,
        title,
        chart,
        svg,
        png,
    })
}

/// Draws `chart` on `root` with sizes (fonts, margins, strokes) multiplied by `k`.
fn draw_scaled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    chart: &Chart,
    k: f64,
) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    let px = |v: f64| (v * k).round() as u32;
    let font = |size: f64| (FAMILY, size * k).into_font();
    let stroke = |c: RGBColor, w: f64| c.stroke_width(px(w).max(1));
    root.fill(&WHITE).map_err(err)?;
    let title_style = font(20.0).style(FontStyle::Bold).color(&BLACK);
    let axis_font = font(14.0).color(&BLACK.mix(0.85));
    match chart {
        Chart::EventTime {
            points,
            x_label,
            y_label,
        } => {
            let lo = points.iter().map(|p| p.rel_time).min().unwrap_or(-1) - 1;
            let hi = points.iter().map(|p| p.rel_time).max().unwrap_or(1) + 1;
            let (mut ymin, mut ymax) = (0.0f64, 0.0f64);
            for p in points {
                let (a, b) = p.band.unwrap_or(p.ci);
                for v in [a, b, p.estimate] {
                    if v.is_finite() {
                        ymin = ymin.min(v);
                        ymax = ymax.max(v);
                    }
                }
            }
            let axes = YearAxes {
                years: (lo, hi),
                values: (ymin, ymax),
                x_labels: (hi - lo + 1) as usize,
                x_desc: Some(x_label),
                y_desc: y_label,
            };
            let (mut c, (ymin, ymax)) = axes.build(root, title, k)?;
            // Zero, and adoption between -1 and 0.
            c.draw_series(LineSeries::new([(lo, 0.0), (hi, 0.0)], stroke(GREY, 1.0)))
                .map_err(err)?;
            c.draw_series(marker(0, (ymin, ymax), k)).map_err(err)?;
            let bands: Vec<&EffectPoint> = points.iter().filter(|p| p.band.is_some()).collect();
            if !bands.is_empty() {
                let upper = bands
                    .iter()
                    .map(|p| (p.rel_time, p.band.expect("filtered").1));
                let lower = bands
                    .iter()
                    .rev()
                    .map(|p| (p.rel_time, p.band.expect("filtered").0));
                c.draw_series(std::iter::once(Polygon::new(
                    upper.chain(lower).collect::<Vec<_>>(),
                    BLUE.mix(0.15).filled(),
                )))
                .map_err(err)?;
            }
            c.draw_series(points.iter().filter(|p| !p.is_reference).map(|p| {
                ErrorBar::new_vertical(
                    p.rel_time,
                    p.ci.0,
                    p.estimate,
                    p.ci.1,
                    stroke(BLUE, 1.5),
                    px(8.0),
                )
            }))
            .map_err(err)?;
            c.draw_series(points.iter().map(|p| {
                let style = if p.is_reference {
                    stroke(ORANGE, 2.0)
                } else {
                    BLUE.filled()
                };
                Circle::new((p.rel_time, p.estimate), px(4.0), style)
            }))
            .map_err(err)?;
        }
        Chart::Trajectory {
            treated,
            counterfactual,
            treated_label,
            counterfactual_label,
            adoption,
            y_label,
        } => {
            let years = treated.iter().chain(counterfactual).map(|(y, _)| *y);
            let (lo, hi) = years.fold((i64::MAX, i64::MIN), |(a, b), y| (a.min(y), b.max(y)));
            let values = treated.iter().chain(counterfactual).map(|(_, v)| *v);
            let (ymin, ymax) = values.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
            let axes = YearAxes {
                years: (lo, hi),
                values: (ymin, ymax),
                x_labels: ((hi - lo) as usize + 1).min(12),
                x_desc: None,
                y_desc: y_label,
            };
            let (mut c, (ymin, ymax)) = axes.build(root, title, k)?;
            for year in adoption {
                c.draw_series(marker(*year, (ymin, ymax), k)).map_err(err)?;
            }
            c.draw_series(LineSeries::new(treated.iter().copied(), stroke(BLUE, 2.5)))
                .map_err(err)?
                .label(treated_label.as_str())
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + px(22.0) as i32, y)], stroke(BLUE, 2.5))
                });
            c.draw_series(LineSeries::new(
                counterfactual.iter().copied(),
                stroke(ORANGE, 2.0),
            ))
            .map_err(err)?
            .label(counterfactual_label.as_str())
            .legend(move |(x, y)| {
                PathElement::new([(x, y), (x + px(20.0) as i32, y)], stroke(ORANGE, 2.0))
            });
            c.configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .legend_area_size(px(30.0))
                .background_style(WHITE.mix(0.85))
                .border_style(GREY.mix(0.5))
                .label_font(axis_font.clone())
                .draw()
                .map_err(err)?;
        }
        Chart::Bars { bars, x_label } => {
            let n = bars.len() as i32;
            let xmax = bars.iter().map(|(_, v)| *v).fold(0.0f64, f64::max) * 1.12;
            let names: Vec<String> = bars.iter().map(|(name, _)| name.clone()).collect();
            let mut c = ChartBuilder::on(root)
                .caption(title, title_style)
                .margin(px(14.0))
                .x_label_area_size(px(40.0))
                .y_label_area_size(px(230.0))
                .build_cartesian_2d(0.0..xmax.max(1e-9), (0..n - 1).into_segmented())
                .map_err(err)?;
            c.configure_mesh()
                .y_labels(bars.len())
                .x_label_formatter(&|v| tick(*v, xmax))
                .y_label_formatter(&|v: &SegmentValue<i32>| match v {
                    SegmentValue::CenterOf(i) => names
                        .get((n - 1 - *i) as usize)
                        .cloned()
                        .unwrap_or_default(),
                    _ => String::new(),
                })
                .x_desc(x_label.as_str())
                .label_style(axis_font.clone())
                .axis_desc_style(axis_font.clone())
                .light_line_style(WHITE.mix(0.0))
                .draw()
                .map_err(err)?;
            // The heaviest donor on top.
            c.draw_series(bars.iter().enumerate().map(|(i, (_, v))| {
                let row = n - 1 - i as i32;
                let mut bar = Rectangle::new(
                    [
                        (0.0, SegmentValue::Exact(row)),
                        (*v, SegmentValue::Exact(row + 1)),
                    ],
                    BLUE.mix(0.8).filled(),
                );
                bar.set_margin(px(4.0), px(4.0), 0, 0);
                bar
            }))
            .map_err(err)?;
        }
    }
    Ok(())
}

/// Writes every figure as `plots/<cluster>/<indicator>/<kind>.svg` and `.png`.
pub struct Plots;

impl Artifact for Plots {
    fn name(&self) -> &'static str {
        "plots"
    }

    fn write(&self, run: &RunContext, out: &mut Output) -> Result<(), PublishError> {
        for figure in run.figures {
            let describes = Some(format!(
                "{} / {} / {}",
                figure.cluster_id, figure.indicator_id, figure.kind
            ));
            out.write_file(
                &format!("{}.svg", figure.stem()),
                "svg",
                figure.svg.as_bytes(),
                describes.clone(),
            )?;
            out.write_file(
                &format!("{}.png", figure.stem()),
                "png",
                &figure.png,
                describes,
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_read_as_numbers_do() {
        assert_eq!(tick(800000.0, 800000.0), "800\u{2009}000");
        assert_eq!(tick(-0.0000001, 0.8), "0.0");
        assert_eq!(tick(0.26, 0.8), "0.3");
        assert_eq!(tick(0.05, 0.35), "0.05");
        assert_eq!(tick(-1234.5, 3000.0), "-1234");
    }

    #[test]
    fn svg_text_is_drawn_from_the_embedded_font_and_png_has_ink() {
        let indicator = IndicatorResults {
            id: "grp".into(),
            name: "ВРП на душу населения".into(),
            log_outcome: true,
            ..Default::default()
        };
        let chart = Chart::EventTime {
            points: (-3..=3)
                .map(|t| EffectPoint {
                    rel_time: t,
                    estimate: if t == -1 { 0.0 } else { 0.05 * t as f64 },
                    ci: (0.05 * t as f64 - 0.1, 0.05 * t as f64 + 0.1),
                    band: Some((0.05 * t as f64 - 0.15, 0.05 * t as f64 + 0.15)),
                    is_reference: t == -1,
                })
                .collect(),
            x_label: "годы относительно начала программы".into(),
            y_label: "эффект, лог. пункты".into(),
        };
        let fig = render(
            "c",
            &indicator,
            "event_study-cs".into(),
            "ВРП: Callaway–Sant'Anna".into(),
            chart,
        )
        .unwrap();
        assert!(fig.svg.starts_with("<svg"), "{}", &fig.svg[..80]);
        assert!(
            !fig.svg.contains("<text"),
            "text must be outlines, not <text>"
        );
        assert!(fig.svg.contains("<title>ВРП: Callaway–Sant'Anna</title>"));
        assert!(fig.svg.trim_end().ends_with("</svg>"));
        let img = image::load_from_memory(&fig.png).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (1800, 960));
        let inked = img.pixels().filter(|p| p.0 != [255, 255, 255]).count();
        assert!(inked > 10_000, "{inked} non-white pixels");
    }
}
