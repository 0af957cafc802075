//! The library linked by every Asyncbook cell.
//!
//! The kernel builds this crate once as a Rust `dylib` and links each cell
//! against it, so the whole session holds exactly one copy of tokio, of
//! futures and of their statics: a `JoinHandle`, a channel or a timer made in
//! one cell works in every later cell, on the one shared runtime.

pub use futures;
pub use tokio;

pub mod display;
pub mod input;
pub mod runtime;
pub mod tasks;
pub mod timeline;
#[doc(hidden)]
pub mod variables;
pub mod virtual_time;

pub use tasks::spawn_named;
pub use timeline::Timeline;

#[doc(hidden)]
pub use runtime::CellRuntime as __CellRuntime;

/// Writes one line of the cell process's protocol with the kernel (a display,
/// an input request, a panic report ...) to stdout, whole and flushed, so
/// the kernel's relay sees it in order with the cell's own output.
pub(crate) fn tell_kernel(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
