//! The document lists of the rosstat.gov.ru family of sites (the national site and every
//! NN.rosstat.gov.ru office), read as a catalogue: each `div.document-list__item` is a document with
//! its title, its listed size and date («45.1 Кб, 28.03.2025») and its link; a folder page also links
//! further folders (`/folder/NNNNN`, often inside `toggle-section` / `toggle-card` blocks) and further
//! pages of the same list. What is listed is recorded whether or not it is fetched or parsed. Only
//! folder links inside the content's sections are followed: the site's menus link every folder.

use chrono::NaiveDate;
use scraper::{ElementRef, Html, Selector};

use crate::error::IngestError;

/// A document as a list page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedDocument {
    pub title: String,
    /// Absolute URL of the file.
    pub url: String,
    /// The page it was listed on.
    pub found_on: String,
    /// The date the list gives, as published.
    pub published: Option<NaiveDate>,
    /// The size as listed («45.1 Кб»).
    pub size: Option<String>,
    /// The file's type by its extension, lower case without the dot (`xlsx`, `pdf`); empty if none.
    pub doc_type: String,
}

/// What one list page offers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListPage {
    pub documents: Vec<ListedDocument>,
    /// Further folders linked from the page (nested sections), absolute, in page order.
    pub folders: Vec<String>,
    /// Further pages of the same list (pagination), absolute, in page order.
    pub pages: Vec<String>,
    /// The page itself publishes figures: a table with a year in one cell and numbers in others.
    pub has_data_table: bool,
}

struct Selectors {
    item: Selector,
    title: Selector,
    info: Selector,
    /// Links to further folders count only inside the content's sections, not in the site's menus.
    section_anchor: Selector,
    pager: Selector,
    table: Selector,
    table_cell: Selector,
}

fn selectors() -> &'static Selectors {
    static SELECTORS: std::sync::OnceLock<Selectors> = std::sync::OnceLock::new();
    SELECTORS.get_or_init(|| {
        let s = |css: &str| Selector::parse(css).expect("a valid selector");
        Selectors {
            item: s("div.document-list__item"),
            title: s(".document-list__item-title"),
            info: s(".document-list__item-info"),
            section_anchor: s(".toggle-section a[href], .toggle-card a[href], .document-list a[href]"),
            pager: s(".pagination a[href], .pager a[href], .paginator a[href], a.pagination__link[href], a[rel=next][href]"),
            table: s("table"),
            table_cell: s("td, th"),
        }
    })
}

