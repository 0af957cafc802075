//! Timelines: record when named async work started, ran, waited and ended,
//! and draw it as an SVG picture with one lane per task.
//!
//! ```
//! use std::time::Duration;
//! use asyncbook::Timeline;
//!
//! // On virtual time: the ten simulated seconds pass at once.
//! asyncbook::virtual_time::run(async {
//!     let tl = Timeline::new();
//!     let john = tl.track("John", tokio::time::sleep(Duration::from_secs(5)));
//!     let mary = tl.track("Mary", tokio::time::sleep(Duration::from_secs(10)));
//!     tokio::join!(john, mary);
//!     tl.show();
//! });
//! ```
//!
//! Times come from `tokio::time::Instant`, so work run under
//! `asyncbook::virtual_time::run` is drawn at its exact simulated times. Time
//! zero is the first moment the timeline recorded (the first poll of tracked
//! work, or the first mark).

pub mod auto;
mod render;
mod scale;
mod span;

use crate::lock::lock;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

pub use render::{render_svg, render_table};
pub use scale::Unit;
pub use span::{Mark, Span, Status};

/// Past this many separate running stretches a span keeps a coarser record:
/// neighbouring stretches are merged in pairs (with the wait between them).
const MAX_STRETCHES: usize = 1024;

/// What one tracked future has recorded so far.
struct Record {
    name: String,
    start: Instant,
    end: Option<(Instant, Status)>,
    running: Vec<(Instant, Instant)>,
}

impl Record {
    fn ran(&mut self, from: Instant, to: Instant) {
        match self.running.last_mut() {
            Some(last) if last.1 >= from => last.1 = to,
            _ => self.running.push((from, to)),
        }
        if self.running.len() > MAX_STRETCHES {
            self.running = self
                .running
                .chunks(2)
                .map(|pair| (pair[0].0, pair[pair.len() - 1].1))
                .collect();
        }
    }
}

#[derive(Default)]
struct State {
    origin: Option<Instant>,
    records: Vec<Arc<Mutex<Record>>>,
    marks: Vec<(String, Instant)>,
}

impl State {
    fn origin(&mut self, now: Instant) -> Instant {
        *self.origin.get_or_insert(now)
    }
}

struct Shared {
    unit: Option<Unit>,
    state: Mutex<State>,
}

/// A recorder of named async work. Clones share one record, so a timeline
/// can be filled from several cells and tasks and drawn at any time.
#[derive(Clone)]
pub struct Timeline {
    shared: Arc<Shared>,
}

impl Default for Timeline {
    fn default() -> Self {
        Self::new()
    }
}

impl Timeline {
    /// A timeline whose axis picks µs, ms, s or min to fit what it shows.
    pub fn new() -> Self {
        Self::build(None)
    }

    /// A timeline that counts time in units of `size` named `name`:
    /// `Timeline::with_unit(Duration::from_secs(1), "min")` draws each
    /// second as one "min" of the story being told.
    pub fn with_unit(size: Duration, name: impl Into<String>) -> Self {
        Self::build(Some(Unit::new(size, name)))
    }

    fn build(unit: Option<Unit>) -> Self {
        Self {
            shared: Arc::new(Shared {
                unit,
                state: Mutex::default(),
            }),
        }
    }

    /// Wraps `future` so that its start, every poll and its end are recorded
    /// under `name`. It starts when first polled.
    pub fn track<F: Future>(&self, name: impl Into<String>, future: F) -> Tracked<F> {
        Tracked {
            timeline: self.clone(),
            name: name.into(),
            record: None,
            future: Box::pin(future),
        }
    }

    /// Spawns `future` on the current runtime as a tracked, named task (it
    /// also appears in `:tasks`).
    #[track_caller]
    pub fn spawn<F>(&self, name: impl Into<String>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let name = name.into();
        crate::tasks::named::spawn_named(name.clone(), self.track(name, future))
    }

