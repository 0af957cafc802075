//! Every live task of the runtimes the cell library builds, kept up to date
//! by tokio's task hooks (an unstable tokio API: the library is built with
//! `--cfg tokio_unstable`).
//!
//! The hooks run on every spawn, poll and end of every task, so they take
//! no lock and allocate nothing in the common case. Tokio numbers tasks
//! from one upwards, so a task's entry is a cache line in a ring indexed by
//! its id: tasks spawned one after another write neighbouring lines. A task
//! whose line is still held by a task [`SLOTS`] ids older goes to a locked
//! map instead. A line is written at the spawn and the end of its task;
//! polls only read it, and count in the polling thread's own table
//! (`polls`). What only some tasks have (a name from
//! `tokio::task::Builder`, a timeline lane while a timeline records) sits
//! in a locked side map, looked up only for tasks flagged as having it. A
//! task's entry goes when the task ends.

use crate::mutex::lock;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::panic::Location;
use std::ptr;
use std::sync::atomic::{fence, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::runtime::TaskMeta;
use tokio::task::Id;

use super::lanes::{self, TaskLane};
use super::origin::{SpanPlace, SpawnedAt, TaskKind};
use super::{clock, polls};

/// Lines in the ring: live tasks whose ids lie further apart than this
/// share a line, and the younger one goes to [`OVERFLOW`]. 4 MiB.
const SLOTS: usize = 1 << 16;

/// A slot's id while its task's spawn writes it.
const CLAIMED: u64 = u64::MAX;

/// Bits of [`Slot::cell`] above the cell number.
const KERNEL: u64 = 1 << 63;
const PANICKED: u64 = 1 << 62;
/// The task has an entry in [`EXTRAS`].
const EXTRA: u64 = 1 << 61;
/// Tasks the hooks do not see, known from their tracing span (`spans`): on
/// a `LocalSet`, and those of `spawn_blocking`.
const LOCAL: u64 = 1 << 60;
const BLOCKING: u64 = 1 << 59;
const CELL_BITS: u64 = BLOCKING - 1;

/// One live task, on a cache line of its own.
#[derive(Default)]
#[repr(align(64))]
struct Slot {
    /// The task's id, 0 when the slot is free, [`CLAIMED`] while written.
    id: AtomicU64,
    /// When it was spawned, in [`clock`] ticks.
    spawned: AtomicU64,
    /// Polls and busy ticks folded in from the threads' tables (`polls`).
    polls: AtomicU64,
    busy: AtomicU64,
    /// The cell whose code spawned it (or whose task did) plus one, 0 for
    /// none, with the flag bits above.
    cell: AtomicU64,
    /// The id of the task that spawned it, 0 if no task did.
    parent: AtomicU64,
    site: AtomicPtr<Location<'static>>,
}

/// What only some tasks have.
#[derive(Default)]
struct Extra {
    name: Option<Box<str>>,
    /// Where a recording timeline draws it.
    lane: Option<Mutex<Box<dyn TaskLane>>>,
    /// Where its tracing span says it was spawned (a task the hooks do not
    /// see; the others have theirs in [`Slot::site`]).
    place: Option<&'static SpanPlace>,
}

fn ring() -> &'static [Slot] {
    static RING: OnceLock<Box<[Slot]>> = OnceLock::new();
    RING.get_or_init(|| (0..SLOTS).map(|_| Slot::default()).collect())
}

static OVERFLOW: Mutex<BTreeMap<u64, Box<Slot>>> = Mutex::new(BTreeMap::new());

static EXTRAS: Mutex<BTreeMap<u64, Arc<Extra>>> = Mutex::new(BTreeMap::new());

/// Live tasks with a timeline lane: while there is none, polls look
/// nothing up.
static LANES: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Set while the kernel spawns its own tasks on this thread.
    static KERNEL_SPAWN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// A name from `tokio::task::Builder`, between the spawn's tracing span
    /// (see `spans`) and its spawn hook, on the spawning thread.
    static PENDING_NAME: std::cell::RefCell<Option<(u64, Box<str>)>> =
        const { std::cell::RefCell::new(None) };
}

/// Tokio's number for a task. `Id` shows it only through `Display` and
/// `Hash`; its `Hash` writes the number as one `u64` (a test fails if the
/// numbers it gives stop matching `Display`).
fn number(id: Id) -> u64 {
    #[derive(Default)]
    struct Number(u64);
    impl Hasher for Number {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, _: &[u8]) {}
        fn write_u64(&mut self, n: u64) {
            self.0 = n;
        }
    }
    let mut number = Number::default();
    id.hash(&mut number);
    number.finish()
}

