//! Sources: what a configured source fetches.

use chrono::Utc;
use regstat_config::{SourceConfig, SourceKind};

use crate::archive::{Archive, ArchivedDocument, UrlState};
use crate::error::IngestError;
use crate::fetch::{FetchOutcome, Fetcher};

/// A configured source, ready to run.
#[derive(Debug, Clone)]
pub struct Source {
    pub config: SourceConfig,
    http: regstat_config::HttpSettings,
}

/// What one run of a source produced: the documents it holds now (new or unchanged) and the documents
/// it could not fetch. A failed link does not stop the others.
#[derive(Debug, Default)]
pub struct SourceRun {
    pub documents: Vec<(ArchivedDocument, bool)>,
    pub failures: Vec<IngestError>,
    /// Every request's outcome (the list page and each document), failed ones included.
    pub attempts: Vec<FetchAttempt>,
}

/// What became of one fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// New or changed content, archived.
    Fetched,
    /// A 304, or the same bytes as the last fetch: nothing stored.
    Unchanged,
    /// No document: the error says why (after the configured retries).
    Failed,
}

impl AttemptOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Fetched => "fetched",
            AttemptOutcome::Unchanged => "unchanged",
            AttemptOutcome::Failed => "failed",
        }
    }
}

/// One fetch of a URL, as the run records it.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchAttempt {
    pub url: String,
    /// The URL's file name, percent-decoded.
    pub file_name: String,
    pub at: chrono::DateTime<Utc>,
    pub outcome: AttemptOutcome,
    pub http_status: Option<u16>,
    pub sha256: Option<String>,
    pub bytes: Option<u64>,
    pub error: Option<String>,
    /// What was asked for (EMISS: values asked of values offered, per field).
    pub detail: Option<String>,
}

impl FetchAttempt {
    fn of(
        url: &str,
        file_name: String,
        result: &Result<(ArchivedDocument, bool), IngestError>,
    ) -> Self {
        let (outcome, doc, error) = match result {
            Ok((doc, true)) => (AttemptOutcome::Fetched, Some(doc), None),
            Ok((doc, false)) => (AttemptOutcome::Unchanged, Some(doc), None),
            Err(e) => (AttemptOutcome::Failed, None, Some(e.to_string())),
        };
        let http_status = match result {
            Err(IngestError::Status { status, .. }) => Some(*status),
            _ => doc.map(|d| d.http_status),
        };
        Self {
            url: url.to_string(),
            file_name,
            at: Utc::now(),
            outcome,
            http_status,
            sha256: doc.map(|d| d.sha256.clone()),
            bytes: doc.map(|d| d.bytes),
            error,
            detail: None,
        }
    }
}

impl Source {
    /// A source from its config, whose values were typed (and so checked) at load.
    pub fn new(config: &SourceConfig, http: &regstat_config::HttpSettings) -> Self {
        Self {
            config: config.clone(),
            http: http.clone(),
        }
    }

    /// Fetches what the source publishes. Each document is archived; `true` beside it means its
    /// content changed (or is new) since the last fetch of its URL.
    pub async fn run(
        &self,
        fetcher: &Fetcher,
        archive: &Archive,
    ) -> Result<SourceRun, IngestError> {
        let mut run = SourceRun::default();
        let page_url = self.config.url.as_str();
        if let SourceKind::Emiss(options) = &self.config.kind {
            let client =
                crate::emiss::EmissClient::new(&self.http)?.with_backoff(fetcher.policy().backoff);
            let key = format!("{page_url}#sdmx");
            let mut detail = None;
            let stored = match client.download(page_url, options).await {
                Ok(fetched) => {
                    detail = fetched.detail.clone();
                    store(archive, &key, emiss_name(page_url), fetched)
                }
                Err(e) => Err(e),
            };
            run.attempts.push(FetchAttempt {
                detail,
                ..FetchAttempt::of(&key, emiss_name(page_url), &stored)
            });
            run.documents.push(stored?);
            return Ok(run);
        }
        let urls = match &self.config.kind {
            SourceKind::Workbook | SourceKind::Emiss(_) => vec![page_url.to_string()],
            SourceKind::DocumentList(list) => {
                let url = page_url;
                let fetched = fetch_document(fetcher, archive, url).await;
                run.attempts
                    .push(FetchAttempt::of(url, document_name(url), &fetched));
                let (page, _) = fetched?;
                let html = archive.read(&page.sha256)?;
                document_links(
                    page_url,
                    &String::from_utf8_lossy(&html),
                    list.link_selector.selector(),
                    &list.extensions,
                )?
            }
        };
        tracing::info!(source = %self.config.id, documents = urls.len(), "fetching");
        for url in urls {
            let fetched = fetch_document(fetcher, archive, &url).await;
            let file_name = document_name(&url);
            run.attempts
                .push(FetchAttempt::of(&url, file_name.clone(), &fetched));
            match fetched {
                Ok(doc) => run.documents.push(doc),
                Err(e) => {
                    tracing::error!(source = %self.config.id, document = %file_name, %url, error = %e, "document not fetched");
                    run.failures.push(IngestError::Document {
                        file_name,
                        error: Box::new(e),
                    });
                }
            }
        }
        Ok(run)
    }
}

