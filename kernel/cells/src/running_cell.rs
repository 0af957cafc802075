//! Which cell's code is running: the runtime sets it around each cell's
//! body, the task registry reads it when a task is spawned, and spawn
//! sites and panics are placed in the cell it names.

use std::future::Future;

tokio::task_local! {
    /// The execution count of the cell whose code is being polled, so that
    /// the task registry knows which cell spawned a task.
    static CELL: Option<u64>;
}

/// The cell whose body is running on this thread (tasks are not cells: the
/// registry gives a task its spawner's cell).
pub fn current_cell() -> Option<u64> {
    CELL.try_with(|cell| *cell).ok().flatten()
}

/// `future` runs as code of `cell` (a cell's body, or work moved to another
/// runtime).
pub(crate) fn as_cell<F: Future>(cell: Option<u64>, future: F) -> impl Future<Output = F::Output> {
    CELL.scope(cell, future)
}
