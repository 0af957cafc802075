//! The Jupyter side of the kernel. `transport` holds the sockets and signing
//! and is the only part that touches them; `wire` carries typed messages
//! between it and `session`, the message loop, which asks an `interpreter`
//! to run cells. `iopub`, `control` and `history` serve the session;
//! `lifecycle` starts and ends a kernel.

mod control;
mod history;
mod interpreter;
mod iopub;
mod lifecycle;
mod replies;
mod session;
#[cfg(test)]
mod tests;
mod transport;
mod wire;

pub use control::Exit;
pub(crate) use lifecycle::parent_gone;
pub use lifecycle::{bind, connection_info, run, serve_started, Started};
pub use transport::Sockets;
