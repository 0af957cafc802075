//! The cell library of a kernel installed with `cargo install`: where
//! `asyncbook install` (`install.rs`) builds it, in the user's data folder,
//! `$XDG_DATA_HOME/asyncbook/cells/<key>` (`~/.local/share/…` when
//! `XDG_DATA_HOME` is unset), where the kernel looks when no library sits
//! beside its binary (a clone's `target/cells/release`).
//!
//! The files that build it are inside the binary (`build.rs` includes them):
//! `cargo install` keeps only the binary, and what it builds from (a clone,
//! or a git checkout in cargo's cache that cargo may clean away) need not
//! outlive it. They are written out as the workspace has them: its manifest
//! and `Cargo.lock`, the kernel's manifest (a member, so `--locked` finds the
//! very lock the Makefile builds with), and `kernel/cells`; `install.rs`
//! builds the library from them with the Makefile's command and flags. The
//! kernel member is never built: its manifest is written without its
//! targets, with an empty `src/lib.rs`, which is all cargo needs to read the
//! workspace.
//!
//! `<key>` is a hash of those files, so a kernel built from other sources
//! never takes this library for its own: it asks for `asyncbook install`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

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

/// Writes the workspace that builds the library into `dir`.
pub fn write_sources(dir: &Path) -> Result<()> {
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
