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
#[doc(hidden)]
pub mod statics;
pub mod tasks;
pub mod timeline;
#[doc(hidden)]
pub mod variables;
pub mod virtual_time;

pub use tasks::spawn_named;
pub use timeline::Timeline;

#[doc(hidden)]
pub use runtime::CellRuntime as __CellRuntime;

/// `std::dbg!`, with the place told in the notebook's terms: `[3] line 2:
/// x = 5` for a line of cell 3, where std's would name the file rustc
/// compiled for the cell. The kernel makes cells use this one.
#[macro_export]
macro_rules! dbg {
    () => {
        ::std::eprintln!(
            "{}",
            $crate::tasks::source::debug_place(::std::file!(), ::std::line!(), ::std::column!())
                .trim_end_matches(':')
        )
    };
    ($value:expr $(,)?) => {
        match $value {
            value => {
                ::std::eprintln!(
                    "{} {} = {:#?}",
                    $crate::tasks::source::debug_place(::std::file!(), ::std::line!(), ::std::column!()),
                    ::std::stringify!($value),
                    &value,
                );
                value
            }
        }
    };
    ($($value:expr),+ $(,)?) => {
        ($($crate::dbg!($value)),+,)
    };
}

/// Set by the kernel in the environment of the process that runs cells
/// (the kernel's `engine::relay::SOCKET_ENV`). Without it the library serves
/// an ordinary program, such as one made by `asyncbook export`: displays are
/// printed as text and input is read from stdin.
const KERNEL_ENV: &str = "ASYNCBOOK_OUTPUT_SOCKET";

/// Whether a kernel reads this process's output.
pub(crate) fn in_kernel() -> bool {
    static IN_KERNEL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *IN_KERNEL.get_or_init(|| std::env::var_os(KERNEL_ENV).is_some())
}

/// Locks `mutex`, also after a panic while it was held: the library's
/// tables stay usable when a hook or a display panicked midway.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Prints `text` as a line of the program's stdout, outside a kernel.
pub(crate) fn print_line(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// Writes one line of the cell process's protocol with the kernel (a display,
/// an input request, a panic report ...) to stdout, whole and flushed, so
/// the kernel's relay sees it in order with the cell's own output.
pub(crate) fn tell_kernel(line: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
