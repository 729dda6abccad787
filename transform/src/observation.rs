use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::period::Period;

/// Why a grid cell has the value it has, or why it has none. Every non-empty cell of a data grid becomes
/// an observation with one of these; missing cells are kept, never dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// A plain figure.
    Ok,
    /// `…`, `...`: data not available or not published.
    NotAvailable,
    /// `-`, `–`, `—`: no such activity, or zero as Rosstat writes it.
    NoActivity,
    /// `x`: not applicable (e.g. confidential or meaningless for the region).
    NotApplicable,
    /// `в 5,8 р.`: the value is a ratio in times, not in the table's unit (an index table's 580 %).
    RatioTimes,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::NotAvailable => "not_available",
            Status::NoActivity => "no_activity",
            Status::NotApplicable => "not_applicable",
            Status::RatioTimes => "ratio_times",
        }
    }
}

/// Where a figure came from, down to the cell. Text shared by a table's figures (sheet, code, title)
/// is shared, not copied: a big section has tens of thousands of figures with one title.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// sha256 of the archived document (hex), filled by the caller that knows the archive.
    pub document_sha256: Arc<str>,
    pub sheet: Arc<str>,
    /// A1 reference of the value cell.
    pub cell: compact_str::CompactString,
    pub table_code: Arc<str>,
    pub table_title: Arc<str>,
}

/// One figure: a tidy row of the warehouse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// Stable indicator id. The parser sets a table-derived id (`rosstat:10.2`); the pipeline maps it
    /// to the configured indicator.
    pub indicator: Arc<str>,
    pub region_code: compact_str::CompactString,
    /// The label as printed, for audits of the resolver.
    pub region_label: Arc<str>,
    pub period: Period,
    pub value: Option<f64>,
    /// The unit alone (`миллионов рублей`), without the qualifiers a unit line puts before it.
    pub unit: Arc<str>,
    /// Those qualifiers (`в фактически действовавших ценах`; the classification, the reference point,
    /// the data source): see [`crate::unit`].
    #[serde(default)]
    pub basis: Option<Arc<str>>,
    pub status: Status,
    /// Footnote texts that apply to this figure (from marks on the value, its row or the table title).
    pub footnotes: Vec<Arc<str>>,
    /// Further dimensions of the series beside region and period (EMISS: age, sex, settlement type),
    /// as (concept, value) pairs; empty for workbook tables.
    #[serde(default)]
    pub dimensions: Vec<(String, String)>,
    pub provenance: Provenance,
}

impl Observation {
    /// The further dimensions as a JSON object (`{"category":"пенсии"}`); `None` when there are none.
    /// The one form the warehouse stores and `extract` writes.
    pub fn dimensions_json(&self) -> Option<String> {
        if self.dimensions.is_empty() {
            return None;
        }
        let map: serde_json::Map<String, serde_json::Value> = self
            .dimensions
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        Some(serde_json::Value::Object(map).to_string())
    }
}
