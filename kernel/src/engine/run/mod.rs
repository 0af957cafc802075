//! Running a cell and carrying its output: the engine thread that owns
//! evcxr, the cell process's relay of live output, and the frames on the
//! output socket between the two.

pub mod adopt;
pub(crate) mod cell_state;
pub(crate) mod frames;
pub(crate) mod output;
pub mod relay;
pub(crate) mod shared;
pub(crate) mod worker;
