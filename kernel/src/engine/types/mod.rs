//! Types the engine learns or boxes so that a cell's variables can be kept:
//! types rustc tells where rust-analyzer cannot, values whose types have no
//! name, and variables a cell moved away.

pub(crate) mod borrows;
pub(crate) mod keep_variables;
pub(crate) mod moved;
pub(crate) mod short_names;
pub(crate) mod type_probe;
pub(crate) mod unnameable;
