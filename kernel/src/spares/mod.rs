//! Warm spares: kernels that have done the engine's set-up and warm-up
//! before anyone asks for them.
//!
//! The process Jupyter starts (`asyncbook kernel -f CONN`) is the launcher.
//! If a spare of its key (kernel binary, cell library, toolchain) waits in
//! the owner-only spares folder, the launcher hands it the connection file,
//! its working directory and its environment over a Unix socket
//! (`handover.rs`); the spare adopts them, serves the Jupyter protocol as a
//! cold kernel would (`spare.rs`), and the launcher stands for it until it
//! ends (`launcher.rs`). Either way the launcher starts a spare for the next
//! start (at most one per key: the spare holds a lock on its key). An idle
//! spare exits after [`IDLE_ENV`] seconds; `ASYNCBOOK_SPARES=0` turns them
//! off, `asyncbook spares` lists and stops them (`listing.rs`).

pub mod handover;
pub mod launcher;
pub mod listing;
pub mod spare;

use std::hash::{DefaultHasher, Hash, Hasher};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::{bail, Context, Result};

use crate::engine::build::library::{CellLibrary, ARTIFACTS_FILE};

/// `0`, `off`, `no` or `false` turn spares off.
pub const ENABLED_ENV: &str = "ASYNCBOOK_SPARES";
/// The spares folder, in place of the default under `$XDG_RUNTIME_DIR`.
pub const DIR_ENV: &str = "ASYNCBOOK_SPARES_DIR";
/// Seconds an unused spare waits before it exits.
pub const IDLE_ENV: &str = "ASYNCBOOK_SPARE_IDLE";
const DEFAULT_IDLE: Duration = Duration::from_secs(600);
/// Seconds a new spare waits before it starts its warm-up, so that it does
/// not compete with the session that just started it.
pub const DELAY_ENV: &str = "ASYNCBOOK_SPARE_DELAY";
const DEFAULT_DELAY: Duration = Duration::from_secs(3);

/// Whether spares are on (they are unless [`ENABLED_ENV`] says otherwise).
pub fn enabled() -> bool {
    std::env::var(ENABLED_ENV).map_or(true, |value| {
        !matches!(
            value.trim().to_ascii_lowercase().as_str(),
            "0" | "off" | "no" | "false"
        )
    })
}

fn seconds_from_env(name: &str, default: Duration) -> Duration {
    std::env::var(name)
        .ok()
        .and_then(|value| value.trim().parse::<f64>().ok())
        .filter(|secs| secs.is_finite() && *secs >= 0.0)
        .map_or(default, Duration::from_secs_f64)
}

pub fn idle_limit() -> Duration {
    seconds_from_env(IDLE_ENV, DEFAULT_IDLE)
}

pub fn start_delay() -> Duration {
    seconds_from_env(DELAY_ENV, DEFAULT_DELAY)
}

/// The spares folder, created owner-only; refused if someone else owns it
/// or others may enter it.
pub fn folder() -> Result<PathBuf> {
    let dir = match std::env::var_os(DIR_ENV) {
        Some(dir) => PathBuf::from(dir),
        None => match std::env::var_os("XDG_RUNTIME_DIR") {
            Some(runtime) => PathBuf::from(runtime).join("asyncbook/spares"),
            // SAFETY: getuid has no preconditions.
            None => std::env::temp_dir()
                .join(format!("asyncbook-{}", unsafe { libc::getuid() }))
                .join("spares"),
        },
    };
    for made in [dir.parent(), Some(dir.as_path())].into_iter().flatten() {
        if !made.exists() {
            std::fs::create_dir_all(made)
                .with_context(|| format!("creating {}", made.display()))?;
            std::fs::set_permissions(made, PermissionsExt::from_mode(0o700))?;
        }
    }
    let meta = std::fs::metadata(&dir)?;
    // SAFETY: getuid has no preconditions.
    if meta.uid() != unsafe { libc::getuid() } || meta.mode() & 0o077 != 0 {
        bail!(
            "{} must be the user's own, mode 0700: spares stay off",
            dir.display()
        );
    }
    Ok(dir)
}

