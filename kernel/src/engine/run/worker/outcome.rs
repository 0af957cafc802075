//! What a cell's run comes to: evcxr's result and the cell's state turned
//! into an outcome, with the message a notebook shows for each way a cell
//! can fail.

use std::sync::atomic::Ordering;

use serde_json::Value;

use super::Worker;
use crate::engine::diagnostics;
use crate::engine::outcome::{CellError, CellErrorKind, Outcome};
use crate::engine::run::cell_state::CellState;
use crate::lock::lock;

impl Worker {
    /// What the cell's run comes to; `ran` is the cell as the kernel ran it,
    /// `written` as the user wrote it.
    pub(super) fn outcome(
        &mut self,
        state: &CellState,
        ran: &str,
        written: &str,
        result: Result<evcxr::EvalOutputs, evcxr::Error>,
        moved_in: &str,
    ) -> Outcome {
        match result {
            Ok(outputs) => {
                if state.returned_error.load(Ordering::SeqCst) {
                    return Outcome::failed(CellError::plain(
                        CellErrorKind::ReturnedError,
                        if moved_in.is_empty() {
                            RETURNED_ERROR.to_owned()
                        } else {
                            format!("{RETURNED_ERROR}; earlier variables are kept{moved_in}")
                        },
                    ));
                }
                if state.panicked.load(Ordering::SeqCst) {
                    let error = if state.interrupted.load(Ordering::SeqCst) {
                        CellError::new(
                            CellErrorKind::Interrupted,
                            format!("the cell was interrupted; variables and background tasks are kept{moved_in}"),
                            vec![format!("Interrupted: the cell was cancelled at an .await; every variable and background task is kept{moved_in}.")],
                        )
                    } else {
                        let message = lock(&state.panic_message)
                            .take()
                            .unwrap_or_else(|| "(no message)".into());
                        CellError::new(
                            CellErrorKind::Panic,
                            message.clone(),
                            vec![format!("The cell panicked: {message}\nVariables this cell defined were dropped; earlier variables are kept{moved_in}.{}", hint(&message))],
                        )
                    };
                    return Outcome::failed(error);
                }
                let unit = outputs.content_by_mime_type.len() == 1
                    && outputs
                        .content_by_mime_type
                        .get("text/plain")
                        .map(String::as_str)
                        == Some("()");
                if unit {
                    return Outcome::default();
                }
                let result = outputs
                    .content_by_mime_type
                    .into_iter()
                    .map(|(mime, content)| (mime, Value::String(content)))
                    .collect();
                Outcome {
                    result,
                    ..Outcome::default()
                }
            }
            Err(evcxr::Error::CompilationErrors(errors)) => {
                let mut shown = diagnostics::shown(&errors, self.shared.warnings.shown());
                let rustc = self.rustc_errors();
                for error in &mut shown {
                    diagnostics::complete(error, &rustc, ran);
                    diagnostics::explain_for_notebook(error, ran);
                    self.moved.explain(error);
                }
                let rendered: Vec<String> = shown
                    .iter()
                    .map(|e| diagnostics::render_written(e, ran, written))
                    .collect();
                let first = shown.first().map(diagnostics::title).unwrap_or_default();
                Outcome::failed(CellError::new(
                    CellErrorKind::CompileError,
                    first,
                    vec![rendered.join("\n")],
                ))
            }
            Err(evcxr::Error::SubprocessTerminated(why)) => {
                let lost = "The cell process ended, so all variables and background tasks were lost; items (fn, struct, use) are kept.";
                let message = if state.interrupted.load(Ordering::SeqCst) {
                    format!("The cell was stuck in synchronous code and did not reach an .await, so its process was stopped. {lost}")
                } else {
                    format!("{}\n{lost}", why.trim())
                };
                let kind = if state.interrupted.load(Ordering::SeqCst) {
                    CellErrorKind::Interrupted
                } else {
                    CellErrorKind::CellProcessDied
                };
                Outcome::failed(CellError::plain(kind, message))
            }
            Err(other) => {
                Outcome::failed(CellError::plain(CellErrorKind::Other, other.to_string()))
            }
        }
    }
}

/// What to do about a panic a notebook causes and a program would not.
const RETURNED_ERROR: &str =
    "the cell returned an error through `?` (printed above); variables it defined were dropped";

fn hint(panic: &str) -> &'static str {
    if panic.contains("Cannot start a runtime from within a runtime") {
        "\nHint: cells already run on the shared tokio runtime. Use `.await` where the code \
         blocks on a runtime (`block_on`); a `#[tokio::main]` function pasted into a cell runs \
         on the shared runtime when called; a runtime of your own needs a thread of its own \
         (`std::thread::spawn`)."
    } else if panic.contains("requires the `current_thread` Tokio runtime")
        || panic.contains("time is not frozen")
    {
        "\nHint: cells run on the shared multi-thread runtime, whose clock cannot be paused. \
         `asyncbook::virtual_time::run(async { .. })` runs a future on a runtime of its own \
         whose clock starts paused, as after `pause()`: timers inside jump ahead at once, and \
         `advance()` and `resume()` work there."
    } else {
        ""
    }
}
