//! Links every cell, and every crate a cell depends on, against the one
//! prebuilt cell library.
//!
//! evcxr compiles each cell as a `cdylib` through cargo. The kernel makes
//! itself cargo's `RUSTC_WRAPPER`:
//! - a crate that the prebuilt library already holds (same package, version
//!   and features: tokio, futures and their dependencies) is not compiled
//!   again: its prebuilt artifacts are linked into place, so cells and `:dep`
//!   crates all refer to the copy inside `libasyncbook.so`. Only if every
//!   crate it depends on was linked into place too: once a `:dep` asks for
//!   more features of one (`serde_core` under `serde`'s derive), that one and
//!   every crate built on it (`serde_json`) are compiled, so they agree;
//! - the cell crate (`ctx`) gets `libasyncbook.so` as a dependency, and its
//!   source is adjusted so the shared runtime comes from `asyncbook::runtime`.
//!
//! Everything else is compiled unchanged.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::engine::build::crate_identity;
use crate::engine::build::generated;
use crate::engine::build::library::{Artifact, CellLibrary, PREBUILT_MARK};
use crate::engine::build::library_crates::{self, Prebuilt, Unit};
use crate::engine::build::rustc_command::{arg_value, exit_code};

/// Set (non-empty) while the kernel declares its own dependencies: their
/// builds are not the user's, and they need no checking.
pub const SETUP_ENV: &str = "ASYNCBOOK_KERNEL_SETUP";

/// The crate name evcxr gives to every cell.
pub const CELL_CRATE: &str = "ctx";

/// The metadata every cell crate is compiled with, whatever its dependencies.
const CELL_METADATA: &str = "metadata=asyncbook-cell";

/// Runs as `RUSTC_WRAPPER` for a crate other than the cell (see
/// `compile::wrap_rustc`): links the prebuilt copy when the cell library
/// holds one, else compiles it with the library's flags; refuses to compile
/// a crate of the library again (see `library_crates`).
pub fn wrap_dependency(library: &CellLibrary, rustc: &OsString, args: &[OsString]) -> Result<i32> {
    let crate_name = arg_value(args, "--crate-name").unwrap_or_default();
    let (Ok(package), Ok(version), Ok(manifest_dir)) = (
        std::env::var("CARGO_PKG_NAME"),
        std::env::var("CARGO_PKG_VERSION"),
        std::env::var("CARGO_MANIFEST_DIR"),
    ) else {
        // cargo's own queries (`rustc -vV`, target info) are no compilations.
        return run_rustc(rustc, args);
    };
    if crate_name.is_empty() || crate_name == TARGET_INFO_CRATE {
        // Nor is the target info query inside a package's build: it must
        // not see the library's cfg, or cargo would resolve crates behind it.
        return run_rustc(rustc, args);
    }
    let unit = Unit {
        package: &package,
        version: &version,
        manifest_dir: Path::new(&manifest_dir),
        crate_name: &crate_name,
        features: library_crates::requested_features(args),
    };
    let artifacts = library.artifacts()?;
    match library_crates::prebuilt(&artifacts, &unit, args) {
        Prebuilt::Linkable(artifact) => {
            link_prebuilt(artifact, args)?;
            return Ok(0);
        }
        Prebuilt::BuiltOnOthers(rebuilt) => {
            library_crates::refuse(&package, &rebuilt);
            return Ok(1);
        }
        Prebuilt::Replaced(held) => {
            let (out_dir, stem) = output_place(args)?;
            library_crates::note(held, &package, &version, &unit.features, &out_dir, &stem);
        }
        Prebuilt::NotHeld => {}
    }
    report_progress(&artifacts, &package, &crate_name);
    // A prebuilt crate linked into place (tokio, for `tokio-stream`) refers
    // to its own dependencies as the library's build made them, some of
    // which this build never compiles (tokio's `tracing`, behind the
    // library's cfg): rustc finds them in the library's folder. Every crate
    // is compiled with the cfg the library was built with, so a crate that
    // reads it (`tokio-util`) sees the same tokio as the library does.
    let mut args = args.to_vec();
    if crate_name != "build_script_build" {
        let identity =
            crate_identity::of_compiled(&package, &version, Path::new(&manifest_dir), &args);
        let (out_dir, stem) = output_place(&args)?;
        crate_identity::record(&out_dir, &stem, &identity)?;
        args = crate_identity::with_identity(&args, &identity);
    }
    args.push("-L".into());
    args.push(format!("dependency={}", library.deps().display()).into());
    args.push("--cfg".into());
    args.push(LIBRARY_CFG.into());
    run_rustc(rustc, &args)
}

/// The crate name of cargo's target info query (`rustc - --crate-name ___ --print=cfg`).
const TARGET_INFO_CRATE: &str = "___";

/// The cfg of the cell library's build (`RUSTFLAGS` in the Makefile): tokio's
/// unstable task hooks, behind `:tasks` and `:timeline`.
pub const LIBRARY_CFG: &str = "tokio_unstable";

fn run_rustc(rustc: &OsString, args: &[OsString]) -> Result<i32> {
    exit_code(Command::new(rustc).args(args))
}

