//! What `:where` found: each live task and where it waits.

use std::time::Duration;

use super::frames::Node;
use crate::tasks::{TaskInfo, TaskKind, TaskState};

/// How long `:where` waits for the runtime's workers to pause.
pub const LIMIT: Duration = Duration::from_secs(1);

/// A task in one poll this long holds its worker: tokio's workers give up
/// waiting for each other after 250 ms, and a dump asked for then may
/// leave a worker waiting for the next one, so none is asked for.
pub const HELD: Duration = Duration::from_millis(250);

/// Where one task was found.
#[derive(Clone, Debug)]
pub enum Wait {
    /// Parked: its await chains, outermost first (more than one root or a
    /// branch where it awaits several futures at once).
    Parked(Vec<Node>),
    /// Not traced: being polled, or queued to be, when the dump was taken.
    Running,
    /// The task that asked (`where_now` in a task): it waits for the dump
    /// with its worker handed over, so it holds none.
    Asking,
    /// A `spawn_blocking` closure: it runs on a thread and awaits nothing.
    Blocking,
    /// On a `LocalSet`, which tokio's dumps do not reach.
    Local,
    /// The dump did not come (see [`Where::timed_out`]).
    Unknown,
}

/// One task and where it waits.
#[derive(Clone, Debug)]
pub struct TaskWait {
    /// As `:tasks` lists it; `None` for a task the hooks do not follow.
    pub task: Option<TaskInfo>,
    pub id: String,
    pub wait: Wait,
}

/// Every live task and where it waits: shown as a tree per task (HTML) or
/// as text; `println!("{}", ..)` prints the text.
#[derive(Clone, Debug)]
pub struct Where {
    pub tasks: Vec<TaskWait>,
    /// No dump: none was asked for (a worker is held by synchronous code),
    /// or it did not come within a second.
    pub timed_out: bool,
    /// tokio offers no task dumps on this platform.
    pub unsupported: bool,
}

impl Where {
    /// The tasks being polled when the dump was given up, longest first:
    /// those that hold a worker.
    pub fn holding_workers(&self) -> Vec<&TaskInfo> {
        let mut running: Vec<&TaskInfo> = self
            .tasks
            .iter()
            .filter(|task| !matches!(task.wait, Wait::Asking))
            .filter_map(|task| task.task.as_ref())
            .filter(|task| task.state == TaskState::Running && task.kind == TaskKind::Async)
            .collect();
        running.sort_by_key(|task| std::cmp::Reverse(task.busy));
        running
    }
}
