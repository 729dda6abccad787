//! The indicator page: the FGrid object literal (fields, their values, the grid layout) and the
//! one-time download token.

use super::jsobject::{parse_value, JsValue};

/// Titles as the config names them and as the site prints them: case and surrounding spaces aside.
pub(crate) fn same_title(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldValue {
    pub id: String,
    pub title: String,
    pub order: i64,
    pub checked: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub id: String,
    pub title: String,
    pub values: Vec<FieldValue>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct IndicatorPage {
    pub fields: Vec<Field>,
    pub left_columns: Vec<String>,
    pub top_columns: Vec<String>,
    pub groups: Vec<String>,
    pub filter_object_ids: Vec<String>,
    pub token: Option<String>,
}

impl IndicatorPage {
    pub fn field(&self, id: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.id == id)
    }

    pub fn field_by_title(&self, title: &str) -> Option<&Field> {
        self.fields.iter().find(|f| same_title(&f.title, title))
    }

    /// Parses the page: the argument of `new FGrid(` in its scripts, and the token inputs of
    /// `#downloadTokenHolder`.
    pub fn parse(html: &str) -> Result<IndicatorPage, String> {
        let doc = scraper::Html::parse_document(html);
        let scripts = scraper::Selector::parse("script").expect("valid selector");
        let grid = doc
            .select(&scripts)
            .map(|s| s.text().collect::<String>())
            .find_map(|text| {
                let at = text.find("new FGrid(")?;
                let brace = text[at..].find('{')? + at;
                Some(parse_value(&text[brace..]).map(|(v, _)| v))
            })
            .ok_or("no `new FGrid({...})` in the page's scripts")?
            .map_err(|e| format!("the FGrid literal: {e}"))?;
        let token_input = scraper::Selector::parse("#downloadTokenHolder input[name=token]")
            .expect("valid selector");
        let token = doc
            .select(&token_input)
            .next()
            .and_then(|i| i.value().attr("value"))
            .map(str::to_string);

        let mut fields = Vec::new();
        for (id, field) in grid
            .get("filters")
            .map(JsValue::entries)
            .unwrap_or_default()
        {
            let title = field
                .get("title")
                .and_then(JsValue::as_str)
                .unwrap_or_default()
                .to_string();
            let mut values: Vec<FieldValue> = field
                .get("values")
                .map(JsValue::entries)
                .unwrap_or_default()
                .iter()
                .map(|(vid, v)| FieldValue {
                    id: vid.clone(),
                    title: v
                        .get("title")
                        .and_then(JsValue::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    order: match v.get("order") {
                        Some(JsValue::Number(n)) => *n as i64,
                        _ => 0,
                    },
                    checked: matches!(v.get("checked"), Some(JsValue::Bool(true))),
                })
                .collect();
            values.sort_by_key(|v| v.order);
            fields.push(Field {
                id: id.clone(),
                title,
                values,
            });
        }
        if fields.is_empty() {
            return Err("the FGrid literal has no `filters`".into());
        }
        let ids = |key: &str| -> Vec<String> {
            match grid.get(key) {
                Some(JsValue::Array(items)) => items.iter().filter_map(JsValue::as_id).collect(),
                _ => Vec::new(),
            }
        };
        Ok(IndicatorPage {
            fields,
            left_columns: ids("left_columns"),
            top_columns: ids("top_columns"),
            groups: ids("groups"),
            filter_object_ids: ids("filterObjectIds"),
            token,
        })
    }
}
