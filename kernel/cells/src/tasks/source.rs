//! Where a task was spawned, in the notebook's terms: the cell and its line.
//!
//! Tokio reports the spawn's location in the source rustc compiled: for cell
//! code that is the kernel's rewrite of evcxr's generated crate
//! (`asyncbook_lib.rs`), in which the user's lines appear with their text
//! unchanged (bar indentation) among evcxr's own. The kernel keeps, in the
//! folder named by [`SOURCES_ENV`], each cell's code (`N.cell`) and the
//! source it compiled for it (`N.rs`), and the code as it ran where the
//! kernel rewrote lines of it (`N.ran`: a type written into a `let`, a value
//! boxed, each on its line); a location is placed by its line's text, in
//! the cell whose code was running, else in the latest earlier cell with
//! that line (an item defined before and compiled again). Should
//! evcxr ever change the lines it copies, tasks would show the generated
//! file's line instead, and the protocol test of `:tasks` fails.

use std::path::PathBuf;

pub use super::origin::{SpanPlace, SpawnedAt};

/// Names the folder of the session's cell sources.
pub const SOURCES_ENV: &str = "ASYNCBOOK_CELL_SOURCES";

/// The file name of every cell's compiled source.
const GENERATED: &str = "asyncbook_lib.rs";

/// A spawn site as `:tasks` and the timeline show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Site {
    /// A line of a cell, counted from one.
    Cell { cell: u64, line: usize },
    /// Outside any cell's code (a library): `file:line`.
    Elsewhere(String),
}

/// `[3] line 2`, or the library's `file:line`.
impl std::fmt::Display for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Site::Cell { cell, line } => write!(f, "[{cell}] line {line}"),
            Site::Elsewhere(place) => f.write_str(place),
        }
    }
}

/// What `asyncbook::dbg!` prints before the expression: the cell line
/// (`[3] line 2:`) in a cell's code, else `[file:line:column]` as
/// `std::dbg!` does.
#[doc(hidden)]
pub fn debug_place(file: &str, line: u32, column: u32) -> String {
    match site_here(file, line) {
        site @ Site::Cell { .. } => format!("{site}:"),
        Site::Elsewhere(_) => format!("[{file}:{line}:{column}]"),
    }
}

/// Where line `line` of `file` is, for code running now: a cell's body, or
/// a task, which is placed in the cell that spawned it.
pub(crate) fn site_here(file: &str, line: u32) -> Site {
    let cell = crate::running_cell::current_cell().or_else(super::registry::current_task_cell);
    site_of(cell, file, line)
}

/// Where `at` is, for a task spawned while `cell` ran (or one of its tasks).
pub fn site(cell: Option<u64>, at: SpawnedAt) -> Site {
    site_of(cell, at.file(), at.line())
}

/// Where line `line` of `file` is, for code that `cell`'s crate compiled (a
/// panic's location in a cell, or in a task it spawned).
pub fn site_of(cell: Option<u64>, file: &str, line: u32) -> Site {
    let elsewhere = || Site::Elsewhere(format!("{}:{line}", short_path(file)));
    if !file.ends_with(GENERATED) {
        return elsewhere();
    }
    let (Some(cell), Some(dir)) = (cell, std::env::var_os(SOURCES_ENV).map(PathBuf::from)) else {
        return elsewhere();
    };
    let read = |name: String| std::fs::read_to_string(dir.join(name)).ok();
    let Some(generated) = read(format!("{cell}.rs")) else {
        return elsewhere();
    };
    let cells = (1..=cell).rev().flat_map(|n| {
        [read(format!("{n}.cell")), read(format!("{n}.ran"))]
            .into_iter()
            .flatten()
            .map(move |code| (n, code))
    });
    place(&generated, line as usize, cells).unwrap_or_else(elsewhere)
}

