//! Records the versions of tokio and futures in the cell library, so cells
//! depend on exactly the versions that `libasyncbook.so` holds; and puts the
//! files that build the cell library into the binary, for `asyncbook
//! install` outside a clone (`engine/build/library_install.rs` says why).

use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

fn main() {
    let lock = std::fs::read_to_string("../Cargo.lock").expect("Cargo.lock beside the workspace");
    for (package, var) in [
        ("tokio", "ASYNCBOOK_TOKIO_VERSION"),
        ("futures", "ASYNCBOOK_FUTURES_VERSION"),
    ] {
        let header = format!("name = \"{package}\"\nversion = \"");
        let start = lock.find(&header).expect("package in Cargo.lock") + header.len();
        let version = &lock[start..start + lock[start..].find('"').unwrap()];
        println!("cargo:rustc-env={var}={version}");
    }
    embed_library_sources();
}

/// Writes `$OUT_DIR/library_sources.rs`: `FILES`, each file of the workspace
/// that building the cell library reads (path in the workspace, contents),
/// and `KEY`, a hash of them all.
fn embed_library_sources() {
    let workspace = Path::new("..");
    // The workspace's manifest and lock, the kernel's manifest (a member,
    // so part of the lock), a toolchain pin should there be one, the library.
    let mut files: Vec<String> = ["Cargo.toml", "Cargo.lock", "kernel/Cargo.toml"]
        .into_iter()
        .chain(["rust-toolchain.toml", "rust-toolchain"])
        .filter(|name| workspace.join(name).is_file())
        .map(str::to_owned)
        .collect();
    collect(workspace, Path::new("kernel/cells"), &mut files);
    files.sort();

    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    let mut code = String::from("pub const FILES: &[(&str, &[u8])] = &[\n");
    for name in &files {
        let path = workspace.join(name).canonicalize().expect("a source file");
        println!("cargo:rerun-if-changed={}", path.display());
        (name, std::fs::read(&path).expect("reading a source file")).hash(&mut hasher);
        let _ = writeln!(code, "    ({name:?}, include_bytes!({path:?})),");
    }
    code.push_str("];\n");
    let _ = writeln!(code, "pub const KEY: &str = \"{:016x}\";", hasher.finish());
    // A file added to the library changes its folder.
    println!("cargo:rerun-if-changed=cells");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(out.join("library_sources.rs"), code).expect("writing library_sources.rs");
}

/// Adds the files under `workspace/dir` (hidden ones left out) to `files`,
/// as paths relative to `workspace`.
fn collect(workspace: &Path, dir: &Path, files: &mut Vec<String>) {
    let entries = std::fs::read_dir(workspace.join(dir)).expect("reading the cell library");
    for entry in entries {
        let entry = entry.expect("reading the cell library");
        let name = dir.join(entry.file_name());
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if entry.file_type().expect("a file type").is_dir() {
            collect(workspace, &name, files);
        } else {
            files.push(name.to_str().expect("a UTF-8 path").to_owned());
        }
    }
}
