//! Operations: analysts' snapshot through runs, a held warehouse, SIGTERM mid-run, SIGKILL at random
//! points, one daemon per warehouse, /metrics and /healthz. Loopback only, bounded loops.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, State};
use axum::routing::get;
use regstat::demo::{demo_config, demo_documents};
use regstat_estimate::SplitMix64;

use common::{count, read_only, spawn as regstat};

/// Waits for a child with a deadline (the harness's, as the tuple these tests destructure).
fn wait(child: Child, limit: Duration) -> (Option<i32>, String, String) {
    let o = common::wait(child, limit);
    (o.code, o.stdout, o.stderr)
}

/// File name and bytes of every served document.
type Documents = Arc<Vec<(String, Vec<u8>)>>;

/// The demo config's document-list page: a link to each demo document but section 8 (which the
/// config fetches from its own URL).
fn demo_listing<S: Clone + Send + Sync + 'static>() -> axum::Router<S> {
    let listing: String = demo_documents()
        .unwrap()
        .iter()
        .filter(|d| !d.name.contains("Раздел 8"))
        .map(|d| format!("<div class=\"document-list__item-link\"><a href=\"/storage/mediabank/{}\">x</a></div>", regstat_percent(&d.name)))
        .collect();
    axum::Router::new().route(
        "/folder/regions-of-russia-2023",
        get(move || {
            let l = listing.clone();
            async move { axum::response::Html(l) }
        }),
    )
}

/// The demo's documents, each served after `delay`.
async fn slow_server(delay: Duration) -> String {
    let docs: Documents = Arc::new(
        demo_documents()
            .unwrap()
            .into_iter()
            .map(|d| (d.name, d.bytes))
            .collect(),
    );
    let app = demo_listing()
        .route(
            "/storage/mediabank/{name}",
            get(
                move |State(docs): State<Documents>, UrlPath(name): UrlPath<String>| async move {
                    tokio::time::sleep(delay).await;
                    docs.iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, b)| b.clone())
                        .unwrap_or_default()
                },
            ),
        )
        .with_state(docs);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn regstat_percent(name: &str) -> String {
    regstat::demo::percent_encode(name)
}

fn write_config(dir: &Path, base: &str, extra: &str) -> PathBuf {
    let path = dir.join("regstat.toml");
    std::fs::write(&path, format!("{}\n{extra}", demo_config(base, dir))).unwrap();
    path
}

/// Runs regstat to completion off the async runtime (the test's servers keep serving meanwhile).
async fn cli(args: &[&str], limit_secs: u64) -> (Option<i32>, String, String) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        wait(regstat(&args), Duration::from_secs(limit_secs))
    })
    .await
    .unwrap()
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analyst_on_the_snapshot_never_blocks_a_run_and_keeps_reading() {
    let base = slow_server(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &base, "");
    let c = config.to_str().unwrap().to_string();
    let (code, out, err) = cli(&["run", "--config", &c], 120).await;
    assert_eq!(code, Some(0), "{out}{err}");
    let snapshot = dir.path().join("warehouse.snapshot.duckdb");
    let analyst = read_only(&snapshot);
    assert_eq!(count(&analyst, "SELECT count(*) FROM run"), 1);
    let before = count(&analyst, "SELECT count(*) FROM observation");

    // Two more runs while the analyst's session stays open on the snapshot.
    for _ in 0..2 {
        let c = config.to_str().unwrap().to_string();
        let (code, out, err) = cli(&["run", "--config", &c], 120).await;
        assert_eq!(code, Some(0), "{out}{err}");
    }
    assert_eq!(
        count(&analyst, "SELECT count(*) FROM observation"),
        before,
        "the open session still reads its copy"
    );
    assert_eq!(
        count(&read_only(&snapshot), "SELECT count(*) FROM run"),
        3,
        "a new session sees the latest snapshot"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_held_on_the_warehouse_itself_fails_a_run_clearly_after_waiting() {
    let base = slow_server(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &base, "[daemon]\nlock_wait_secs = 1\n");
    let c = config.to_str().unwrap().to_string();
    let (code, ..) = cli(&["run", "--config", &c], 120).await;
    assert_eq!(code, Some(0));
    let holder = read_only(&dir.path().join("warehouse.duckdb"));
    let c = config.to_str().unwrap().to_string();
    let (code, _, err) = cli(&["run", "--config", &c], 60).await;
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("held open by another process") && err.contains("snapshot"),
        "{err}"
    );
    drop(holder);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_run_finishes_the_document_and_exits_zero() {
    let base = slow_server(Duration::from_millis(1500)).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &base, "");
    let c = config.to_str().unwrap().to_string();
    let child = regstat(&["run", "--config", &c]);
    tokio::time::sleep(Duration::from_millis(800)).await;
    signal(&child, "-TERM");
    let (code, out, err) =
        tokio::task::spawn_blocking(move || wait(child, Duration::from_secs(60)))
            .await
            .unwrap();
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("CANCELLED"), "{out}");
    let conn = read_only(&dir.path().join("warehouse.duckdb"));
    assert_eq!(
        conn.query_row("SELECT status FROM run", [], |r| r.get::<_, String>(0))
            .unwrap(),
        "cancelled"
    );
    drop(conn);
    // Locks released: the next run completes.
    let c = config.to_str().unwrap().to_string();
    let (code, out, _) = cli(&["run", "--config", &c], 120).await;
    assert_eq!(code, Some(0), "{out}");
}

