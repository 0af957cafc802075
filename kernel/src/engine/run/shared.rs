//! State the engine thread shares with the output readers and the
//! interrupter, and the signal that interrupts a running cell.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::engine::diagnostics::warnings::Warnings;
use crate::engine::run::cell_state::CellState;
use crate::lock::lock;

/// State the engine thread shares with the output readers and the interrupter.
pub(crate) struct Shared {
    /// Process id of the current cell process (it changes after a crash).
    pub(crate) child_pid: AtomicI32,
    /// The running cell's state, made anew for each cell.
    pub(crate) cell: Mutex<Arc<CellState>>,
    /// Cells the cell process has finished (it sends a fence after each).
    pub(crate) fences: AtomicU64,
    pub(crate) fence_signal: (Mutex<()>, std::sync::Condvar),
    pub(crate) running: AtomicBool,
    pub(crate) warnings: Warnings,
    /// True once the engine has set up and warmed rust-analyzer (or failed
    /// to start): what a spare waits for before it hands itself over.
    pub(crate) warm: tokio::sync::watch::Sender<bool>,
}

impl Shared {
    /// The state of the cell that runs now (or ran last).
    pub(crate) fn cell(&self) -> Arc<CellState> {
        lock(&self.cell).clone()
    }

    /// A cell is asked for: from here on, its outputs, flags and interrupts
    /// belong to a state of its own.
    pub(crate) fn begin_cell(&self) {
        *lock(&self.cell) = Arc::default();
    }
}

/// Sends SIGINT to the cell process; a cell stuck in synchronous code that
/// does not reach an `.await` within the grace period loses its process.
pub(crate) fn signal_cell(shared: &Arc<Shared>) {
    let pid = shared.child_pid.load(Ordering::SeqCst);
    if pid <= 0 {
        return;
    }
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(pid, libc::SIGINT) };
    let shared = shared.clone();
    let cells_before = shared.fences.load(Ordering::SeqCst);
    std::thread::spawn(move || {
        std::thread::sleep(INTERRUPT_GRACE);
        let still_same_cell = shared.running.load(Ordering::SeqCst)
            && shared.fences.load(Ordering::SeqCst) == cells_before
            && shared.child_pid.load(Ordering::SeqCst) == pid;
        if still_same_cell {
            // SAFETY: as above; the cell ignored SIGINT (synchronous code).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    });
}

/// How long an interrupted cell may take to reach an `.await` before its
/// process is killed.
const INTERRUPT_GRACE: Duration = Duration::from_millis(1500);
