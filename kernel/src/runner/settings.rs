//! How notebooks are run and judged, and which notebook a run is given.

use std::path::PathBuf;

pub(super) const DEFAULT_TIMEOUT: f64 = 60.0;
pub(super) const DEFAULT_STARTUP_TIMEOUT: f64 = 180.0;

/// How notebooks are run and judged.
pub struct Settings {
    /// The `asyncbook` binary each notebook's kernel is started from.
    pub kernel: PathBuf,
    /// Write fresh outputs back into notebooks whose outputs differ.
    pub update: bool,
    /// Fail cells only on errors.
    pub errors_only: bool,
    /// Seconds a cell may run, unless its tags say otherwise.
    pub timeout: f64,
    /// Seconds a fresh kernel may take to become ready.
    pub startup_timeout: f64,
    /// Keep each executed notebook in this folder.
    pub keep: Option<PathBuf>,
}

impl Settings {
    /// What `asyncbook test` does without options, with kernels started from `kernel`.
    pub fn new(kernel: impl Into<PathBuf>) -> Settings {
        Settings {
            kernel: kernel.into(),
            update: false,
            errors_only: false,
            timeout: DEFAULT_TIMEOUT,
            startup_timeout: DEFAULT_STARTUP_TIMEOUT,
            keep: None,
        }
    }
}

/// A notebook to run and the folder its `sanitize.toml` search stops at.
pub struct Job {
    pub path: PathBuf,
    pub root: PathBuf,
}

impl Job {
    /// The folder the notebook's kernel runs in: the notebook's own.
    pub(super) fn workdir(&self) -> PathBuf {
        match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
}
