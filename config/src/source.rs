//! Sources: what the file says (flat, as serde reads it) and what the program uses (one variant per
//! kind, each with only its own options, every value typed).
//!
//! The file is read flat rather than through a serde-tagged enum on purpose: serde buffers an
//! internally tagged table before it picks the variant, which loses toml's spans (errors would lose
//! their line) and stops at the first problem. Reading flat and converting once keeps every error
//! located and listed, and still refuses options of another kind.

use serde::Deserialize;

use crate::typed::{http_url, LinkSelector, Schedule};

/// One source: where to fetch, when, and how to read what comes back.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub id: String,
    pub url: url::Url,
    /// Absent: the source runs only by hand (`regstat run --source ID`); the daemon never
    /// schedules it.
    pub schedule: Option<Schedule>,
    pub description: Option<String>,
    /// How the fetched documents are read.
    pub parser: ParserOptions,
    pub kind: SourceKind,
}

/// What a source is, with the options only that kind has.
#[derive(Debug, Clone)]
pub enum SourceKind {
    /// One workbook (or archive of workbooks) at a fixed URL, e.g. a rosstat.gov.ru mediabank file.
    Workbook,
    /// An HTML page listing documents (regional office sites): every matching link is fetched.
    DocumentList(DocumentListOptions),
    /// An EMISS (fedstat.ru) indicator: `url` is its page, `https://www.fedstat.ru/indicator/<id>`;
    /// the data come as SDMX through the site's token protocol.
    Emiss(EmissOptions),
    /// An analyst's own table (CSV or a workbook's first sheet), local (`path`) or at a URL, read
    /// through its declared mapping.
    File(regstat_transform::table_file::TableMapping),
}

impl SourceKind {
    /// The name the config file uses.
    pub fn name(&self) -> &'static str {
        match self {
            SourceKind::Workbook => KindName::Workbook.as_str(),
            SourceKind::DocumentList(_) => KindName::DocumentList.as_str(),
            SourceKind::Emiss(_) => KindName::Emiss.as_str(),
            SourceKind::File(_) => KindName::File.as_str(),
        }
    }
}

/// The links a `document_list` source follows.
#[derive(Debug, Clone)]
pub struct DocumentListOptions {
    /// The document links on the page.
    pub link_selector: LinkSelector,
    /// Only links whose path ends with one of these (case-insensitive) are fetched; every listed
    /// document is catalogued.
    pub extensions: Vec<String>,
    /// Only documents whose listed title contains one of these (case-insensitive) are fetched; all
    /// when empty.
    pub title_contains: Vec<String>,
    /// How many folder levels below the page to follow (nested sections linking `/folder/NNN`); the
    /// page's further list pages are always followed.
    pub max_depth: u32,
    /// At most this many list pages per run, to stay polite whatever the site links.
    pub max_pages: usize,
}

impl Default for DocumentListOptions {
    fn default() -> Self {
        Self {
            link_selector: LinkSelector::parse(DEFAULT_LINK_SELECTOR)
                .expect("the default selector compiles"),
            extensions: default_extensions(),
            title_contains: Vec::new(),
            max_depth: 0,
            max_pages: 50,
        }
    }
}

/// rosstat.gov.ru's document lists.
pub const DEFAULT_LINK_SELECTOR: &str = "div.document-list__item-link > a[href]";

fn default_extensions() -> Vec<String> {
    // The compendium's appendix ships as a RAR (older years: ZIP) archive of workbooks; regional
    // offices publish many tables as Word documents.
    vec![
        ".xlsx".into(),
        ".xls".into(),
        ".zip".into(),
        ".rar".into(),
        ".docx".into(),
    ]
}

/// The selection of an EMISS indicator. By default: every region, every year, and for the other
/// fields the values the site itself pre-selects; rows and columns as the site lays them out.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmissOptions {
    /// First and last year to download (inclusive).
    pub from_year: Option<i32>,
    pub to_year: Option<i32>,
    /// Title of the region field; by default the field whose title names ОКАТО, субъект or регион.
    pub region_field: Option<String>,
    /// Values of other fields by title: `{ "Пол" = ["Женщины"] }`.
    #[serde(default)]
    pub filters: std::collections::BTreeMap<String, Vec<String>>,
    /// Field titles laid out as rows and as columns; the site's layout when empty.
    #[serde(default)]
    pub rows: Vec<String>,
    #[serde(default)]
    pub columns: Vec<String>,
    /// Use the older `data.do` form (no token) instead of `downloadData.do`.
    #[serde(default)]
    pub legacy: bool,
}

