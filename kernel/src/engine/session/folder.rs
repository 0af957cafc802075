//! The folder of one kernel: build files (about 100 MB) and the output socket.
//!
//! A kernel removes its folder when it shuts down, but one that is killed
//! (`SIGKILL`, a crash, a machine reset) cannot. Each live kernel therefore
//! holds a lock on a file in its folder; a kernel starting up removes the
//! folders whose lock nobody holds.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

const PREFIX: &str = "asyncbook-";
/// Folders are created under this name and renamed once locked, so a kernel
/// cleaning up never sees a folder between its creation and its lock.
const STAGING_PREFIX: &str = ".asyncbook-new-";
const LOCK_FILE: &str = "kernel.lock";

/// Removed on drop; see also [`SessionDir::remove`].
pub struct SessionDir {
    path: PathBuf,
    /// Held for the kernel's lifetime (closed on exec: not inherited).
    _lock: File,
}

impl SessionDir {
    /// Creates a fresh folder under the temporary directory, after removing
    /// those of kernels that are gone.
    pub fn create() -> Result<Self> {
        let base = std::env::temp_dir();
        remove_abandoned(&base);
        // Owner only, as Jupyter's runtime folder: the folder holds the
        // notebook's code and the socket cells write their output to.
        let staging = tempfile::Builder::new()
            .prefix(STAGING_PREFIX)
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir_in(&base)
            .context("creating the session folder")?;
        let lock = File::create(staging.path().join(LOCK_FILE))?;
        lock.lock().context("locking the session folder")?;
        let name = staging
            .path()
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix(STAGING_PREFIX))
            .context("unexpected session folder name")?;
        let path = base.join(format!("{PREFIX}{}-{name}", std::process::id()));
        std::fs::rename(staging.keep(), &path).context("naming the session folder")?;
        Ok(Self { path, _lock: lock })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// For exits that skip destructors.
    pub fn remove(&self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

impl Drop for SessionDir {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Removes session folders in `base` whose kernel no longer runs.
fn remove_abandoned(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let is_session = entry.file_name().to_string_lossy().starts_with(PREFIX)
            && entry.file_type().is_ok_and(|t| t.is_dir());
        if !is_session {
            continue;
        }
        let dir = entry.path();
        // Folders without a lock file are not ours to judge.
        let Ok(lock) = File::open(dir.join(LOCK_FILE)) else {
            continue;
        };
        if lock.try_lock().is_ok() {
            tracing::debug!("removing {} (its kernel is gone)", dir.display());
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_of_gone_kernels_are_removed_and_live_ones_kept() {
        let base = tempfile::tempdir().unwrap();
        let gone = base.path().join(format!("{PREFIX}1-gone"));
        std::fs::create_dir(&gone).unwrap();
        File::create(gone.join(LOCK_FILE)).unwrap();
        let live = base.path().join(format!("{PREFIX}2-live"));
        std::fs::create_dir(&live).unwrap();
        let held = File::create(live.join(LOCK_FILE)).unwrap();
        held.lock().unwrap();
        let foreign = base.path().join(format!("{PREFIX}notes"));
        std::fs::create_dir(&foreign).unwrap();

        remove_abandoned(base.path());

        assert!(!gone.exists(), "an abandoned folder was kept");
        assert!(live.exists(), "a live kernel's folder was removed");
        assert!(foreign.exists(), "a folder without a lock file was removed");
    }
}
