//! Why a cell failed, as a kind; the protocol turns it into an `ename`.

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
