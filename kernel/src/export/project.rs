//! The Cargo project around the program: `Cargo.toml` with the notebook's
//! dependencies, the cell library's `Cargo.lock`, and `src/main.rs`.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

use super::program::{Dependency, Program};
use crate::engine::build::library;
use crate::engine::build::library::{CellLibrary, CELLS_PACKAGE, FUTURES_VERSION, TOKIO_VERSION};

/// Crates every program has; a `:dep` line naming one of them is left out.
const GIVEN: [&str; 3] = ["tokio", "futures", "asyncbook"];

/// Writes the project into `dir` (made if missing; its other files are kept).
/// `notebook_dir` is the folder local `:dep` paths are relative to.
pub fn write(
    dir: &Path,
    package: &str,
    title: &str,
    notebook_dir: &Path,
    program: &Program,
) -> Result<()> {
    // The cell library fixes the versions the notebook ran with; its lock
    // file pins the crates below tokio and futures too (cargo drops the
    // entries the program does not use), so the program builds offline from
    // what the kernel's build already fetched.
    let library = CellLibrary::locate()?;
    let mut manifest = String::new();
    let _ = writeln!(
        manifest,
        "# {title} as a program, written by `asyncbook export`.\n\
         [package]\n\
         name = \"{package}\"\n\
         version = \"0.1.0\"\n\
         edition = \"2024\"\n\
         publish = false\n\
         \n\
         # A project of its own, also inside another project's workspace.\n\
         [workspace]\n\
         \n\
         [dependencies]\n\
         # The versions of the kernel's cell library, which the notebook ran with.\n\
         tokio = {{ version = \"{TOKIO_VERSION}\", features = [\"full\"] }}\n\
         futures = \"{FUTURES_VERSION}\""
    );
    if program.uses_cell_library {
        let source = library::cells_source(&library)?;
        let _ = writeln!(
            manifest,
            "# The notebook's `asyncbook::` helpers; outside a kernel they print text.\n\
             asyncbook = {{ package = \"{CELLS_PACKAGE}\", path = {:?} }}",
            source.display().to_string()
        );
    }
    for (cell, dependency) in &program.dependencies {
        let line = match dependency {
            Dependency::Line(line) => line.clone(),
            Dependency::Local(path) => local_dependency(&notebook_dir.join(path))
                .with_context(|| format!("cell {cell}: `:dep {}`", path.display()))?,
        };
        let name = line.split('=').next().unwrap_or_default().trim();
        if GIVEN.contains(&name) {
            let _ = writeln!(
                manifest,
                "# cell {cell}: `:dep {line}` is left out: `{name}` is above."
            );
        } else {
            let _ = writeln!(manifest, "# `:dep` in cell {cell}\n{line}");
        }
    }
    toml::from_str::<toml::Table>(&manifest)
        .context("the `:dep` lines make no valid Cargo.toml")?;

    std::fs::create_dir_all(dir.join("src"))
        .with_context(|| format!("making {}", dir.display()))?;
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
    };
    write("Cargo.toml", &manifest)?;
    write("src/main.rs", &program.main_rs)?;
    write(".gitignore", "/target\n")?;
    if program.uses_cell_library {
        // The cell library's task hooks are tokio's unstable API (see the
        // Makefile): the program's tokio is built with them too.
        std::fs::create_dir_all(dir.join(".cargo"))
            .with_context(|| format!("making {}", dir.display()))?;
        write(
            ".cargo/config.toml",
            "# The `asyncbook` helpers list tasks through tokio's unstable hooks.\n\
             [build]\n\
             rustflags = [\"--cfg\", \"tokio_unstable\"]\n",
        )?;
    }
    let lock = library.lock_file();
    if lock.is_file() {
        std::fs::copy(&lock, dir.join("Cargo.lock"))
            .with_context(|| format!("copying {}", lock.display()))?;
    }
    Ok(())
}

/// The `[dependencies]` line of a crate in a folder: its package name, and
/// its absolute path, since the program lives elsewhere.
fn local_dependency(folder: &Path) -> Result<String> {
    let folder = folder
        .canonicalize()
        .with_context(|| format!("no crate at {}", folder.display()))?;
    let manifest = folder.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest)
        .with_context(|| format!("reading {}", manifest.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("parsing {}", manifest.display()))?;
    let name = table
        .get("package")
        .and_then(|package| package.get("name"))
        .and_then(toml::Value::as_str)
        .with_context(|| format!("{} names no package", manifest.display()))?;
    Ok(format!(
        "{name} = {{ path = {:?} }}",
        folder.display().to_string()
    ))
}

/// A Cargo package name for a notebook: `01-welcome` becomes `welcome`
/// (a package name cannot start with a digit).
pub fn package_name(stem: &str) -> String {
    let words: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let name = words
        .trim_start_matches(|c: char| c.is_ascii_digit() || c == '-')
        .trim_end_matches('-');
    if name.is_empty() {
        "notebook".to_owned()
    } else {
        name.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::package_name;

    #[test]
    fn package_names_start_with_a_letter() {
        assert_eq!(package_name("01-welcome"), "welcome");
        assert_eq!(package_name("My Notebook"), "my-notebook");
        assert_eq!(package_name("42"), "notebook");
    }
}
