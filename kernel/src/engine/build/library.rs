//! The prebuilt cell library (`libasyncbook.so`, built by `make build` or
//! `asyncbook install`):
//! where it is, what cargo built for it (its artifacts, their crates,
//! versions and features) and what a cell process needs to load it.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use super::library_install;

/// Set (to the cell library folder) when the kernel binary runs as rustc wrapper.
pub const WRAPPER_ENV: &str = "ASYNCBOOK_RUSTC_WRAPPER";

/// The cell library's package name, as cells depend on it.
pub const CELLS_PACKAGE: &str = "asyncbook-cells";

/// Cargo's JSON messages from building the cell library (`make build`).
pub const ARTIFACTS_FILE: &str = "asyncbook-artifacts.jsonl";

/// Versions of the crates every cell can use without `:dep`.
pub const TOKIO_VERSION: &str = env!("ASYNCBOOK_TOKIO_VERSION");
pub const FUTURES_VERSION: &str = env!("ASYNCBOOK_FUTURES_VERSION");

/// The prebuilt cell library: `libasyncbook.so` and its dependencies.
#[derive(Clone, Debug)]
pub struct CellLibrary {
    pub dir: PathBuf,
}

/// One prebuilt compilation unit, from cargo's `compiler-artifact` message.
pub(crate) struct Artifact {
    /// Folder of the package's Cargo.toml: tells a registry crate from a local one.
    pub(crate) manifest_dir: PathBuf,
    pub(crate) package: String,
    pub(crate) version: String,
    pub(crate) crate_name: String,
    pub(crate) features: BTreeSet<String>,
    /// Compiled for build scripts and proc macros only (cargo's
    /// `build-override` profile): no cell links it.
    pub(crate) build_time: bool,
    pub(crate) files: Vec<PathBuf>,
}

impl CellLibrary {
    /// Finds the library of this kernel binary.
    pub fn locate() -> Result<Self> {
        Self::locate_for(&std::env::current_exe()?)
    }

    /// Finds the library the kernel binary `kernel` uses: the one
    /// `ASYNCBOOK_CELLS_DIR` names, else the one next to it (a clone's
    /// `target/cells/release` beside `target/release`), else the one
    /// `asyncbook install` built in the user's data folder.
    pub fn locate_for(kernel: &Path) -> Result<Self> {
        if let Some(dir) = std::env::var_os("ASYNCBOOK_CELLS_DIR") {
            return Self::complete(dir.into(), "make build");
        }
        let exe = kernel.canonicalize()?;
        let bin_dir = exe.parent().context("kernel binary has no folder")?;
        let beside = bin_dir.join("../cells/release");
        if beside.is_dir() {
            return Self::complete(beside, "make build");
        }
        let installed = library_install::library_dir(&library_install::home()?);
        if !installed.is_dir() {
            bail!(
                "the cell library is not installed: {} is missing (run `asyncbook install`)",
                installed.display()
            );
        }
        Self::complete(installed, "asyncbook install")
    }

    /// The library in `dir`, if the library and cargo's messages about it
    /// are there; else an error that says to run `remedy`.
    fn complete(dir: PathBuf, remedy: &str) -> Result<Self> {
        let library = Self {
            dir: dir.canonicalize().unwrap_or(dir),
        };
        for needed in [library.dylib(), library.dir.join(ARTIFACTS_FILE)] {
            if !needed.is_file() {
                bail!(
                    "the prebuilt cell library is incomplete: {} is missing (run `{remedy}`)",
                    needed.display()
                );
            }
        }
        Ok(library)
    }

    /// The library a rustc wrapper or cell build was started for, if any.
    pub fn from_env() -> Option<Self> {
        std::env::var_os(WRAPPER_ENV).map(|dir| Self { dir: dir.into() })
    }

    pub(crate) fn dylib(&self) -> PathBuf {
        self.dir.join("libasyncbook.so")
    }

    /// The lock file the library was built with (`make build` copies it).
    pub fn lock_file(&self) -> PathBuf {
        self.dir.join("Cargo.lock")
    }