/// The slot of task `id` in the ring.
fn home(id: u64) -> &'static Slot {
    &ring()[id as usize % SLOTS]
}

/// Calls `f` with the slot of live task `id`, if the registry has one.
fn with_slot<R>(id: u64, f: impl FnOnce(&Slot) -> R) -> Option<R> {
    let slot = home(id);
    if slot.id.load(Ordering::Acquire) == id {
        return Some(f(slot));
    }
    lock(&OVERFLOW).get(&id).map(|slot| f(slot))
}

/// Set in the kernel's environment, chooses what runtimes follow of their
/// tasks (see [`Follow`]).
pub const HOOKS_ENV: &str = "ASYNCBOOK_TASK_HOOKS";

/// What the runtimes follow of their tasks, from [`HOOKS_ENV`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Follow {
    /// Unset (or any other value): the runtime's hooks, and the tracing
    /// subscriber (`spans`) for names, blocking and `LocalSet` tasks.
    Everything,
    /// `no-names`: the hooks without the subscriber, for code that spawns a
    /// great many tiny tasks. The subscriber's share of a spawn is
    /// tracing's: each spawn span holds a reference to the subscriber, taken
    /// on the spawning thread and dropped on the worker that finishes the
    /// task, one cache line moving between cores at every task.
    NoNames,
    /// `off`: no task hooks (`:tasks` lists nothing), the baseline
    /// `make bench` measures the hooks' cost against.
    Off,
}

impl Follow {
    pub fn chosen() -> Follow {
        static CHOSEN: OnceLock<Follow> = OnceLock::new();
        *CHOSEN.get_or_init(|| match std::env::var_os(HOOKS_ENV) {
            Some(value) if value == "off" => Follow::Off,
            Some(value) if value == "no-names" => Follow::NoNames,
            _ => Follow::Everything,
        })
    }
}

/// Builds a runtime with the registry's hooks installed. Its own workers
/// (started as blocking tasks while it is built) are the kernel's.
pub(crate) fn build(
    builder: &mut tokio::runtime::Builder,
) -> std::io::Result<tokio::runtime::Runtime> {
    as_kernel(|| hooked(builder).build())
}