/// Names the spares that can stand in for this kernel: the kernel binary
/// (path and modification time), the cell library (its folder and its
/// artifacts manifest), the toolchain (`rustc -vV`) and the settings read
/// before a spare is handed over ([`warm_up_settings`]).
pub fn key() -> Result<String> {
    let exe = std::env::current_exe()?;
    let library = CellLibrary::locate()?;
    let mut hasher = DefaultHasher::new();
    for file in [&exe, &library.dir.join(ARTIFACTS_FILE)] {
        let meta =
            std::fs::metadata(file).with_context(|| format!("reading {}", file.display()))?;
        let modified = meta.modified()?.duration_since(UNIX_EPOCH)?;
        (file, meta.len(), modified).hash(&mut hasher);
    }
    let rustc = std::process::Command::new("rustc")
        .arg("-vV")
        .output()
        .context("running rustc -vV")?;
    if !rustc.status.success() {
        bail!("rustc -vV failed");
    }
    rustc.stdout.hash(&mut hasher);
    warm_up_settings(std::env::vars_os()).hash(&mut hasher);
    Ok(format!("{:016x}", hasher.finish()))
}

/// The variables of `env` that a spare has read before it is handed over
/// (the build's, the cell runtime's and the kernel's own settings, as the
/// allocator and the task hooks), sorted: a launcher whose settings differ
/// gets a spare of its own. Logging and the spares' own settings are left out.
pub fn warm_up_settings(
    env: impl Iterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
    const READ: [&str; 6] = ["ASYNCBOOK_", "CARGO", "RUST", "EVCXR_", "TOKIO_", "LD_"];
    const LEFT_OUT: [&str; 3] = ["ASYNCBOOK_SPARE", "ASYNCBOOK_LOG", "RUST_LOG"];
    let mut settings: Vec<_> = env
        .filter(|(key, _)| {
            let key = key.to_string_lossy();
            READ.iter().any(|p| key.starts_with(p)) && !LEFT_OUT.iter().any(|p| key.starts_with(p))
        })
        .collect();
    settings.sort();
    settings
}

/// The files of the spare of one key in the spares folder.
pub struct Paths {
    pub socket: PathBuf,
    /// Held by the spare until it is handed over.
    pub lock: PathBuf,
    /// The spare's [`listing::Record`], while it waits.
    pub record: PathBuf,
    pub log: PathBuf,
}

impl Paths {
    pub fn new(folder: &std::path::Path, key: &str) -> Paths {
        Paths {
            socket: folder.join(format!("{key}.sock")),
            lock: folder.join(format!("{key}.lock")),
            record: folder.join(format!("{key}.json")),
            log: folder.join(format!("{key}.log")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::warm_up_settings;

    #[test]
    fn a_spare_is_keyed_by_the_settings_it_read_before_the_handover() {
        let env = |pairs: &[(&str, &str)]| {
            let pairs: Vec<_> = pairs.iter().map(|(k, v)| (k.into(), v.into())).collect();
            warm_up_settings(pairs.into_iter())
        };
        let base = env(&[("HOME", "/h"), ("RUSTFLAGS", "-C x")]);
        assert_eq!(base.len(), 1);
        for unread in [
            ("HOME", "/other"),
            ("ASYNCBOOK_SPARE_IDLE", "5"),
            ("RUST_LOG", "debug"),
        ] {
            assert_eq!(env(&[("HOME", "/h"), ("RUSTFLAGS", "-C x"), unread]), base);
        }
        let hooks_off = env(&[("RUSTFLAGS", "-C x"), ("ASYNCBOOK_TASK_HOOKS", "off")]);
        assert_ne!(hooks_off, base);
        assert_ne!(env(&[("RUSTFLAGS", "-C y")]), base);
    }
}
