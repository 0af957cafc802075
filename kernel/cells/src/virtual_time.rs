//! Virtual time for demonstrations: "ten minutes" of waiting in milliseconds,
//! with exact, reproducible timestamps.

use std::future::Future;

/// Runs `future` to completion on a fresh current-thread runtime whose clock
/// starts paused: whenever every task waits on a timer, tokio jumps the clock
/// to the next deadline instead of sleeping. `tokio::time::Instant` and
/// `sleep` inside see virtual time; the call returns as soon as the work is
/// done. It runs on a helper thread, so it can be called from any cell.
pub fn run<F>(future: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    // Tasks spawned there belong to the cell that called.
    let future = crate::running_cell::as_cell(crate::running_cell::current_cell(), future);
    std::thread::spawn(move || {
        crate::timeline::auto::on_virtual_time();
        crate::tasks::follow::build(
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true),
        )
        .expect("a current-thread runtime")
        .block_on(future)
    })
    .join()
    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
