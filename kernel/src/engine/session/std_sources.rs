//! The standard library's sources as evcxr's rust-analyzer reads them.
//!
//! rust-analyzer infers the types of a cell's variables, and for that reads
//! the standard library from the toolchain's `rust-src`. Given the real
//! `library` folder, it loads it as a cargo workspace (`cargo metadata`,
//! then the crates.io crates the standard library is built from, such as
//! `libc`) and analyses the SIMD intrinsics that `core::arch` and
//! `core::simd` include. Every kernel pays for that before its first cell,
//! and every cell pays to check that none of it changed.
//!
//! The kernel points `RUST_SRC_PATH` at a folder of links to the library's
//! own crates instead. Without a workspace manifest rust-analyzer reads them
//! as plain crates, and without the intrinsics folders `core::arch` and
//! `core::simd` stay empty: a variable holding one of their types needs an
//! explicit type, which evcxr asks for. Compiling is not affected; rustc
//! uses the real standard library.

use std::path::{Path, PathBuf};

use anyhow::Result;

/// The environment variable rust-analyzer reads the library folder from.
const SOURCE_ENV: &str = "RUST_SRC_PATH";

/// Entries of `library` rust-analyzer does not get to see.
const LEFT_OUT: &[&str] = &["Cargo.toml", "Cargo.lock", "stdarch", "portable-simd"];

/// Links the library's crates into `dir` and sets `RUST_SRC_PATH` to it,
/// unless the user set `RUST_SRC_PATH` or `rust-src` is not installed.
/// `std_libdir` is the toolchain's `target-libdir`.
pub fn prepare(dir: &Path, std_libdir: &Path) -> Result<()> {
    if std::env::var_os(SOURCE_ENV).is_some() {
        return Ok(());
    }
    let Some(library) = library_sources(std_libdir) else {
        return Ok(());
    };
    std::fs::create_dir_all(dir)?;
    for entry in std::fs::read_dir(&library)? {
        let entry = entry?;
        let name = entry.file_name();
        if LEFT_OUT.iter().any(|left| name == *left) {
            continue;
        }
        std::os::unix::fs::symlink(entry.path(), dir.join(&name))?;
    }
    std::env::set_var(SOURCE_ENV, dir);
    Ok(())
}

/// `<sysroot>/lib/rustlib/src/rust/library`, from
/// `<sysroot>/lib/rustlib/<target>/lib`.
fn library_sources(std_libdir: &Path) -> Option<PathBuf> {
    let rustlib = std_libdir.parent()?.parent()?;
    let library = rustlib.join("src/rust/library");
    library.join("std/src/lib.rs").is_file().then_some(library)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_library_is_found_from_the_target_libdir() {
        let sysroot = tempfile::tempdir().unwrap();
        let rustlib = sysroot.path().join("lib/rustlib");
        let libdir = rustlib.join("x86_64-unknown-linux-gnu/lib");
        std::fs::create_dir_all(&libdir).unwrap();
        assert_eq!(library_sources(&libdir), None, "no rust-src installed");
        let library = rustlib.join("src/rust/library");
        std::fs::create_dir_all(library.join("std/src")).unwrap();
        std::fs::write(library.join("std/src/lib.rs"), "").unwrap();
        assert_eq!(library_sources(&libdir), Some(library));
    }
}
