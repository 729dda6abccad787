//! The indicator catalogue (`data/indicators.toml`): stable indicator identities matched by what a
//! table's title says, so one indicator keeps one id across editions, table codes and sources.

use serde::{Deserialize, Serialize};

use crate::error::TransformError;

const CATALOGUE_TOML: &str = include_str!("../data/indicators.toml");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndicatorEntry {
    pub id: String,
    pub name: String,
    pub unit: String,
    /// current_prices, index_previous_year, level, rate, ...
    pub measure: String,
    /// Phrases the title must all contain, and none of `title_none` (held normalized: lower case,
    /// `ё` as `е`, no quotes, single spaces).
    pub title_all: Vec<String>,
    #[serde(default)]
    pub title_none: Vec<String>,
    /// Where editions and sources publish it, for people.
    #[serde(default)]
    pub publications: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Catalogue {
    #[serde(rename = "indicator")]
    pub entries: Vec<IndicatorEntry>,
}

impl Catalogue {
    pub fn builtin() -> &'static Catalogue {
        static CAT: std::sync::OnceLock<Catalogue> = std::sync::OnceLock::new();
        CAT.get_or_init(|| {
            Catalogue::from_toml(CATALOGUE_TOML).expect("the shipped indicator catalogue is valid")
        })
    }

    pub fn from_toml(text: &str) -> Result<Self, TransformError> {
        let mut catalogue: Catalogue =
            toml::from_str(text).map_err(|e| TransformError::Dictionary {
                line: 0,
                reason: format!("indicator catalogue: {e}"),
            })?;
        // Phrases are matched in normalized form; normalizing them once here, not per lookup, keeps
        // `identify` cheap enough to call for every figure.
        for e in &mut catalogue.entries {
            for p in e.title_all.iter_mut().chain(e.title_none.iter_mut()) {
                *p = normalize_title(p);
            }
        }
        Ok(catalogue)
    }

    /// The entry a table title identifies, if exactly one does.
    pub fn identify(&self, title: &str) -> Option<&IndicatorEntry> {
        let t = normalize_title(title);
        let mut found = self
            .entries
            .iter()
            .filter(|e| holds_phrases(&t, &e.title_all, &e.title_none));
        let first = found.next()?;
        found.next().is_none().then_some(first)
    }
}

/// Whether `title` contains every phrase of `all` and none of `none`, compared as the catalogue
/// compares (case, quotes, `ё` and runs of white space folded). For phrases from the config, which
/// are not normalized in advance.
pub fn title_matches(title: &str, all: &[String], none: &[String]) -> bool {
    let normalized = |phrases: &[String]| {
        phrases
            .iter()
            .map(|p| normalize_title(p))
            .collect::<Vec<_>>()
    };
    holds_phrases(&normalize_title(title), &normalized(all), &normalized(none))
}

/// A normalized title holds every one of `all` and none of `none`, normalized phrases both.
fn holds_phrases(title: &str, all: &[String], none: &[String]) -> bool {
    all.iter().all(|p| title.contains(p.as_str()))
        && !none.iter().any(|p| title.contains(p.as_str()))
}

fn normalize_title(title: &str) -> String {
    title
        .chars()
        .filter(|c| !matches!(c, '«' | '»' | '"' | '“' | '”'))
        .map(|c| if c == 'ё' || c == 'Ё' { 'е' } else { c })
        .flat_map(char::to_lowercase)
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_identity_across_editions() {
        let c = Catalogue::builtin();
        let id = |t: &str| c.identify(t).map(|e| e.id.as_str());
        // 2019 edition (9.1) and 2023 edition (8.1) titles of the same indicator.
        assert_eq!(id("ВАЛОВОЙ РЕГИОНАЛЬНЫЙ ПРОДУКТ"), Some("grp"));
        assert_eq!(
            id("ВАЛОВОЙ РЕГИОНАЛЬНЫЙ ПРОДУКТ на душу населения"),
            Some("grp_per_capita")
        );
        assert_eq!(
            id("ИНДЕКСЫ ПРОИЗВОДСТВА по виду экономической деятельности «Обрабатывающие производства». В соответствии с ОКВЭД2"),
            Some("manufacturing_index")
        );
        assert_eq!(id("Что-то иное"), None);
    }
}
