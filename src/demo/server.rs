//! The demo's loopback HTTP server: mediabank-style document URLs with ETags, and a regional office
//! page listing them.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use super::workbooks::{percent_encode, DemoDocument};

struct Served {
    documents: HashMap<String, (Vec<u8>, String)>,
    /// Listed documents: file name and size in bytes.
    listing: Vec<(String, usize)>,
}

pub struct DemoServer {
    addr: std::net::SocketAddr,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl DemoServer {
    /// Binds 127.0.0.1 on a free port and serves until [`DemoServer::stop`].
    pub async fn start(documents: Vec<DemoDocument>) -> std::io::Result<Self> {
        let listing = documents
            .iter()
            .filter(|d| d.listed)
            .map(|d| (d.name.clone(), d.bytes.len()))
            .collect();
        let documents = documents
            .into_iter()
            .map(|d| {
                let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&d.bytes))[..16]);
                (d.name, (d.bytes, etag))
            })
            .collect();
        let state = Arc::new(Served { documents, listing });
        let app = axum::Router::new()
            .route("/storage/mediabank/{name}", get(document))
            .route("/folder/regions-of-russia-2023", get(folder))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (shutdown, rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    rx.await.ok();
                })
                .await;
        });
        Ok(Self {
            addr,
            shutdown,
            task,
        })
    }

    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        let _ = self.task.await;
    }
}

async fn document(
    State(state): State<Arc<Served>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some((bytes, etag)) = state.documents.get(&name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (header::ETAG, etag.clone()),
        ],
        bytes.clone(),
    )
        .into_response()
}

/// A page in the layout of the regional offices' document folders.
async fn folder(State(state): State<Arc<Served>>) -> Html<String> {
    let items: String = state
        .listing
        .iter()
        .map(|(name, bytes)| {
            let title = name.rsplit_once('.').map_or(name.as_str(), |(stem, _)| stem);
            format!(
                "<div class=\"document-list__item\"><div class=\"document-list__item-title\">{title}</div>\
                 <div class=\"document-list__item-info\">{:.1} Кб, 15.06.2023</div>\
                 <div class=\"document-list__item-link\"><a href=\"/storage/mediabank/{}\">Скачать</a></div></div>\n",
                *bytes as f64 / 1024.0,
                percent_encode(name),
            )
        })
        .chain(std::iter::once(
            // Listed and catalogued, not fetched: the office also publishes reports as PDF.
            "<div class=\"document-list__item\"><div class=\"document-list__item-title\">Социально-экономическое положение Липецкой области (доклад)</div>\
             <div class=\"document-list__item-info\">1,2 Мб, 15.06.2023</div>\
             <div class=\"document-list__item-link\"><a href=\"/storage/mediabank/doklad-2023.pdf\">Скачать</a></div></div>\n"
                .to_string(),
        ))
        .collect();
    Html(format!(
        "<!DOCTYPE html><html lang=\"ru\"><head><meta charset=\"utf-8\"><title>Регионы России. 2023</title></head>\
         <body><h1>Регионы России. Социально-экономические показатели. 2023</h1><div class=\"document-list\">\n{items}</div></body></html>"
    ))
}
