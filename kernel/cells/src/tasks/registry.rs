//! Every live task of the runtimes the cell library builds, kept up to date
//! by tokio's task hooks (an unstable tokio API: the library is built with
//! `--cfg tokio_unstable`).
//!
//! The hooks run on every spawn, poll and end of every task, so the work in
//! them is small: a task's entry sits in one of [`SHARDS`] maps chosen by its
//! id, and its poll figures are atomics. Each thread keeps the entry of the
//! task it polled last, so polling one task again and again (a loop of
//! `yield_now`) takes no lock and allocates nothing. Only a task spawned
//! while a timeline records has a lane, locked at each of its polls. A
//! task's entry goes when the task ends.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;

use tokio::runtime::TaskMeta;
use tokio::task::Id;

use crate::runtime;
use crate::timeline::Lane;

/// Enough shards that workers polling different tasks rarely meet on a lock.
const SHARDS: usize = 64;

/// One live task.
pub(crate) struct Task {
    /// The cell whose code spawned it, or whose task did.
    pub cell: Option<u64>,
    pub spawned_at: &'static Location<'static>,
    /// The task that spawned it, if a task did.
    pub parent: Option<Id>,
    pub name: Option<Box<str>>,
    pub spawned: Instant,
    pub polls: AtomicU64,
    /// Nanoseconds spent inside `poll`, the current poll excluded.
    pub busy_ns: AtomicU64,
    /// When the poll under way started ([`since_epoch`]), 0 between polls.
    pub polling_since: AtomicU64,
    /// The kernel's own tasks (the interrupt listener) are not listed.
    pub kernel: bool,
    pub panicked: AtomicBool,
    /// Where a recording timeline draws it.
    pub lane: Option<Mutex<Lane>>,
}

/// Nanoseconds since the registry's first use: poll times fit an atomic.
pub(crate) fn since_epoch(at: Instant) -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let epoch = *EPOCH.get_or_init(Instant::now);
    // Never 0, which means "not polling".
    at.saturating_duration_since(epoch).as_nanos() as u64 | 1
}

/// Tokio's task ids count up from one: multiplying spreads them over the
/// shards and the buckets of each map (the top bits pick the shard).
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.write_u64(u64::from(*byte) ^ self.0.rotate_left(8));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type Shard = HashMap<Id, Arc<Task>, BuildHasherDefault<IdHasher>>;

static TASKS: [Mutex<Shard>; SHARDS] =
    [const { Mutex::new(HashMap::with_hasher(BuildHasherDefault::new())) }; SHARDS];

/// Set while a timeline records the tasks it sees spawned.
static RECORDING: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Set while the kernel spawns its own tasks on this thread.
    static KERNEL_SPAWN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// A name from `tokio::task::Builder`, between the spawn's tracing span
    /// (see `names`) and its spawn hook, on the spawning thread.
    static PENDING_NAME: std::cell::RefCell<Option<(String, Box<str>)>> =
        const { std::cell::RefCell::new(None) };
    /// The task this thread polled last.
    static LAST_POLLED: std::cell::RefCell<Option<(Id, Arc<Task>)>> =
        const { std::cell::RefCell::new(None) };
}

fn shard(id: Id) -> MutexGuard<'static, Shard> {
    let mut hasher = IdHasher::default();
    id.hash(&mut hasher);
    let index = (hasher.finish() >> (64 - SHARDS.trailing_zeros())) as usize;
    TASKS[index]
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Set to `off` in the kernel's environment, runtimes get no task hooks
/// (`:tasks` then lists nothing): the baseline `make bench` measures the
/// hooks' cost against.
pub const HOOKS_ENV: &str = "ASYNCBOOK_TASK_HOOKS";

/// A runtime builder with the registry's hooks installed.
pub(crate) fn hooked(builder: &mut tokio::runtime::Builder) -> &mut tokio::runtime::Builder {
    if std::env::var_os(HOOKS_ENV).is_some_and(|v| v == "off") {
        return builder;
    }
    crate::tasks::names::install();
    builder
        .on_task_spawn(spawned)
        .on_before_task_poll(before_poll)
        .on_after_task_poll(after_poll)
        .on_task_terminate(terminated)
}

/// Runs `f` with the tasks it spawns marked as the kernel's own.
pub(crate) fn as_kernel<R>(f: impl FnOnce() -> R) -> R {
    KERNEL_SPAWN.with(|flag| flag.set(true));
    let result = f();
    KERNEL_SPAWN.with(|flag| flag.set(false));
    result
}

/// The next task spawned on this thread with tokio id `id` is called `name`.
pub(crate) fn name_next(id: String, name: Box<str>) {
    PENDING_NAME.with(|pending| *pending.borrow_mut() = Some((id, name)));
}

fn spawned(meta: &TaskMeta<'_>) {
    let id = meta.id();
    let parent = tokio::task::try_id();
    let cell = runtime::current_cell()
        .or_else(|| parent.and_then(|parent| shard(parent).get(&parent).and_then(|t| t.cell)));
    let name = PENDING_NAME.with(|pending| {
        let mut pending = pending.borrow_mut();
        let named = pending
            .as_ref()
            .is_some_and(|(for_id, _)| *for_id == id.to_string());
        named
            .then(|| pending.take().map(|(_, name)| name))
            .flatten()
    });
    let kernel = KERNEL_SPAWN.with(|flag| flag.get());
    let lane = if RECORDING.load(Ordering::Relaxed) && !kernel {
        crate::timeline::auto::lane_for(name.as_deref(), cell, meta.spawned_at())
    } else {
        None
    };
    let task = Task {
        cell,
        spawned_at: meta.spawned_at(),
        parent,
        name,
        spawned: Instant::now(),
        polls: AtomicU64::new(0),
        busy_ns: AtomicU64::new(0),
        polling_since: AtomicU64::new(0),
        kernel,
        panicked: AtomicBool::new(false),
        lane: lane.map(Mutex::new),
    };
    shard(id).insert(id, Arc::new(task));
}

