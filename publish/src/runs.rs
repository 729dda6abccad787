//! A run's directory and the `latest` pointer: each run is written into
//! `runs/.<id>.partial/`, renamed to `runs/<id>/` when whole (manifest included), and only then
//! is `latest` switched to it, by renaming a new symlink over the old one (one atomic step). A
//! dashboard reading `latest/` sees the whole previous run or the whole new one, never a mix.
//! Where symlinks are unavailable, `LATEST` (a file naming the run's directory) is the pointer,
//! replaced the same way.

use std::path::{Path, PathBuf};

use crate::error::PublishError;

/// The run directories under `publish/runs/`.
pub const RUNS: &str = "runs";
/// The pointer to the newest whole run.
pub const LATEST: &str = "latest";
/// The pointer file used where symlinks are unavailable.
pub const LATEST_FILE: &str = "LATEST";

/// Files the publish directory held before runs had their own directories: removed once a run
/// is published, so no reader keeps reading a stale copy.
const LEGACY_FILES: &[&str] = &[
    "manifest.json",
    "observations",
    "estimates",
    "panels",
    "event_study",
    "att_gt",
    "weights",
    "documents",
];

/// A run being written: its staging directory, made whole by [`RunDir::commit`].
pub struct RunDir {
    publish: PathBuf,
    name: String,
    staging: PathBuf,
}

impl RunDir {
    /// Starts `runs/.<name>.partial/` under `publish` (removing what a killed run left there).
    pub fn begin(publish: &Path, name: &str) -> Result<Self, PublishError> {
        let runs = publish.join(RUNS);
        std::fs::create_dir_all(&runs).map_err(PublishError::io(&runs))?;
        let staging = runs.join(format!(".{name}.partial"));
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(PublishError::io(&staging))?;
        }
        std::fs::create_dir_all(&staging).map_err(PublishError::io(&staging))?;
        Ok(Self {
            publish: publish.to_path_buf(),
            name: name.to_string(),
            staging,
        })
    }

    /// Where the run's files are written until it is committed.
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// Renames the staging directory to `runs/<name>/` and switches `latest` to it. Returns the
    /// run's final directory.
    pub fn commit(self) -> Result<PathBuf, PublishError> {
        let runs = self.publish.join(RUNS);
        let target = runs.join(&self.name);
        if target.exists() {
            // The same run published again: the old copy is moved aside first, so `latest` (if
            // it points here) finds either copy whole.
            let old = runs.join(format!(".{}.old", self.name));
            if old.exists() {
                std::fs::remove_dir_all(&old).map_err(PublishError::io(&old))?;
            }
            std::fs::rename(&target, &old).map_err(PublishError::io(&target))?;
            std::fs::rename(&self.staging, &target).map_err(PublishError::io(&self.staging))?;
            std::fs::remove_dir_all(&old).map_err(PublishError::io(&old))?;
        } else {
            std::fs::rename(&self.staging, &target).map_err(PublishError::io(&self.staging))?;
        }
        switch_latest(&self.publish, &format!("{RUNS}/{}", self.name))?;
        remove_legacy_files(&self.publish);
        Ok(target)
    }
}

