//! One kernel's session: its folder, what it declares before the first
//! cell, the standard library's sources for rust-analyzer, and each cell's
//! code kept for the cell library.

pub(crate) mod cell_sources;
pub mod folder;
pub(crate) mod setup;
pub(crate) mod std_sources;
