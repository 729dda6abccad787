//! The report for people: one self-contained HTML page per run (`report/index.html`). Per cluster,
//! the design and why it was chosen; per indicator, the answer in words, the designs side by side,
//! the pre-trend test, the figures (inline SVG, text drawn as outlines), the donor weights, the data
//! vintage and the source documents. It references nothing outside itself: the font is embedded
//! as a data URI, there are no scripts, and links point only to the source documents.

use std::fmt::Write;

use base64::Engine;

use crate::error::PublishError;
use crate::plots::{Chart, Figure, Words, FONT_REGULAR};
use crate::results::{ClusterResults, Estimate, IndicatorResults};
use crate::{Artifact, Language, Output, RunContext};

pub struct Report;

impl Artifact for Report {
    fn name(&self) -> &'static str {
        "report"
    }

    fn write(&self, run: &RunContext, out: &mut Output) -> Result<(), PublishError> {
        let html = render(run);
        out.write_file("report/index.html", "html", html.as_bytes(), None)
    }
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A number as the language writes it: a decimal comma and a thin space between thousands in
/// Russian, a point in English; a true minus sign.
fn num(lang: Language, v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return "—".into();
    }
    let text = format!("{:.decimals$}", v.abs());
    let (int, frac) = text
        .split_once('.')
        .map_or((text.as_str(), None), |(i, f)| (i, Some(f)));
    let sep = match lang {
        Language::Ru => '\u{2009}',
        Language::En => ',',
    };
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 && int.len() > 4 {
            grouped.push(sep);
        }
        grouped.push(ch);
    }
    let negative = v < 0.0 && text.chars().any(|c| c.is_ascii_digit() && c != '0');
    let sign = if negative { "−" } else { "" };
    match (frac, lang) {
        (Some(f), Language::Ru) => format!("{sign}{grouped},{f}"),
        (Some(f), Language::En) => format!("{sign}{grouped}.{f}"),
        (None, _) => format!("{sign}{grouped}"),
    }
}

fn signed(lang: Language, v: f64, decimals: usize) -> String {
    let n = num(lang, v, decimals);
    if v > 0.0 && n.chars().any(|c| c.is_ascii_digit() && c != '0') {
        format!("+{n}")
    } else {
        n
    }
}

/// Decimals enough to show `v` with three significant digits (at most six).
fn decimals_for(v: f64) -> usize {
    if !v.is_finite() || v == 0.0 {
        return 2;
    }
    (2.0 - v.abs().log10().floor()).clamp(0.0, 6.0) as usize
}

/// An effect as people read it: percent for a design on logs, else the indicator's units.
struct Effect {
    point: String,
    low: String,
    high: String,
    unit: String,
}

fn effect(w: &Words, ind: &IndicatorResults, e: &Estimate) -> Effect {
    let lang = w.lang;
    if ind.log_outcome {
        let pct = |b: f64| (b.exp() - 1.0) * 100.0;
        Effect {
            point: signed(lang, pct(e.estimate), 1),
            low: signed(lang, pct(e.ci_low), 1),
            high: signed(lang, pct(e.ci_high), 1),
            unit: "%".into(),
        }
    } else {
        let d = decimals_for(e.ci_high.abs().max(e.ci_low.abs()).max(e.estimate.abs()));
        Effect {
            point: signed(lang, e.estimate, d),
            low: signed(lang, e.ci_low, d),
            high: signed(lang, e.ci_high, d),
            unit: ind.unit.clone().unwrap_or_default(),
        }
    }
}

/// How the interval and p-value were obtained, in words.
fn inference(w: &Words, e: &Estimate) -> String {
    let v = e.vcov.to_lowercase();
    if v.contains("placebo") {
        let reps: String = v
            .split(|c: char| !c.is_ascii_digit())
            .find(|s| !s.is_empty())
            .unwrap_or("")
            .to_string();
        if reps.is_empty() {
            w.pick(
                "по плацебо-тестам на регионах-донорах",
                "from placebo runs on the donor regions",
            )
            .into()
        } else {
            format!(
                "{} ({reps} {})",
                w.pick(
                    "по плацебо-тестам на регионах-донорах",
                    "from placebo runs on the donor regions"
                ),
                w.pick("повторов", "replications")
            )
        }
    } else if v.contains("wild") {
        w.pick(
            "по дикому кластерному бутстрепу",
            "from a wild cluster bootstrap",
        )
        .into()
    } else if v.contains("influence") {
        w.pick(
            "по функциям влияния с кластеризацией по регионам",
            "from influence functions clustered by region",
        )
        .into()
    } else if v.contains("cr1") || v.contains("cluster") {
        w.pick(
            "с ошибками, кластеризованными по регионам",
            "with errors clustered by region",
        )
        .into()
    } else {
        w.pick(
            "по классической МНК-формуле",
            "from the classical OLS formula",
        )
        .into()
    }
}

