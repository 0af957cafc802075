//! A session resolves every crate the cell library holds to the library's
//! own versions.
//!
//! Answers an evcxr behaviour: evcxr builds a first cell when its context is
//! created, before the kernel declares tokio, futures and the cell library,
//! and that build prunes the lock file to what its manifest uses (the cell
//! crate alone). Declared afterwards, they would be resolved afresh to the
//! registry's newest releases: a crate the prebuilt library does not hold is
//! compiled, and tokio and the library on top of it. So whenever cargo is
//! about to run on a manifest that declares the cell library while the lock
//! does not hold it, the library's own lock is put in place; cargo keeps its
//! versions, needs nothing from the registry for them, and a later `:dep`
//! adds crates beside them. Should evcxr stop pruning, the lock already holds
//! the library and nothing is done; `faults.rs`
//! (`sessions_keep_the_library_versions_whatever_the_registry_has`) checks
//! the versions either way.

use std::path::Path;

use anyhow::{Context, Result};

use super::cell_link::{CellLibrary, CELLS_PACKAGE};

/// Puts the library's lock in `crate_dir` if its manifest declares the cell
/// library and its lock does not hold it yet. True if it did.
pub fn pin(library: &CellLibrary, crate_dir: &Path) -> Result<bool> {
    let manifest = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap_or_default();
    let lock_path = crate_dir.join("Cargo.lock");
    let lock = std::fs::read_to_string(&lock_path).unwrap_or_default();
    if !declares_library(&manifest) || holds_library(&lock) {
        return Ok(false);
    }
    let source = library.lock_file();
    std::fs::copy(&source, &lock_path).with_context(|| {
        format!(
            "the cell library's lock file {} is missing (run `make build`)",
            source.display()
        )
    })?;
    Ok(true)
}

fn declares_library(manifest: &str) -> bool {
    let Ok(manifest) = manifest.parse::<toml::Table>() else {
        return false;
    };
    manifest
        .get("dependencies")
        .and_then(|d| d.as_table())
        .is_some_and(|deps| {
            deps.values()
                .any(|dep| dep.get("package").and_then(|p| p.as_str()) == Some(CELLS_PACKAGE))
        })
}

fn holds_library(lock: &str) -> bool {
    lock.contains(&format!("name = \"{CELLS_PACKAGE}\"\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "[package]\nname = \"ctx\"\n[dependencies]\nasyncbook = { package = \"asyncbook-cells\", path = \"/x/cells\" }\n";

    fn library_with_lock(lock: &str) -> (tempfile::TempDir, CellLibrary) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Cargo.lock"), lock).unwrap();
        let library = CellLibrary {
            dir: dir.path().to_path_buf(),
        };
        (dir, library)
    }

    #[test]
    fn a_pruned_lock_is_replaced_by_the_library_lock_once() {
        let library_lock = "version = 4\n\n[[package]]\nname = \"asyncbook-cells\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"pin-project-lite\"\nversion = \"0.2.16\"\n";
        let (_dir, library) = library_with_lock(library_lock);
        let session = tempfile::tempdir().unwrap();
        std::fs::write(session.path().join("Cargo.toml"), MANIFEST).unwrap();
        std::fs::write(
            session.path().join("Cargo.lock"),
            "version = 4\n\n[[package]]\nname = \"ctx\"\nversion = \"1.0.0\"\n",
        )
        .unwrap();

        assert!(pin(&library, session.path()).unwrap());
        let lock = std::fs::read_to_string(session.path().join("Cargo.lock")).unwrap();
        assert_eq!(lock, library_lock);
        // Once it holds the library, cargo's lock is left as cargo writes it.
        assert!(!pin(&library, session.path()).unwrap());
    }

    #[test]
    fn a_manifest_without_the_library_keeps_its_lock() {
        let (_dir, library) = library_with_lock("version = 4\n");
        let session = tempfile::tempdir().unwrap();
        std::fs::write(
            session.path().join("Cargo.toml"),
            "[package]\nname = \"ctx\"\n",
        )
        .unwrap();
        assert!(!pin(&library, session.path()).unwrap());
        assert!(!session.path().join("Cargo.lock").exists());
    }
}