fn hooked(builder: &mut tokio::runtime::Builder) -> &mut tokio::runtime::Builder {
    let follow = Follow::chosen();
    if follow == Follow::Off {
        return builder;
    }
    if follow == Follow::Everything {
        // Names, and the tasks the hooks do not see, come through tracing,
        // on the threads where tasks are spawned.
        super::spans::start();
        builder.on_thread_start(super::spans::enter_thread);
    }
    clock::start();
    polls::set_fold(fold);
    ring();
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

/// Whether the next task spawned on this thread gets a timeline lane (a
/// timeline records, and the kernel is not the one spawning).
pub(crate) fn records_next_spawn() -> bool {
    lanes::recording() && !KERNEL_SPAWN.with(|flag| flag.get())
}

/// The next task spawned on this thread, numbered `id`, is called `name`.
pub(crate) fn name_next(id: u64, name: Box<str>) {
    PENDING_NAME.with(|pending| *pending.borrow_mut() = Some((id, name)));
}

fn spawned(meta: &TaskMeta<'_>) {
    let id = number(meta.id());
    let name = PENDING_NAME.with(|pending| {
        let mut pending = pending.borrow_mut();
        let named = pending.as_ref().is_some_and(|(for_id, _)| *for_id == id);
        named
            .then(|| pending.take().map(|(_, name)| name))
            .flatten()
    });
    register(id, SpawnedAt::Hook(meta.spawned_at()), name, 0);
}

/// Task `id`, which the hooks do not see, is being spawned on this thread
/// (told by its tracing span): it is listed from now until its span closes ([`end`]).
pub(crate) fn span_spawned(
    id: u64,
    kind: TaskKind,
    name: Option<Box<str>>,
    at: &'static SpanPlace,
) {
    let kind = match kind {
        TaskKind::Local => LOCAL,
        TaskKind::Blocking => BLOCKING,
        TaskKind::Async => 0,
    };
    register(id, SpawnedAt::Span(at), name, kind);
}

/// Enters task `id` in the registry, with the `kind` flag given.
fn register(id: u64, at: SpawnedAt, name: Option<Box<str>>, kind: u64) {
    let parent = tokio::task::try_id().map(number);
    let cell = crate::running_cell::current_cell().or_else(|| {
        let parent = parent?;
        let cell = with_slot(parent, |slot| slot.cell.load(Ordering::Relaxed) & CELL_BITS)?;
        cell.checked_sub(1)
    });
    let kernel = KERNEL_SPAWN.with(|flag| flag.get());
    // `records_next_spawn`, with the kernel's flag already read.
    let lane = if lanes::recording() && !kernel {
        lanes::lane_for(name.as_deref(), cell, at)
    } else {
        None
    };
    let mut flags = kind | if kernel { KERNEL } else { 0 };
    let (site, place) = match at {
        SpawnedAt::Hook(location) => (ptr::from_ref(location).cast_mut(), None),
        SpawnedAt::Span(place) => (ptr::null_mut(), Some(place)),
    };
    if name.is_some() || lane.is_some() || place.is_some() {
        flags |= EXTRA;
        if lane.is_some() {
            LANES.fetch_add(1, Ordering::Relaxed);
        }
        let extra = Extra {
            name,
            lane: lane.map(Mutex::new),
            place,
        };
        lock(&EXTRAS).insert(id, Arc::new(extra));
    }
    let fill = |slot: &Slot| {
        slot.spawned.store(clock::now(), Ordering::Relaxed);
        slot.polls.store(0, Ordering::Relaxed);
        slot.busy.store(0, Ordering::Relaxed);
        let cell = cell.map_or(0, |cell| cell + 1) & CELL_BITS;
        slot.cell.store(cell | flags, Ordering::Relaxed);
        slot.parent.store(parent.unwrap_or(0), Ordering::Relaxed);
        slot.site.store(site, Ordering::Relaxed);
    };
    let slot = home(id);
    if slot
        .id
        .compare_exchange(0, CLAIMED, Ordering::Acquire, Ordering::Relaxed)
        .is_ok()
    {
        fill(slot);
        slot.id.store(id, Ordering::Release);
    } else {
        let slot = Box::new(Slot::default());
        fill(&slot);
        slot.id.store(id, Ordering::Relaxed);
        lock(&OVERFLOW).insert(id, slot);
    }
}

/// The side entry of task `id`, if its flags say it has one.
fn extra(id: u64, flags: u64) -> Option<Arc<Extra>> {
    if flags & EXTRA == 0 {
        return None;
    }
    lock(&EXTRAS).get(&id).cloned()
}

fn with_lane(extra: Option<Arc<Extra>>, f: impl FnOnce(&mut dyn TaskLane)) {
    if let Some(lane) = extra.as_ref().and_then(|extra| extra.lane.as_ref()) {
        f(&mut **lock(lane));
    }
}

/// Adds figures from a thread's table to live task `id`.
fn fold(id: u64, polls: u64, busy: u64) {
    with_slot(id, |slot| {
        slot.polls.fetch_add(polls, Ordering::Relaxed);
        slot.busy.fetch_add(busy, Ordering::Relaxed);
    });
}

/// The flags of live task `id`.
fn flags(id: u64) -> Option<u64> {
    with_slot(id, |slot| slot.cell.load(Ordering::Relaxed))
}

/// Calls `f` on the timeline lane of task `id`, if it has one.
fn on_lane(id: u64, f: impl FnOnce(&mut dyn TaskLane)) {
    if LANES.load(Ordering::Relaxed) == 0 {
        return;
    }
    if let Some(flags) = flags(id) {
        with_lane(extra(id, flags), f);
    }
}

fn before_poll(meta: &TaskMeta<'_>) {
    poll_starts(number(meta.id()));
}

fn after_poll(meta: &TaskMeta<'_>) {
    poll_ends(number(meta.id()));
}

fn terminated(meta: &TaskMeta<'_>) {
    end(number(meta.id()));
}

/// A poll of task `id` starts on this thread (for a task the hooks do not
/// see, its span is entered).
pub(crate) fn poll_starts(id: u64) {
    polls::started(id);
    on_lane(id, |lane| lane.poll_starts());
}

/// The poll of task `id` under way on this thread ends.
pub(crate) fn poll_ends(id: u64) {
    polls::ended(id);
    on_lane(id, |lane| lane.poll_ends());
}

/// The future of task `id` was dropped (its span closed): its timeline
/// lane ends now, not when tokio runs the end hook, after it has woken the
/// task's awaiter.
pub(crate) fn future_dropped(id: u64) {
    if let Some(flags) = flags(id) {
        with_lane(extra(id, flags), |lane| lane.ended(flags & PANICKED != 0));
    }
}

/// Task `id` ended: it leaves the registry (a blocking task's end is told
/// twice, by the hook and by its span: the second finds nothing).
pub(crate) fn end(id: u64) {
    let Some(flags) = flags(id) else { return };
    polls::finish(id, flags & (PANICKED | EXTRA) != 0);
    // Most tasks end with nothing to report: only their line is freed.
    let ended = (flags & (PANICKED | EXTRA) != 0)
        .then(|| {
            let extras = lock(&EXTRAS);
            with_slot(id, |slot| read(id, slot, &extras)).flatten()
        })
        .flatten()
        .map(|mut ended| {
            let sums = polls::sums(&[id])[0];
            ended.polls += sums.polls;
            ended.busy += sums.busy;
            ended
        });
    let slot = home(id);
    if slot.id.load(Ordering::Acquire) == id {
        slot.id.store(0, Ordering::Release);
    } else {
        lock(&OVERFLOW).remove(&id);
    }
    let Some(mut ended) = ended else { return };
    let extra = (flags & EXTRA != 0)
        .then(|| lock(&EXTRAS).remove(&id))
        .flatten();
    let panicked = ended.panicked();
    if let Some(extra) = extra {
        ended.name = extra.name.as_deref().map(str::to_owned);
        if extra.lane.is_some() {
            LANES.fetch_sub(1, Ordering::Relaxed);
        }
        with_lane(Some(extra), |lane| lane.ended(panicked));
    }
    if panicked {
        lock(&PANICKED_TASKS).push((ended, clock::now()));
    }
}

/// The task running on this thread panicked (called from the panic hook).
pub(crate) fn note_panic() {
    if let Some(id) = tokio::task::try_id() {
        with_slot(number(id), |slot| {
            slot.cell.fetch_or(PANICKED, Ordering::Relaxed);
        });
    }
}

/// The cell that spawned the task running on this thread (or the task that
/// spawned it), if the registry follows it.
pub(crate) fn current_task_cell() -> Option<u64> {
    let id = tokio::task::try_id()?;
    with_slot(number(id), |slot| {
        slot.cell.load(Ordering::Relaxed) & CELL_BITS
    })?
    .checked_sub(1)
}

/// Tasks that ended by a panic, with the time they ended: the next
/// `:tasks` says so.
static PANICKED_TASKS: Mutex<Vec<(Snapshot, u64)>> = Mutex::new(Vec::new());

/// The tasks that ended by a panic since the last call, with when they ended.
pub(crate) fn take_panicked() -> Vec<(Snapshot, u64)> {
    std::mem::take(&mut *lock(&PANICKED_TASKS))
}

/// A task's entry, copied out of the registry.
pub(crate) struct Snapshot {
    pub id: u64,
    pub cell: Option<u64>,
    pub spawned_at: SpawnedAt,
    /// The id of the task that spawned it.
    pub parent: Option<u64>,
    pub name: Option<String>,
    /// In [`clock`] ticks, as the poll figures.
    pub spawned: u64,
    pub polls: u64,
    pub busy: u64,
    /// When the poll under way started, 0 between polls.
    pub polling_since: u64,
    flags: u64,
}

impl Snapshot {
    pub(crate) fn panicked(&self) -> bool {
        self.flags & PANICKED != 0
    }

    pub(crate) fn kind(&self) -> TaskKind {
        if self.flags & BLOCKING != 0 {
            TaskKind::Blocking
        } else if self.flags & LOCAL != 0 {
            TaskKind::Local
        } else {
            TaskKind::Async
        }
    }
}

/// Copies task `id` out of `slot`, with what `extras` holds for it (the
/// figures still in threads' tables are not added). `None` while its spawn
/// is still being written.
fn read(id: u64, slot: &Slot, extras: &BTreeMap<u64, Arc<Extra>>) -> Option<Snapshot> {
    let cell = slot.cell.load(Ordering::Relaxed);
    let extra = (cell & EXTRA != 0).then(|| extras.get(&id)).flatten();
    let name = extra.and_then(|extra| extra.name.as_deref().map(str::to_owned));
    let site = slot.site.load(Ordering::Relaxed);
    let spawned_at = match extra.and_then(|extra| extra.place) {
        Some(place) => SpawnedAt::Span(place),
        // SAFETY: a slot of a task seen by the spawn hook holds the
        // `&'static Location` the hook stored; null is checked.
        None => SpawnedAt::Hook(unsafe { site.as_ref() }?),
    };
    Some(Snapshot {
        id,
        cell: (cell & CELL_BITS).checked_sub(1),
        spawned_at,
        parent: Some(slot.parent.load(Ordering::Relaxed)).filter(|&parent| parent != 0),
        name,
        spawned: slot.spawned.load(Ordering::Relaxed),
        polls: slot.polls.load(Ordering::Relaxed),
        busy: slot.busy.load(Ordering::Relaxed),
        polling_since: 0,
        flags: cell,
    })
}

/// Every live task but the kernel's.
pub(crate) fn snapshots() -> Vec<Snapshot> {
    let extras = lock(&EXTRAS);
    let mut found = Vec::new();
    for slot in ring() {
        let id = slot.id.load(Ordering::Acquire);
        if id == 0 || id == CLAIMED {
            continue;
        }
        let task = read(id, slot, &extras);
        // The slot may have been freed and taken again while it was read.
        fence(Ordering::Acquire);
        if slot.id.load(Ordering::Relaxed) == id {
            found.extend(task);
        }
    }
    for (&id, slot) in lock(&OVERFLOW).iter() {
        found.extend(read(id, slot, &extras));
    }
    drop(extras);
    found.retain(|task| task.flags & KERNEL == 0);
    let ids: Vec<u64> = found.iter().map(|task| task.id).collect();
    for (task, sums) in found.iter_mut().zip(polls::sums(&ids)) {
        task.polls += sums.polls;
        task.busy += sums.busy;
        task.polling_since = sums.polling_since;
    }
    found
}

/// How many tasks the registry holds, the kernel's included.
#[cfg(test)]
pub(crate) fn len() -> usize {
    let in_ring = ring()
        .iter()
        .filter(|slot| slot.id.load(Ordering::Relaxed) != 0)
        .count();
    in_ring + lock(&OVERFLOW).len()
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
        let runtime = build(tokio::runtime::Builder::new_multi_thread().enable_all()).unwrap();
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

            // A task whose ring line is held by a live task `SLOTS` ids
            // older is kept (and listed) all the same.
            let (release, wait) = tokio::sync::oneshot::channel::<()>();
            let holder = tokio::spawn(async move {
                let _ = wait.await;
            });
            let line = |id: Id| number(id) as usize % SLOTS;
            let overflowed = loop {
                let task = tokio::task::Builder::new()
                    .name("overflowed")
                    .spawn(std::future::pending::<()>())
                    .unwrap();
                if line(task.id()) == line(holder.id()) {
                    break task;
                }
                task.abort();
                let _ = task.await;
            };
            assert_eq!(lock(&OVERFLOW).len(), 1);
            // (The tasks aborted before it may not have ended yet: tokio
            // runs the end hook after waking the task's awaiter.)
            let listed = crate::tasks::live()
                .into_iter()
                .find(|task| task.id == overflowed.id().to_string())
                .expect("a task in the overflow map is listed");
            assert_eq!(listed.name.as_deref(), Some("overflowed"));
            overflowed.abort();
            let _ = overflowed.await;
            release.send(()).unwrap();
            holder.await.unwrap();

            // Tasks the hooks do not see: `spawn_blocking`'s and a
            // `LocalSet`'s, listed while they live, with where they were
            // spawned.
            let (release, wait) = std::sync::mpsc::channel::<()>();
            let blocking = tokio::task::spawn_blocking(move || {
                let _ = wait.recv();
            });
            let local = tokio::task::LocalSet::new();
            let (release_local, wait_local) = tokio::sync::oneshot::channel::<()>();
            let on_set = local.spawn_local(async move {
                let _ = wait_local.await;
            });
            local.run_until(tokio::task::yield_now()).await;
            let of_kind = |kind: TaskKind| {
                crate::tasks::live()
                    .into_iter()
                    .find(|task| task.kind == kind)
            };
            let mut running = None;
            for _ in 0..200 {
                running = of_kind(TaskKind::Blocking)
                    .filter(|task| task.state == crate::tasks::TaskState::Running);
                if running.is_some() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            let running = running.unwrap_or_else(|| {
                panic!(
                    "the blocking task is listed as running: {:?}",
                    crate::tasks::live()
                )
            });
            assert_eq!(running.id, blocking.id().to_string());
            assert!(
                running.site.to_string().contains("registry.rs:"),
                "{running:?}"
            );
            let idle = of_kind(TaskKind::Local).expect("the task on the set is listed");
            assert_eq!(idle.id, on_set.id().to_string());
            assert_eq!(idle.state, crate::tasks::TaskState::Idle, "{idle:?}");
            assert!(idle.polls >= 1, "{idle:?}");
            release.send(()).unwrap();
            blocking.await.unwrap();
            release_local.send(()).unwrap();
            local.await;
            on_set.await.unwrap();
            assert!(of_kind(TaskKind::Blocking).is_none() && of_kind(TaskKind::Local).is_none());

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
        assert_eq!(len(), 0, "every slot is free again");
        assert!(lock(&OVERFLOW).is_empty() && lock(&EXTRAS).is_empty());
    }
}
