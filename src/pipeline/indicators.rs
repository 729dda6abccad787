//! Which indicator a table's figures belong to, and the reference rows (indicators, clusters) each run
//! writes.

use std::sync::Arc;

use regstat_config::Config;
use regstat_transform::Catalogue;
use regstat_warehouse::{ClusterRow, IndicatorRow};

/// The catalogue's indicators, then the config's (which win on the same id).
pub(super) fn indicator_rows(config: &Config) -> Vec<IndicatorRow> {
    let mut rows: Vec<IndicatorRow> = Catalogue::builtin()
        .entries
        .iter()
        .filter(|e| !config.indicators.iter().any(|i| i.id == e.id))
        .map(|e| IndicatorRow {
            id: e.id.clone(),
            name: e.name.clone(),
            unit: e.unit.clone(),
            rosstat_tables: vec![],
            measure: Some(e.measure.clone()),
            publications: e.publications.clone(),
            origin: "catalogue".into(),
        })
        .collect();
    rows.extend(config.indicators.iter().map(|i| {
        let entry = Catalogue::builtin().entries.iter().find(|e| e.id == i.id);
        IndicatorRow {
            id: i.id.clone(),
            name: i.name.clone(),
            unit: i.unit.clone(),
            rosstat_tables: i.rosstat_tables.clone(),
            measure: entry.map(|e| e.measure.clone()),
            publications: entry.map(|e| e.publications.clone()).unwrap_or_default(),
            origin: "config".into(),
        }
    }));
    rows
}

/// Tables whose pin in the config takes a catalogue id the catalogue gives another series: the pinned
/// id would then hold two series (a code pinned from one edition meeting another edition, or a config
/// id that happens to be a catalogue id). The figures still load under the pin; the document carries
/// the problem so that a run says so.
pub(super) fn pin_conflicts(
    config: &Config,
    file_name: &str,
    tables: &[regstat_transform::TableSummary],
) -> Vec<regstat_transform::ParseProblem> {
    let catalogue = Catalogue::builtin();
    tables
        .iter()
        .filter_map(|t| {
            let pinned = config.indicator_for_table(&t.code)?;
            let identified = catalogue.identify(&t.title)?;
            let pinned_is_catalogue_id = catalogue.entries.iter().any(|e| e.id == pinned.id);
            (pinned_is_catalogue_id && identified.id != pinned.id).then(|| {
                regstat_transform::ParseProblem {
                    location: regstat_transform::Location {
                        file: file_name.to_string(),
                        sheet: Some(t.sheet.clone()),
                        cell: None,
                    },
                    expected: format!(
                        "table {} (pinned to indicator {}) to be the series the catalogue calls {}; \
                         rename the configured indicator or drop its pin",
                        t.code, pinned.id, pinned.id
                    ),
                    found: format!("{}, which the catalogue identifies as {}", t.title, identified.id),
                }
            })
        })
        .collect()
}

/// An SDMX figure's indicator: the config's indicator listing its EMISS id in `emiss_ids`, else
/// the document's own (`emiss:<id>`). Runs and `regstat extract --config` both name figures so.
pub fn name_sdmx_indicator(config: Option<&Config>, o: &mut regstat_transform::Observation) {
    if let Some(i) = config.and_then(|c| c.indicator_for_emiss(&o.provenance.table_code)) {
        o.indicator = i.id.as_str().into();
    }
}

/// Gives every figure its indicator ([`indicator_for`]), deciding once per table
/// ([`IndicatorNamer`]).
pub fn name_indicators(
    config: Option<&Config>,
    observations: &mut [regstat_transform::Observation],
) {
    let mut namer = IndicatorNamer::new(config);
    for o in observations {
        namer.name(o);
    }
}

/// Names figures one by one, as a caller that goes through them anyway (`extract`'s encoder)
/// meets them: figures come table by table, so the last table's decision is reused while the
/// table stays the same.
pub struct IndicatorNamer<'c> {
    config: Option<&'c Config>,
    last: Option<Decided>,
}

/// A table's code and title, and the indicator decided for it.
type Decided = (Arc<str>, Arc<str>, Option<Arc<str>>);

impl<'c> IndicatorNamer<'c> {
    pub fn new(config: Option<&'c Config>) -> Self {
        Self { config, last: None }
    }

    pub fn name(&mut self, o: &mut regstat_transform::Observation) {
        // The table's code and title are shared by its figures: comparing the pointers first is
        // the cheap test, and the text the sure one.
        let (code, title) = (&o.provenance.table_code, &o.provenance.table_title);
        let same_table = self.last.as_ref().is_some_and(|(c, t, _)| {
            (Arc::ptr_eq(c, code) || c == code) && (Arc::ptr_eq(t, title) || t == title)
        });
        if !same_table {
            let id = indicator_for(self.config, code, title).map(Arc::from);
            self.last = Some((code.clone(), title.clone(), id));
        }
        if let Some((_, _, Some(id))) = &self.last {
            if !Arc::ptr_eq(&o.indicator, id) {
                o.indicator = id.clone();
            }
        }
    }
}

/// The indicator of a parsed table: pinned by the config's table codes, else identified from its title
/// by the config's title phrases, then by the catalogue's; else the table-derived id the parser gave.
pub fn indicator_for(
    config: Option<&Config>,
    table_code: &str,
    table_title: &str,
) -> Option<String> {
    config
        .and_then(|c| {
            c.indicator_for_table(table_code)
                .or_else(|| c.indicator_for_title(table_title))
        })
        .map(|i| i.id.clone())
        .or_else(|| {
            Catalogue::builtin()
                .identify(table_title)
                .map(|e| e.id.clone())
        })
}

