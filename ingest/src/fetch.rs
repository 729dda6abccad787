//! The HTTP client and its policies.

use std::time::Duration;

use regstat_config::HttpSettings;
use reqwest::header::{
    HeaderMap, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, RETRY_AFTER,
};
use reqwest::StatusCode;

use crate::archive::ArchivedDocument;
use crate::error::IngestError;

/// A successful response with its body.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub url: String,
    pub status: u16,
    pub bytes: Vec<u8>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub content_type: Option<String>,
    /// What was asked for, where a request is a selection (EMISS: values per field).
    pub detail: Option<String>,
}

#[derive(Debug, Clone)]
pub enum FetchOutcome {
    /// 304: the server says the previous document still stands.
    NotModified,
    Fetched(Fetched),
}

#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    policy: RetryPolicy,
    host_delay: Duration,
    /// When each host was last asked, for `host_delay`.
    last_request:
        std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, tokio::time::Instant>>>,
}

impl Fetcher {
    pub fn new(settings: &HttpSettings) -> Result<Self, IngestError> {
        let client = client_builder(settings)?
            .build()
            .map_err(|e| IngestError::Client(e.to_string()))?;
        Ok(Self {
            client,
            policy: RetryPolicy::from_settings(settings),
            host_delay: Duration::from_millis(settings.host_delay_ms),
            last_request: Default::default(),
        })
    }
}

/// A client builder with regstat's policies: User-Agent, timeouts, extra CA roots, proxy. TLS
/// verification is never turned off.
pub(crate) fn client_builder(
    settings: &HttpSettings,
) -> Result<reqwest::ClientBuilder, IngestError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(&settings.user_agent)
        .timeout(Duration::from_secs(settings.timeout_secs))
        .connect_timeout(Duration::from_secs(settings.timeout_secs.min(30)))
        .https_only(false);
    if let Some(path) = &settings.extra_ca_bundle {
        let pem = std::fs::read(path)
            .map_err(|e| IngestError::Client(format!("extra CA bundle {}: {e}", path.display())))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| IngestError::Client(format!("extra CA bundle {}: {e}", path.display())))?;
        if certs.is_empty() {
            return Err(IngestError::Client(format!(
                "extra CA bundle {}: no PEM certificates in it",
                path.display()
            )));
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    if let Some(proxy) = &settings.proxy {
        let proxy = reqwest::Proxy::all(proxy.clone())
            .map_err(|e| IngestError::Client(format!("proxy {proxy:?}: {e}")))?;
        builder = builder.proxy(proxy);
    }
    Ok(builder)
}

impl Fetcher {
    /// Sets the first retry delay (doubled on each further attempt); tests make it short.
    pub fn with_backoff(mut self, backoff: Duration) -> Self {
        self.policy.backoff = backoff;
        self
    }

    /// Waits until `host_delay` has passed since the last request to the URL's host.
    async fn pace(&self, url: &str) {
        if self.host_delay.is_zero() {
            return;
        }
        let host = url::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        let wait = {
            let mut last = self.last_request.lock().expect("pacing lock");
            let now = tokio::time::Instant::now();
            let next = last
                .get(&host)
                .map_or(now, |t| (*t + self.host_delay).max(now));
            last.insert(host, next);
            next - now
        };
        tokio::time::sleep(wait).await;
    }

    pub(crate) fn policy(&self) -> RetryPolicy {
        self.policy
    }

    /// GET with conditional headers from the previous fetch of the URL, retrying connection errors,
    /// timeouts, 5xx and 429 with exponential backoff (and Retry-After when the server sends one).
    pub async fn get(
        &self,
        url: &str,
        previous: Option<&ArchivedDocument>,
    ) -> Result<FetchOutcome, IngestError> {
        self.pace(url).await;
        let reply = self
            .policy()
            .send(url, || {
                let mut request = self.client.get(url);
                if let Some(prev) = previous {
                    if let Some(etag) = &prev.etag {
                        request = request.header(IF_NONE_MATCH, etag);
                    }
                    if let Some(lm) = &prev.last_modified {
                        request = request.header(IF_MODIFIED_SINCE, lm);
                    }
                }
                request
            })
            .await?;
        if reply.status == StatusCode::NOT_MODIFIED {
            return Ok(FetchOutcome::NotModified);
        }
        if !reply.status.is_success() {
            return Err(IngestError::Status {
                url: url.into(),
                status: reply.status.as_u16(),
            });
        }
        Ok(FetchOutcome::Fetched(fetched(url, reply)))
    }
}

/// A response read whole.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

/// Retries of one request: connection errors, timeouts, 5xx, 429 and bodies cut off mid-way are
/// retried with exponential backoff and jitter (or the server's Retry-After), all counted against one
/// limit of attempts; any other response is returned as it is, read whole.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    pub(crate) attempts: u32,
    pub(crate) backoff: Duration,
}

impl RetryPolicy {
    pub(crate) fn from_settings(settings: &HttpSettings) -> Self {
        Self {
            attempts: settings.retries.max(1),
            backoff: Duration::from_millis(500),
        }
    }

    pub(crate) async fn send(
        &self,
        url: &str,
        make: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Reply, IngestError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let retry_in = match make().send().await {
                Ok(response) => {
                    let status = response.status();
                    if (status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS)
                        && attempt < self.attempts
                    {
                        let retry_after = response
                            .headers()
                            .get(RETRY_AFTER)
                            .and_then(|v| v.to_str().ok())
                            .and_then(|v| v.trim().parse::<u64>().ok())
                            .map(|s| Duration::from_secs(s.min(300)));
                        tracing::warn!(
                            url,
                            attempt,
                            status = status.as_u16(),
                            "server busy or failing; retrying"
                        );
                        self.delay(attempt, retry_after)
                    } else {
                        let headers = response.headers().clone();
                        match response.bytes().await {
                            Ok(body) => {
                                return Ok(Reply {
                                    status,
                                    headers,
                                    body: body.to_vec(),
                                })
                            }
                            Err(e) if attempt < self.attempts => {
                                tracing::warn!(url, attempt, error = %e, "body read failed; retrying");
                                self.delay(attempt, None)
                            }
                            Err(e) => {
                                return Err(IngestError::Http {
                                    url: url.into(),
                                    reason: format!("reading the body: {}", error_chain(&e)),
                                })
                            }
                        }
                    }
                }
                Err(e)
                    if (e.is_connect() || e.is_timeout() || e.is_request())
                        && attempt < self.attempts =>
                {
                    tracing::warn!(url, attempt, error = %e, "request failed; retrying");
                    self.delay(attempt, None)
                }
                Err(e) => {
                    return Err(IngestError::Http {
                        url: url.into(),
                        reason: error_chain(&e),
                    })
                }
            };
            tokio::time::sleep(retry_in).await;
        }
    }

    pub(crate) fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(d) = retry_after {
            return d;
        }
        let base = self.backoff * 2u32.saturating_pow(attempt - 1);
        // Up to 25 % jitter so that many daemons do not retry in step.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        base + base.mul_f64((nanos % 1000) as f64 / 4000.0)
    }
}

fn fetched(url: &str, reply: Reply) -> Fetched {
    let header = |name| {
        reply
            .headers
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    Fetched {
        url: url.to_string(),
        status: reply.status.as_u16(),
        etag: header(ETAG),
        last_modified: header(LAST_MODIFIED),
        content_type: header(reqwest::header::CONTENT_TYPE),
        bytes: reply.body,
        detail: None,
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}
