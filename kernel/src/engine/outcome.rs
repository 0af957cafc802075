//! What a cell comes to: its output, its value, and why it failed, as a kind
//! the protocol turns into an `ename`.

use serde_json::{Map, Value};

/// Output of cells, in the order it was produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Stdout(String),
    Stderr(String),
    Display {
        data: Map<String, Value>,
        display_id: Option<String>,
    },
    Update {
        data: Map<String, Value>,
        display_id: String,
    },
    Clear {
        wait: bool,
    },
}

/// What became of one executed cell.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The value of the cell's trailing expression, by MIME type.
    pub result: Map<String, Value>,
    pub error: Option<CellError>,
    /// Texts for the pager (`asyncbook::display::page`), by MIME type.
    pub pages: Vec<Map<String, Value>>,
    /// The cell was `:clear`: the session started over, and so do the
    /// execution counts.
    pub cleared: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CellError {
    pub kind: CellErrorKind,
    pub evalue: String,
    pub traceback: Vec<String>,
}

impl Outcome {
    pub(crate) fn failed(error: CellError) -> Self {
        Outcome {
            error: Some(error),
            ..Outcome::default()
        }
    }
}

impl CellError {
    pub(crate) fn new(
        kind: CellErrorKind,
        evalue: impl Into<String>,
        traceback: Vec<String>,
    ) -> Self {
        Self {
            kind,
            evalue: evalue.into(),
            traceback,
        }
    }

    /// An error whose traceback is its message.
    pub(crate) fn plain(kind: CellErrorKind, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(kind, message.clone(), vec![message])
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellErrorKind {
    /// rustc refused the cell.
    CompileError,
    /// The cell panicked.
    Panic,
    /// An interrupt cancelled the cell, or stopped its process.
    Interrupted,
    /// The cell process ended on its own (abort, exit, a crash).
    CellProcessDied,
    /// The engine thread is gone.
    EngineError,
    /// The cell returned an error through `?`.
    ReturnedError,
    /// Any other failure evcxr reports.
    Other,
}
