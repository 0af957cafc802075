//! What the runner is doing while notebooks run, on stderr: progress bars
//! when stderr is a terminal (one per notebook under way, its code cells, and
//! one for all notebooks with the counts so far), a plain line per cell when
//! it is not (as in CI logs). The report on stdout is unchanged.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    notebooks: usize,
    finished: AtomicUsize,
    failed: AtomicUsize,
    cells_run: AtomicUsize,
    view: View,
}

enum View {
    /// `all` is the last line: notebooks done of all, and the counts.
    Bars {
        bars: MultiProgress,
        all: ProgressBar,
    },
    /// Serialises writes, so lines from notebooks run at once do not mix.
    Lines(Mutex<()>),
    Hidden,
}

impl Progress {
    pub fn new(notebooks: usize) -> Self {
        let view = if std::io::stderr().is_terminal() {
            let bars = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let all = bars.add(ProgressBar::new(notebooks as u64).with_style(style(
                "{elapsed:>4} {bar:24.green/blue} {pos}/{len} notebooks done, {msg}",
            )));
            all.set_message("0 cells run");
            // Keeps the elapsed time moving while a long cell runs.
            all.enable_steady_tick(Duration::from_millis(500));
            View::Bars { bars, all }
        } else {
            View::Lines(Mutex::new(()))
        };
        Self::with_view(notebooks, view)
    }

    /// Shows nothing.
    pub fn hidden() -> Self {
        Self::with_view(0, View::Hidden)
    }

    fn with_view(notebooks: usize, view: View) -> Self {
        Self {
            notebooks,
            finished: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            cells_run: AtomicUsize::new(0),
            view,
        }
    }

    /// `notebook`, with `cells` code cells, starts (its kernel first).
    pub fn notebook(&self, notebook: &Path, cells: usize) -> NotebookProgress<'_> {
        let name = notebook.file_name().map_or_else(
            || notebook.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let bar = match &self.view {
            View::Bars { bars, all } => {
                let bar = bars.insert_before(
                    all,
                    ProgressBar::new(cells as u64)
                        .with_style(style("     {bar:24.cyan/blue} {pos}/{len} cells, {msg}")),
                );
                bar.set_message(format!("{name}: starting the kernel"));
                Some(bar)
            }
            View::Lines(_) | View::Hidden => None,
        };
        NotebookProgress {
            progress: self,
            name,
            cells,
            bar,
        }
    }

    pub fn notebook_done(&self, failed: bool) {
        self.finished.fetch_add(1, Ordering::SeqCst);
        if failed {
            self.failed.fetch_add(1, Ordering::SeqCst);
        }
        if let View::Bars { all, .. } = &self.view {
            all.inc(1);
            self.show_counts(all);
        }
    }

    /// Runs `print` (a notebook's report) with the bars out of its way.
    pub fn suspend<R>(&self, print: impl FnOnce() -> R) -> R {
        match &self.view {
            View::Bars { bars, .. } => bars.suspend(|| {
                let printed = print();
                let _ = std::io::stdout().flush();
                printed
            }),
            View::Lines(_) | View::Hidden => print(),
        }
    }

    /// All notebooks ran: the bars leave the terminal to the summary.
    pub fn finish(&self) {
        if let View::Bars { bars, all } = &self.view {
            all.finish_and_clear();
            let _ = bars.clear();
        }
    }

    fn show_counts(&self, all: &ProgressBar) {
        let cells = self.cells_run.load(Ordering::SeqCst);
        let failed = self.failed.load(Ordering::SeqCst);
        all.set_message(if failed == 0 {
            format!("{cells} cells run")
        } else {
            let notebooks = if failed == 1 { "notebook" } else { "notebooks" };
            format!("{cells} cells run, {failed} {notebooks} failed")
        });
    }
}

/// One notebook under way.
pub struct NotebookProgress<'a> {
    progress: &'a Progress,
    name: String,
    cells: usize,
    bar: Option<ProgressBar>,
}

impl NotebookProgress<'_> {
    /// Code cell `number` (1-based, of all code cells) starts.
    pub fn cell(&self, number: usize) {
        let progress = self.progress;
        let (name, cells) = (&self.name, self.cells);
        let run = progress.cells_run.fetch_add(1, Ordering::SeqCst);
        match &progress.view {
            View::Bars { all, .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_position(number as u64 - 1);
                    bar.set_message(format!("{name}: code cell {number}"));
                }
                progress.show_counts(all);
            }
            View::Lines(out) => {
                let _guard = out.lock();
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "[{}/{} notebooks done, {run} cells run] {name}: code cell {number} of {cells}",
                    progress.finished.load(Ordering::SeqCst),
                    progress.notebooks,
                );
            }
            View::Hidden => {}
        }
    }
}

impl Drop for NotebookProgress<'_> {
    fn drop(&mut self) {
        if let (Some(bar), View::Bars { bars, .. }) = (&self.bar, &self.progress.view) {
            bar.finish_and_clear();
            bars.remove(bar);
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("the progress templates are valid")
        .progress_chars("=> ")
}
