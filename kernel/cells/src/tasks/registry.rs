//! Every live task of the runtimes the cell library builds, kept up to date
//! by tokio's task hooks (an unstable tokio API: the library is built with
//! `--cfg tokio_unstable`): `hooks` feeds it, `follow` installs the hooks.
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

use crate::lock::lock;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::panic::Location;
use std::ptr;
use std::sync::atomic::{fence, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::task::Id;

use super::lanes::TaskLane;
use super::origin::{SpanPlace, SpawnedAt, TaskKind};
use super::{clock, polls};

/// Lines in the ring: live tasks whose ids lie further apart than this
/// share a line, and the younger one goes to [`OVERFLOW`]. 4 MiB.
pub(crate) const SLOTS: usize = 1 << 16;

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

/// Allocates the ring now rather than in the first spawn hook.
pub(crate) fn allocate() {
    ring();
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

/// Tokio's number for a task. `Id` shows it only through `Display` and
/// `Hash`; its `Hash` writes the number as one `u64` (a test fails if the
/// numbers it gives stop matching `Display`).
pub(crate) fn number(id: Id) -> u64 {
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

/// A task being spawned, as the hooks tell it.
pub(crate) struct Spawned {
    pub id: u64,
    pub kind: TaskKind,
    /// Spawned by the kernel's own code: not listed.
    pub kernel: bool,
    /// The cell whose code spawned it, or whose task did.
    pub cell: Option<u64>,
    /// The task that spawned it.
    pub parent: Option<u64>,
    pub at: SpawnedAt,
    pub name: Option<Box<str>>,
    pub lane: Option<Box<dyn TaskLane>>,
}

/// Enters a task being spawned.
pub(crate) fn insert(task: Spawned) {
    let id = task.id;
    let kind = match task.kind {
        TaskKind::Local => LOCAL,
        TaskKind::Blocking => BLOCKING,
        TaskKind::Async => 0,
    };
    let mut flags = kind | if task.kernel { KERNEL } else { 0 };
    let (site, place) = match task.at {
        SpawnedAt::Hook(location) => (ptr::from_ref(location).cast_mut(), None),
        SpawnedAt::Span(place) => (ptr::null_mut(), Some(place)),
    };
    if task.name.is_some() || task.lane.is_some() || place.is_some() {
        flags |= EXTRA;
        if task.lane.is_some() {
            LANES.fetch_add(1, Ordering::Relaxed);
        }
        let extra = Extra {
            name: task.name,
            lane: task.lane.map(Mutex::new),
            place,
        };
        lock(&EXTRAS).insert(id, Arc::new(extra));
    }
    let fill = |slot: &Slot| {
        slot.spawned.store(clock::now(), Ordering::Relaxed);
        slot.polls.store(0, Ordering::Relaxed);
        slot.busy.store(0, Ordering::Relaxed);
        let cell = task.cell.map_or(0, |cell| cell + 1) & CELL_BITS;
        slot.cell.store(cell | flags, Ordering::Relaxed);
        slot.parent
            .store(task.parent.unwrap_or(0), Ordering::Relaxed);
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
pub(crate) fn fold(id: u64, polls: u64, busy: u64) {
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
    cell_of(number(tokio::task::try_id()?))
}

/// The cell that spawned live task `id` (or the task that spawned it).
pub(crate) fn cell_of(id: u64) -> Option<u64> {
    with_slot(id, |slot| slot.cell.load(Ordering::Relaxed) & CELL_BITS)?.checked_sub(1)
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

/// What the registry holds, the kernel's tasks included: tasks in the
/// ring, tasks in the overflow map, side entries.
#[cfg(test)]
pub(crate) fn held() -> (usize, usize, usize) {
    let in_ring = ring()
        .iter()
        .filter(|slot| slot.id.load(Ordering::Relaxed) != 0)
        .count();
    (in_ring, lock(&OVERFLOW).len(), lock(&EXTRAS).len())
}