/// Options for reading a source's documents.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParserOptions {
    /// Only these sheets (by name, e.g. `10.2.`); all sheets when empty.
    #[serde(default)]
    pub sheets: Vec<String>,
    /// The subject (s_OKATO code, `42000000000`) the source's documents are about: a regional
    /// office's tables by municipal formation, whose labels then resolve in that subject with the
    /// `[municipalities]` classifier.
    #[serde(default)]
    pub subject: Option<String>,
}

/// `kind = "…"` as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum KindName {
    Workbook,
    DocumentList,
    Emiss,
    File,
}

impl KindName {
    fn as_str(self) -> &'static str {
        match self {
            KindName::Workbook => "workbook",
            KindName::DocumentList => "document_list",
            KindName::Emiss => "emiss",
            KindName::File => "file",
        }
    }
}

/// `[sources.file]`: how an analyst's table is laid out. The region is `region` (one code for every
/// row) or `region_column`; periods are `period_columns` (by default every column whose header is a
/// period: `2005`, `y2005`, `2020-Q1`), or `period_column` with `value_column` for one figure a row.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFileOptions {
    indicator_column: String,
    #[serde(default)]
    title_column: Option<String>,
    #[serde(default)]
    unit_column: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    region_column: Option<String>,
    #[serde(default)]
    period_columns: Vec<String>,
    #[serde(default)]
    period_column: Option<String>,
    #[serde(default)]
    value_column: Option<String>,
    #[serde(default)]
    dimensions: std::collections::BTreeMap<String, String>,
}

impl RawFileOptions {
    fn check(
        self,
        source_id: &str,
        issues: &mut Vec<(&'static str, String)>,
    ) -> Option<regstat_transform::table_file::TableMapping> {
        use regstat_transform::table_file::{Layout, RegionSource, TableMapping};
        let region = match (self.region, self.region_column) {
            (Some(code), None) => {
                if regstat_transform::RegionDictionary::builtin()
                    .get(&code)
                    .is_none()
                {
                    issues.push(("file.region", format!("unknown region code {code:?} (expected an s_OKATO code such as \"42000000000\")")));
                    return None;
                }
                RegionSource::Fixed(code)
            }
            (None, Some(column)) => RegionSource::Column(column),
            _ => {
                issues.push((
                    "file",
                    "expected one of region (a code for every row) or region_column".into(),
                ));
                return None;
            }
        };
        let layout = match (self.period_column, self.value_column) {
            (Some(period_column), Some(value_column)) if self.period_columns.is_empty() => {
                Layout::Long {
                    period_column,
                    value_column,
                }
            }
            (None, None) => Layout::Wide {
                period_columns: self.period_columns,
            },
            _ => {
                issues.push((
                    "file",
                    "expected period_column with value_column (one figure a row), or period_columns (a column per period), not both".into(),
                ));
                return None;
            }
        };
        Some(TableMapping {
            indicator_prefix: format!("{source_id}:"),
            indicator_column: self.indicator_column,
            title_column: self.title_column,
            unit_column: self.unit_column,
            region,
            layout,
            dimensions: self.dimensions.into_iter().collect(),
        })
    }
}

/// A `[[sources]]` table as the file writes it. Options of one kind are `Option`s here so that
/// one written on another kind is seen and refused.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSource {
    id: String,
    kind: KindName,
    /// Required except for a `file` source given by `path`.
    #[serde(default)]
    url: Option<String>,
    /// A `file` source's local path, relative to the config file's directory.
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    file: Option<RawFileOptions>,
    #[serde(default)]
    schedule: Option<String>,
    #[serde(default)]
    link_selector: Option<String>,
    #[serde(default)]
    extensions: Option<Vec<String>>,
    #[serde(default)]
    title_contains: Option<Vec<String>>,
    #[serde(default)]
    max_depth: Option<u32>,
    #[serde(default)]
    max_pages: Option<usize>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    parser: ParserOptions,
    #[serde(default)]
    emiss: Option<EmissOptions>,
}