/// A server whose document list works and whose every document is "busy": 503 with
/// `Retry-After: 300`. Counts the document requests it receives.
async fn busy_server(requests: Arc<std::sync::atomic::AtomicUsize>) -> String {
    let app = demo_listing()
        .route(
            "/storage/mediabank/{name}",
            get(
                move |State(requests): State<Arc<std::sync::atomic::AtomicUsize>>| async move {
                    requests.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    (
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        [(axum::http::header::RETRY_AFTER, "300")],
                        "busy",
                    )
                },
            ),
        )
        .with_state(requests);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// Issue 13: SIGTERM during a Retry-After wait stops the run at once: no request goes out after
/// the signal, and the process exits well within a systemd stop timeout (the wait was 300 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_retry_after_wait_exits_at_once_and_sends_nothing_more() {
    let requests = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let base = busy_server(requests.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &base, "");
    let c = config.to_str().unwrap().to_string();
    let child = regstat(&["run", "--config", &c]);
    let waited = Instant::now();
    while requests.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        assert!(
            waited.elapsed() < Duration::from_secs(30),
            "no document request arrived"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Now in the 300 s Retry-After wait of the first document.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent = requests.load(std::sync::atomic::Ordering::SeqCst);
    signal(&child, "-TERM");
    let signalled = Instant::now();
    let (code, out, err) =
        tokio::task::spawn_blocking(move || wait(child, Duration::from_secs(60)))
            .await
            .unwrap();
    let took = signalled.elapsed();
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        took < Duration::from_secs(1),
        "exited {took:?} after SIGTERM"
    );
    assert!(out.contains("CANCELLED"), "{out}");
    assert_eq!(
        requests.load(std::sync::atomic::Ordering::SeqCst),
        sent,
        "requests went out after the signal"
    );
    let conn = read_only(&dir.path().join("warehouse.duckdb"));
    assert_eq!(
        conn.query_row("SELECT status FROM run", [], |r| r.get::<_, String>(0))
            .unwrap(),
        "cancelled"
    );
}

