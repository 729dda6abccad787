//! The scheduler. Each source's cron expression is read in the configured time zone (Europe/Moscow by
//! default); a due source runs the job for that source, with optional jitter. Runs never overlap: the
//! loop waits for a run to end before it looks at the clock again, and a lock beside the warehouse
//! keeps a second daemon out. After downtime, the catch-up policy decides whether missed schedules run
//! once at start-up. SIGTERM and SIGINT stop new work; a run in progress finishes its current document
//! and ends as `cancelled`; the locks are released and the process exits 0.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use regstat_config::{CatchUp, Config, SourceConfig, Zone};

use crate::locks;
use crate::metrics::Metrics;
use crate::pipeline::{run_sources, RunControl};

/// The next fire time of every source after `after`, in the configured time zone.
pub fn next_fires(config: &Config, after: DateTime<Utc>) -> Vec<(String, DateTime<Utc>)> {
    let tz = timezone(config);
    config
        .sources
        .iter()
        .filter_map(|s| Some((s.id.clone(), next_fire(s, tz, after)?)))
        .collect()
}

/// The time zone the schedules are read in.
pub fn timezone(config: &Config) -> &Zone {
    &config.daemon.timezone
}

/// A source's first scheduled time after `after`, its cron expression read in `tz`.
fn next_fire(source: &SourceConfig, tz: &Zone, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let next = source
        .schedule
        .as_ref()?
        .next_after(&after.with_timezone(tz))?;
    Some(next.with_timezone(&Utc))
}

/// Sources with a scheduled time in `(last, now]`: missed while the daemon was down.
pub fn missed(
    config: &Config,
    last_fires: &BTreeMap<String, DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Vec<String> {
    let tz = timezone(config);
    config
        .sources
        .iter()
        .filter(|s| {
            last_fires
                .get(&s.id)
                .and_then(|last| next_fire(s, tz, *last))
                .is_some_and(|t| t <= now)
        })
        .map(|s| s.id.clone())
        .collect()
}

/// When each source last ran on schedule, kept beside the warehouse for the catch-up policy.
fn state_path(config: &Config) -> PathBuf {
    locks::lock_path(&config.outputs.warehouse, "schedule").with_extension("json")
}

fn load_state(path: &Path) -> BTreeMap<String, DateTime<Utc>> {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn save_state(path: &Path, state: &BTreeMap<String, DateTime<Utc>>) {
    let tmp = path.with_extension("json.partial");
    let write = std::fs::write(
        &tmp,
        serde_json::to_vec_pretty(state).expect("state serializes"),
    )
    .and_then(|_| std::fs::rename(&tmp, path));
    if let Err(e) = write {
        tracing::warn!(path = %path.display(), error = %e, "schedule state not saved");
    }
}

/// Cancels `control` on SIGTERM or SIGINT.
pub fn cancel_on_signals(control: RunControl) {
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!(
            "shutdown requested: fetches and waits stop now; a document being loaded finishes"
        );
        control.cancel();
    });
}

pub async fn run_daemon(config: Config) -> anyhow::Result<()> {
    let _daemon_lock = locks::acquire(
        &locks::lock_path(&config.outputs.warehouse, "daemon"),
        "a regstat daemon",
        Duration::ZERO,
    )?;
    let metrics = Arc::new(Metrics::default());
    if let Some(addr) = config.daemon.metrics_addr {
        crate::metrics::serve(addr, metrics.clone()).await?;
    }
    let control = RunControl::default();
    cancel_on_signals(control.clone());
    let state_file = state_path(&config);
    let mut state = load_state(&state_file);

    if config.daemon.catch_up == CatchUp::RunOnce {
        let late = missed(&config, &state, Utc::now());
        if !late.is_empty() {
            tracing::info!(sources = ?late, "catching up schedules missed while the daemon was down");
            run_due(&config, &late, &control, &metrics).await;
            for id in late {
                state.insert(id, Utc::now());
            }
            save_state(&state_file, &state);
        }
    }

    while !control.is_cancelled() {
        let now = Utc::now();
        let fires = next_fires(&config, now);
        let Some(earliest) = fires.iter().map(|(_, t)| *t).min() else {
            anyhow::bail!("no source has a schedule");
        };
        let due: Vec<String> = fires
            .iter()
            .filter(|(_, t)| *t == earliest)
            .map(|(id, _)| id.clone())
            .collect();
        let jitter = jitter(config.daemon.jitter_secs);
        tracing::info!(next = %earliest, sources = ?due, ?jitter, "waiting for the next scheduled run");
        let wait = (earliest - now).to_std().unwrap_or_default() + jitter;
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = control.cancelled() => {}
        }
        if !control.is_cancelled() {
            // The sources due at the same time share one run: one round of estimates, one publish.
            run_due(&config, &due, &control, &metrics).await;
            for id in due {
                state.insert(id, earliest);
            }
            save_state(&state_file, &state);
        }
    }
    tracing::info!("daemon stopped");
    Ok(())
}

async fn run_due(config: &Config, ids: &[String], control: &RunControl, metrics: &Metrics) {
    let sources = ids.join(",");
    match run_sources(config, ids, control).await {
        Ok(report) => {
            metrics.record(&report);
            if report.cancelled {
                tracing::warn!(%sources, run_id = report.run_id, "run cancelled");
            } else if report.failed() {
                tracing::warn!(%sources, run_id = report.run_id, failures = report.failures.len(), "run finished with failures");
            } else {
                tracing::info!(%sources, run_id = report.run_id, "run succeeded");
            }
        }
        Err(e) => {
            metrics.record_error();
            tracing::error!(%sources, error = %e, "run failed");
        }
    }
}

fn jitter(max_secs: u64) -> Duration {
    if max_secs == 0 {
        return Duration::ZERO;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    Duration::from_millis(regstat_estimate::SplitMix64::new(nanos).below(max_secs * 1000))
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn config() -> Config {
        Config::parse(&crate::demo::demo_config(
            "http://127.0.0.1:1",
            Path::new("/tmp/x"),
        ))
        .unwrap()
    }

    #[test]
    fn schedules_are_read_in_moscow_time_by_default() {
        // 02:00 UTC is 05:00 in Moscow; the daily 06:00 Moscow source fires at 03:00 UTC.
        let after = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap();
        let fires = next_fires(&config(), after);
        let daily = fires
            .iter()
            .find(|(id, _)| id == "lipetskstat-documents")
            .unwrap();
        assert_eq!(
            daily.1,
            Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap()
        );
    }

    #[test]
    fn other_time_zones_and_missed_schedules() {
        let mut c = config();
        c.daemon.timezone = Zone::named("Asia/Yekaterinburg").unwrap(); // UTC+5
        let after = Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap();
        let daily = next_fires(&c, after)
            .into_iter()
            .find(|(id, _)| id == "lipetskstat-documents")
            .unwrap();
        assert_eq!(
            daily.1,
            Utc.with_ymd_and_hms(2026, 11, 23, 1, 0, 0).unwrap()
        );
        // Last ran two days ago: the daily schedule was missed; never ran: nothing to catch up.
        let mut last = BTreeMap::new();
        last.insert(
            "lipetskstat-documents".to_string(),
            after - chrono::Duration::days(2),
        );
        assert_eq!(missed(&c, &last, after), ["lipetskstat-documents"]);
        last.insert(
            "lipetskstat-documents".to_string(),
            after - chrono::Duration::hours(1),
        );
        assert!(missed(&c, &last, after).is_empty());
    }
}