fn significant(e: &Estimate) -> Option<bool> {
    if e.p_value.is_finite() {
        Some(e.p_value < 0.05)
    } else if e.ci_low.is_finite() && e.ci_high.is_finite() {
        Some(e.ci_low > 0.0 || e.ci_high < 0.0)
    } else {
        None
    }
}

/// The answer for one indicator, in words a non-economist reads.
fn answer(w: &Words, ind: &IndicatorResults, e: &Estimate) -> String {
    let lang = w.lang;
    let x = effect(w, ind, e);
    let interval = match lang {
        Language::Ru => format!("95 % ДИ от {} до {} {}", x.low, x.high, x.unit),
        Language::En => format!("95 % CI {} to {} {}", x.low, x.high, x.unit),
    };
    let p = if e.p_value.is_finite() {
        format!("p {}", eq_p(lang, e.p_value))
    } else {
        String::new()
    };
    let how = inference(w, e);
    match (significant(e), lang) {
        (Some(false), Language::Ru) => format!(
            "<strong>Эффект не отличим от нуля.</strong> Оценка {} {} ({interval}), {p} {how}.",
            x.point, x.unit
        ),
        (Some(false), Language::En) => format!(
            "<strong>No effect distinguishable from zero.</strong> The estimate is {} {} ({interval}), {p} {how}.",
            x.point, x.unit
        ),
        (Some(true), Language::Ru) => format!(
            "<strong>{} {}</strong> ({interval}): эффект отличим от нуля, {p} {how}.",
            x.point, x.unit
        ),
        (Some(true), Language::En) => format!(
            "<strong>{} {}</strong> ({interval}): an effect distinguishable from zero, {p} {how}.",
            x.point, x.unit
        ),
        (None, _) => w
            .pick(
                "Эффект не удалось оценить: см. причину в таблице ниже.",
                "The effect could not be estimated: see the reason in the table below.",
            )
            .into(),
    }
}

/// Why the design was chosen, from what the run stored (treated regions, adoption years, method).
fn why(w: &Words, ind: &IndicatorResults, e: &Estimate) -> String {
    if w.lang == Language::En || e.reason.is_empty() {
        return esc(&e.reason);
    }
    if e.reason.contains("config") {
        return format!("{} задан в конфигурации.", w.method(&e.method));
    }
    let treated = e.n_treated;
    let years = ind.adoption_years();
    match e.method.as_str() {
        "sdid" | "sc" => format!(
            "Регион программы один ({treated}): обычная разность разностей против выбранных вручную регионов не даёт надёжного контрфакта и проверки значимости. Контрфакт строится как взвешенная комбинация регионов-доноров ({}), значимость проверяется плацебо-тестами на донорах.",
            w.method(&e.method)
        ),
        "cs" => format!(
            "Регионы программы ({treated}) вступали в разные годы ({}): обычная разность разностей с фиксированными эффектами в этом случае смещена. Метод Callaway–Sant'Anna сравнивает каждую когорту только с ещё не охваченными регионами.",
            years.iter().map(|y| y.to_string()).collect::<Vec<_>>().join(", ")
        ),
        "twfe" | "event-study" => format!(
            "Все регионы программы ({treated}) начали в одном году: разность разностей с фиксированными эффектами регионов и лет и событийный анализ по годам."
        ),
        _ => esc(&e.reason),
    }
}

fn pretrend(w: &Words, ind: &IndicatorResults) -> Option<String> {
    let row = ind
        .tests
        .iter()
        .find(|t| t.test == "pretrend_wald" && t.p_value.is_finite())?;
    let p = eq_p(w.lang, row.p_value);
    Some(if row.p_value < 0.05 {
        match w.lang {
            Language::Ru => format!("<strong>Проверка параллельных трендов</strong> (совместный тест эффектов до начала программы в событийном анализе): p {p}. До программы регион развивался иначе, чем контрольные: выводы простых сравнений ненадёжны, опирайтесь на синтетический контроль или Callaway–Sant'Anna."),
            Language::En => format!("<strong>Parallel pre-trends</strong> (joint test of the event study's leads): p {p}. Before the programme the region moved differently from the controls: simple comparisons are unreliable; rely on the synthetic control or Callaway–Sant'Anna."),
        }
    } else {
        match w.lang {
            Language::Ru => format!("<strong>Проверка параллельных трендов</strong> (совместный тест эффектов до начала программы в событийном анализе): p {p}. Различий в динамике до программы не обнаружено."),
            Language::En => format!("<strong>Parallel pre-trends</strong> (joint test of the event study's leads): p {p}. No difference before the programme is detectable."),
        }
    })
}

