//! The warnings of a cell that compiled, shown on stderr as rustc renders
//! them, spans in the cell's own lines.
//!
//! evcxr drops rustc's diagnostics when a cell compiles, and maps spans to
//! the user's code only for errors. The cell compiler (`build::compile`) writes
//! rustc's JSON warnings to a file; here each span is placed by its line's
//! text, which rustc's JSON carries and which evcxr copies from the cell
//! unchanged (only its indentation may differ). A warning whose primary span
//! is not a line of this cell (evcxr's generated code, an earlier cell's
//! item compiled again) is not shown. Should evcxr ever change the cell's
//! lines, warnings would stop appearing and the protocol test that expects
//! one fails.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

use crate::engine::diagnostics::{self, Diagnostic};
use crate::engine::run::cell_state::CellState;

/// Where the cell compiler writes warnings, and whether they are shown
/// (`:warnings on|off`); the warnings of the running cell are due in its
/// `CellState`.
pub struct Warnings {
    file: PathBuf,
    shown: AtomicBool,
}

impl Warnings {
    pub fn new(file: PathBuf) -> Self {
        Self {
            file,
            shown: AtomicBool::new(true),
        }
    }

    pub fn file(&self) -> &Path {
        &self.file
    }

    /// `:warnings on` / `:warnings off`.
    pub fn show(&self, on: bool) {
        self.shown.store(on, Ordering::SeqCst);
    }

    pub fn shown(&self) -> bool {
        self.shown.load(Ordering::SeqCst)
    }

    /// `cell`, with this code, is about to be compiled.
    pub(crate) fn expect(&self, cell: &CellState, source: &str) {
        let _ = std::fs::remove_file(&self.file);
        if self.shown() {
            cell.expect_warnings(source);
        }
    }

    /// The cell's warnings, once: called when the compiled cell starts (the
    /// cell compiler has written them by then), and when it is over (a cell
    /// that never started running).
    pub(crate) fn take_due(&self, cell: &CellState) -> Option<String> {
        take(&self.file, &cell.warnings_due()?)
    }
}

/// The rendered warnings in `file` for the cell `source`, if any; the file is
/// removed, so each compilation's warnings are shown once.
pub fn take(file: &Path, source: &str) -> Option<String> {
    let text = std::fs::read_to_string(file).ok()?;
    let _ = std::fs::remove_file(file);
    let rendered: Vec<String> = text
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|json| in_cell(&json, source))
        .map(|warning| diagnostics::render(&warning, source))
        .collect();
    (!rendered.is_empty()).then(|| rendered.join("\n"))
}

/// A warning of rustc's JSON with its spans placed in `source`, if its
/// primary span is there.
fn in_cell(json: &Value, source: &str) -> Option<Diagnostic> {
    if json["level"] != "warning" {
        return None;
    }
    diagnostics::from_json(json, source)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rustc's JSON for a future that is built and dropped, its line
    /// indented differently than in the cell.
    fn unused_future(line_text: &str) -> Value {
        serde_json::json!({
            "$message_type": "diagnostic",
            "level": "warning",
            "message": "unused implementer of `Future` that must be used",
            "code": { "code": "unused_must_use", "explanation": null },
            "spans": [{
                "file_name": "src/asyncbook_lib.rs",
                "line_start": 40, "line_end": 40,
                "column_start": 1, "column_end": 13,
                "is_primary": true, "label": null,
                "text": [{ "text": line_text, "highlight_start": 1, "highlight_end": 13 }]
            }],
            "children": [
                { "level": "note", "message": "futures do nothing unless you `.await` or poll them", "spans": [] },
                { "level": "help", "message": "use `let _ = ...` to ignore the resulting value", "spans": [] }
            ]
        })
    }

    #[test]
    fn a_warning_is_placed_on_its_line_of_the_cell() {
        let source = "let a = 1;\n    brew(\"x\");\nlet b = 2;";
        let rendered = diagnostics::render(
            &in_cell(&unused_future("brew(\"x\");"), source).unwrap(),
            source,
        );
        assert_eq!(
            rendered,
            "warning: unused implementer of `Future` that must be used\n\
             \x20--> cell:2:5\n\
             \x20 |\n\
             2 |     brew(\"x\");\n\
             \x20 |     ^^^^^^^^^^\n\
             \x20 |\n\
             \x20 = help: use `let _ = ...` to ignore the resulting value\n\
             \x20 = note: futures do nothing unless you `.await` or poll them\n"
        );
    }

    #[test]
    fn warnings_about_lines_of_other_cells_are_not_shown() {
        assert!(in_cell(&unused_future("old_call();"), "brew(\"x\");").is_none());
        let mut error = unused_future("brew(\"x\");");
        error["level"] = "error".into();
        assert!(in_cell(&error, "brew(\"x\");").is_none());
    }

    #[test]
    fn the_file_is_read_once() {
        let dir = std::env::temp_dir().join(format!("asyncbook-warnings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("warnings.json");
        std::fs::write(&file, unused_future("brew(\"x\");").to_string()).unwrap();
        assert!(take(&file, "brew(\"x\");")
            .unwrap()
            .contains("--> cell:1:1"));
        assert_eq!(take(&file, "brew(\"x\");"), None);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
