//! The setup's dependency builds, saved by the first session and put in
//! place by every later one.
//!
//! Every session declares tokio, futures and the cell library, and cargo's
//! build of them (build scripts compiled and run, the library's prebuilt
//! files placed by the rustc wrapper) makes the same files each time, a part
//! of a fresh kernel's warm-up (the README's benchmark section compares).
//! The first session to finish its setup saves its build folder's `target/`,
//! all but the cell crate's own outputs, in the temporary folder, under a
//! name that changes with the kernel binary and the cell library. A later
//! session puts them into its build folder before it declares the
//! dependencies, and cargo finds them fresh: it reads the paths in build
//! script outputs relative to where the target folder is now.
//!
//! Cargo alone decides what is fresh, so a file that is missing or out of
//! date is built again as before. Cargo compares mtimes: a unit is stale
//! once a file it was built from is newer than its outputs. The saved files
//! are therefore copies that all carry the time they were saved (the files
//! of a session are partly the library's own, whose mtimes every session
//! that places them moves on), and no session writes to them: a session
//! gets hard links to the large ones (libraries and programs, which rustc,
//! the linker and the wrapper replace, never write into) and copies of the
//! small ones (fingerprints, dep-info, build script outputs, which cargo
//! rewrites in place).
//!
//! The crates a cell declares with `:dep` are kept the same way, beside the
//! set-up's builds (`...-kept`): after a cell with a `:dep` line ran, the
//! session adds the dependency files the kept builds lack; before such a
//! cell, it puts the kept ones into its build folder. So a crate built once,
//! with these features, for this kernel and library, is not built again by a
//! later session. They go when the set-up's builds go (a new kernel binary
//! or cell library); deleting the folders clears them.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};

use crate::engine::build::library::{CellLibrary, ARTIFACTS_FILE};

const PREFIX: &str = "asyncbook.deps-";
const STAGING_PREFIX: &str = ".asyncbook.deps-new-";

/// From this size on a file is hard-linked rather than copied.
const LINKED_FROM: u64 = 64 * 1024;

/// The saved builds of one kernel binary and cell library.
pub(crate) struct SavedBuilds {
    /// Where they are (or will be) saved.
    dir: PathBuf,
    /// The start of the names of saved builds of this binary and library
    /// folder, older builds among them.
    family: String,
}

impl SavedBuilds {
    /// The saved builds for sessions that declare `dependencies` with
    /// `library`; none if the kernel binary or the library cannot be read.
    pub(crate) fn new(library: &CellLibrary, dependencies: &str) -> Option<Self> {
        let exe = std::env::current_exe().ok()?;
        let mut place = DefaultHasher::new();
        (&exe, &library.dir).hash(&mut place);
        let family = format!("{PREFIX}{:016x}-", place.finish());
        let mut contents = DefaultHasher::new();
        for file in [exe, library.dir.join(ARTIFACTS_FILE)] {
            let meta = std::fs::metadata(&file).ok()?;
            let modified = meta.modified().ok()?.duration_since(UNIX_EPOCH).ok()?;
            (meta.len(), modified).hash(&mut contents);
        }
        dependencies.hash(&mut contents);
        let name = format!("{family}{:016x}", contents.finish());
        Some(Self {
            dir: std::env::temp_dir().join(name),
            family,
        })
    }

    /// Puts the saved builds into `build_dir`, leaving any file it has;
    /// false if there are none.
    pub(crate) fn restore(&self, build_dir: &Path) -> bool {
        if !self.dir.is_dir() {
            return false;
        }
        match put_tree(
            &self.dir,
            &build_dir.join("target"),
            &|_| true,
            Put::Restore,
        ) {
            Ok(files) => {
                tracing::debug!("{files} dependency files from {}", self.dir.display());
                true
            }
            Err(error) => {
                tracing::debug!("saved builds in {}: {error:#}", self.dir.display());
                false
            }
        }
    }

