//! The live tasks as `:tasks` lists them, and those that ended by a panic.

use std::time::Duration;

use super::clock;
use super::origin::TaskKind;
use super::registry::{self, Snapshot};
use super::source::{self, Site};

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
    /// How long the poll under way has lasted, while it is polled.
    pub polled_for: Option<Duration>,
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
        polled_for: running.map(clock::duration),
    }
}

/// The live tasks (the kernel's own left out), oldest first.
pub fn live() -> Vec<TaskInfo> {
    let mut found = registry::snapshots();
    found.sort_by_key(|task| task.spawned);
    let now = clock::now();
    found.into_iter().map(|task| info(task, now)).collect()
}

/// The tasks that panicked since the last call.
pub fn take_panicked() -> Vec<TaskInfo> {
    registry::take_panicked()
        .into_iter()
        .map(|(task, at)| info(task, at))
        .collect()
}
