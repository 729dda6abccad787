//! The daemon's telemetry: Prometheus text exposition on /metrics and a /healthz probe, served on a
//! loopback address by default. The handful of counters regstat keeps are written out by hand in the
//! exposition format rather than through a metrics framework: a dependency would outweigh 60 lines.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::routing::get;

use crate::pipeline::RunReport;

#[derive(Debug, Default)]
pub struct Metrics {
    runs_succeeded: AtomicU64,
    runs_failed: AtomicU64,
    runs_cancelled: AtomicU64,
    documents: AtomicU64,
    observations: AtomicU64,
    bytes: AtomicU64,
    failures: AtomicU64,
    last_run_seconds: AtomicU64,
    /// Source id -> unix time of its last successful run.
    last_success: Mutex<BTreeMap<String, i64>>,
    /// Unix time of the last completed run of any kind.
    last_run_end: AtomicU64,
}

impl Metrics {
    pub fn record(&self, report: &RunReport) {
        let counter = if report.cancelled {
            &self.runs_cancelled
        } else if report.failed() {
            &self.runs_failed
        } else {
            &self.runs_succeeded
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.documents
            .fetch_add(report.documents_loaded as u64, Ordering::Relaxed);
        self.observations
            .fetch_add(report.observations_loaded as u64, Ordering::Relaxed);
        self.bytes
            .fetch_add(report.bytes_fetched, Ordering::Relaxed);
        self.failures
            .fetch_add(report.failures.len() as u64, Ordering::Relaxed);
        self.last_run_seconds
            .store(report.duration.as_millis() as u64, Ordering::Relaxed);
        let now = chrono::Utc::now().timestamp();
        self.last_run_end.store(now as u64, Ordering::Relaxed);
        let mut last = self.last_success.lock().expect("metrics lock");
        for s in &report.succeeded_sources {
            last.insert(s.clone(), now);
        }
    }

    pub fn record_error(&self) {
        self.runs_failed.fetch_add(1, Ordering::Relaxed);
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let g = |v: &AtomicU64| v.load(Ordering::Relaxed);
        let _ = writeln!(out, "# HELP regstat_runs_total Runs of the job by outcome.\n# TYPE regstat_runs_total counter");
        for (status, v) in [
            ("succeeded", &self.runs_succeeded),
            ("failed", &self.runs_failed),
            ("cancelled", &self.runs_cancelled),
        ] {
            let _ = writeln!(out, "regstat_runs_total{{status=\"{status}\"}} {}", g(v));
        }
        for (name, help, v) in [
            (
                "regstat_documents_loaded_total",
                "Documents loaded into the warehouse.",
                &self.documents,
            ),
            (
                "regstat_observations_loaded_total",
                "Observations loaded into the warehouse.",
                &self.observations,
            ),
            (
                "regstat_fetched_bytes_total",
                "Bytes of new or changed documents fetched.",
                &self.bytes,
            ),
            (
                "regstat_failures_total",
                "Failures (sources, documents, cells, estimates) reported by runs.",
                &self.failures,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                g(v)
            );
        }
        let _ = writeln!(
            out,
            "# HELP regstat_last_run_duration_seconds Duration of the last run.\n# TYPE regstat_last_run_duration_seconds gauge\nregstat_last_run_duration_seconds {:.3}",
            g(&self.last_run_seconds) as f64 / 1000.0
        );
        let _ = writeln!(out, "# HELP regstat_last_success_timestamp_seconds Last successful run per source.\n# TYPE regstat_last_success_timestamp_seconds gauge");
        for (source, t) in self.last_success.lock().expect("metrics lock").iter() {
            let _ = writeln!(
                out,
                "regstat_last_success_timestamp_seconds{{source=\"{}\"}} {t}",
                source.replace('"', "\\\"")
            );
        }
        out
    }
}

/// Serves /metrics and /healthz until the process ends.
pub async fn serve(addr: SocketAddr, metrics: Arc<Metrics>) -> std::io::Result<SocketAddr> {
    let m = metrics.clone();
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(move || {
                let m = m.clone();
                async move {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "text/plain; version=0.0.4",
                        )],
                        m.render(),
                    )
                }
            }),
        )
        .route("/healthz", get(|| async { "ok\n" }));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics server stopped");
        }
    });
    tracing::info!(%bound, "metrics and health on http://{bound}/metrics, /healthz");
    Ok(bound)
}
