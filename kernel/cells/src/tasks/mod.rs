//! Every task of the shared runtime, as `:tasks` lists it.
//!
//! The runtime's task hooks keep a registry of the live tasks (see
//! `registry`): however a task was spawned (`tokio::spawn`, a `JoinSet`,
//! `tokio::task::Builder` with a name, [`spawn_named`]) it is listed with
//! the cell and line that spawned it, its age, polls and time spent running.

use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

mod names;
pub(crate) mod registry;
pub mod source;
mod view;

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

/// One task as `:tasks` shows it.
#[derive(Clone, Debug)]
pub struct TaskInfo {
    /// Tokio's task id.
    pub id: String,
    pub name: Option<String>,
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

/// A task's registry entry, copied out so that its site is worked out (from
/// files) after the registry's lock is given back.
pub(crate) struct Snapshot {
    id: tokio::task::Id,
    cell: Option<u64>,
    spawned_at: &'static std::panic::Location<'static>,
    parent: Option<tokio::task::Id>,
    name: Option<String>,
    spawned: Instant,
    polls: u64,
    busy: Duration,
    /// See `registry::Task::polling_since`.
    polling_since: u64,
    panicked: bool,
}

impl Snapshot {
    pub(crate) fn of(id: tokio::task::Id, task: &registry::Task) -> Self {
        Self {
            id,
            cell: task.cell,
            spawned_at: task.spawned_at,
            parent: task.parent,
            name: task.name.as_deref().map(str::to_owned),
            spawned: task.spawned,
            polls: task.polls.load(Ordering::Relaxed),
            busy: Duration::from_nanos(task.busy_ns.load(Ordering::Relaxed)),
            polling_since: task.polling_since.load(Ordering::Relaxed),
            panicked: task.panicked.load(Ordering::Relaxed),
        }
    }

    fn info(self, now: Instant) -> TaskInfo {
        let running = (self.polling_since != 0).then(|| {
            Duration::from_nanos(registry::since_epoch(now).saturating_sub(self.polling_since))
        });
        let state = match (self.panicked, running, self.polls) {
            (true, _, _) => TaskState::Panicked,
            (false, Some(_), _) => TaskState::Running,
            (false, None, 0) => TaskState::Scheduled,
            (false, None, _) => TaskState::Idle,
        };
        TaskInfo {
            id: self.id.to_string(),
            name: self.name,
            cell: self.cell,
            site: source::site(self.cell, self.spawned_at),
            parent: self.parent.map(|parent| parent.to_string()),
            state,
            age: now.saturating_duration_since(self.spawned),
            polls: self.polls,
            busy: self.busy + running.unwrap_or_default(),
        }
    }
}

/// The live tasks (the kernel's own left out), oldest first.
pub fn live() -> Vec<TaskInfo> {
    let mut found = Vec::new();
    registry::each(|id, task| found.push(Snapshot::of(id, task)));
    found.sort_by_key(|task| task.spawned);
    let now = Instant::now();
    found.into_iter().map(|task| task.info(now)).collect()
}

/// Tasks that ended by a panic, with the time they ended.
static PANICKED: Mutex<Vec<(Snapshot, Instant)>> = Mutex::new(Vec::new());

/// A task ended by a panic: the next `:tasks` says so.
pub(crate) fn panicked(task: Snapshot) {
    PANICKED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push((task, Instant::now()));
}

/// The tasks that panicked since the last call.
pub fn take_panicked() -> Vec<TaskInfo> {
    let ended = std::mem::take(&mut *PANICKED.lock().unwrap_or_else(|p| p.into_inner()));
    ended.into_iter().map(|(task, at)| task.info(at)).collect()
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