impl RawSource {
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// The typed source, or every problem as (field, message) pairs; a relative `path` is read
    /// against `base`, the config file's directory.
    pub(crate) fn check(
        self,
        base: &std::path::Path,
    ) -> Result<SourceConfig, Vec<(&'static str, String)>> {
        let mut issues = Vec::new();
        let url = match (&self.url, &self.path) {
            (Some(_), Some(_)) => {
                issues.push(("path", "expected url or path, not both".into()));
                None
            }
            (Some(text), None) if self.kind == KindName::File && text.starts_with("file:") => {
                url::Url::parse(text)
                    .map_err(|e| issues.push(("url", format!("not a URL ({e}): {text:?}"))))
                    .ok()
            }
            (Some(text), None) => http_url(text).map_err(|e| issues.push(("url", e))).ok(),
            (None, Some(path)) if self.kind == KindName::File => {
                let full = base.join(path);
                url::Url::from_file_path(&full)
                    .map_err(|()| issues.push(("path", format!("not a usable path: {path:?}"))))
                    .ok()
            }
            (None, Some(_)) => {
                issues.push((
                    "path",
                    format!(
                        "only for kind = \"file\"; this source is {:?}",
                        self.kind.as_str()
                    ),
                ));
                None
            }
            (None, None) => {
                issues.push((
                    "url",
                    "expected a URL (or, for kind = \"file\", a path)".into(),
                ));
                None
            }
        };
        let schedule = match self.schedule.as_deref().map(Schedule::parse).transpose() {
            Ok(s) => s,
            Err(e) => {
                issues.push(("schedule", e));
                None
            }
        };
        for (field, written, only_for) in [
            (
                "link_selector",
                self.link_selector.is_some(),
                KindName::DocumentList,
            ),
            (
                "extensions",
                self.extensions.is_some(),
                KindName::DocumentList,
            ),
            (
                "title_contains",
                self.title_contains.is_some(),
                KindName::DocumentList,
            ),
            (
                "max_depth",
                self.max_depth.is_some(),
                KindName::DocumentList,
            ),
            (
                "max_pages",
                self.max_pages.is_some(),
                KindName::DocumentList,
            ),
            ("emiss", self.emiss.is_some(), KindName::Emiss),
            ("file", self.file.is_some(), KindName::File),
        ] {
            if written && self.kind != only_for {
                issues.push((
                    field,
                    format!(
                        "only for kind = {:?}; this source is {:?}",
                        only_for.as_str(),
                        self.kind.as_str()
                    ),
                ));
            }
        }
        let kind = match self.kind {
            KindName::Workbook => Some(SourceKind::Workbook),
            KindName::DocumentList => {
                let defaults = DocumentListOptions::default();
                let link_selector = match self.link_selector.as_deref() {
                    None => Some(defaults.link_selector),
                    Some(text) => LinkSelector::parse(text)
                        .map_err(|e| issues.push(("link_selector", e)))
                        .ok(),
                };
                if self.max_pages == Some(0) {
                    issues.push(("max_pages", "expected at least 1 page".into()));
                }
                link_selector.map(|link_selector| {
                    SourceKind::DocumentList(DocumentListOptions {
                        link_selector,
                        extensions: self.extensions.unwrap_or(defaults.extensions),
                        title_contains: self.title_contains.unwrap_or_default(),
                        max_depth: self.max_depth.unwrap_or(defaults.max_depth),
                        max_pages: self.max_pages.unwrap_or(defaults.max_pages),
                    })
                })
            }
            KindName::Emiss => {
                let options = self.emiss.unwrap_or_default();
                let names_indicator = url.as_ref().is_some_and(|u| {
                    u.path_segments()
                        .and_then(|mut p| p.next_back())
                        .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
                });
                if url.is_some() && !names_indicator {
                    issues.push(("url", format!("expected an EMISS indicator page such as https://www.fedstat.ru/indicator/33459, found {:?}", self.url.as_deref().unwrap_or(""))));
                }
                if let (Some(a), Some(b)) = (options.from_year, options.to_year) {
                    if a > b {
                        issues.push((
                            "emiss.from_year",
                            format!("from_year {a} is after to_year {b}"),
                        ));
                    }
                }
                Some(SourceKind::Emiss(options))
            }
            KindName::File => match self.file {
                Some(options) => options.check(&self.id, &mut issues).map(SourceKind::File),
                None => {
                    issues.push((
                        "file",
                        "expected a [sources.file] mapping: indicator_column, and region or region_column".into(),
                    ));
                    None
                }
            },
        };
        match (url, kind) {
            (Some(url), Some(kind)) if issues.is_empty() => Ok(SourceConfig {
                id: self.id,
                url,
                schedule,
                description: self.description,
                parser: self.parser,
                kind,
            }),
            _ => Err(issues),
        }
    }
}
