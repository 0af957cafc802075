//! The poll figures of tasks (how often polled, how long inside `poll`, the
//! poll under way), kept by each thread for the tasks it polls.
//!
//! A task polled again and again (a loop of `yield_now`) moves between the
//! runtime's workers; had its figures one place that every poll writes, a
//! cache line would cross cores at each poll, a fifth of a `yield_now`'s
//! time on a two-core machine. Here a thread writes only its own table: an
//! entry per task it polled lately, found by the task's number. `:tasks`
//! sums a task's entries over all tables. An entry that another task needs,
//! and the table of a thread that ends, are folded into the registry first
//! (see [`set_fold`]).

use crate::lock::lock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::clock;

/// Entries per thread: tasks polled in turn on one thread share an entry
/// only when their numbers are this far apart.
const ENTRIES: usize = 256;

#[derive(Default)]
struct Entry {
    /// The task's number, 0 for none.
    id: AtomicU64,
    polls: AtomicU64,
    /// Ticks spent inside `poll`, the current poll excluded.
    busy: AtomicU64,
    /// When the poll under way started (ticks), 0 between polls.
    polling_since: AtomicU64,
}

type Table = [Entry];

/// Every live thread's table.
static TABLES: Mutex<Vec<Arc<Table>>> = Mutex::new(Vec::new());

/// Where figures of a task go when its entry is taken or its thread ends:
/// `(task, polls, busy ticks)`.
pub(crate) type Fold = fn(u64, u64, u64);

static FOLD: OnceLock<Fold> = OnceLock::new();

/// Sets where figures are folded (the registry does, before any hook runs).
pub(crate) fn set_fold(fold: Fold) {
    FOLD.get_or_init(|| fold);
}

/// This thread's table, listed in [`TABLES`] while the thread lives.
struct Local(Arc<Table>);

impl Local {
    fn new() -> Self {
        let table: Arc<Table> = (0..ENTRIES).map(|_| Entry::default()).collect();
        lock(&TABLES).push(table.clone());
        Self(table)
    }

    fn entry(&self, id: u64) -> &Entry {
        &self.0[id as usize % ENTRIES]
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        lock(&TABLES).retain(|table| !Arc::ptr_eq(table, &self.0));
        for entry in self.0.iter() {
            fold(entry, 0);
        }
    }
}

thread_local! {
    static LOCAL: Local = Local::new();
}

/// Hands an entry's figures to the registry, then gives the entry to task
/// `next` (0: to none). Only the entry's thread calls it.
fn fold(entry: &Entry, next: u64) {
    let id = entry.id.load(Ordering::Relaxed);
    let polls = entry.polls.load(Ordering::Relaxed);
    let busy = entry.busy.load(Ordering::Relaxed);
    clear(entry, next);
    if id != 0 && polls + busy != 0 {
        if let Some(fold) = FOLD.get() {
            fold(id, polls, busy);
        }
    }
}

fn clear(entry: &Entry, next: u64) {
    entry.id.store(next, Ordering::Relaxed);
    entry.polls.store(0, Ordering::Relaxed);
    entry.busy.store(0, Ordering::Relaxed);
    entry.polling_since.store(0, Ordering::Relaxed);
}

/// A poll of task `id` starts on this thread.
pub(crate) fn started(id: u64) {
    let _ = LOCAL.try_with(|local| {
        let entry = local.entry(id);
        let held_by = entry.id.load(Ordering::Relaxed);
        if held_by != id {
            if held_by == 0 {
                clear(entry, id);
            } else {
                fold(entry, id);
            }
        }
        entry.polling_since.store(clock::now(), Ordering::Relaxed);
    });
}

/// The poll of task `id` under way on this thread ended. Only this thread
/// writes its table: plain loads and stores.
pub(crate) fn ended(id: u64) {
    let _ = LOCAL.try_with(|local| {
        let entry = local.entry(id);
        let since = entry.polling_since.load(Ordering::Relaxed);
        if entry.id.load(Ordering::Relaxed) != id || since == 0 {
            return;
        }
        entry.polling_since.store(0, Ordering::Relaxed);
        let ran = clock::now().saturating_sub(since);
        let busy = entry.busy.load(Ordering::Relaxed);
        entry.busy.store(busy + ran, Ordering::Relaxed);
        let polls = entry.polls.load(Ordering::Relaxed);
        entry.polls.store(polls + 1, Ordering::Relaxed);
    });
}

/// Task `id` ended on this thread and its entry here is freed: with its
/// figures handed to the registry if they are to be `kept` (for a report),
/// the poll it left unfinished (a panic) counted in.
pub(crate) fn finish(id: u64, kept: bool) {
    if kept {
        ended(id);
    }
    let _ = LOCAL.try_with(|local| {
        let entry = local.entry(id);
        if entry.id.load(Ordering::Relaxed) != id {
            return;
        }
        if kept {
            fold(entry, 0);
        } else {
            clear(entry, 0);
        }
    });
}

/// A task's figures summed over the threads' tables.
#[derive(Clone, Copy, Default)]
pub(crate) struct Figures {
    pub polls: u64,
    pub busy: u64,
    /// When the poll under way started, 0 if none is.
    pub polling_since: u64,
}

/// The figures of every task in `ids`, summed over all tables.
pub(crate) fn sums(ids: &[u64]) -> Vec<Figures> {
    let mut sums = vec![Figures::default(); ids.len()];
    for table in lock(&TABLES).iter() {
        for (id, sum) in ids.iter().zip(sums.iter_mut()) {
            let entry = &table[*id as usize % ENTRIES];
            if entry.id.load(Ordering::Relaxed) != *id {
                continue;
            }
            sum.polls += entry.polls.load(Ordering::Relaxed);
            sum.busy += entry.busy.load(Ordering::Relaxed);
            sum.polling_since = sum
                .polling_since
                .max(entry.polling_since.load(Ordering::Relaxed));
        }
    }
    sums
}