fn assert_publish_whole(dir: &Path) {
    let publish = dir.join("publish");
    let Ok(entries) = std::fs::read_dir(&publish) else {
        return;
    };
    for e in entries {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        // `runs/` may hold a killed run's `.N.partial`; `latest` never points at one.
        assert!(
            name == "runs" || name == "latest",
            "unexpected {name} in publish/"
        );
    }
    let latest = publish.join("latest");
    if let Ok(bytes) = std::fs::read(latest.join("manifest.json")) {
        let target = std::fs::read_link(&latest).unwrap();
        assert!(!target.to_string_lossy().contains(".partial"), "{target:?}");
        let m: regstat_publish::Manifest = serde_json::from_slice(&bytes).unwrap();
        for f in m.files {
            let bytes = std::fs::read(latest.join(&f.path))
                .unwrap_or_else(|e| panic!("manifest names {}: {e}", f.path));
            assert_eq!(bytes.len() as u64, f.bytes, "{} is whole", f.path);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_leaves_everything_usable() {
    let base = slow_server(Duration::from_millis(60)).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &base, "");
    let mut rng = SplitMix64::new(20261122);
    for round in 0..6 {
        let c = config.to_str().unwrap().to_string();
        let child = regstat(&["run", "--config", &c]);
        let delay = Duration::from_millis(rng.below(900));
        tokio::time::sleep(delay).await;
        let _ = Command::new("kill")
            .args(["-KILL", &child.id().to_string()])
            .status();
        let _ = tokio::task::spawn_blocking(move || wait(child, Duration::from_secs(60)))
            .await
            .unwrap();
        // The warehouse opens (and migrates) and the publish directory has only whole files.
        let w = regstat_warehouse::Warehouse::open(&dir.path().join("warehouse.duckdb"))
            .unwrap_or_else(|e| panic!("round {round} after {delay:?}: {e}"));
        drop(w);
        assert_publish_whole(dir.path());
        let snapshot = dir.path().join("warehouse.snapshot.duckdb");
        if snapshot.exists() {
            count(&read_only(&snapshot), "SELECT count(*) FROM run");
        }
    }
    let c = config.to_str().unwrap().to_string();
    let (code, out, err) = cli(&["run", "--config", &c], 120).await;
    assert_eq!(code, Some(0), "{out}{err}");
    let conn = read_only(&dir.path().join("warehouse.duckdb"));
    assert_eq!(
        count(
            &conn,
            "SELECT count(DISTINCT sha256) FROM source_document WHERE load_status = 'loaded'"
        ),
        3
    );
    assert_eq!(
        count(&conn, "SELECT count(*) FROM observation"),
        1240,
        "every document loaded exactly once"
    );
    // Issue 13: the killed runs are not left `running`: the next run marks them `interrupted`,
    // with what they had committed.
    assert_eq!(
        count(&conn, "SELECT count(*) FROM run WHERE status = 'running'"),
        0
    );
    let killed = count(
        &conn,
        "SELECT count(*) FROM run WHERE status = 'interrupted'",
    );
    assert!(killed >= 1, "{killed} interrupted runs");
    assert_eq!(
        count(&conn, "SELECT count(*) FROM run WHERE status = 'interrupted' AND (finished_at IS NULL OR documents IS NULL OR observations IS NULL OR summary NOT LIKE 'interrupted%')"),
        0
    );
    // Runs that committed documents say so.
    assert_eq!(
        count(&conn, "SELECT count(*) FROM run r WHERE status = 'interrupted' AND documents <> (SELECT count(*) FROM source_document d WHERE d.run_id = r.run_id AND d.load_status LIKE 'loaded%')"),
        0
    );
}

fn http_get(addr: &str, path: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_daemon_per_warehouse_with_metrics_and_a_clean_sigterm() {
    let base = slow_server(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let config = write_config(
        dir.path(),
        &base,
        &format!("[daemon]\nmetrics_addr = \"{addr}\"\n"),
    );
    // Every two seconds, so the test sees a scheduled run.
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("schedule = \"0 0 6 * * *\"", "schedule = \"*/2 * * * * *\"");
    std::fs::write(&config, text).unwrap();
    let c = config.to_str().unwrap().to_string();
    let daemon = regstat(&["daemon", "--config", &c]);

    let mut metrics = String::new();
    for _ in 0..150 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if let Some(m) = http_get(&addr, "/metrics") {
            // Runs of this one source may count as failed: the cluster's GRP indicator comes from
            // the weekly source, which has not run yet; the source itself succeeded.
            if m.contains(
                "regstat_last_success_timestamp_seconds{source=\"lipetskstat-documents\"}",
            ) {
                metrics = m;
                break;
            }
        }
    }
    assert!(
        metrics.contains("regstat_documents_loaded_total 2"),
        "{metrics}"
    );
    assert!(http_get(&addr, "/healthz").unwrap().ends_with("ok\n"));

    let second = regstat(&["daemon", "--config", &c]);
    let (code, _, err) = tokio::task::spawn_blocking(move || wait(second, Duration::from_secs(30)))
        .await
        .unwrap();
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("already running") && err.contains(&format!("pid {}", daemon.id())),
        "{err}"
    );

    signal(&daemon, "-TERM");
    let (code, out, err) =
        tokio::task::spawn_blocking(move || wait(daemon, Duration::from_secs(60)))
            .await
            .unwrap();
    assert_eq!(code, Some(0), "{out}{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_reparses_the_archive_without_fetching_and_status_reports_it() {
    let base = slow_server(Duration::ZERO).await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &base, "");
    let c = config.to_str().unwrap().to_string();
    let (code, ..) = cli(&["run", "--config", &c], 120).await;
    assert_eq!(code, Some(0));
    // Point the sources at a closed port: a backfill must not need them.
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace(&base, "http://127.0.0.1:9");
    std::fs::write(&config, text).unwrap();
    let c = config.to_str().unwrap().to_string();
    let (code, out, err) = tokio::task::spawn_blocking(move || {
        wait(
            regstat(&["backfill", "--config", &c]),
            Duration::from_secs(120),
        )
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("3 loaded"), "{out}");
    let conn = read_only(&dir.path().join("warehouse.snapshot.duckdb"));
    assert_eq!(
        count(&conn, "SELECT count(*) FROM observation"),
        1240,
        "replaced, not duplicated"
    );
    assert_eq!(
        count(&conn, "SELECT count(*) FROM observation WHERE run_id = 2"),
        1240
    );
    drop(conn);
    let c = config.to_str().unwrap().to_string();
    let (code, out, _) = tokio::task::spawn_blocking(move || {
        wait(
            regstat(&["status", "--config", &c]),
            Duration::from_secs(60),
        )
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0));
    assert!(
        out.contains("investment_per_capita") && out.contains("latest period 2022"),
        "{out}"
    );
    assert!(
        out.contains("lipetskstat-documents") && out.contains("2 documents (0 failed)"),
        "{out}"
    );
}

/// Issue 13: `--source` naming no configured source is an error naming the known ones, for `run`
/// and `backfill`, and nothing is started.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_source_is_an_error_not_an_empty_run() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "http://127.0.0.1:9", "");
    let c = config.to_str().unwrap().to_string();
    for command in ["run", "backfill"] {
        let (code, out, err) = cli(&[command, "--config", &c, "--source", "nope"], 60).await;
        assert_eq!(code, Some(2), "{command}: {out}{err}");
        assert!(
            err.contains("--source nope: no source with that id")
                && err.contains("lipetskstat-documents"),
            "{command}: {err}"
        );
    }
    assert!(
        !dir.path().join("warehouse.duckdb").exists(),
        "no run was started"
    );
}

/// Issue 13: a document list whose page stops listing documents (a new layout, an error page)
/// fails the source's step, naming the selector, instead of "0 fetched" and exit 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_page_that_loses_its_links_fails_the_step() {
    let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let book = demo_documents()
        .unwrap()
        .into_iter()
        .find(|d| d.name.contains("Раздел 10"))
        .unwrap();
    let link = format!(
        "<div class=\"document-list__item-link\"><a href=\"/storage/mediabank/{}\">x</a></div>",
        regstat_percent(&book.name)
    );
    let app = axum::Router::new()
        .route(
            "/folder/regions-of-russia-2023",
            get(
                move |State(hits): State<Arc<std::sync::atomic::AtomicUsize>>| {
                    let first = hits.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0;
                    let body = if first {
                        link.clone()
                    } else {
                        "<p>Страница перенесена</p>".to_string()
                    };
                    async move { axum::response::Html(body) }
                },
            ),
        )
        .route(
            "/storage/mediabank/{name}",
            get(move || {
                let bytes = book.bytes.clone();
                async move { bytes }
            }),
        )
        .with_state(hits);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &base, "");
    let c = config.to_str().unwrap().to_string();
    let args = ["run", "--config", &c, "--source", "lipetskstat-documents"];
    let (code, out, err) = cli(&args, 120).await;
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = cli(&args, 120).await;
    assert_eq!(code, Some(1), "{out}{err}");
    assert!(
        out.contains("no link matches `div.document-list__item-link > a[href]`")
            && out.contains("listed 1 documents before"),
        "{out}"
    );
    let conn = read_only(&dir.path().join("warehouse.duckdb"));
    assert_eq!(
        count(
            &conn,
            "SELECT count(*) FROM run_step WHERE step = 'source' AND status = 'failed'"
        ),
        1
    );
}