/// Finds generated line `line` (from one) in the first of `cells` that holds
/// its text; among equal lines, the one as many places down as in `generated`.
fn place(generated: &str, line: usize, cells: impl Iterator<Item = (u64, String)>) -> Option<Site> {
    let lines: Vec<&str> = generated.lines().map(str::trim).collect();
    let text = *lines.get(line.checked_sub(1)?)?;
    if text.is_empty() {
        return None;
    }
    let before = lines[..line - 1].iter().filter(|l| **l == text).count();
    for (cell, code) in cells {
        let found: Vec<usize> = code
            .lines()
            .enumerate()
            .filter(|(_, l)| l.trim() == text)
            .map(|(at, _)| at + 1)
            .collect();
        if let Some(last) = found.last() {
            let line = found.get(before).unwrap_or(last);
            return Some(Site::Cell { cell, line: *line });
        }
    }
    None
}

/// `~/.cargo/registry/src/index.crates.io-HASH/tokio-1.54.1/src/x.rs` reads
/// as `tokio-1.54.1/src/x.rs`: the same on every machine.
pub fn short_path(file: &str) -> &str {
    match file.find("/registry/src/") {
        Some(at) => {
            let rest = &file[at + "/registry/src/".len()..];
            rest.split_once('/')
                .map_or(rest, |(_, crate_path)| crate_path)
        }
        None => file,
    }
}

/// The crate a library's source file belongs to (`tokio` for a file of the
/// registry's `tokio-1.54.1/`, `std` for the toolchain's `library/std/`):
/// what a reader needs of a place in a library, the same on every machine.
pub fn library_crate(file: &str) -> Option<&str> {
    if let Some(at) = file.find("/registry/src/") {
        let folder = file[at + "/registry/src/".len()..].split('/').nth(1)?;
        let (name, version) = folder.rsplit_once('-')?;
        return version
            .starts_with(|c: char| c.is_ascii_digit())
            .then_some(name);
    }
    let at = file.find("library/")?;
    let before = &file[..at];
    let toolchain =
        before.is_empty() || before.starts_with("/rustc/") || before.ends_with("/rust/");
    toolchain.then(|| file[at + "library/".len()..].split('/').next())?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_library_file_is_told_by_its_crate() {
        let tokio = "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/tokio-1.54.1/src/runtime/mod.rs";
        assert_eq!(library_crate(tokio), Some("tokio"));
        assert_eq!(
            library_crate("/rustc/0a1b2c/library/core/src/option.rs"),
            Some("core")
        );
        assert_eq!(
            library_crate(
                "/root/.rustup/toolchains/x/lib/rustlib/src/rust/library/std/src/thread/mod.rs"
            ),
            Some("std")
        );
        assert_eq!(library_crate("/work/mylib/library/src/lib.rs"), None);
        assert_eq!(library_crate("src/asyncbook_lib.rs"), None);
    }

    #[test]
    fn a_generated_line_is_placed_by_its_text() {
        let generated =
            "fn run() {\n    let a = tokio::spawn(work());\n    let b = tokio::spawn(work());\n}\n";
        let cell = |code: &str| vec![(5, code.to_owned())].into_iter();
        let code = "let a = tokio::spawn(work());\nlet b = tokio::spawn(work());";
        assert_eq!(
            place(generated, 3, cell(code)),
            Some(Site::Cell { cell: 5, line: 2 })
        );
        // Equal lines: the second in the generated source is the second in the cell.
        let twice = "fn run() {\n    tokio::spawn(work());\n    tokio::spawn(work());\n}\n";
        let code = "tokio::spawn(work());\ntokio::spawn(work());";
        assert_eq!(
            place(twice, 3, cell(code)),
            Some(Site::Cell { cell: 5, line: 2 })
        );
        // Not in this cell: an earlier one that holds the line.
        let earlier = vec![
            (5, "1 + 1".to_owned()),
            (2, "x\nlet b = tokio::spawn(work());".to_owned()),
        ];
        assert_eq!(
            place(generated, 3, earlier.into_iter()),
            Some(Site::Cell { cell: 2, line: 2 })
        );
        assert_eq!(place(generated, 4, cell("1 + 1")), None);
        assert_eq!(place(generated, 99, cell("1 + 1")), None);
    }
}
