//! Advisory file locks: one daemon per warehouse, one run at a time. The kernel releases them when the
//! holding process dies, even by SIGKILL, so a crash never leaves a stale lock. The file names its
//! holder for the error message of whoever is refused.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{what} is already running: {path} is held by {holder}")]
    Held {
        what: String,
        path: PathBuf,
        holder: String,
    },
}

/// A held lock; released on drop.
#[derive(Debug)]
pub struct HeldLock {
    _file: File,
    pub path: PathBuf,
}

/// The lock file beside the warehouse for `kind` (`daemon`, `run`).
pub fn lock_path(warehouse: &Path, kind: &str) -> PathBuf {
    let name = warehouse
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "warehouse".into());
    warehouse.with_file_name(format!("{name}.{kind}.lock"))
}

/// Takes the lock at `path`, waiting up to `wait` for its holder to let go.
pub fn acquire(path: &Path, what: &str, wait: Duration) -> Result<HeldLock, LockError> {
    let io = |source| LockError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io)?;
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock) if start.elapsed() < wait => {
                std::thread::sleep(Duration::from_millis(200))
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = if holder.trim().is_empty() {
                    "another process".to_string()
                } else {
                    holder.trim().to_string()
                };
                return Err(LockError::Held {
                    what: what.to_string(),
                    path: path.to_path_buf(),
                    holder,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
    }
    let holder = format!(
        "{what}, pid {} on {}, since {}",
        std::process::id(),
        std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .unwrap_or_default()
            .trim(),
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    file.set_len(0)
        .and_then(|_| file.rewind())
        .and_then(|_| file.write_all(holder.as_bytes()))
        .and_then(|_| file.flush())
        .map_err(io)?;
    Ok(HeldLock {
        _file: file,
        path: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_and_told_who_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = lock_path(&dir.path().join("w.duckdb"), "daemon");
        assert!(path.ends_with("w.duckdb.daemon.lock"));
        let first = acquire(&path, "regstat daemon", Duration::ZERO).unwrap();
        let err = acquire(&path, "regstat daemon", Duration::from_millis(300))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        drop(first);
        acquire(&path, "regstat daemon", Duration::ZERO).unwrap();
    }
}
