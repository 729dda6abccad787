//! Turning the config's selection into the download form's fields.

use regstat_config::EmissOptions;

use super::page::{same_title, Field, IndicatorPage};

/// What will be asked for, in the form's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    pub line_ids: Vec<String>,
    pub column_ids: Vec<String>,
    pub group_ids: Vec<String>,
    pub filter_object_ids: Vec<String>,
    /// `<field>_<value>` for every selected value.
    pub selected: Vec<String>,
    /// For error messages: field title and how many values.
    pub summary: String,
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
    for field in &page.fields {
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
            ids
        } else if is_region_field(field, options) || field.id == "0" {
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
    Ok(Selection {
        line_ids: by_titles(&options.rows, &page.left_columns)?,
        column_ids: by_titles(&options.columns, &page.top_columns)?,
        group_ids: page.groups.clone(),
        filter_object_ids: if page.filter_object_ids.is_empty() {
            vec!["0".into()]
        } else {
            page.filter_object_ids.clone()
        },
        selected,
        summary: summary.join(", "),
    })
}