    /// Saves the dependency builds of `build_dir` (a session just set up),
    /// unless another session did, and removes older saved builds of this
    /// binary and library folder.
    pub(crate) fn save(&self, build_dir: &Path) -> Result<()> {
        if self.dir.is_dir() {
            return Ok(());
        }
        let base = self.dir.parent().context("no temporary folder")?;
        let staging = tempfile::Builder::new()
            .prefix(STAGING_PREFIX)
            .tempdir_in(base)?;
        let saved_at = Put::Save(SystemTime::now());
        put_tree(
            &build_dir.join("target"),
            staging.path(),
            &is_dependency_file,
            saved_at,
        )?;
        // Another session may have saved them meanwhile: theirs stay.
        let staged = staging.keep();
        if std::fs::rename(&staged, &self.dir).is_err() {
            let _ = std::fs::remove_dir_all(&staged);
        }
        for entry in std::fs::read_dir(base)?.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let ours = entry.path() == self.dir || entry.path() == self.kept_dir();
            if name.starts_with(&self.family) && !ours {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
        Ok(())
    }
}

impl SavedBuilds {
    /// Where the builds of `:dep` crates are kept for later sessions of this
    /// binary and library: beside the set-up's, removed with them.
    fn kept_dir(&self) -> PathBuf {
        let mut name = self.dir.clone().into_os_string();
        name.push("-kept");
        PathBuf::from(name)
    }

    /// Puts the `:dep` builds that earlier sessions kept into `build_dir`,
    /// before a cell declares crates: cargo finds those of the same crate,
    /// version and features fresh, and builds only the others.
    pub(crate) fn restore_kept(&self, build_dir: &Path) {
        let kept = self.kept_dir();
        if !kept.is_dir() {
            return;
        }
        let target = build_dir.join("target");
        let whole = |name: &str| !name.ends_with(".partial");
        match put_tree(&kept, &target, &whole, Put::Restore) {
            Ok(files) => tracing::debug!("{files} kept dependency files put in place"),
            Err(error) => tracing::debug!("kept builds in {}: {error:#}", kept.display()),
        }
    }

    /// Adds to the kept builds the dependency files of `build_dir` that they
    /// and the set-up's builds lack, after a cell declared crates. Each file is written under a
    /// name of its own and renamed into place, so a session that reads the
    /// kept builds meanwhile sees whole files only.
    pub(crate) fn keep(&self, build_dir: &Path) {
        let saved_at = Put::Save(SystemTime::now());
        if let Err(error) = put_tree_beside(
            &build_dir.join("target"),
            &self.kept_dir(),
            Some(&self.dir),
            &is_dependency_file,
            saved_at,
        ) {
            tracing::debug!("keeping the dependency builds: {error:#}");
        }
    }
}

/// False for what belongs to the cell crate (`ctx`: its fingerprint,
/// dep-info, library, the copies evcxr loads, incremental state) or to one
/// cargo run (its lock, the kernel's record of the cell's rustc command).
fn is_dependency_file(name: &str) -> bool {
    let cell = ["ctx", "libctx", "libcode_", "incremental"];
    let session = [".cargo-lock", "asyncbook-cell-command"];
    !cell
        .iter()
        .chain(&session)
        .any(|start| name.starts_with(start))
}

/// How a file is put in place.
#[derive(Clone, Copy)]
enum Put {
    /// A copy, with this mtime.
    Save(SystemTime),
    /// A hard link to a large file, a copy with the same mtime of a small one.
    Restore,
}

/// Puts the files under `from` that `keep` accepts (by name, at every
/// level) at the same places under `to`, where `to` has none yet; the number
/// put.
fn put_tree(from: &Path, to: &Path, keep: &dyn Fn(&str) -> bool, how: Put) -> Result<usize> {
    put_tree_beside(from, to, None, keep, how)
}

/// As `put_tree`, but leaves out too the files that `beside` has at the
/// same place.
fn put_tree_beside(
    from: &Path,
    to: &Path,
    beside: Option<&Path>,
    keep: &dyn Fn(&str) -> bool,
    how: Put,
) -> Result<usize> {
    std::fs::create_dir_all(to)?;
    let mut count = 0;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if !keep(&name.to_string_lossy()) {
            continue;
        }
        let (source, target) = (entry.path(), to.join(&name));
        let beside = beside.map(|dir| dir.join(&name));
        if entry.file_type()?.is_dir() {
            count += put_tree_beside(&source, &target, beside.as_deref(), keep, how)?;
        } else if !target.exists() && !beside.is_some_and(|file| file.exists()) {
            put(&source, &target, how)?;
            count += 1;
        }
    }
    Ok(count)
}

