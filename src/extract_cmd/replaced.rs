//! Output files written beside their place and put there once complete, so that an extract that
//! fails half way leaves the earlier output as it was, and no partial file.
//!
//! The new file is a hidden sibling (`.x.csv.XXXXXX.partial`) with the earlier file's permissions
//! (not its owner: it is the writer's). When it is complete, the earlier file is removed and the new
//! one renamed to the name. It is neither renamed over the earlier file nor written into it
//! truncated, as extract did before: on ext4 (`auto_da_alloc`) both start writing the new file to
//! disk at once, and writing a 9.5 MB output over an earlier one took 5.4 ms by truncation against
//! 2.9 ms so (a Python loop on this VM's ext4, medians of 25). For that, the name is absent for the
//! moment between the two steps. A target that is a symbolic link is followed: the link stays and
//! its target is replaced. A target that is not a regular file (a FIFO, a device), or a writable
//! file in a directory this user cannot write to, is written in place.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// Where a file opened by [`create`] goes once it is complete.
pub(super) enum Placement {
    /// A hidden sibling, removed if never put in place (an error on the way drops it).
    Beside {
        partial: tempfile::TempPath,
        target: PathBuf,
    },
    /// Written where it belongs.
    InPlace,
}

/// Opens a new file for `target`; [`Placement::put_in_place`] finishes it once it is written and
/// closed.
pub(super) fn create(target: &Path) -> anyhow::Result<(File, Placement)> {
    let target = match std::fs::symlink_metadata(target) {
        Ok(m) if m.file_type().is_symlink() => std::fs::canonicalize(target)
            .with_context(|| format!("following the link {}", target.display()))?,
        _ => target.to_path_buf(),
    };
    let earlier = match std::fs::metadata(&target) {
        Ok(m) if !m.is_file() => {
            let file =
                File::create(&target).with_context(|| format!("creating {}", target.display()))?;
            return Ok((file, Placement::InPlace));
        }
        Ok(m) => Some(m.permissions()),
        Err(_) => None,
    };
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = target
        .file_name()
        .with_context(|| format!("{}: not a file name", target.display()))?
        .to_string_lossy();
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".partial");
    // What `File::create` gives (less the umask), rather than tempfile's private 0600.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let (file, partial) = match builder.tempfile_in(dir) {
        Ok(created) => created.into_parts(),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && earlier.is_some() => {
            let file =
                File::create(&target).with_context(|| format!("creating {}", target.display()))?;
            return Ok((file, Placement::InPlace));
        }
        Err(e) => {
            return Err(e).with_context(|| format!("creating a file beside {}", target.display()))
        }
    };
    if let Some(permissions) = earlier {
        file.set_permissions(permissions).with_context(|| {
            format!(
                "giving {} the permissions of {}",
                partial.display(),
                target.display()
            )
        })?;
    }
    Ok((file, Placement::Beside { partial, target }))
}

impl Placement {
    /// Puts the finished file in place of the earlier one; its writer must be flushed and closed.
    pub(super) fn put_in_place(self) -> anyhow::Result<()> {
        let Placement::Beside { partial, target } = self else {
            return Ok(());
        };
        match std::fs::remove_file(&target) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("replacing {}", target.display()));
            }
            _ => {}
        }
        // Renamed over whatever is there after all when that fails: a file made at the name
        // meanwhile, or a file system without a no-replace rename (the earlier file is gone, so
        // the new one must land).
        match partial.persist_noclobber(&target) {
            Ok(()) => Ok(()),
            Err(e) => e
                .path
                .persist(&target)
                .map_err(|e| e.error)
                .with_context(|| format!("renaming into {}", target.display())),
        }
    }
}
