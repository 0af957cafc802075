//! Building and linking a cell: the kernel runs as cargo's `RUSTC_WRAPPER`
//! and as the `cargo` evcxr starts, compiles each cell crate against the one
//! prebuilt cell library, and keeps the session's dependency builds.

pub mod cargo;
pub mod compile;
mod crate_identity;
pub(crate) mod generated;
pub(crate) mod item_carriers;
pub mod library;
mod library_crates;
pub mod library_install;
mod library_lock;
pub mod link;
mod rustc_command;
pub(crate) mod saved_builds;