fn designs_table(w: &Words, ind: &IndicatorResults, out: &mut String) {
    let lang = w.lang;
    let _ = write!(
        out,
        "<div class=\"scroll\"><table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>p</th><th>{}</th></tr></thead><tbody>",
        w.pick("метод", "design"),
        w.pick("эффект", "effect"),
        w.pick("95 % интервал", "95 % interval"),
        w.pick("как оценена значимость", "inference")
    );
    let mut rows: Vec<&Estimate> = ind.headline().into_iter().collect();
    rows.extend(ind.beside());
    for e in rows {
        let x = effect(w, ind, e);
        let mark = if e.role == "headline" {
            w.pick(" (основной)", " (headline)")
        } else {
            ""
        };
        let cell = if e.estimate.is_finite() {
            format!("{} {}", x.point, x.unit)
        } else {
            esc(&e.reason)
        };
        let _ = write!(
            out,
            "<tr><td>{}{mark}</td><td>{cell}</td><td>{} … {}</td><td>{}</td><td>{}</td></tr>",
            esc(&w.method(&e.method)),
            x.low,
            x.high,
            if e.p_value.is_finite() {
                p_value(lang, e.p_value)
            } else {
                "—".into()
            },
            esc(&inference(w, e)),
        );
    }
    out.push_str("</tbody></table></div>");
}

fn weights_table(w: &Words, ind: &IndicatorResults, out: &mut String) {
    let method = ind
        .headline()
        .map(|e| e.method.as_str())
        .filter(|m| matches!(*m, "sdid" | "sc"))
        .or_else(|| ind.weights.iter().map(|x| x.method.as_str()).next());
    let Some(method) = method else { return };
    let donors: Vec<_> = ind
        .weights
        .iter()
        .filter(|x| x.method == method && x.unit.is_some() && x.weight > 1e-4)
        .take(10)
        .collect();
    if donors.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<details><summary>{} ({})</summary><div class=\"scroll\"><table><thead><tr><th>{}</th><th>{}</th></tr></thead><tbody>",
        w.pick("Веса регионов-доноров", "Donor weights"),
        method.to_uppercase(),
        w.pick("регион", "region"),
        w.pick("вес", "weight")
    );
    for d in donors {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td></tr>",
            esc(d.region_name.as_deref().or(d.unit.as_deref()).unwrap_or("")),
            num(w.lang, d.weight, 3)
        );
    }
    out.push_str("</tbody></table></div></details>");
}

/// A figure inline (its viewBox lets CSS scale it to the page), with a caption saying how to
/// read it.
fn figure(w: &Words, f: &Figure, out: &mut String) {
    let svg = f.svg.replacen(
        "<svg ",
        &format!("<svg role=\"img\" aria-label=\"{}\" ", esc(&f.title)),
        1,
    );
    let how = match &f.chart {
        Chart::EventTime { points, .. } if points.iter().any(|p| p.band.is_some()) => w.pick(
            "Точки — оценки эффекта по годам относительно начала программы, отрезки — 95 % интервалы для каждого года, заливка — единая 95 % полоса сразу для всех лет. Пунктир — начало программы.",
            "Dots: the effect by year relative to adoption; bars: each year's 95 % interval; shading: one 95 % band for all years at once. Dashed: adoption.",
        ),
        Chart::EventTime { .. } => w.pick(
            "Точки — оценки эффекта по годам относительно начала программы, отрезки — 95 % интервалы; оранжевый кружок — опорный год (0 по построению). До начала программы точки должны лежать около нуля.",
            "Dots: the effect by year relative to adoption; bars: 95 % intervals; orange ring: the reference year (0 by construction). Before adoption the dots should lie near zero.",
        ),
        Chart::Trajectory { .. } => w.pick(
            "Синяя линия — регион(ы) программы, оранжевая — контрфакт: как шли бы дела без программы. Пунктир — начало программы.",
            "Blue: the programme's region(s); orange: the counterfactual, what would have happened without the programme. Dashed: adoption.",
        ),
        Chart::Bars { .. } => w.pick(
            "Доля каждого региона-донора в синтетическом контроле.",
            "Each donor region's share of the synthetic control.",
        ),
    };
    let _ = write!(out, "<figure>{svg}<figcaption>{how}</figcaption></figure>");
}

