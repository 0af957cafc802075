//! What the runner is doing while notebooks run, on stderr: one line kept
//! up to date in place when stderr is a terminal, a plain line per cell when
//! it is not (as in CI logs). The report on stdout is unchanged.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

pub struct Progress {
    notebooks: usize,
    finished: AtomicUsize,
    cells_run: AtomicUsize,
    terminal: bool,
    /// Serialises writes, so lines from notebooks run at once do not mix.
    out: Mutex<()>,
}

impl Progress {
    pub fn new(notebooks: usize) -> Self {
        Self {
            notebooks,
            finished: AtomicUsize::new(0),
            cells_run: AtomicUsize::new(0),
            terminal: std::io::stderr().is_terminal(),
            out: Mutex::new(()),
        }
    }

    /// Cell `number` (1-based, of `cells`) of `notebook` starts.
    pub fn cell(&self, notebook: &Path, number: usize, cells: usize) {
        let name = notebook.file_name().map_or_else(
            || notebook.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let line = format!(
            "[{}/{} notebooks done, {} cells run] {name}: code cell {number} of {cells}",
            self.finished.load(Ordering::SeqCst),
            self.notebooks,
            self.cells_run.fetch_add(1, Ordering::SeqCst),
        );
        self.show(&line);
    }

    pub fn notebook_done(&self) {
        self.finished.fetch_add(1, Ordering::SeqCst);
    }

    /// Clears the in-place line before the report prints a notebook's result.
    pub fn clear(&self) {
        if self.terminal {
            let _guard = self.out.lock();
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
        }
    }

    fn show(&self, line: &str) {
        let _guard = self.out.lock();
        let mut err = std::io::stderr().lock();
        if self.terminal {
            let _ = write!(err, "\r\x1b[2K{line}");
        } else {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
    }
}
