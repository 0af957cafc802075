//! What one cell's run comes to while it runs. A `CellState` is made when
//! the cell is asked for, filled by the output reader and the interrupter,
//! read by the worker when the cell is over and dropped with it, so nothing
//! of one cell's run can leak into the next and a new field needs no reset.
//!
//! The fence count stays in the session (`Shared::fences`): the cell process
//! sends a fence after every cell it runs, the set-up's cells too, without
//! knowing which cell it was; the worker waits for the count to pass the one
//! it saw before the cell.

use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

use serde_json::{Map, Value};

use crate::lock::lock;

#[derive(Default)]
pub(crate) struct CellState {
    /// The cell's compiled code has started (its compilation is over).
    pub(crate) started: AtomicBool,
    pub(crate) interrupted: AtomicBool,
    /// An interrupt arrived while the cell was still compiling.
    pub(crate) interrupt_pending: AtomicBool,
    pub(crate) panicked: AtomicBool,
    pub(crate) panic_message: Mutex<Option<String>>,
    pub(crate) returned_error: AtomicBool,
    /// Variables evcxr dropped while the cell ran, their type having been
    /// defined again since they were made.
    pub(crate) lost: Mutex<Vec<String>>,
    /// Texts for the pager (`asyncbook::display::page`), by MIME type.
    pub(crate) pages: Mutex<Vec<Map<String, Value>>>,
    /// The code whose warnings are still to be shown, once: when the
    /// compiled cell starts, or when it is over if it never started.
    warnings_due: Mutex<Option<String>>,
}

impl CellState {
    /// The warnings of this cell's code will be shown (`:warnings on`).
    pub(crate) fn expect_warnings(&self, code: &str) {
        *lock(&self.warnings_due) = Some(code.to_owned());
    }

    /// The code whose warnings are due, the first time it is asked.
    pub(crate) fn warnings_due(&self) -> Option<String> {
        lock(&self.warnings_due).take()
    }
}
