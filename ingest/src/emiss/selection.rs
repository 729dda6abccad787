//! Turning the config's selection into the download form's fields.

use regstat_config::EmissOptions;

use super::page::{same_title, Field, IndicatorPage};

/// What will be asked for, in the form's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// The indicator's title, which the site's form sends beside its id: field 0's value.
    pub title: String,
    pub line_ids: Vec<String>,
    pub column_ids: Vec<String>,
    pub group_ids: Vec<String>,
    pub filter_object_ids: Vec<String>,
    /// `<field>_<value>` for every selected value.
    pub selected: Vec<String>,
    /// For error messages: field title and how many values.
    pub summary: String,
    /// Per field: what the page offers and what is asked for, and why.
    pub fields: Vec<FieldChoice>,
}

/// How many values of one field are asked for, of how many the page offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChoice {
    pub title: String,
    pub offered: usize,
    pub asked: usize,
    pub rule: ChoiceRule,
}

/// Why a field's values were chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChoiceRule {
    /// `filters` in the config names the values.
    Configured,
    /// The indicator, the regions and the periods (years, half-years, quarters, months, «Период»):
    /// every value, within `from_year`/`to_year` for years.
    All,
    /// Any other field: the values the site's page pre-checks (all when it checks none).
    SiteDefault,
}