/// "= 0.306" or "< 0.001", to follow a "p".
fn eq_p(lang: Language, p: f64) -> String {
    let text = p_value(lang, p);
    if text.starts_with('<') {
        text
    } else {
        format!("= {text}")
    }
}

/// A p-value: three decimals, or "< 0.001".
fn p_value(lang: Language, p: f64) -> String {
    if p.is_finite() && p < 0.001 {
        format!("< {}", num(lang, 0.001, 3))
    } else {
        num(lang, p, 3)
    }
}

fn indicator_section(
    run: &RunContext,
    w: &Words,
    cluster: &ClusterResults,
    ind: &IndicatorResults,
    out: &mut String,
) {
    let _ = write!(
        out,
        "<article id=\"{}-{}\"><h3>{}</h3>",
        esc(&cluster.id),
        esc(&ind.id),
        esc(&ind.name)
    );
    match ind.headline() {
        Some(h) => {
            let _ = write!(out, "<p class=\"answer\">{}</p>", answer(w, ind, h));
            let _ = write!(
                out,
                "<p class=\"design\">{} <strong>{}</strong>. {}</p>",
                w.pick("Основной метод:", "Headline design:"),
                esc(&w.method(&h.method)),
                why(w, ind, h)
            );
        }
        None => {
            let _ = write!(
                out,
                "<p class=\"answer\">{}</p>",
                w.pick(
                    "Для этого показателя нет основной оценки.",
                    "No headline estimate for this indicator."
                )
            );
        }
    }
    designs_table(w, ind, out);
    if let Some(p) = pretrend(w, ind) {
        let _ = write!(out, "<p>{p}</p>");
    }
    for f in run
        .figures
        .iter()
        .filter(|f| f.cluster_id == cluster.id && f.indicator_id == ind.id)
    {
        figure(w, f, out);
    }
    weights_table(w, ind, out);
    let docs = ind.documents(&run.results.documents);
    if !docs.is_empty() {
        let vintage = docs
            .iter()
            .map(|d| d.fetched_at.as_str())
            .max()
            .unwrap_or("");
        let _ = write!(
            out,
            "<p class=\"sources\">{} {}. {}: ",
            w.pick("Данные по состоянию на", "Data as fetched on"),
            esc(vintage),
            w.pick("Источники", "Sources")
        );
        let links: Vec<String> = docs
            .iter()
            .map(|d| {
                format!(
                    "<a href=\"{}\">{}</a> ({})",
                    esc(&d.url),
                    esc(&d.file_name),
                    esc(&d.fetched_at)
                )
            })
            .collect();
        out.push_str(&links.join("; "));
        out.push_str("</p>");
    }
    out.push_str("</article>");
}

