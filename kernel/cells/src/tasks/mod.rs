//! Every task of the shared runtime, as `:tasks` lists it.
//!
//! The runtime's task hooks keep a registry of the live tasks (see
//! `registry`): however a task was spawned (`tokio::spawn`, a `JoinSet`,
//! `tokio::task::Builder` with a name, [`spawn_named`]) it is listed with
//! the cell and line that spawned it, its age, polls and time spent running.
//! Tasks the hooks do not see (on a `LocalSet`, and `spawn_blocking`'s) are
//! known from the tracing span tokio opens for each (`spans`).

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::task::JoinHandle;

mod clock;
mod polls;
pub(crate) mod registry;
pub mod source;
pub(crate) mod spans;
mod view;

use registry::Snapshot;

pub use registry::Follow;
pub use source::Site;
pub use view::{human, show, watch, RuntimeFacts, WorkerFacts};

/// What a live task is doing, as far as the hooks can tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskState {
    /// Spawned, not polled yet.
    Scheduled,
    /// Being polled by a worker right now.
    Running,
    /// Returned `Pending` from its last poll: waiting for a wake-up (or
    /// woken and queued again: the hooks do not see wake-ups).
    Idle,
    /// Ended by a panic (listed once, by the next `:tasks`).
    Panicked,
}

impl TaskState {
    pub fn label(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Running => "running",
            Self::Idle => "idle",
            Self::Panicked => "panicked",
        }
    }
}

/// How a task runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskKind {
    /// A future on the runtime's workers (`tokio::spawn` and the like).
    Async,
    /// A future on a `LocalSet` (`spawn_local`), polled where the set runs.
    Local,
    /// A closure of `spawn_blocking`, on a thread of the blocking pool: it
    /// runs in one go, its one "poll".
    Blocking,
}

impl TaskKind {
    /// How `:tasks` marks it (nothing for the common kind).
    pub fn label(self) -> Option<&'static str> {
        match self {
            Self::Async => None,
            Self::Local => Some("local"),
            Self::Blocking => Some("blocking"),
        }
    }
}

/// One task as `:tasks` shows it.
#[derive(Clone, Debug)]
pub struct TaskInfo {
    /// Tokio's task id.
    pub id: String,
    pub name: Option<String>,
    pub kind: TaskKind,
    /// The cell whose code spawned it, or whose task did.
    pub cell: Option<u64>,
    pub site: Site,
    /// The id of the task that spawned it.
    pub parent: Option<String>,
    pub state: TaskState,
    /// Time since it was spawned (or how long it lived, once it ended).
    pub age: Duration,
    pub polls: u64,
    /// Time spent being polled.
    pub busy: Duration,
}

impl TaskInfo {
    /// Time alive and not being polled.
    pub fn waiting(&self) -> Duration {
        self.age.saturating_sub(self.busy)
    }
}

/// What `task` looks like at `now` (ticks).
fn info(task: Snapshot, now: u64) -> TaskInfo {
    let running = (task.polling_since != 0).then(|| now.saturating_sub(task.polling_since));
    let state = match (task.panicked(), running, task.polls) {
        (true, _, _) => TaskState::Panicked,
        (false, Some(_), _) => TaskState::Running,
        (false, None, 0) => TaskState::Scheduled,
        (false, None, _) => TaskState::Idle,
    };
    TaskInfo {
        id: task.id.to_string(),
        kind: task.kind(),
        name: task.name,
        cell: task.cell,
        site: source::site(task.cell, task.spawned_at),
        parent: task.parent.map(|parent| parent.to_string()),
        state,
        age: clock::duration(now.saturating_sub(task.spawned)),
        polls: task.polls,
        busy: clock::duration(task.busy + running.unwrap_or_default()),
    }
}

/// The live tasks (the kernel's own left out), oldest first.
pub fn live() -> Vec<TaskInfo> {
    let mut found = registry::snapshots();
    found.sort_by_key(|task| task.spawned);
    let now = clock::now();
    found.into_iter().map(|task| info(task, now)).collect()
}

/// Tasks that ended by a panic, with the time they ended.
static PANICKED: Mutex<Vec<(Snapshot, u64)>> = Mutex::new(Vec::new());

/// A task ended by a panic: the next `:tasks` says so.
pub(crate) fn panicked(task: Snapshot) {
    crate::mutex::lock(&PANICKED).push((task, clock::now()));
}

/// The tasks that panicked since the last call.
pub fn take_panicked() -> Vec<TaskInfo> {
    let ended = std::mem::take(&mut *crate::mutex::lock(&PANICKED));
    ended.into_iter().map(|(task, at)| info(task, at)).collect()
}

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