/// Calls `f` with the entry of task `id`, from this thread's last one if it is.
fn with_task(id: Id, f: impl FnOnce(&Task)) {
    LAST_POLLED.with(|last| {
        let mut last = last.borrow_mut();
        if last.as_ref().is_none_or(|(last_id, _)| *last_id != id) {
            *last = shard(id).get(&id).map(|task| (id, task.clone()));
        }
        if let Some((_, task)) = last.as_ref() {
            f(task);
        }
    });
}

fn lane(task: &Task) -> Option<MutexGuard<'_, Lane>> {
    let lane = task.lane.as_ref()?;
    Some(lane.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
}

fn before_poll(meta: &TaskMeta<'_>) {
    with_task(meta.id(), |task| {
        let now = since_epoch(Instant::now());
        task.polling_since.store(now, Ordering::Relaxed);
        if let Some(mut lane) = lane(task) {
            lane.poll_starts();
        }
    });
}

/// Counts the poll that started at `polling_since`, if one did.
fn poll_ended(task: &Task) {
    let since = task.polling_since.swap(0, Ordering::Relaxed);
    if since != 0 {
        let ran = since_epoch(Instant::now()).saturating_sub(since);
        task.busy_ns.fetch_add(ran, Ordering::Relaxed);
        task.polls.fetch_add(1, Ordering::Relaxed);
    }
}

fn after_poll(meta: &TaskMeta<'_>) {
    with_task(meta.id(), |task| {
        poll_ended(task);
        if let Some(mut lane) = lane(task) {
            lane.poll_ends();
        }
    });
}

fn terminated(meta: &TaskMeta<'_>) {
    let id = meta.id();
    LAST_POLLED.with(|last| {
        let mut last = last.borrow_mut();
        if last.as_ref().is_some_and(|(last_id, _)| *last_id == id) {
            *last = None;
        }
    });
    let Some(task) = shard(id).remove(&id) else {
        return;
    };
    // A poll that panicked ran no after-poll hook.
    poll_ended(&task);
    let panicked = task.panicked.load(Ordering::Relaxed);
    if let Some(lane) = lane(&task) {
        lane.ended(panicked);
    }
    if panicked {
        crate::tasks::panicked(crate::tasks::Snapshot::of(id, &task));
    }
}

/// The task running on this thread panicked (called from the panic hook).
pub(crate) fn note_panic() {
    if let Some(id) = tokio::task::try_id() {
        if let Some(task) = shard(id).get(&id) {
            task.panicked.store(true, Ordering::Relaxed);
        }
    }
}

/// Switches the recording of newly spawned tasks on or off.
pub(crate) fn record(on: bool) {
    RECORDING.store(on, Ordering::Relaxed);
}

/// Calls `f` on every live task but the kernel's.
pub(crate) fn each(mut f: impl FnMut(Id, &Task)) {
    for shard in &TASKS {
        let shard = shard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (id, task) in shard.iter().filter(|(_, task)| !task.kernel) {
            f(*id, task);
        }
    }
}

/// How many tasks the registry holds, the kernel's included.
#[cfg(test)]
pub(crate) fn len() -> usize {
    TASKS
        .iter()
        .map(|shard| shard.lock().map_or(0, |shard| shard.len()))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(name: &str) -> Option<crate::tasks::TaskInfo> {
        crate::tasks::live()
            .into_iter()
            .find(|task| task.name.as_deref() == Some(name))
    }

    // The one test of this crate on a hooked runtime: the registry is the
    // process's, and its count must be this test's alone.
    #[test]
    fn tasks_are_listed_while_alive_and_a_million_leave_nothing_behind() {
        let runtime = hooked(&mut tokio::runtime::Builder::new_multi_thread())
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let (release, wait) = tokio::sync::oneshot::channel::<()>();
            let waiter = tokio::task::Builder::new()
                .name("registry waiter")
                .spawn(async move {
                    let child = tokio::spawn(std::future::pending::<()>());
                    let _ = wait.await;
                    child.abort();
                })
                .unwrap();
            tokio::task::yield_now().await;
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            let listed = find("registry waiter").expect("a named task is listed by name");
            assert!(listed.polls >= 1, "{listed:?}");
            let child = crate::tasks::live()
                .into_iter()
                .find(|task| task.parent.as_deref() == Some(listed.id.as_str()))
                .expect("the task it spawned is listed with its parent");
            assert_eq!(child.name, None);
            release.send(()).unwrap();
            waiter.await.unwrap();

            let mut set = tokio::task::JoinSet::new();
            for round in 0..100 {
                for _ in 0..10_000 {
                    set.spawn(async move { round });
                }
                while set.join_next().await.is_some() {}
            }
        });
        // Shutting down waits for every task's end, hooks included.
        drop(runtime);
        assert_eq!(len(), 0);
    }
}
