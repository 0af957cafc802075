//! The cell's text made ready for evcxr: the kernel's own `:` commands
//! expanded, then rewrites of what a program means and a cell alone would
//! not (see `prepare` for the order).

pub(crate) mod commands;
pub mod completeness;
pub(crate) mod impls;
pub(crate) mod pinned;
pub(crate) mod statics;
pub(crate) mod syntax;
pub(crate) mod tokio_main;