/// Reads a list page. `link_selector` picks each document's link (inside its item when the page has
/// items; anywhere on the page otherwise, as plain link lists do).
pub fn read_list_page(
    page_url: &str,
    html: &str,
    link_selector: &Selector,
) -> Result<ListPage, IngestError> {
    let base = url::Url::parse(page_url).map_err(|e| IngestError::Page {
        url: page_url.into(),
        reason: e.to_string(),
    })?;
    let absolute = |href: &str| -> Option<url::Url> {
        let href = href.trim();
        if href.is_empty() || href.starts_with('#') || href.starts_with("javascript:") {
            return None;
        }
        base.join(href)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
    };
    let doc = Html::parse_document(html);
    let sel = selectors();
    let mut page = ListPage::default();
    let mut seen = std::collections::HashSet::new();
    let mut push = |page: &mut ListPage, link: &ElementRef, item: Option<&ElementRef>| {
        let Some(url) = link.value().attr("href").and_then(absolute) else {
            return;
        };
        let key = url.to_string();
        if !seen.insert(key.clone()) {
            return;
        }
        let text = |e: &ElementRef| e.text().collect::<Vec<_>>().join(" ");
        let squash = |t: String| t.split_whitespace().collect::<Vec<_>>().join(" ");
        let title = item
            .and_then(|i| i.select(&sel.title).next())
            .map(|t| squash(text(&t)))
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| squash(text(link)));
        let info = item
            .and_then(|i| i.select(&sel.info).next())
            .map(|t| squash(text(&t)));
        let (size, published) = info.as_deref().map(parse_info).unwrap_or((None, None));
        page.documents.push(ListedDocument {
            title,
            doc_type: doc_type(&url),
            url: key,
            found_on: page_url.to_string(),
            published,
            size,
        });
    };
    let items: Vec<ElementRef> = doc.select(&sel.item).collect();
    if items.is_empty() {
        for link in doc.select(link_selector) {
            push(&mut page, &link, None);
        }
    } else {
        // A link the selector picks that sits in no item (a list without the item markup next to
        // one with it) is a document too.
        for item in &items {
            for link in item.select(link_selector) {
                push(&mut page, &link, Some(item));
            }
        }
        for link in doc.select(link_selector) {
            push(&mut page, &link, None);
        }
    }
    let mut listed = std::collections::HashSet::new();
    for a in doc.select(&sel.pager) {
        if let Some(url) = a.value().attr("href").and_then(absolute) {
            let same_list = url.path() == base.path() && url.host() == base.host();
            let key = url.to_string();
            if same_list && key != base.as_str() && listed.insert(key.clone()) {
                page.pages.push(key);
            }
        }
    }
    for a in doc.select(&sel.section_anchor) {
        if let Some(url) = a.value().attr("href").and_then(absolute) {
            let is_folder = url.path().contains("/folder/") && url.host() == base.host();
            let key = url.to_string();
            if is_folder
                && url.path() != base.path()
                && !seen.contains(&key) // a document's link is never a folder
                && listed.insert(key.clone())
            {
                page.folders.push(key);
            }
        }
    }
    page.has_data_table = has_data_table(&doc);
    Ok(page)
}

/// Whether a page has a table of figures: a cell holding a year (1990-2100, possibly with «г.»)
/// and at least two cells holding numbers. Layout tables of menus and lists have neither.
fn has_data_table(doc: &Html) -> bool {
    let sel = selectors();
    doc.select(&sel.table).any(|table| {
        let mut year = false;
        let mut numbers = 0;
        for cell in table.select(&sel.table_cell) {
            let text: String = cell.text().collect::<String>();
            let t = text
                .trim()
                .trim_end_matches("г.")
                .trim_end_matches("год")
                .trim();
            if t.len() == 4 && t.parse::<u16>().is_ok_and(|y| (1990..=2100).contains(&y)) {
                year = true;
            } else {
                let n: String = t
                    .chars()
                    .filter(|c| !matches!(c, ' ' | '\u{a0}'))
                    .map(|c| if c == ',' { '.' } else { c })
                    .collect();
                if !n.is_empty() && n.parse::<f64>().is_ok() {
                    numbers += 1;
                }
            }
        }
        year && numbers >= 2
    })
}

/// «45.1 Кб, 28.03.2025», «1,2 Мб 01.02.2024»: the size as written and the date.
fn parse_info(info: &str) -> (Option<String>, Option<NaiveDate>) {
    let words: Vec<&str> = info
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| c == ',' || c == ';' || c == '|'))
        .filter(|w| !w.is_empty())
        .collect();
    let date = words
        .iter()
        .find_map(|w| NaiveDate::parse_from_str(w, "%d.%m.%Y").ok());
    let size = words.windows(2).find_map(|pair| {
        let unit = pair[1].to_lowercase();
        let is_unit = ["кб", "мб", "гб", "байт", "kb", "mb", "gb", "b"]
            .iter()
            .any(|u| unit.trim_end_matches('.') == *u);
        let is_number = pair[0]
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == ',');
        (is_unit && is_number).then(|| format!("{} {}", pair[0], pair[1]))
    });
    (size, date)
}

