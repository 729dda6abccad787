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
    /// Every document the list pages offered, fetched or not (`document_list` sources).
    pub catalog: Vec<crate::catalog::ListedDocument>,
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
        if matches!(self.config.kind, SourceKind::File(_)) && self.config.url.scheme() == "file" {
            // An analyst's local file: archived like a download, so that a changed file is a new
            // vintage and an unchanged one is not loaded again.
            let name = document_name(page_url);
            let stored = read_local(&self.config.url)
                .and_then(|fetched| store(archive, page_url, name.clone(), fetched));
            run.attempts.push(FetchAttempt::of(page_url, name, &stored));
            run.documents.push(stored?);
            return Ok(run);
        }
        let urls = match &self.config.kind {
            SourceKind::Workbook | SourceKind::Emiss(_) | SourceKind::File(_) => {
                vec![page_url.to_string()]
            }
            SourceKind::DocumentList(list) => self.crawl(list, fetcher, archive, &mut run).await?,
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

impl Source {
    /// Reads the list page, its further pages and (to `max_depth`) the folders its sections link,
    /// cataloguing every document listed; returns the URLs to fetch: those with a wanted extension
    /// and title, in the order listed. The first page failing fails the source; a later page
    /// failing is a failure of that page alone.
    async fn crawl(
        &self,
        list: &regstat_config::DocumentListOptions,
        fetcher: &Fetcher,
        archive: &Archive,
        run: &mut SourceRun,
    ) -> Result<Vec<String>, IngestError> {
        let start = self.config.url.as_str().to_string();
        let mut queue = std::collections::VecDeque::from([(start.clone(), 0u32)]);
        let mut visited = std::collections::HashSet::from([start.clone()]);
        let mut wanted = Vec::new();
        let mut listed = std::collections::HashSet::new();
        let mut pages = 0;
        while let Some((page_url, depth)) = queue.pop_front() {
            if pages == list.max_pages {
                tracing::warn!(source = %self.config.id, max_pages = list.max_pages, left = queue.len() + 1, "list pages left unread: max_pages reached");
                break;
            }
            pages += 1;
            let read = async {
                let fetched = fetch_document(fetcher, archive, &page_url).await;
                run.attempts.push(FetchAttempt::of(
                    &page_url,
                    document_name(&page_url),
                    &fetched,
                ));
                let (page_doc, changed) = fetched?;
                let html = archive.read(&page_doc.sha256)?;
                let page = crate::catalog::read_list_page(
                    &page_url,
                    &String::from_utf8_lossy(&html),
                    list.link_selector.selector(),
                )?;
                Ok::<_, IngestError>((page, page_doc, changed))
            };
            let page = match read.await {
                Ok((page, page_doc, changed)) => {
                    // Figures published on the page itself (an HTML table of regions by year) are
                    // a document of their own: loaded like any other.
                    if page.has_data_table {
                        run.documents.push((page_doc, changed));
                    }
                    page
                }
                Err(e) if page_url == start => return Err(e),
                Err(e) => {
                    tracing::error!(source = %self.config.id, page = %page_url, error = %e, "list page not read");
                    run.failures.push(IngestError::Document {
                        file_name: document_name(&page_url),
                        error: Box::new(e),
                    });
                    continue;
                }
            };
            for doc in page.documents {
                if !listed.insert(doc.url.clone()) {
                    continue;
                }
                if is_wanted(&doc, list) {
                    wanted.push(doc.url.clone());
                }
                run.catalog.push(doc);
            }
            for next in page.pages {
                if visited.insert(next.clone()) {
                    queue.push_back((next, depth));
                }
            }
            if depth < list.max_depth {
                for folder in page.folders {
                    if visited.insert(folder.clone()) {
                        queue.push_back((folder, depth + 1));
                    }
                }
            }
        }
        Ok(wanted)
    }
}

/// Whether a listed document is to be fetched: a wanted extension, and a wanted title when the
/// source names phrases.
fn is_wanted(
    doc: &crate::catalog::ListedDocument,
    list: &regstat_config::DocumentListOptions,
) -> bool {
    let path = url::Url::parse(&doc.url)
        .map(|u| u.path().to_lowercase())
        .unwrap_or_default();
    let extension = list
        .extensions
        .iter()
        .any(|ext| path.ends_with(&ext.to_lowercase()));
    let title = doc.title.to_lowercase();
    let phrase = list.title_contains.is_empty()
        || list
            .title_contains
            .iter()
            .any(|p| title.contains(&p.to_lowercase()));
    extension && phrase
}

/// A `file://` URL's bytes, as a fetch would give them.
fn read_local(url: &url::Url) -> Result<crate::fetch::Fetched, IngestError> {
    let path = url.to_file_path().map_err(|()| IngestError::Page {
        url: url.to_string(),
        reason: "not a local file path".into(),
    })?;
    let bytes = std::fs::read(&path).map_err(|e| IngestError::Page {
        url: url.to_string(),
        reason: format!("cannot read {}: {e}", path.display()),
    })?;
    Ok(crate::fetch::Fetched {
        url: url.to_string(),
        status: 200,
        bytes,
        etag: None,
        last_modified: None,
        content_type: None,
        detail: None,
    })
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
        let list = regstat_config::DocumentListOptions {
            extensions: vec![".xlsx".into(), ".xls".into()],
            ..Default::default()
        };
        let page = crate::catalog::read_list_page(
            "https://48.rosstat.gov.ru/folder/1",
            html,
            list.link_selector.selector(),
        )
        .unwrap();
        // Every listed document is catalogued; the wanted ones are fetched.
        assert_eq!(page.documents.len(), 3);
        let links: Vec<&str> = page
            .documents
            .iter()
            .filter(|d| is_wanted(d, &list))
            .map(|d| d.url.as_str())
            .collect();
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
