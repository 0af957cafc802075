//! The automatic timeline: `:timeline` as a cell's first line records every
//! task the cell spawns, every poll of them and of the cell's own future,
//! and shows the picture when the cell ends. No change to the cell's code:
//! the runtime's task hooks (see `tasks::registry`) fill the lanes this
//! module hands them (`tasks::lanes`).
//!
//! Work run under `virtual_time::run` is recorded on its virtual clock; a
//! picture holding such lanes leaves out the lanes timed on the real clock
//! (the cell's own future), which would not share its axis.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::time::Instant;

use super::span::Status;
use super::{Record, Timeline};
use crate::lock::lock;
use crate::tasks::lanes::{self, TaskLane};
use crate::tasks::origin::SpawnedAt;
use crate::tasks::source;

/// What a lane is called once the picture is drawn: the task's name, else
/// its spawn site (worked out from files only then).
enum Label {
    Named(String),
    SpawnedAt(Option<u64>, SpawnedAt),
}

struct Recording {
    timeline: Timeline,
    cell: Option<u64>,
    started: Instant,
    lanes: Vec<(Arc<Mutex<Record>>, Label, bool)>,
    /// The lane of the cell's own future.
    body: Option<Arc<Mutex<Record>>>,
    /// Tasks spawned once [`MAX_LANES`] had lanes.
    untracked: usize,
}

static RECORDING: Mutex<Option<Recording>> = Mutex::new(None);

/// The most task lanes a picture draws.
const MAX_LANES: usize = 100;

thread_local! {
    /// Set on the thread of a `virtual_time::run` runtime.
    static VIRTUAL: Cell<bool> = const { Cell::new(false) };
}

/// One task's lane on the recording timeline, filled by the task hooks.
struct Lane {
    record: Arc<Mutex<Record>>,
    since: Option<Instant>,
}

impl Lane {
    fn new(timeline: &Timeline, name: String) -> Self {
        let now = Instant::now();
        let record = Arc::new(Mutex::new(Record {
            name,
            start: now,
            end: None,
            running: Vec::new(),
        }));
        let mut state = lock(&timeline.shared.state);
        state.origin(now);
        state.records.push(record.clone());
        Self {
            record,
            since: None,
        }
    }
}

impl TaskLane for Lane {
    fn poll_starts(&mut self) {
        self.since = Some(Instant::now());
    }

    fn poll_ends(&mut self) {
        if let Some(from) = self.since.take() {
            lock(&self.record).ran(from, Instant::now());
        }
    }

    fn ended(&mut self, panicked: bool) {
        let status = if panicked {
            Status::Cancelled
        } else {
            Status::Done
        };
        let mut record = lock(&self.record);
        if record.end.is_none() {
            record.end = Some((Instant::now(), status));
        }
    }
}

/// Marks this thread as running a runtime on virtual time.
pub(crate) fn on_virtual_time() {
    VIRTUAL.with(|flag| flag.set(true));
}

/// Starts recording for the running cell (the `:timeline` command).
pub fn record_cell() {
    let cell = crate::running_cell::current_cell();
    let timeline = Timeline::new();
    let started = Instant::now();
    lock(&timeline.shared.state).origin = Some(started);
    *lock(&RECORDING) = Some(Recording {
        timeline,
        cell,
        started,
        lanes: Vec::new(),
        body: None,
        untracked: 0,
    });
    lanes::record(lane_for);
}

/// A lane for a task spawned now, if a timeline records.
fn lane_for(name: Option<&str>, cell: Option<u64>, at: SpawnedAt) -> Option<Box<dyn TaskLane>> {
    let mut recording = lock(&RECORDING);
    let recording = recording.as_mut()?;
    // A picture of thousands of lanes helps nobody: the first ones are drawn.
    if recording.lanes.len() >= MAX_LANES {
        recording.untracked += 1;
        return None;
    }
    let lane = Lane::new(&recording.timeline, String::new());
    let label = match name {
        Some(name) => Label::Named(name.to_owned()),
        None => Label::SpawnedAt(cell, at),
    };
    let on_virtual_time = VIRTUAL.with(|flag| flag.get());
    recording
        .lanes
        .push((lane.record.clone(), label, on_virtual_time));
    Some(Box::new(lane))
}

/// When the poll of a cell's body starts, if a timeline records.
pub(crate) fn body_poll_starts() -> Option<Instant> {
    lock(&RECORDING).as_ref().map(|_| Instant::now())
}

/// A poll of the cell's body that started at `from` (or, for the poll that
/// switched recording on, when it was switched on) has ended.
pub(crate) fn body_poll_ends(from: Option<Instant>) {
    let mut recording = lock(&RECORDING);
    let Some(recording) = recording.as_mut() else {
        return;
    };
    let from = from.unwrap_or(recording.started);
    let body = recording.body.get_or_insert_with(|| {
        let name = match recording.cell {
            Some(cell) => format!("cell [{cell}]"),
            None => "cell".to_owned(),
        };
        let mut lane = Lane::new(&recording.timeline, name);
        lock(&lane.record).start = recording.started;
        lane.since = None;
        lane.record
    });
    lock(body).ran(from, Instant::now());
}

/// The cell is over: stops recording and shows what was recorded.
pub(crate) fn finish_cell() {
    let Some(recording) = lock(&RECORDING).take() else {
        return;
    };
    lanes::stop();
    let now = Instant::now();
    if let Some(body) = &recording.body {
        let mut body = lock(body);
        body.end.get_or_insert((now, Status::Done));
    }
    let virtual_only = recording.lanes.iter().any(|(_, _, on_virtual)| *on_virtual);
    if virtual_only {
        let mut state = lock(&recording.timeline.shared.state);
        let keep: Vec<_> = recording
            .lanes
            .iter()
            .filter(|(_, _, on_virtual)| *on_virtual)
            .map(|(record, _, _)| record.clone())
            .collect();
        state
            .records
            .retain(|record| keep.iter().any(|k| Arc::ptr_eq(k, record)));
        state.origin = keep.iter().map(|record| lock(record).start).min();
    }
    if recording.untracked > 0 {
        println!(
            "timeline: the first {MAX_LANES} tasks are drawn, {} more were spawned",
            recording.untracked
        );
    }
    let lanes = &recording.lanes;
    let mut sites: HashMap<(Option<u64>, &str, u32, u32), String> = HashMap::new();
    let labels: Vec<String> = lanes
        .iter()
        .map(|(_, label, _)| match label {
            Label::Named(name) => name.clone(),
            Label::SpawnedAt(cell, at) => sites
                .entry((*cell, at.file(), at.line(), at.column()))
                .or_insert_with(|| source::site(*cell, *at).to_string())
                .clone(),
        })
        .collect();
    // Tasks from one spawn site (a loop) are told apart by their order.
    let mut total: HashMap<&str, usize> = HashMap::new();
    for label in &labels {
        *total.entry(label).or_default() += 1;
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for ((record, _, _), label) in lanes.iter().zip(&labels) {
        let nth = seen.entry(label).or_default();
        *nth += 1;
        lock(record).name = if total[label.as_str()] > 1 {
            format!("{label} #{nth}")
        } else {
            label.clone()
        };
    }
    recording.timeline.show();
}
