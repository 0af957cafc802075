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
mod kernel_io;
mod lock;
mod running_cell;
pub mod runtime;
#[doc(hidden)]
pub mod statics;
pub mod tasks;
pub mod timeline;
#[doc(hidden)]
pub mod variables;
pub mod virtual_time;
pub mod waits;

pub use tasks::spawn_named;
pub use timeline::Timeline;
pub use waits::{where_now, Where};

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