fn put(source: &Path, target: &Path, how: Put) -> Result<()> {
    let meta = std::fs::metadata(source)?;
    let modified = match how {
        Put::Save(at) => at,
        Put::Restore if meta.len() >= LINKED_FROM && std::fs::hard_link(source, target).is_ok() => {
            return Ok(());
        }
        Put::Restore => meta.modified()?,
    };
    let mut partial = target.as_os_str().to_owned();
    partial.push(format!(".{}.partial", std::process::id()));
    let partial = PathBuf::from(partial);
    std::fs::copy(source, &partial)
        .with_context(|| format!("copying {} to {}", source.display(), target.display()))?;
    std::fs::File::options()
        .append(true)
        .open(&partial)?
        .set_modified(modified)?;
    std::fs::rename(&partial, target)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cell_crate_and_one_runs_files_stay_behind() {
        for name in [
            "ctx-8e7ff4596cc1c51f",
            "libctx.so",
            "libctx.d",
            "libcode_3.so",
            "ctx.d",
            "incremental",
            ".cargo-lock",
            "asyncbook-cell-command.json",
            "asyncbook-cell-command.pending.json",
        ] {
            assert!(!is_dependency_file(name), "{name}");
        }
        for name in [
            "tokio-8d472f5520165271",
            "libtokio-8d472f5520165271.rlib",
            "libasyncbook.so",
            "build-script-build",
            "output",
            ".rustc_info.json",
            "CACHEDIR.TAG",
        ] {
            assert!(is_dependency_file(name), "{name}");
        }
    }

    /// A folder of one large and one small file with an old mtime, and a
    /// file of the cell crate.
    fn built() -> (tempfile::TempDir, SystemTime) {
        let from = tempfile::tempdir().unwrap();
        let deps = from.path().join("debug/deps");
        std::fs::create_dir_all(&deps).unwrap();
        std::fs::write(deps.join("libbig.rlib"), vec![0u8; LINKED_FROM as usize]).unwrap();
        std::fs::write(deps.join("big.d"), "big.d: src/lib.rs\n").unwrap();
        std::fs::write(deps.join("libctx.so"), "cell").unwrap();
        let old = UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        for file in ["libbig.rlib", "big.d"] {
            let file = std::fs::File::options().append(true).open(deps.join(file));
            file.unwrap().set_modified(old).unwrap();
        }
        (from, old)
    }

    fn inode(path: &Path) -> u64 {
        std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(path).unwrap())
    }

    fn modified(path: &Path) -> SystemTime {
        std::fs::metadata(path).unwrap().modified().unwrap()
    }

    #[test]
    fn saved_files_are_copies_that_carry_the_time_of_saving() {
        let (from, _) = built();
        let to = tempfile::tempdir().unwrap();
        let at = UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        let put = put_tree(from.path(), to.path(), &is_dependency_file, Put::Save(at)).unwrap();
        assert_eq!(put, 2);
        let (source, saved) = (from.path().join("debug/deps"), to.path().join("debug/deps"));
        for file in ["libbig.rlib", "big.d"] {
            assert_ne!(
                inode(&saved.join(file)),
                inode(&source.join(file)),
                "{file}"
            );
            assert_eq!(modified(&saved.join(file)), at, "{file}");
        }
        assert!(!saved.join("libctx.so").exists());
    }

    #[test]
    fn restored_large_files_are_links_and_small_ones_copies() {
        let (from, old) = built();
        let to = tempfile::tempdir().unwrap();
        // A file the session has already is left as it is.
        let kept = to.path().join("debug/deps");
        std::fs::create_dir_all(&kept).unwrap();
        std::fs::write(kept.join("big.d"), "mine").unwrap();

        let put = put_tree(from.path(), to.path(), &|_| true, Put::Restore).unwrap();
        assert_eq!(put, 2, "libbig.rlib and libctx.so");
        let source = from.path().join("debug/deps");
        assert_eq!(
            inode(&kept.join("libbig.rlib")),
            inode(&source.join("libbig.rlib"))
        );
        assert_eq!(std::fs::read_to_string(kept.join("big.d")).unwrap(), "mine");

        std::fs::remove_file(kept.join("big.d")).unwrap();
        put_tree(from.path(), to.path(), &|_| true, Put::Restore).unwrap();
        assert_ne!(inode(&kept.join("big.d")), inode(&source.join("big.d")));
        assert_eq!(modified(&kept.join("big.d")), old);
    }
}
