//! Each cell's code and the source compiled for it, kept in the session for
//! the cell library: `:tasks` and timelines place a task's spawn location
//! (a line of the compiled source) in the cell that holds its text.

use std::path::Path;

use anyhow::Result;

use crate::engine::build::generated::CELL_ENV;

/// Names the folder, for the rustc wrapper and the cell process; the cell
/// library reads the same name (`asyncbook::tasks::source::SOURCES_ENV`).
pub const SOURCES_ENV: &str = "ASYNCBOOK_CELL_SOURCES";

/// Creates the folder and names it to the processes the kernel starts.
pub fn prepare(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    std::env::set_var(SOURCES_ENV, dir);
    Ok(())
}

/// Forgets every cell's code: the session started over, and its cells are
/// numbered from 1 again.
pub fn forget() {
    let Some(dir) = std::env::var_os(SOURCES_ENV) else {
        return;
    };
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let _ = std::fs::remove_file(entry.path());
    }
}

/// Keeps the code of cell `cell` as the user wrote it (`N.cell`).
pub fn keep_code(cell: usize, code: &str) {
    if let Some(dir) = std::env::var_os(SOURCES_ENV) {
        let _ = std::fs::write(Path::new(&dir).join(format!("{cell}.cell")), code);
    }
}

/// Keeps the code cell `cell` ran as (`N.ran`) where the kernel rewrote
/// lines of it (a type written into a `let`, a value boxed), so that a task
/// spawned on such a line is still placed in the cell.
pub fn keep_ran(cell: usize, code: &str) {
    if let Some(dir) = std::env::var_os(SOURCES_ENV) {
        let _ = std::fs::write(Path::new(&dir).join(format!("{cell}.ran")), code);
    }
}

/// Keeps the source just compiled for the cell being built (`N.rs`).
pub fn keep_compiled(source: &Path) {
    let (Some(dir), Ok(cell)) = (std::env::var_os(SOURCES_ENV), std::env::var(CELL_ENV)) else {
        return;
    };
    let _ = std::fs::copy(source, Path::new(&dir).join(format!("{cell}.rs")));
}
