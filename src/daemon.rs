//! The scheduler: each source's cron expression, evaluated in Moscow time (UTC+3 all year since 2014),
//! fires a run of the job for the sources that are due. Runs never overlap: the loop waits for a run
//! to end before it looks at the clock again. SIGINT and SIGTERM stop it between runs.

use chrono::{DateTime, FixedOffset, Utc};
use regstat_config::Config;

use crate::pipeline::run_once;

fn moscow() -> FixedOffset {
    FixedOffset::east_opt(3 * 3600).expect("valid offset")
}

/// The next fire time of every source after `after`.
pub fn next_fires(config: &Config, after: DateTime<Utc>) -> Vec<(String, DateTime<Utc>)> {
    let local = after.with_timezone(&moscow());
    config
        .sources
        .iter()
        .filter_map(|s| {
            let schedule = s.cron_schedule().ok()?;
            let next = schedule.after(&local).next()?;
            Some((s.id.clone(), next.with_timezone(&Utc)))
        })
        .collect()
}

pub async fn run_daemon(config: Config) -> anyhow::Result<()> {
    let mut shutdown = Box::pin(shutdown_signal());
    loop {
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
        tracing::info!(next = %earliest, sources = ?due, "waiting for the next scheduled run");
        let wait = (earliest - now).to_std().unwrap_or_default();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = &mut shutdown => {
                tracing::info!("shutdown requested; exiting");
                return Ok(());
            }
        }
        for id in due {
            match run_once(&config, Some(&id)).await {
                Ok(report) if report.failed() => {
                    tracing::warn!(source = %id, failures = report.failures.len(), "run finished with failures")
                }
                Ok(_) => tracing::info!(source = %id, "run succeeded"),
                Err(e) => tracing::error!(source = %id, error = %e, "run failed"),
            }
        }
    }
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

    #[test]
    fn schedules_are_read_in_moscow_time() {
        let text = crate::demo::demo_config("http://127.0.0.1:1", std::path::Path::new("/tmp/x"));
        let config = Config::parse(&text).unwrap();
        // 02:00 UTC is 05:00 in Moscow; the daily 06:00 Moscow source fires at 03:00 UTC.
        let after = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap();
        let fires = next_fires(&config, after);
        let daily = fires
            .iter()
            .find(|(id, _)| id == "lipetskstat-documents")
            .unwrap();
        assert_eq!(
            daily.1,
            Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap()
        );
    }
}
