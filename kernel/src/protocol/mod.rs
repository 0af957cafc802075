//! The Jupyter side of the kernel: `transport` holds the sockets and
//! signing, `session` the message loop and session state.

mod session;
mod transport;

pub use session::{connection_info, run};
