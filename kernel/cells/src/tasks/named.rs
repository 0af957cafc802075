//! Spawning a task under a name.

use std::future::Future;

use tokio::task::JoinHandle;

/// `tokio::spawn` under a name that `:tasks` and timelines show: what
/// `tokio::task::Builder::new().name(name).spawn(future)` does.
#[track_caller]
pub fn spawn_named<F>(name: impl Into<String>, future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let name = name.into();
    tokio::task::Builder::new()
        .name(&name)
        .spawn(future)
        .expect("spawning a task on the current runtime")
}