/// Points `latest` at `relative` (a path under `publish`) in one rename.
fn switch_latest(publish: &Path, relative: &str) -> Result<(), PublishError> {
    #[cfg(unix)]
    {
        let latest = publish.join(LATEST);
        let tmp = publish.join(format!(".{LATEST}.{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(relative, &tmp).map_err(PublishError::io(&tmp))?;
        if latest.is_dir() && !latest.is_symlink() {
            // A directory named `latest` (not ours): a rename cannot replace it; say so.
            let _ = std::fs::remove_file(&tmp);
            return Err(PublishError::Io {
                path: latest,
                source: std::io::Error::other(
                    "a directory is in the way of the `latest` symlink; move it away",
                ),
            });
        }
        std::fs::rename(&tmp, &latest).map_err(PublishError::io(&latest))?;
    }
    #[cfg(not(unix))]
    {
        let pointer = publish.join(LATEST_FILE);
        let tmp = publish.join(format!(".{LATEST_FILE}.tmp"));
        std::fs::write(&tmp, relative).map_err(PublishError::io(&tmp))?;
        std::fs::rename(&tmp, &pointer).map_err(PublishError::io(&pointer))?;
    }
    Ok(())
}

/// The run directory `latest` points to, if any.
pub fn latest(publish: &Path) -> Option<PathBuf> {
    let link = publish.join(LATEST);
    if let Ok(target) = std::fs::read_link(&link) {
        return Some(publish.join(target));
    }
    let pointer = std::fs::read_to_string(publish.join(LATEST_FILE)).ok()?;
    Some(publish.join(pointer.trim()))
}

fn remove_legacy_files(publish: &Path) {
    for name in LEGACY_FILES {
        for file in [
            name.to_string(),
            format!("{name}.parquet"),
            format!("{name}.csv"),
        ] {
            let path = publish.join(&file);
            if path.is_file() && std::fs::remove_file(&path).is_ok() {
                tracing::info!(file = %path.display(), "removed a file of the old flat publish layout; read latest/ instead");
            }
        }
    }
}

/// Removes run directories beyond the newest `keep` (by run number), never the one `latest`
/// points to, and staging directories that killed runs left behind. Returns the removed names.
pub fn prune(publish: &Path, keep: usize, current: &str) -> Vec<String> {
    let runs = publish.join(RUNS);
    let Ok(entries) = std::fs::read_dir(&runs) else {
        return Vec::new();
    };
    let latest =
        latest(publish).and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()));
    let mut finished: Vec<(i64, String)> = Vec::new();
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.')
            && name.ends_with(".partial")
            && name != format!(".{current}.partial")
        {
            if std::fs::remove_dir_all(entry.path()).is_ok() {
                removed.push(name);
            }
            continue;
        }
        if let Ok(id) = name.parse::<i64>() {
            finished.push((id, name));
        }
    }
    finished.sort();
    let excess = finished.len().saturating_sub(keep.max(1));
    for (_, name) in finished.into_iter().take(excess) {
        if Some(&name) == latest.as_ref() || name == current {
            continue;
        }
        match std::fs::remove_dir_all(runs.join(&name)) {
            Ok(()) => removed.push(name),
            Err(e) => {
                tracing::warn!(run = %name, error = %e, "could not remove an old published run")
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publish_run(publish: &Path, name: &str, body: &str) -> PathBuf {
        let run = RunDir::begin(publish, name).unwrap();
        std::fs::write(run.path().join("manifest.json"), body).unwrap();
        run.commit().unwrap()
    }

    #[test]
    fn latest_switches_to_whole_runs_and_old_runs_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let publish = dir.path();
        std::fs::write(publish.join("observations.parquet"), "old layout").unwrap();
        publish_run(publish, "1", "one");
        assert_eq!(
            std::fs::read_to_string(publish.join("latest/manifest.json")).unwrap(),
            "one"
        );
        assert!(
            !publish.join("observations.parquet").exists(),
            "the flat layout's files go"
        );
        // A killed run leaves its staging directory; latest still reads the whole run 1.
        let killed = RunDir::begin(publish, "2").unwrap();
        std::fs::write(killed.path().join("manifest.json"), "half").unwrap();
        drop(killed);
        assert_eq!(
            std::fs::read_to_string(publish.join("latest/manifest.json")).unwrap(),
            "one"
        );
        for (i, body) in ["three", "four", "five"].iter().enumerate() {
            publish_run(publish, &(i + 3).to_string(), body);
        }
        assert_eq!(
            std::fs::read_to_string(publish.join("latest/manifest.json")).unwrap(),
            "five"
        );
        let removed = prune(publish, 2, "5");
        assert!(
            removed.contains(&"1".to_string()) && removed.contains(&"3".to_string()),
            "{removed:?}"
        );
        assert!(removed.contains(&".2.partial".to_string()), "{removed:?}");
        let mut left: Vec<String> = std::fs::read_dir(publish.join(RUNS))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["4", "5"]);
        assert_eq!(latest(publish).unwrap(), publish.join("runs/5"));
    }

    #[test]
    fn the_same_run_published_again_replaces_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        publish_run(dir.path(), "7", "first");
        publish_run(dir.path(), "7", "second");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("latest/manifest.json")).unwrap(),
            "second"
        );
        assert!(!dir.path().join("runs/.7.old").exists());
    }
}