/// Shows `:dep` build progress in the notebook, as cargo would in a terminal.
/// Crates of the cell library's own dependency tree are the kernel's
/// business (built when versions or features differ), not the user's.
fn report_progress(artifacts: &[Artifact], package: &str, crate_name: &str) {
    let quiet = std::env::var_os(SETUP_ENV).is_some_and(|v| !v.is_empty())
        || artifacts.iter().any(|a| a.package == package);
    if crate_name == "build_script_build" || quiet {
        return;
    }
    let Some(socket) = std::env::var_os(crate::engine::run::relay::SOCKET_ENV) else {
        return;
    };
    let Ok(stream) = std::os::unix::net::UnixStream::connect(socket) else {
        return;
    };
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let line = format!("   Compiling {package} v{version}\n");
    let frame = crate::engine::run::frames::Frame::Stderr(line.into_bytes());
    let _ = crate::engine::run::frames::FrameWriter::new(stream).send(&frame);
}

/// A hard link (a copy across file systems) with a fresh mtime: cargo's
/// freshness check compares it with the outputs of build scripts run now.
fn place(file: &Path, target: &Path) -> std::io::Result<()> {
    let _ = std::fs::remove_file(target);
    if std::fs::hard_link(file, target).is_err() {
        std::fs::copy(file, target)?;
    }
    // Read-only: the same inode may be a build script running right now in
    // another session, and opening it for writing would fail (ETXTBSY).
    std::fs::File::open(target)?.set_modified(std::time::SystemTime::now())
}

/// Where this compilation's outputs go, and their name without `lib` and
/// extension (`tokio-8f3…`).
pub(crate) fn output_place(args: &[OsString]) -> Result<(PathBuf, String)> {
    let out_dir = PathBuf::from(arg_value(args, "--out-dir").context("no --out-dir")?);
    let crate_name = arg_value(args, "--crate-name").unwrap_or_default();
    let extra = args
        .windows(2)
        .filter(|pair| pair[0] == "-C")
        .find_map(|pair| {
            pair[1]
                .to_string_lossy()
                .strip_prefix("extra-filename=")
                .map(str::to_owned)
        })
        .unwrap_or_default();
    Ok((out_dir, format!("{crate_name}{extra}")))
}

/// Puts the prebuilt files where cargo expects this compilation's output.
fn link_prebuilt(artifact: &Artifact, args: &[OsString]) -> Result<()> {
    let (out_dir, stem) = output_place(args)?;
    let mut outputs = Vec::new();
    for file in &artifact.files {
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        let target = match file.extension().and_then(|e| e.to_str()) {
            Some(ext @ ("rlib" | "rmeta" | "so")) => out_dir.join(format!("lib{stem}.{ext}")),
            _ if name.starts_with("build") => out_dir.join(&stem),
            _ => continue,
        };
        place(file, &target)
            .with_context(|| format!("placing {} at {}", file.display(), target.display()))?;
        outputs.push(target);
    }
    std::fs::write(out_dir.join(format!("lib{stem}.{PREBUILT_MARK}")), "")?;
    let identity =
        crate_identity::of_prebuilt(&artifact.package, &artifact.version, &artifact.crate_name);
    crate_identity::record(&out_dir, &stem, &identity)?;
    // cargo reads the dep-info file to decide when to rebuild.
    let dep_info = out_dir.join(format!("{stem}.d"));
    let listed: Vec<String> = outputs
        .iter()
        .map(|p| format!("{}:\n", p.display()))
        .collect();
    std::fs::write(dep_info, listed.concat())?;
    Ok(())
}

/// rustc's arguments for a cell: cargo's, adjusted to link the cell library,
/// with the cell's source (evcxr's text: `generated`) rewritten for it.
/// Stored variables named in `never` have their `!` written as
/// `asyncbook::variables::Never` (see [`name_never`]).
pub fn cell_args(
    library: &CellLibrary,
    args: &[OsString],
    generated: &str,
    never: &BTreeSet<String>,
) -> Result<Vec<OsString>> {
    let mut out: Vec<OsString> = Vec::with_capacity(args.len() + 4);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        // Whether `arg` is `-C` and the next argument sets `option`.
        let codegen = |option: &str| {
            arg == "-C"
                && args
                    .as_slice()
                    .first()
                    .is_some_and(|v| v.to_string_lossy().starts_with(option))
        };
        if codegen("incremental=") {
            // Every cell is new code: incremental state would only be
            // written, never reused.
            args.next();
        } else if codegen("metadata=") {
            // cargo derives the crate's metadata from its dependencies, and
            // the type ids of the notebook's own types from that: a `:dep`
            // would turn every stored `struct` value into a value of another
            // type, and the store would drop it.
            args.next();
            out.push(arg.clone());
            out.push(CELL_METADATA.into());
        } else if codegen("strip=") {
            // evcxr strips debug info; the line tables below must stay.
            args.next();
        } else if arg == "--extern" {
            // cargo's copy of the cell library is replaced by the canonical path below.
            let value = args.next().context("--extern without a value")?;
            if !value.to_string_lossy().starts_with("asyncbook=") {
                out.push(arg.clone());
                out.push(value.clone());
            }
        } else if Path::new(arg).ends_with("src/lib.rs") {
            out.push(generated::rewrite_source(Path::new(arg), generated, never)?.into_os_string());
        } else {
            out.push(arg.clone());
        }
    }
    out.push("-L".into());
    out.push(format!("dependency={}", library.deps().display()).into());
    out.push("--extern".into());
    out.push(format!("asyncbook={}", library.dylib().display()).into());
    // A cell is small: one codegen unit compiles it faster than sixteen.
    out.push("-Ccodegen-units=1".into());
    // Line tables place a task's `.await`s in the notebook (`:where`).
    out.push("-Cdebuginfo=limited".into());
    Ok(out)
}
