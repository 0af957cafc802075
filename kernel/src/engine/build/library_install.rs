//! The cell library of a kernel installed with `cargo install`: built by
//! `asyncbook install` into the user's data folder,
//! `$XDG_DATA_HOME/asyncbook/cells/<key>` (`~/.local/share/…` when
//! `XDG_DATA_HOME` is unset), where the kernel looks when no library sits
//! beside its binary (a clone's `target/cells/release`).
//!
//! The files that build it are inside the binary (`build.rs` includes them):
//! `cargo install` keeps only the binary, and what it builds from (a clone,
//! or a git checkout in cargo's cache that cargo may clean away) need not
//! outlive it. They are written out as the workspace has them: its manifest
//! and `Cargo.lock`, the kernel's manifest (a member, so `--locked` finds the
//! very lock the Makefile builds with), and `kernel/cells`. The library is
//! then built with the Makefile's command and flags. The kernel member is
//! never built: its manifest is written without its targets, with an empty
//! `src/lib.rs`, which is all cargo needs to read the workspace.
//!
//! `<key>` is a hash of those files, so a kernel built from other sources
//! never takes this library for its own: it asks for `asyncbook install`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

use super::library::{CellLibrary, ARTIFACTS_FILE, CELLS_PACKAGE};

mod sources {
    include!(concat!(env!("OUT_DIR"), "/library_sources.rs"));
}

/// The folder `asyncbook install` builds this kernel's library in.
pub fn home() -> Result<PathBuf> {
    let data = match std::env::var_os("XDG_DATA_HOME").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        _ => PathBuf::from(
            std::env::var_os("HOME").context("neither XDG_DATA_HOME nor HOME is set")?,
        )
        .join(".local/share"),
    };
    Ok(data.join("asyncbook/cells").join(sources::KEY))
}

/// Where the built library is (cargo's `release` folder in `home`).
pub fn library_dir(home: &Path) -> PathBuf {
    home.join("target/release")
}

/// Builds the library in [`home`] as `make build` does, unless it is
/// already there; returns its folder.
pub fn build() -> Result<PathBuf> {
    let home = home()?;
    let release = library_dir(&home);
    let built = CellLibrary {
        dir: release.clone(),
    };
    let needed = [
        built.dylib(),
        built.lock_file(),
        release.join(ARTIFACTS_FILE),
    ];
    if needed.iter().all(|file| file.is_file()) {
        println!("The cell library is already built in {}", release.display());
        return Ok(release);
    }
    let workspace = home.join("source");
    write_sources(&workspace)?;
    eprintln!(
        "Building the cell library in {} (a few minutes, once)",
        home.display()
    );
    let target = home.join("target");
    std::fs::create_dir_all(&target)?;
    let messages = tempfile::NamedTempFile::new_in(&target)?;
    let status = Command::new("cargo")
        .args(["build", "--release", "--locked", "-p", CELLS_PACKAGE])
        .arg("--message-format=json-render-diagnostics")
        .current_dir(&workspace)
        .env("CARGO_TARGET_DIR", &target)
        .env("RUSTFLAGS", "-C prefer-dynamic --cfg tokio_unstable")
        // It would stand in for RUSTFLAGS.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .stdout(Stdio::from(messages.reopen()?))
        .status()
        .context("running cargo (is Rust installed?)")?;
    if !status.success() {
        bail!("building the cell library failed ({status})");
    }
    std::fs::copy(workspace.join("Cargo.lock"), release.join("Cargo.lock"))?;
    // Written last: it marks the library complete.
    messages.persist(release.join(ARTIFACTS_FILE))?;
    println!("Built the cell library in {}", release.display());
    Ok(release)
}

/// Writes the workspace that builds the library into `dir`.
fn write_sources(dir: &Path) -> Result<()> {
    for (name, contents) in sources::FILES {
        let path = dir.join(name);
        let contents = if *name == "kernel/Cargo.toml" {
            member_without_targets(contents)?.into_bytes()
        } else {
            contents.to_vec()
        };
        write(&path, &contents)?;
    }
    let stub = "// The kernel is a member of this workspace only so that `Cargo.lock` is the\n\
                // workspace's; it is never built here.\n";
    write(&dir.join("kernel/src/lib.rs"), stub.as_bytes())
}

/// The kernel's manifest with its dependencies and without its targets,
/// whose source files are not written out.
fn member_without_targets(manifest: &[u8]) -> Result<String> {
    let mut table: toml::Table = toml::from_str(std::str::from_utf8(manifest)?)?;
    for targets in ["lib", "bin", "test", "bench", "example"] {
        table.remove(targets);
    }
    Ok(toml::to_string(&table)?)
}

fn write(path: &Path, contents: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}