/// The extension of a URL's file name, lower case without the dot.
pub fn doc_type(url: &url::Url) -> String {
    let name = url
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or("");
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() && ext.len() <= 5 => {
            ext.to_lowercase()
        }
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r##"<html><body>
      <div class="document-list">
        <div class="document-list__item">
          <div class="document-list__item-title">Численность населения по муниципальным образованиям
             на 1 января 2025 года</div>
          <div class="document-list__item-info">45.1 Кб, 28.03.2025</div>
          <div class="document-list__item-link"><a href="/storage/mediabank/%D0%A7%D0%B8%D1%81%D0%BB%D0%B5%D0%BD%D0%BD%D0%BE%D1%81%D1%82%D1%8C_2025.xlsx">Скачать</a></div>
        </div>
        <div class="document-list__item">
          <div class="document-list__item-title">Доклад «Социально-экономическое положение»</div>
          <div class="document-list__item-info">1,2 Мб, 01.02.2024</div>
          <div class="document-list__item-link"><a href="https://48.rosstat.gov.ru/storage/mediabank/doklad.PDF">Скачать</a></div>
        </div>
      </div>
      <div class="toggle-section"><div class="toggle-card">
        <a href="/folder/70102">Муниципальная статистика</a>
        <a href="/folder/70102">again</a>
      </div></div>
      <div class="pagination"><a href="?page=1">1</a><a href="?page=2">2</a><a href="#">…</a></div>
    </body></html>"##;

    #[test]
    fn a_list_page_is_a_catalogue() {
        let link = Selector::parse("div.document-list__item-link > a[href]").unwrap();
        let page = read_list_page("https://48.rosstat.gov.ru/folder/26688", PAGE, &link).unwrap();
        assert_eq!(page.documents.len(), 2);
        let first = &page.documents[0];
        assert_eq!(
            first.title,
            "Численность населения по муниципальным образованиям на 1 января 2025 года"
        );
        assert!(first
            .url
            .starts_with("https://48.rosstat.gov.ru/storage/mediabank/%D0%A7"));
        assert_eq!(first.size.as_deref(), Some("45.1 Кб"));
        assert_eq!(first.published, NaiveDate::from_ymd_opt(2025, 3, 28));
        assert_eq!(first.doc_type, "xlsx");
        assert_eq!(first.found_on, "https://48.rosstat.gov.ru/folder/26688");
        let second = &page.documents[1];
        assert_eq!(second.doc_type, "pdf");
        assert_eq!(second.size.as_deref(), Some("1,2 Мб"));
        assert_eq!(second.published, NaiveDate::from_ymd_opt(2024, 2, 1));
        assert_eq!(page.folders, ["https://48.rosstat.gov.ru/folder/70102"]);
        assert_eq!(
            page.pages,
            [
                "https://48.rosstat.gov.ru/folder/26688?page=1",
                "https://48.rosstat.gov.ru/folder/26688?page=2"
            ]
        );
    }

    #[test]
    fn a_plain_link_list_still_reads() {
        let html = r#"<div class="document-list__item-link"><a href="a.xlsx">A</a></div>
                      <p><a href="javascript:void(0)">x</a></p>"#;
        let link = Selector::parse("div.document-list__item-link > a[href]").unwrap();
        let page = read_list_page("https://rosstat.gov.ru/folder/1/", html, &link).unwrap();
        assert_eq!(page.documents.len(), 1);
        assert_eq!(page.documents[0].title, "A");
        assert_eq!(
            page.documents[0].url,
            "https://rosstat.gov.ru/folder/1/a.xlsx"
        );
        assert_eq!(page.documents[0].published, None);
        assert!(!page.has_data_table);
    }

    #[test]
    fn a_page_with_a_table_of_figures_is_a_document_too() {
        let link = Selector::parse("div.document-list__item-link > a[href]").unwrap();
        let html = r#"<table><tr><td></td><td>2023 г.</td><td>2024</td></tr>
            <tr><td>Липецкая область</td><td>52 100,5</td><td>60 300</td></tr></table>"#;
        let page = read_list_page("https://48.rosstat.gov.ru/folder/5", html, &link).unwrap();
        assert!(page.has_data_table);
        let menu =
            r#"<table><tr><td><a href="/folder/1">Раздел</a></td><td>О нас</td></tr></table>"#;
        let page = read_list_page("https://48.rosstat.gov.ru/folder/5", menu, &link).unwrap();
        assert!(!page.has_data_table);
    }
}