    pub(crate) fn deps(&self) -> PathBuf {
        self.dir.join("deps")
    }

    pub(crate) fn artifacts(&self) -> Result<Vec<Artifact>> {
        let text = std::fs::read_to_string(self.dir.join(ARTIFACTS_FILE))?;
        let mut artifacts = Vec::new();
        let mut opt_levels = Vec::new();
        for line in text.lines() {
            let Ok(message) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            if message["reason"] != "compiler-artifact" {
                continue;
            }
            let id = message["package_id"].as_str().unwrap_or_default();
            let Some((package, version)) = id.rsplit('#').next().and_then(|p| p.split_once('@'))
            else {
                continue;
            };
            let kind = message["target"]["kind"][0].as_str().unwrap_or_default();
            let crate_name = if kind == "custom-build" {
                "build_script_build".to_owned()
            } else {
                message["target"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .replace('-', "_")
            };
            let strings = |v: &Value| -> Vec<String> {
                v.as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|s| s.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default()
            };
            let manifest = PathBuf::from(message["manifest_path"].as_str().unwrap_or_default());
            opt_levels.push(message["profile"]["opt_level"].clone());
            artifacts.push(Artifact {
                manifest_dir: manifest.parent().map(Path::to_path_buf).unwrap_or_default(),
                package: package.to_owned(),
                version: version.to_owned(),
                crate_name,
                features: strings(&message["features"]).into_iter().collect(),
                files: strings(&message["filenames"])
                    .into_iter()
                    .map(PathBuf::from)
                    .collect(),
                build_time: false,
            });
        }
        // Build scripts and proc macros are compiled with cargo's
        // `build-override` profile, whose optimisation differs from the
        // library's own in a release build.
        let library_level = artifacts
            .iter()
            .position(|a| a.package == CELLS_PACKAGE)
            .map(|i| opt_levels[i].clone());
        for (artifact, level) in artifacts.iter_mut().zip(&opt_levels) {
            artifact.build_time = library_level.as_ref().is_some_and(|l| l != level);
        }
        Ok(artifacts)
    }

    /// The registry crates whose library copies cells link (package,
    /// version): all but the library itself and what only build scripts and
    /// proc macros use.
    pub fn linked_crates(&self) -> Result<Vec<(String, String)>> {
        let mut crates: Vec<(String, String)> = self
            .artifacts()?
            .into_iter()
            .filter(|a| !a.build_time && a.package != CELLS_PACKAGE)
            .map(|a| (a.package, a.version))
            .collect();
        crates.sort();
        crates.dedup();
        Ok(crates)
    }

    /// The folders a cell process needs on `LD_LIBRARY_PATH`: this library,
    /// and the standard library it was built against (in `std_libdir`).
    pub fn load_path(&self, std_libdir: &Path) -> Result<OsString> {
        let mut dirs = vec![self.dir.clone(), self.deps(), std_libdir.to_path_buf()];
        if let Some(old) = std::env::var_os("LD_LIBRARY_PATH") {
            dirs.extend(std::env::split_paths(&old));
        }
        Ok(std::env::join_paths(dirs)?)
    }
}

/// The toolchain's folder of standard library binaries.
pub fn std_libdir() -> Result<PathBuf> {
    let output = Command::new("rustc")
        .args(["--print", "target-libdir"])
        .output()
        .context("running rustc")?;
    Ok(PathBuf::from(String::from_utf8(output.stdout)?.trim()))
}

/// Beside each prebuilt file linked into place (`libtokio-….rlib`), marks it
/// as the library's: `libtokio-….prebuilt`.
pub(crate) const PREBUILT_MARK: &str = "prebuilt";

/// Where the cell library's own source is (so rust-analyzer can read it).
pub fn cells_source(library: &CellLibrary) -> Result<PathBuf> {
    library
        .artifacts()?
        .into_iter()
        .find(|a| a.package == CELLS_PACKAGE)
        .map(|a| a.manifest_dir)
        .context("the cell library is missing from its artifacts manifest")
}
