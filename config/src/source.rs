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
}

impl SourceKind {
    /// The name the config file uses.
    pub fn name(&self) -> &'static str {
        match self {
            SourceKind::Workbook => KindName::Workbook.as_str(),
            SourceKind::DocumentList(_) => KindName::DocumentList.as_str(),
            SourceKind::Emiss(_) => KindName::Emiss.as_str(),
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
}

/// `kind = "…"` as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum KindName {
    Workbook,
    DocumentList,
    Emiss,
}

impl KindName {
    fn as_str(self) -> &'static str {
        match self {
            KindName::Workbook => "workbook",
            KindName::DocumentList => "document_list",
            KindName::Emiss => "emiss",
        }
    }
}

/// A `[[sources]]` table as the file writes it. Options of one kind are `Option`s here so that
/// one written on another kind is seen and refused.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSource {
    id: String,
    kind: KindName,
    url: String,
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

    /// The typed source, or every problem as (field, message) pairs.
    pub(crate) fn check(self) -> Result<SourceConfig, Vec<(&'static str, String)>> {
        let mut issues = Vec::new();
        let url = http_url(&self.url)
            .map_err(|e| issues.push(("url", e)))
            .ok();
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
                    issues.push(("url", format!("expected an EMISS indicator page such as https://www.fedstat.ru/indicator/33459, found {:?}", self.url)));
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
