//! Named tasks and the `:tasks` view of the shared runtime.
//!
//! Tokio cannot list its tasks on a stable build, so the cell library keeps
//! its own registry of the tasks spawned through [`spawn_named`] (and
//! `Timeline::spawn`): their name, the cell that spawned them, when, and
//! whether they are being polled. Other tasks are only counted, through the
//! runtime's `num_alive_tasks` metric.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;

mod view;
pub use view::{human, show, RuntimeFacts, WorkerFacts};

use crate::runtime;

/// What a named task is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskState {
    /// Spawned, not polled yet.
    Scheduled,
    /// Being polled by a worker right now.
    Running,
    /// Returned `Pending`: waiting for a wake-up.
    Idle,
    /// Returned its value.
    Finished,
    /// Dropped before finishing (aborted, or its runtime shut down).
    Cancelled,
}

impl TaskState {
    fn from_u8(value: u8) -> Self {
        match value {
            0 => Self::Scheduled,
            1 => Self::Running,
            2 => Self::Idle,
            3 => Self::Finished,
            _ => Self::Cancelled,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Running => "running",
            Self::Idle => "idle",
            Self::Finished => "finished",
            Self::Cancelled => "cancelled",
        }
    }
}

/// One named task as the registry sees it.
#[derive(Clone, Debug)]
pub struct TaskInfo {
    pub id: u64,
    pub name: String,
    /// The cell that spawned it, when it was spawned from cell code.
    pub cell: Option<u64>,
    pub state: TaskState,
    /// Time since it was spawned, or how long it lived once it ended.
    pub age: Duration,
    pub polls: u64,
}

struct Entry {
    id: u64,
    name: String,
    cell: Option<u64>,
    spawned: Instant,
    state: AtomicU8,
    polls: AtomicU64,
}

impl Entry {
    fn info(&self, age: Duration) -> TaskInfo {
        TaskInfo {
            id: self.id,
            name: self.name.clone(),
            cell: self.cell,
            state: TaskState::from_u8(self.state.load(Ordering::Relaxed)),
            age,
            polls: self.polls.load(Ordering::Relaxed),
        }
    }
}

/// How many ended tasks `:tasks` still lists.
const RECENTLY_ENDED: usize = 8;

#[derive(Default)]
struct Registry {
    alive: BTreeMap<u64, Arc<Entry>>,
    ended: VecDeque<TaskInfo>,
    ended_total: u64,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    alive: BTreeMap::new(),
    ended: VecDeque::new(),
    ended_total: 0,
});
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn registry() -> MutexGuard<'static, Registry> {
    REGISTRY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `tokio::spawn` under a name that `:tasks` shows, with the cell it came from.
pub fn spawn_named<F>(name: impl Into<String>, future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(Named::new(name.into(), future))
}

/// A future that keeps its registry entry up to date.
struct Named<F> {
    entry: Arc<Entry>,
    future: Pin<Box<F>>,
}

impl<F: Future> Named<F> {
    fn new(name: String, future: F) -> Self {
        let entry = Arc::new(Entry {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            name,
            cell: runtime::current_cell(),
            spawned: Instant::now(),
            state: AtomicU8::new(TaskState::Scheduled as u8),
            polls: AtomicU64::new(0),
        });
        registry().alive.insert(entry.id, entry.clone());
        Self {
            entry,
            future: Box::pin(future),
        }
    }
}

impl<F: Future> Future for Named<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let entry = self.entry.clone();
        entry
            .state
            .store(TaskState::Running as u8, Ordering::Relaxed);
        entry.polls.fetch_add(1, Ordering::Relaxed);
        // Tasks this one spawns belong to the same cell.
        let poll = runtime::as_cell(entry.cell, || self.future.as_mut().poll(cx));
        let state = match poll {
            Poll::Ready(_) => TaskState::Finished,
            Poll::Pending => TaskState::Idle,
        };
        entry.state.store(state as u8, Ordering::Relaxed);
        poll
    }
}

impl<F> Drop for Named<F> {
    fn drop(&mut self) {
        let _ = self.entry.state.compare_exchange(
            TaskState::Scheduled as u8,
            TaskState::Cancelled as u8,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        let _ = self.entry.state.compare_exchange(
            TaskState::Idle as u8,
            TaskState::Cancelled as u8,
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        let mut registry = registry();
        registry.alive.remove(&self.entry.id);
        registry
            .ended
            .push_front(self.entry.info(self.entry.spawned.elapsed()));
        registry.ended.truncate(RECENTLY_ENDED);
        registry.ended_total += 1;
    }
}

/// The named tasks alive now, oldest first, and the most recently ended ones.
pub fn named_tasks() -> (Vec<TaskInfo>, Vec<TaskInfo>) {
    let registry = registry();
    let now = Instant::now();
    let alive = registry
        .alive
        .values()
        .map(|entry| entry.info(now.saturating_duration_since(entry.spawned)))
        .collect();
    (alive, registry.ended.iter().cloned().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(tasks: &[TaskInfo], name: &str) -> Option<TaskInfo> {
        tasks.iter().find(|t| t.name == name).cloned()
    }

    #[tokio::test]
    async fn registry_follows_a_named_task_from_spawn_to_end() {
        let (release, wait) = tokio::sync::oneshot::channel::<()>();
        let handle = runtime::as_cell(Some(7), || {
            spawn_named("registry-test waiter", async move {
                let _ = wait.await;
                42
            })
        });
        tokio::task::yield_now().await;
        let (alive, _) = named_tasks();
        let waiter = find(&alive, "registry-test waiter").expect("listed while alive");
        assert_eq!(waiter.cell, Some(7));
        assert_eq!(waiter.state, TaskState::Idle);
        assert!(waiter.polls >= 1);

        release.send(()).unwrap();
        assert_eq!(handle.await.unwrap(), 42);
        let (alive, ended) = named_tasks();
        assert!(find(&alive, "registry-test waiter").is_none());
        let ended = find(&ended, "registry-test waiter").expect("listed as ended");
        assert_eq!(ended.state, TaskState::Finished);
    }

    #[tokio::test]
    async fn aborted_task_is_reported_cancelled() {
        let handle = spawn_named("registry-test aborted", std::future::pending::<()>());
        tokio::task::yield_now().await;
        handle.abort();
        assert!(handle.await.unwrap_err().is_cancelled());
        let (_, ended) = named_tasks();
        let aborted = find(&ended, "registry-test aborted").expect("listed as ended");
        assert_eq!(aborted.state, TaskState::Cancelled);
    }
}
