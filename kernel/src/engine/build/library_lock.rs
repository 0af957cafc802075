//! A session resolves every crate the cell library holds to the library's
//! own versions, and a `:dep` to releases that work with them.
//!
//! Answers an evcxr behaviour: evcxr builds a first cell when its context is
//! created, before the kernel declares tokio, futures and the cell library,
//! and that build prunes the lock file to what its manifest uses (the cell
//! crate alone). Declared afterwards, they would be resolved afresh to the
//! registry's newest releases: a crate the prebuilt library does not hold is
//! compiled, and tokio and the library on top of it. So whenever cargo is
//! about to run on a manifest that declares the cell library:
//! - while the lock does not hold the library, the library's own lock is put
//!   in place: cargo keeps its versions and needs nothing from the registry;
//! - the manifest requires the library's version of each crate that cells
//!   link (`=1.12.2`), in a table for no target, so nothing more is built:
//!   cargo then resolves a `:dep` to its newest release that works with the
//!   library, instead of moving a library crate to a release it does not hold.
//!
//! evcxr writes its manifest again when it differs from its own text, so the
//! requirements are added before every cargo run. Should evcxr stop pruning
//! the lock, it already holds the library and nothing is done;
//! `dependencies.rs` checks the versions either way.

use std::path::Path;

use anyhow::{Context, Result};

use crate::engine::build::library::{CellLibrary, CELLS_PACKAGE};

/// Where the manifest of `crate_dir` declares the cell library: requires
/// the library's versions, and puts the library's lock in place if the lock
/// does not hold it yet (true if it did).
pub fn pin(library: &CellLibrary, crate_dir: &Path) -> Result<bool> {
    let manifest_path = crate_dir.join("Cargo.toml");
    let manifest = std::fs::read_to_string(&manifest_path).unwrap_or_default();
    if !declares_library(&manifest) {
        return Ok(false);
    }
    if !manifest.contains(REQUIREMENTS) {
        let requirements = requirements(&library.linked_crates()?);
        std::fs::write(&manifest_path, format!("{manifest}{requirements}"))?;
    }
    let lock_path = crate_dir.join("Cargo.lock");
    let lock = std::fs::read_to_string(&lock_path).unwrap_or_default();
    if holds_library(&lock) {
        return Ok(false);
    }
    let source = library.lock_file();
    std::fs::copy(&source, &lock_path).with_context(|| {
        format!(
            "the cell library's lock file {} is missing (run `make build`, or \
             `asyncbook install` outside a clone)",
            source.display()
        )
    })?;
    Ok(true)
}

/// The table of the library's versions, for no target (`cfg(any())` is
/// never true): cargo's resolver honours it, nothing is built for it.
const REQUIREMENTS: &str = "[target.'cfg(any())'.dependencies]";

/// The manifest's table requiring the library's version of each of
/// `crates` (package, version), under the package's own name (cargo refuses
/// one package under two names) and with no feature (none is built).
fn requirements(crates: &[(String, String)]) -> String {
    let mut table = format!(
        "\n# The cell library's versions (added by Asyncbook: a `:dep` resolves to\n\
         # releases that work with them).\n{REQUIREMENTS}\n"
    );
    let mut named = std::collections::BTreeSet::new();
    for (package, version) in crates {
        // Two versions of one package: the first is required.
        if named.insert(package) {
            table.push_str(&format!(
                "{package} = {{ version = \"={version}\", default-features = false }}\n"
            ));
        }
    }
    table
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

    /// A library folder with `lock` and the artifacts of the library, one
    /// crate cells link and one only a proc macro uses.
    fn library_with_lock(lock: &str) -> (tempfile::TempDir, CellLibrary) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("Cargo.lock"), lock).unwrap();
        let artifact = |id: &str, opt: &str| {
            format!(
                "{{\"reason\":\"compiler-artifact\",\"package_id\":\"{id}\",\
                 \"target\":{{\"kind\":[\"lib\"],\"name\":\"x\"}},\"profile\":{{\"opt_level\":\"{opt}\"}}}}\n"
            )
        };
        let artifacts = [
            artifact("path+file:///x/cells#asyncbook-cells@0.1.0", "3"),
            artifact("registry+https://x#pin-project-lite@0.2.16", "3"),
            artifact("registry+https://x#syn@2.0.1", "0"),
        ];
        std::fs::write(
            dir.path()
                .join(crate::engine::build::library::ARTIFACTS_FILE),
            artifacts.concat(),
        )
        .unwrap();
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
    fn the_manifest_requires_the_versions_cells_link_once() {
        let (_dir, library) = library_with_lock("version = 4\n");
        let session = tempfile::tempdir().unwrap();
        std::fs::write(session.path().join("Cargo.toml"), MANIFEST).unwrap();
        pin(&library, session.path()).unwrap();
        pin(&library, session.path()).unwrap();
        let manifest = std::fs::read_to_string(session.path().join("Cargo.toml")).unwrap();
        let table: toml::Table = manifest.parse().unwrap();
        let required = &table["target"]["cfg(any())"]["dependencies"];
        assert_eq!(
            required.as_table().unwrap().len(),
            1,
            "only pin-project-lite, once: {manifest}"
        );
        let pinned = &required["pin-project-lite"];
        assert_eq!(pinned["version"].as_str(), Some("=0.2.16"));
        assert_eq!(pinned["default-features"].as_bool(), Some(false));
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