/// Fetches one URL into the archive, with conditional GET against its previous fetch.
async fn fetch_document(
    fetcher: &Fetcher,
    archive: &Archive,
    url: &str,
) -> Result<(ArchivedDocument, bool), IngestError> {
    let previous = archive.url_state(url).map(|s| s.document);
    let fetched = match fetcher.get(url, previous.as_ref()).await? {
        FetchOutcome::NotModified => {
            // A 304 to an unconditional request is the server's error; never a panic here.
            let Some(prev) = previous else {
                return Err(IngestError::Status {
                    url: url.into(),
                    status: 304,
                });
            };
            tracing::debug!(url, sha256 = %prev.sha256, "not modified");
            return Ok((prev, false));
        }
        FetchOutcome::Fetched(f) => f,
    };
    store(archive, url, document_name(url), fetched)
}

/// Archives a fetched body under `key` (the URL, or the EMISS page URL with `#sdmx`), comparing it with
/// the previous fetch of that key; an unchanged body keeps the first fetch's record.
fn store(
    archive: &Archive,
    key: &str,
    file_name: String,
    fetched: crate::fetch::Fetched,
) -> Result<(ArchivedDocument, bool), IngestError> {
    let previous = archive.url_state(key).map(|s| s.document);
    let (sha256, _) = archive.store(&fetched.bytes)?;
    if let Some(prev) = previous.filter(|p| p.sha256 == sha256) {
        return Ok((prev, false));
    }
    let document = ArchivedDocument {
        sha256,
        url: key.to_string(),
        file_name,
        fetched_at: Utc::now(),
        http_status: fetched.status,
        etag: fetched.etag,
        last_modified: fetched.last_modified,
        content_type: fetched.content_type,
        bytes: fetched.bytes.len() as u64,
    };
    archive.record_url(&UrlState {
        document: document.clone(),
    })?;
    Ok((document, true))
}

fn emiss_name(page_url: &str) -> String {
    format!(
        "emiss-{}.xml",
        document_name(page_url).trim_end_matches(".html")
    )
}

/// Links on a document-list page, absolute, filtered by extension, in page order without repeats.
fn document_links(
    page_url: &str,
    html: &str,
    selector: &scraper::Selector,
    extensions: &[String],
) -> Result<Vec<String>, IngestError> {
    let base = url::Url::parse(page_url).map_err(|e| IngestError::Page {
        url: page_url.into(),
        reason: e.to_string(),
    })?;
    let doc = scraper::Html::parse_document(html);
    let mut links = Vec::new();
    for a in doc.select(selector) {
        let Some(href) = a.value().attr("href") else {
            continue;
        };
        let Ok(abs) = base.join(href.trim()) else {
            tracing::warn!(page = page_url, href, "unreadable link skipped");
            continue;
        };
        let path = abs.path().to_lowercase();
        let wanted = extensions
            .iter()
            .any(|ext| path.ends_with(&ext.to_lowercase()));
        if wanted && !links.contains(&abs.to_string()) {
            links.push(abs.to_string());
        }
    }
    Ok(links)
}

/// The file name of a URL, percent-decoded: `.../%D0%A0%D0%B0%D0%B7%D0%B4%D0%B5%D0%BB%2010.xlsx` ->
/// `Раздел 10.xlsx`.
pub fn document_name(url: &str) -> String {
    let last = url::Url::parse(url)
        .ok()
        .and_then(|u| {
            u.path_segments()
                .and_then(|mut s| s.next_back().map(str::to_string))
        })
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "index.html".to_string());
    percent_encoding::percent_decode_str(&last)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_from_a_document_list_page() {
        let html = r#"<div class="document-list__item-link"><a href="/storage/mediabank/a.xlsx">A</a></div>
            <div class="document-list__item-link"><a href="b.pdf">B</a></div>
            <div class="document-list__item-link"><a href="https://other.example/c.XLS">C</a></div>
            <div class="document-list__item-link"><a href="/storage/mediabank/a.xlsx">again</a></div>
            <p><a href="d.xlsx">not in the list</a></p>"#;
        let selector = scraper::Selector::parse("div.document-list__item-link > a[href]").unwrap();
        let links = document_links(
            "https://48.rosstat.gov.ru/folder/1",
            html,
            &selector,
            &[".xlsx".into(), ".xls".into()],
        )
        .unwrap();
        assert_eq!(
            links,
            [
                "https://48.rosstat.gov.ru/storage/mediabank/a.xlsx",
                "https://other.example/c.XLS"
            ]
        );
    }

    #[test]
    fn names_are_percent_decoded() {
        assert_eq!(
            document_name("http://h/storage/%D0%A0%D0%B0%D0%B7%D0%B4%D0%B5%D0%BB%2010.xlsx"),
            "Раздел 10.xlsx"
        );
        assert_eq!(document_name("http://h/"), "index.html");
        assert_eq!(document_name("http://h/a%2"), "a%2");
    }
}