    /// Records an instant, drawn as a labelled line across all lanes.
    pub fn mark(&self, label: impl Into<String>) {
        let now = Instant::now();
        let mut state = lock(&self.shared.state);
        state.origin(now);
        state.marks.push((label.into(), now));
    }

    /// The spans recorded so far, in the order they started; open ones end now.
    pub fn spans(&self) -> Vec<Span> {
        let now = Instant::now();
        let state = lock(&self.shared.state);
        let Some(origin) = state.origin else {
            return Vec::new();
        };
        let since = |t: Instant| t.saturating_duration_since(origin);
        let mut spans: Vec<Span> = state
            .records
            .iter()
            .map(|record| {
                let record = lock(record);
                let (end, status) = record.end.unwrap_or((now, Status::Open));
                Span {
                    name: record.name.clone(),
                    start: since(record.start),
                    end: since(end),
                    status,
                    running: record
                        .running
                        .iter()
                        .map(|(from, to)| (since(*from), since(*to)))
                        .collect(),
                }
            })
            .collect();
        spans.sort_by_key(|span| span.start);
        spans
    }

    pub fn marks(&self) -> Vec<Mark> {
        let state = lock(&self.shared.state);
        let Some(origin) = state.origin else {
            return Vec::new();
        };
        state
            .marks
            .iter()
            .map(|(label, at)| Mark {
                label: label.clone(),
                at: at.saturating_duration_since(origin),
            })
            .collect()
    }

    /// The unit of the axis: the one given, or one that fits the extent.
    pub fn unit(&self, spans: &[Span], marks: &[Mark]) -> Unit {
        self.shared
            .unit
            .clone()
            .unwrap_or_else(|| Unit::auto(render::extent(spans, marks)))
    }

    /// The picture as an SVG document.
    pub fn svg(&self) -> String {
        let (spans, marks) = (self.spans(), self.marks());
        render_svg(&spans, &marks, &self.unit(&spans, &marks))
    }

    /// Task, start, end and duration of every span, as plain text.
    pub fn table(&self) -> String {
        let (spans, marks) = (self.spans(), self.marks());
        render_table(&spans, &self.unit(&spans, &marks))
    }

    /// Shows the picture in the notebook, with the table as its text form.
    pub fn show(&self) -> crate::display::DisplayHandle {
        crate::display::show(
            crate::display::Bundle::new()
                .with("image/svg+xml", self.svg())
                .with("text/plain", self.table()),
        )
    }

    /// Called by the kernel when a timeline is a cell's last expression.
    pub fn evcxr_display(&self) {
        self.show();
    }
}

impl std::fmt::Debug for Timeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = lock(&self.shared.state);
        write!(f, "Timeline({} spans)", state.records.len())
    }
}

/// A future recorded on a [`Timeline`]; see [`Timeline::track`].
pub struct Tracked<F> {
    timeline: Timeline,
    name: String,
    record: Option<Arc<Mutex<Record>>>,
    future: Pin<Box<F>>,
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let from = Instant::now();
        if self.record.is_none() {
            let record = Arc::new(Mutex::new(Record {
                name: std::mem::take(&mut self.name),
                start: from,
                end: None,
                running: Vec::new(),
            }));
            let mut state = lock(&self.timeline.shared.state);
            state.origin(from);
            state.records.push(record.clone());
            drop(state);
            self.record = Some(record);
        }
        let poll = self.future.as_mut().poll(cx);
        let to = Instant::now();
        if let Some(record) = &self.record {
            let mut record = lock(record);
            record.ran(from, to);
            if poll.is_ready() {
                record.end = Some((to, Status::Done));
            }
        }
        poll
    }
}

impl<F> Drop for Tracked<F> {
    fn drop(&mut self) {
        if let Some(record) = &self.record {
            let mut record = lock(record);
            if record.end.is_none() {
                record.end = Some((Instant::now(), Status::Cancelled));
            }
        }
    }
}

#[cfg(test)]
mod tests;
