//! Every task of the shared runtime, as `:tasks` lists it.
//!
//! The runtime's task hooks keep a registry of the live tasks (see
//! `registry`): however a task was spawned (`tokio::spawn`, a `JoinSet`,
//! `tokio::task::Builder` with a name, [`spawn_named`]) it is listed with
//! the cell and line that spawned it, its age, polls and time spent running.
//! Tasks the hooks do not see (on a `LocalSet`, and `spawn_blocking`'s) are
//! known from the tracing span tokio opens for each (`spans`).

mod clock;
pub(crate) mod follow;
pub(crate) mod hooks;
pub(crate) mod lanes;
mod list;
pub(crate) mod named;
pub(crate) mod origin;
mod polls;
pub(crate) mod registry;
pub mod source;
pub(crate) mod spans;
#[cfg(test)]
mod tests;
pub(crate) mod view;

pub use follow::Follow;
pub use list::{live, take_panicked, TaskInfo, TaskState};
pub use named::spawn_named;
pub use origin::TaskKind;
pub use source::Site;
pub use view::{human, show, watch, RuntimeFacts, WorkerFacts};
