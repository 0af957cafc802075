//! What tokio's task hooks do, and the spawn spans that stand in for them
//! (see `spans`): work out who spawns a task (the kernel or a cell, under
//! which name, into which timeline lane) and enter it in the registry, then
//! tell the registry of its polls and its end.

use std::cell::{Cell, RefCell};

use tokio::runtime::TaskMeta;

use super::lanes;
use super::origin::{SpanPlace, SpawnedAt, TaskKind};
use super::registry::{self, number, Spawned};
use crate::running_cell::current_cell;

thread_local! {
    /// Set while the kernel spawns its own tasks on this thread.
    static KERNEL_SPAWN: Cell<bool> = const { Cell::new(false) };
    /// A name from `tokio::task::Builder`, between the spawn's tracing span
    /// (see `spans`) and its spawn hook, on the spawning thread.
    static PENDING_NAME: RefCell<Option<(u64, Box<str>)>> = const { RefCell::new(None) };
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

/// The spawn hook.
pub(crate) fn spawned(meta: &TaskMeta<'_>) {
    let id = number(meta.id());
    let name = PENDING_NAME.with(|pending| {
        let mut pending = pending.borrow_mut();
        let named = pending.as_ref().is_some_and(|(for_id, _)| *for_id == id);
        named
            .then(|| pending.take().map(|(_, name)| name))
            .flatten()
    });
    register(
        id,
        SpawnedAt::Hook(meta.spawned_at()),
        name,
        TaskKind::Async,
    );
}

/// Task `id`, which the hooks do not see, is being spawned on this thread
/// (told by its tracing span): it is listed from now until its span closes
/// (`registry::end`).
pub(crate) fn span_spawned(
    id: u64,
    kind: TaskKind,
    name: Option<Box<str>>,
    at: &'static SpanPlace,
) {
    register(id, SpawnedAt::Span(at), name, kind);
}

/// Enters task `id`, spawned now on this thread, in the registry.
fn register(id: u64, at: SpawnedAt, name: Option<Box<str>>, kind: TaskKind) {
    let parent = tokio::task::try_id().map(number);
    let cell = current_cell().or_else(|| registry::cell_of(parent?));
    let kernel = KERNEL_SPAWN.with(|flag| flag.get());
    // `records_next_spawn`, with the kernel's flag already read.
    let lane = if lanes::recording() && !kernel {
        lanes::lane_for(name.as_deref(), cell, at)
    } else {
        None
    };
    registry::insert(Spawned {
        id,
        kind,
        kernel,
        cell,
        parent,
        at,
        name,
        lane,
    });
}

/// The hook before each poll.
pub(crate) fn before_poll(meta: &TaskMeta<'_>) {
    registry::poll_starts(number(meta.id()));
}

/// The hook after each poll.
pub(crate) fn after_poll(meta: &TaskMeta<'_>) {
    registry::poll_ends(number(meta.id()));
}

/// The hook at a task's end.
pub(crate) fn terminated(meta: &TaskMeta<'_>) {
    registry::end(number(meta.id()));
}