pub(super) fn cluster_rows(config: &Config) -> Vec<ClusterRow> {
    config
        .clusters
        .iter()
        .map(|c| ClusterRow {
            id: c.id.clone(),
            name: c.name.clone(),
            treated: c.treated.clone(),
            control: c.control.clone(),
            treatment_start: c.treatment_start,
            indicators: c.indicators.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(indicator_id: &str) -> Config {
        Config::parse(&format!(
            r#"
[outputs]
warehouse = "w.duckdb"
archive = "a"
publish = "p"

[[sources]]
id = "industry"
kind = "workbook"
url = "https://rosstat.gov.ru/storage/mediabank/industry.xlsx"
schedule = "0 6 * * Mon"

[[indicators]]
id = "{indicator_id}"
name = "Индекс производства"
unit = "процентов"
rosstat_tables = ["12.5.1"]
"#
        ))
        .expect("valid config")
    }

    fn table(code: &str, title: &str) -> regstat_transform::TableSummary {
        regstat_transform::TableSummary {
            sheet: format!("{code}."),
            code: code.into(),
            title: title.into(),
            unit: String::new(),
            basis: None,
            grid_cells: 0,
            values: 0,
            statuses: 0,
            rejected: 0,
        }
    }

    const OKVED_2000: &str =
        "ИНДЕКСЫ ПРОИЗВОДСТВА ПО ВИДУ ДЕЯТЕЛЬНОСТИ «ОБРАБАТЫВАЮЩИЕ ПРОИЗВОДСТВА» (по ОКВЭД (2000-2016 гг.))";

    #[test]
    fn a_pin_that_takes_another_series_catalogue_id_is_a_problem() {
        // The catalogue's manufacturing_index is the OKVED2 series; pinning the 2000-2016 table to it
        // would put two series under one id.
        let problems = pin_conflicts(
            &config("manufacturing_index"),
            "Раздел 12.xlsx",
            &[table("12.5.1", OKVED_2000)],
        );
        assert_eq!(problems.len(), 1, "{problems:?}");
        let text = problems[0].to_string();
        assert!(
            text.starts_with("Раздел 12.xlsx, sheet '12.5.1.'"),
            "{text}"
        );
        assert!(text.contains("manufacturing_index_okved"), "{text}");
    }

    #[test]
    fn pins_to_the_same_series_or_to_new_ids_are_fine() {
        for id in ["manufacturing_index_okved", "my_manufacturing"] {
            let problems = pin_conflicts(&config(id), "x.xlsx", &[table("12.5.1", OKVED_2000)]);
            assert!(problems.is_empty(), "{id}: {problems:?}");
        }
        // A table the pin does not name is the catalogue's business alone.
        let problems = pin_conflicts(
            &config("manufacturing_index"),
            "x.xlsx",
            &[table("12.5.2", "something else")],
        );
        assert!(problems.is_empty());
    }
}

#[cfg(test)]
mod title_tests {
    use super::*;

    const CONFIG: &str = r#"
[outputs]
warehouse = "w.duckdb"
archive = "a"
publish = "p"

[[sources]]
id = "appendix"
kind = "workbook"
url = "https://rosstat.gov.ru/storage/mediabank/appendix.rar"
schedule = "0 6 * * Mon"

[[indicators]]
id = "retail_turnover_per_capita"
name = "Оборот розничной торговли на душу населения"
unit = "рублей"
title_all = ["оборот розничной торговли", "на душу"]

[[indicators]]
id = "retail_turnover"
name = "Оборот розничной торговли"
unit = "миллионов рублей"
title_all = ["Оборот розничной торговли"]
title_none = ["на душу", "индекс"]
rosstat_tables = ["17.9"]
"#;

    #[test]
    fn config_title_phrases_name_tables_in_any_edition() {
        let config = Config::parse(CONFIG).expect("valid config");
        let id = |code: &str, title: &str| indicator_for(Some(&config), code, title);
        // Whatever number an edition gives it, with «ё», quotes and line breaks as printed.
        assert_eq!(
            id("16.4", "ОБОРОТ РОЗНИЧНОЙ\nТОРГОВЛИ НА ДУШУ НАСЕЛЕНИЯ").as_deref(),
            Some("retail_turnover_per_capita")
        );
        assert_eq!(
            id("16.3", "ОБОРОТ РОЗНИЧНОЙ ТОРГОВЛИ").as_deref(),
            Some("retail_turnover")
        );
        // A pin still wins, and titles the config does not know go to the catalogue.
        assert_eq!(id("17.9", "что угодно").as_deref(), Some("retail_turnover"));
        assert_eq!(
            id("8.1", "ВАЛОВОЙ РЕГИОНАЛЬНЫЙ ПРОДУКТ").as_deref(),
            Some("grp")
        );
    }

    #[test]
    fn title_none_without_title_all_is_a_config_error() {
        let bad = CONFIG.replace(
            "title_all = [\"оборот розничной торговли\", \"на душу\"]",
            "title_none = [\"индекс\"]",
        );
        let issues = Config::parse(&bad).unwrap_err();
        assert!(
            issues
                .iter()
                .any(|i| i.key == "indicators[0].title_none" && i.line == Some(17)),
            "{issues:?}"
        );
    }
}