const STYLE: &str = r#"
:root { color-scheme: light; }
body { font-family: "PT Sans", sans-serif; margin: 0 auto; max-width: 60rem; padding: 1rem 1.25rem 3rem; line-height: 1.45; color: #1b1b1b; background: #fff; }
h1 { font-size: 1.8rem; margin: 0.5rem 0; }
h2 { font-size: 1.45rem; margin-top: 2.5rem; border-bottom: 2px solid #1f5aa0; padding-bottom: 0.2rem; }
h3 { font-size: 1.2rem; margin-top: 1.8rem; }
p.answer { font-size: 1.1rem; background: #eef3fa; border-left: 4px solid #1f5aa0; padding: 0.6rem 0.8rem; }
p.meta, p.sources, figcaption { color: #555; font-size: 0.92rem; }
nav ul { padding-left: 1.2rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; margin: 0.6rem 0; font-size: 0.95rem; }
th, td { text-align: left; padding: 0.3rem 0.5rem; border-bottom: 1px solid #ddd; vertical-align: top; }
th { background: #f4f4f4; }
figure { margin: 1rem 0; }
figure svg { width: 100%; height: auto; display: block; }
a { color: #1f5aa0; word-break: break-word; }
@media (max-width: 40rem) { body { padding: 0.6rem; font-size: 0.95rem; } h1 { font-size: 1.4rem; } table { font-size: 0.85rem; } }
@media print {
  body { max-width: none; padding: 0; font-size: 10.5pt; }
  nav { display: none; }
  article, figure, table { break-inside: avoid; }
  h2 { break-before: page; }
  details { display: block; } details > summary { list-style: none; }
  a { color: inherit; text-decoration: none; }
  p.answer { background: none; }
}
"#;

fn render(run: &RunContext) -> String {
    let w = Words {
        lang: run.options.language,
    };
    let lang = match w.lang {
        Language::Ru => "ru",
        Language::En => "en",
    };
    let font = base64::engine::general_purpose::STANDARD.encode(FONT_REGULAR);
    let mut out = String::with_capacity(1 << 20);
    let title = w.pick(
        "Что дали промышленные кластеры регионам",
        "What industrial clusters did for their regions",
    );
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title>\
         <style>@font-face {{ font-family: \"PT Sans\"; src: url(data:font/ttf;base64,{font}) format(\"truetype\"); }}{STYLE}</style>\
         </head><body><header><h1>{title}</h1>"
    );
    let results = run.results;
    match results.run_id {
        Some(id) => {
            let _ = write!(
                out,
                "<p class=\"meta\">{} {id}, {} {}. {}</p>",
                w.pick("Оценки прогона", "Estimates of run"),
                w.pick("рассчитаны", "computed"),
                esc(results.estimated_at.as_deref().unwrap_or("")),
                w.pick(
                    "Эффект — разница между тем, что произошло в регионах программы, и тем, что произошло бы без неё (контрфакт). «Не отличим от нуля» значит: такие расхождения бывают и без всякой программы.",
                    "An effect is the difference between what happened in the programme's regions and what would have happened without it (the counterfactual). \"Not distinguishable from zero\" means gaps this size also occur without any programme."
                )
            );
        }
        None => {
            let _ = write!(
                out,
                "<p class=\"meta\">{}</p>",
                w.pick(
                    "Оценок пока нет: в конфигурации нет кластеров или данных для них.",
                    "No estimates yet: the configuration has no clusters, or no data for them."
                )
            );
        }
    }
    out.push_str("</header>");
    if !results.clusters.is_empty() {
        let _ = write!(
            out,
            "<nav><strong>{}</strong><ul>",
            w.pick("Кластеры", "Clusters")
        );
        for c in &results.clusters {
            let _ = write!(
                out,
                "<li><a href=\"#{}\">{}</a></li>",
                esc(&c.id),
                esc(&c.name)
            );
        }
        out.push_str("</ul></nav>");
    }
    for cluster in &results.clusters {
        let _ = write!(
            out,
            "<section id=\"{}\"><h2>{}</h2>",
            esc(&cluster.id),
            esc(&cluster.name)
        );
        for ind in &cluster.indicators {
            indicator_section(run, &w, cluster, ind, &mut out);
        }
        out.push_str("</section>");
    }
    let _ = writeln!(
        out,
        "<footer><p class=\"meta\">{}</p></footer></body></html>",
        w.pick(
            "Все числа этого отчёта — в опубликованных таблицах рядом с ним (estimates, event_study, weights, panels) и прослеживаются до файла, листа и ячейки источника. Сделано regstat.",
            "Every number of this report is in the tables published beside it (estimates, event_study, weights, panels), traceable to the source's file, sheet and cell. Made by regstat."
        )
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_the_language_writes_them() {
        assert_eq!(
            num(Language::Ru, -1234567.891, 1),
            "−1\u{2009}234\u{2009}567,9"
        );
        assert_eq!(num(Language::En, 0.3061, 3), "0.306");
        assert_eq!(signed(Language::Ru, 7.46, 1), "+7,5");
        assert_eq!(signed(Language::Ru, -0.00001, 1), "0,0");
    }

    fn row(estimate: f64, lo: f64, hi: f64, p: f64) -> Estimate {
        Estimate {
            method: "sdid".into(),
            term: "att".into(),
            estimate,
            std_error: 0.1,
            stat: f64::NAN,
            p_value: p,
            ci_low: lo,
            ci_high: hi,
            n_treated: 1,
            n_control: 5,
            vcov: "placebo (200 replications)".into(),
            role: "headline".into(),
            reason: String::new(),
        }
    }

    #[test]
    fn answers_say_whether_an_effect_is_distinguishable_from_zero() {
        let ind = IndicatorResults {
            log_outcome: true,
            ..Default::default()
        };
        let ru = Words { lang: Language::Ru };
        let none = answer(&ru, &ind, &row(-0.0855, -0.25, 0.08, 0.306));
        assert!(
            none.contains("не отличим от нуля") && none.contains("−8,2 %"),
            "{none}"
        );
        assert!(none.contains("200 повторов"), "{none}");
        let en = Words { lang: Language::En };
        let some = answer(&en, &ind, &row(0.072, 0.01, 0.13, 0.01));
        assert!(
            some.contains("+7.5 %") && some.contains("95 % CI +1.0 to +13.9 %"),
            "{some}"
        );
    }
}
