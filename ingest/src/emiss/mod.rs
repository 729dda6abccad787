//! EMISS (fedstat.ru): the indicator page's FGrid literal and one-time token, a cookie session, and
//! the POST that returns SDMX. The site's behaviour (../shared/notes/fedstat-protocol.md): a 302 means a
//! stale token (fetch the page again and retry once) or an empty selection; 403 means the User-Agent
//! was refused; 503 means load (retried with backoff); the declared charset can be wrong (the bytes
//! are archived as they are; the XML declaration governs). Redirects are never followed.

mod jsobject;
mod page;
mod selection;

use std::time::Duration;

use regstat_config::{EmissOptions, HttpSettings};
use reqwest::header::{CONTENT_TYPE, REFERER};
use reqwest::StatusCode;

pub use jsobject::{parse_value, JsError, JsValue};
pub use page::{Field, FieldValue, IndicatorPage};
pub use selection::{build as build_selection, Selection};

use crate::error::IngestError;
use crate::fetch::{client_builder, Fetched, RetryPolicy};

pub struct EmissClient {
    client: reqwest::Client,
    policy: RetryPolicy,
}

impl EmissClient {
    pub fn new(settings: &HttpSettings) -> Result<Self, IngestError> {
        let client = client_builder(settings)?
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| IngestError::Client(e.to_string()))?;
        Ok(Self {
            client,
            policy: RetryPolicy::from_settings(settings),
        })
    }

    pub fn with_backoff(mut self, backoff: Duration) -> Self {
        self.policy.backoff = backoff;
        self
    }

    /// Downloads the SDMX of the indicator at `page_url` with the configured selection.
    pub async fn download(
        &self,
        page_url: &str,
        options: &EmissOptions,
    ) -> Result<Fetched, IngestError> {
        let page_url_parsed =
            url::Url::parse(page_url).map_err(|e| protocol(page_url, format!("not a URL: {e}")))?;
        let id = page_url_parsed
            .path_segments()
            .and_then(|mut s| s.next_back().map(str::to_string))
            .filter(|id| !id.is_empty())
            .ok_or_else(|| protocol(page_url, "no indicator id at the end of the URL".into()))?;
        let action = if options.legacy {
            "/indicator/data.do?format=sdmx"
        } else {
            "/indicator/downloadData.do?format=sdmx"
        };
        let post_url = page_url_parsed
            .join(action)
            .map_err(|e| protocol(page_url, e.to_string()))?
            .to_string();

        for attempt in 1..=2 {
            let page = self.page(page_url).await?;
            let selection =
                build_selection(&page, options).map_err(|reason| protocol(page_url, reason))?;
            let token =
                match (&page.token, options.legacy) {
                    // The older form takes no token.
                    (_, true) => None,
                    (Some(t), false) => Some(t.clone()),
                    (None, false) => return Err(protocol(
                        page_url,
                        "no download token (#downloadTokenHolder input[name=token]) on the page"
                            .into(),
                    )),
                };
            let form = form(&id, token.as_deref(), &selection);
            let response = self
                .policy
                .send(&post_url, || {
                    self.client
                        .post(&post_url)
                        .header(REFERER, page_url)
                        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                        .body(form.clone())
                })
                .await?;
            match response.status {
                s if s.is_success() => {
                    let content_type = response
                        .headers
                        .get(CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string);
                    let bytes = response.body;
                    if !bytes.starts_with(b"<?xml")
                        && !bytes.starts_with(b"\xef\xbb\xbf<?xml")
                        && !bytes.starts_with(b"<")
                    {
                        return Err(protocol(
                            &post_url,
                            format!(
                                "expected SDMX XML, found {} bytes of {}",
                                bytes.len(),
                                content_type.as_deref().unwrap_or("unknown type")
                            ),
                        ));
                    }
                    return Ok(Fetched {
                        url: page_url.to_string(),
                        status: s.as_u16(),
                        bytes,
                        etag: None,
                        last_modified: None,
                        content_type,
                        detail: Some(selection.describe()),
                    });
                }
                StatusCode::FOUND | StatusCode::SEE_OTHER | StatusCode::MOVED_PERMANENTLY
                    if attempt == 1 =>
                {
                    tracing::warn!(url = post_url, "302 on download: the token is stale or single-use; fetching the page again");
                }
                StatusCode::FOUND | StatusCode::SEE_OTHER | StatusCode::MOVED_PERMANENTLY => {
                    return Err(protocol(&post_url, format!("redirected again with a fresh token: the selection is empty on the site's side ({})", selection.summary)));
                }
                StatusCode::FORBIDDEN => return Err(refused(&post_url)),
                other => {
                    return Err(IngestError::Status {
                        url: post_url,
                        status: other.as_u16(),
                    })
                }
            }
        }
        unreachable!("the loop returns on its second attempt")
    }

    async fn page(&self, page_url: &str) -> Result<IndicatorPage, IngestError> {
        let response = self
            .policy
            .send(page_url, || self.client.get(page_url))
            .await?;
        match response.status {
            s if s.is_success() => {}
            StatusCode::FORBIDDEN => return Err(refused(page_url)),
            s => {
                return Err(IngestError::Status {
                    url: page_url.into(),
                    status: s.as_u16(),
                })
            }
        }
        // The declared charset is not to be trusted: the page is UTF-8.
        IndicatorPage::parse(&String::from_utf8_lossy(&response.body))
            .map_err(|reason| protocol(page_url, reason))
    }
}

fn protocol(url: &str, reason: String) -> IngestError {
    IngestError::Page {
        url: url.to_string(),
        reason,
    }
}

fn refused(url: &str) -> IngestError {
    protocol(url, "403: the site refused the request; it refuses common library User-Agents, so set [http] user_agent to a browser's".into())
}

/// The download form, in the field order the site's own page sends.
fn form(id: &str, token: Option<&str>, s: &Selection) -> String {
    let mut pairs: Vec<(&str, &str)> = vec![("id", id), ("title", s.title.as_str())];
    if let Some(t) = token {
        pairs.push(("struts.token.name", "token"));
        pairs.push(("token", t));
    }
    pairs.extend(s.line_ids.iter().map(|v| ("lineObjectIds", v.as_str())));
    pairs.extend(s.column_ids.iter().map(|v| ("columnObjectIds", v.as_str())));
    pairs.extend(s.group_ids.iter().map(|v| ("groupObjectIds", v.as_str())));
    pairs.extend(
        s.filter_object_ids
            .iter()
            .map(|v| ("filterObjectIds", v.as_str())),
    );
    pairs.extend(s.selected.iter().map(|v| ("selectedFilterIds", v.as_str())));
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}
