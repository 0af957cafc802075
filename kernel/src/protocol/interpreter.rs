//! What the session asks of the code behind the kernel. `Engine` (evcxr on
//! its own thread) is the kernel's interpreter; the session's tests use a fake.
//! Cell output and the cells' requests for input do not come through here but
//! on the channels the interpreter hands out when it starts.

use std::future::Future;

use crate::engine::source::completeness::{self, Completeness};
use crate::engine::Engine;
pub use crate::engine::{CellError, CellErrorKind, Completion, InputAsk, Outcome, Output};

pub trait Interpreter: Clone + Send + Sync + 'static {
    /// Runs a cell; `count` is the execution count shown beside it.
    fn execute(&self, code: String, count: usize) -> impl Future<Output = Outcome> + Send;
    /// Completions at `cursor` (a byte offset).
    fn complete(
        &self,
        code: String,
        cursor: usize,
    ) -> impl Future<Output = Option<Completion>> + Send;
    /// What to show about the name at `cursor` (a byte offset).
    fn inspect(&self, code: String, cursor: usize) -> impl Future<Output = Option<String>> + Send;
    fn is_complete(&self, code: &str) -> Completeness;
    /// Interrupts the running cell, if any.
    fn interrupt(&self);
}

impl Interpreter for Engine {
    fn execute(&self, code: String, count: usize) -> impl Future<Output = Outcome> + Send {
        Engine::execute(self, code, count)
    }

    fn complete(
        &self,
        code: String,
        cursor: usize,
    ) -> impl Future<Output = Option<Completion>> + Send {
        Engine::complete(self, code, cursor)
    }

    fn inspect(&self, code: String, cursor: usize) -> impl Future<Output = Option<String>> + Send {
        Engine::inspect(self, code, cursor)
    }

    fn is_complete(&self, code: &str) -> Completeness {
        completeness::check(code)
    }

    fn interrupt(&self) {
        Engine::interrupt(self)
    }
}

/// The `ename` a frontend shows for a failed cell.
pub fn ename(kind: CellErrorKind) -> &'static str {
    match kind {
        CellErrorKind::CompileError => "CompileError",
        CellErrorKind::Panic => "Panic",
        CellErrorKind::Interrupted => "Interrupted",
        CellErrorKind::CellProcessDied => "CellProcessDied",
        CellErrorKind::EngineError => "EngineError",
        CellErrorKind::ReturnedError | CellErrorKind::Other => "Error",
    }
}