impl Selection {
    /// One line for the run's record: `Год 20/20, Период 12/12, Вид 1/3 (site default)`.
    pub fn describe(&self) -> String {
        self.fields
            .iter()
            .map(|f| {
                let note = match f.rule {
                    ChoiceRule::SiteDefault if f.asked < f.offered => " (site default)",
                    ChoiceRule::Configured => " (configured)",
                    _ => "",
                };
                format!("{} {}/{}{note}", f.title, f.asked, f.offered)
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn is_region_field(field: &Field, options: &EmissOptions) -> bool {
    match &options.region_field {
        Some(title) => same_title(&field.title, title),
        None => {
            let t = field.title.to_lowercase();
            t.contains("окато") || t.contains("субъект") || t.contains("регион")
        }
    }
}

fn is_year_field(field: &Field) -> bool {
    field.id == "3" || same_title(&field.title, "год")
}

/// Periods within a year (months, quarters, half-years, «Период»): every value by default, as
/// years; the site pre-checks only one (January), which would ask for a twelfth of the figures.
fn is_period_field(field: &Field) -> bool {
    let t = field.title.to_lowercase();
    ["период", "месяц", "квартал", "полугод"]
        .iter()
        .any(|w| t.contains(w))
}

pub fn build(page: &IndicatorPage, options: &EmissOptions) -> Result<Selection, String> {
    for title in options.filters.keys() {
        if page.field_by_title(title).is_none() {
            let known: Vec<&str> = page.fields.iter().map(|f| f.title.as_str()).collect();
            return Err(format!(
                "no field titled {title:?} on the indicator page (fields: {})",
                known.join(", ")
            ));
        }
    }
    let mut selected = Vec::new();
    let mut summary = Vec::new();
    let mut fields = Vec::new();
    for field in &page.fields {
        let mut rule = ChoiceRule::All;
        let chosen: Vec<&str> = if let Some(titles) = options
            .filters
            .iter()
            .find(|(t, _)| same_title(t, &field.title))
            .map(|(_, v)| v)
        {
            let mut ids = Vec::new();
            for title in titles {
                let v = field
                    .values
                    .iter()
                    .find(|v| same_title(&v.title, title))
                    .ok_or_else(|| {
                        format!("no value titled {title:?} in field {:?}", field.title)
                    })?;
                ids.push(v.id.as_str());
            }
            rule = ChoiceRule::Configured;
            ids
        } else if is_region_field(field, options) || field.id == "0" || is_period_field(field) {
            field.values.iter().map(|v| v.id.as_str()).collect()
        } else if is_year_field(field) {
            field
                .values
                .iter()
                .filter(|v| {
                    let year: Option<i32> =
                        v.title.trim().parse().ok().or_else(|| v.id.parse().ok());
                    year.is_some_and(|y| {
                        options.from_year.is_none_or(|a| y >= a)
                            && options.to_year.is_none_or(|b| y <= b)
                    })
                })
                .map(|v| v.id.as_str())
                .collect()
        } else {
            rule = ChoiceRule::SiteDefault;
            let checked: Vec<&str> = field
                .values
                .iter()
                .filter(|v| v.checked)
                .map(|v| v.id.as_str())
                .collect();
            if checked.is_empty() {
                field.values.iter().map(|v| v.id.as_str()).collect()
            } else {
                checked
            }
        };
        if chosen.is_empty() {
            return Err(format!(
                "empty selection: no value of field {:?} is selected",
                field.title
            ));
        }
        summary.push(format!("{} ({} values)", field.title, chosen.len()));
        if rule == ChoiceRule::SiteDefault && chosen.len() < field.values.len() {
            tracing::warn!(
                field = %field.title,
                asked = chosen.len(),
                offered = field.values.len(),
                "EMISS: asking for the site's pre-checked values of a field; name the values in [sources.emiss] filters to ask for others"
            );
        }
        fields.push(FieldChoice {
            title: field.title.clone(),
            offered: field.values.len(),
            asked: chosen.len(),
            rule,
        });
        let prefix = format!("{}_", field.id);
        selected.extend(chosen.into_iter().map(|v| {
            if v.starts_with(&prefix) {
                v.to_string()
            } else {
                format!("{prefix}{v}")
            }
        }));
    }
    let by_titles = |titles: &[String], default: &[String]| -> Result<Vec<String>, String> {
        if titles.is_empty() {
            return Ok(default.to_vec());
        }
        titles
            .iter()
            .map(|t| {
                page.field_by_title(t)
                    .map(|f| f.id.clone())
                    .ok_or_else(|| format!("no field titled {t:?} for the layout"))
            })
            .collect()
    };
    let title = page
        .field("0")
        .and_then(|f| f.values.first())
        .map(|v| v.title.clone())
        .unwrap_or_default();
    Ok(Selection {
        title,
        line_ids: by_titles(&options.rows, &page.left_columns)?,
        column_ids: by_titles(&options.columns, &page.top_columns)?,
        group_ids: page.groups.clone(),
        // Field 0 (the indicator) is always listed first, as the site's own form sends it.
        filter_object_ids: std::iter::once("0".to_string())
            .chain(
                page.filter_object_ids
                    .iter()
                    .filter(|id| *id != "0")
                    .cloned(),
            )
            .collect(),
        selected,
        summary: summary.join(", "),
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<script>new FGrid({ filters: {
      0: { title: 'Показатель', values: { 1: { title: 'Индекс', checked: true } } },
      3: { title: 'Год', values: { '2020': { title: '2020', checked: true }, '2021': { title: '2021', checked: false } } },
      57831: { title: 'ОКАТО', values: { '643': { title: 'Российская Федерация', checked: true }, '1': { title: 'Липецкая область', checked: false } } },
      33560: { title: 'Период', values: { 'a': { title: 'январь', checked: true }, 'b': { title: 'февраль', checked: false }, 'c': { title: 'март', checked: false } } },
      57956: { title: 'Месяц', values: { 'm1': { title: 'январь', checked: true }, 'm2': { title: 'декабрь', checked: false } } },
      40001: { title: 'Вид показателя', values: { 'x': { title: 'в % к предыдущему месяцу', checked: true }, 'y': { title: 'в % к соответствующему месяцу', checked: false }, 'z': { title: 'в % к декабрю', checked: false } } }
    }, left_columns: [57831], top_columns: [3], groups: [], filterObjectIds: [33560, 57956, 40001] });</script>"#;

    #[test]
    fn periods_are_asked_in_full_and_site_defaults_are_counted() {
        let page = IndicatorPage::parse(PAGE).unwrap();
        let s = build(&page, &EmissOptions::default()).unwrap();
        let asked = |field: &str| {
            s.fields
                .iter()
                .find(|f| f.title == field)
                .map(|f| (f.asked, f.offered, f.rule))
        };
        assert_eq!(asked("Период"), Some((3, 3, ChoiceRule::All)));
        assert_eq!(asked("Месяц"), Some((2, 2, ChoiceRule::All)));
        assert_eq!(asked("Год"), Some((2, 2, ChoiceRule::All)));
        assert_eq!(
            asked("Вид показателя"),
            Some((1, 3, ChoiceRule::SiteDefault))
        );
        assert!(
            s.selected.contains(&"33560_b".to_string())
                && s.selected.contains(&"57956_m2".to_string())
        );
        assert_eq!(s.filter_object_ids, ["0", "33560", "57956", "40001"]);
        assert_eq!(s.title, "Индекс");
        assert!(
            s.describe().contains("Вид показателя 1/3 (site default)"),
            "{}",
            s.describe()
        );
        assert!(s.describe().contains("Период 3/3"), "{}", s.describe());
    }
}
