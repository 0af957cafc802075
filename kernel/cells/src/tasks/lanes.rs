//! The timeline's share of the task hooks: while `:timeline` records, each
//! task spawned (but the kernel's) gets a lane, which the hooks tell of its
//! polls and its end. The timeline sits above the registry, so it hands in
//! what makes lanes when it starts recording instead of being called by
//! name.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use super::origin::SpawnedAt;

/// A task's lane on a recording timeline.
pub(crate) trait TaskLane: Send {
    fn poll_starts(&mut self);
    fn poll_ends(&mut self);
    fn ended(&mut self, panicked: bool);
}

/// Makes the lane of a task spawned now from its name, its cell and where
/// it was spawned; `None` when the picture draws no more lanes.
pub(crate) type LaneFor = fn(Option<&str>, Option<u64>, SpawnedAt) -> Option<Box<dyn TaskLane>>;

static LANE_FOR: OnceLock<LaneFor> = OnceLock::new();

/// Set while a timeline records the tasks it sees spawned.
static RECORDING: AtomicBool = AtomicBool::new(false);

/// Gives the tasks spawned from now on lanes made by `lane_for` (the
/// automatic timeline's, the only one there is).
pub(crate) fn record(lane_for: LaneFor) {
    LANE_FOR.get_or_init(|| lane_for);
    RECORDING.store(true, Ordering::Relaxed);
}

/// Tasks spawned from now on get no lane.
pub(crate) fn stop() {
    RECORDING.store(false, Ordering::Relaxed);
}

/// Whether a timeline records the tasks spawned now.
pub(crate) fn recording() -> bool {
    RECORDING.load(Ordering::Relaxed)
}

/// A lane for a task spawned now, if a timeline records.
pub(crate) fn lane_for(
    name: Option<&str>,
    cell: Option<u64>,
    at: SpawnedAt,
) -> Option<Box<dyn TaskLane>> {
    LANE_FOR.get()?(name, cell, at)
}
