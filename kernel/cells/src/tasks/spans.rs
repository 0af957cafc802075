//! What tokio tells only through the tracing span it opens for every spawn
//! (with its `tracing` feature and `tokio_unstable`): the names given with
//! `tokio::task::Builder::name`, and the tasks its hooks do not see.
//!
//! The cell library reads that span with a subscriber of its own. A name
//! is held for the spawn hook that follows on the same thread (`hooks`).
//! A task on a `LocalSet` and one of `spawn_blocking` get no hook at all:
//! the span's fields enter them in the registry, entering and leaving the
//! span (around each poll, and once more as the task's future is dropped)
//! time their polls, and closing it ends them.
//!
//! The subscriber is the default dispatcher of the threads where cells and
//! tasks run (set per thread), not the process's global one, which stays
//! free: a cell's `tracing_subscriber::fmt::init()` works. Everything else
//! (events, other spans) it hands to that global subscriber once one is
//! set, so the user's subscriber sees what tasks log; with none set, every
//! other callsite is switched off and tracing costs nothing more.
//! (`downcast_ref` of the thread's dispatcher finds this subscriber, not the
//! user's: tools that look their subscriber up that way, such as span
//! traces of `tracing-error`, see none inside tasks.)

use std::cell::Cell;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Current, Id, Record};
use tracing_core::subscriber::{Interest, NoSubscriber, Subscriber};
use tracing_core::LevelFilter;
use tracing_core::{dispatcher, Dispatch, Event, Metadata};

use super::origin::{self, TaskKind};
use super::{hooks, registry};

/// Bit set in the ids of the spans this subscriber keeps for itself (those
/// it does not hand on). Subscribers number spans from one upwards.
const OWN: u64 = 1 << 63;
/// Bit set, beside [`OWN`], in the span id of a task the hooks do not see;
/// the task's id is in the bits below.
const TRACKED: u64 = 1 << 62;

/// Bit set, beside [`OWN`], in the span id of a task a recording timeline
/// draws: its span closes as its future is dropped, which tokio does before
/// it wakes the task's awaiter (and runs the end hook only after), so the
/// lane ends before the cell that awaited the task can end the recording.
const DRAWN: u64 = 1 << 61;

/// The bits of a span id below the flags: a task's id.
const TASK: u64 = DRAWN - 1;

/// The task behind span `id`, if the span is one that tracks a task.
fn tracked(id: &Id) -> Option<u64> {
    let id = id.into_u64();
    (id & (OWN | TRACKED) == OWN | TRACKED).then_some(id & TASK)
}

/// The task behind span `id`, if a timeline draws it.
fn drawn(id: &Id) -> Option<u64> {
    let id = id.into_u64();
    (id & (OWN | DRAWN) == OWN | DRAWN).then_some(id & TASK)
}

static OWN_DISPATCH: OnceLock<Dispatch> = OnceLock::new();

/// Starts reading names (a runtime with the task hooks is being built), on
/// this thread first.
pub(crate) fn start() {
    OWN_DISPATCH.get_or_init(|| Dispatch::new(TaskSpans));
    enter_thread();
}

/// Makes the subscriber this thread's default, once per thread, if names
/// are read. Called on every thread a hooked runtime starts and on the
/// thread of each cell; a cell's `tracing::subscriber::set_default` still
/// takes over while its guard lives.
pub(crate) fn enter_thread() {
    thread_local! {
        static ENTERED: Cell<bool> = const { Cell::new(false) };
    }
    let Some(own) = OWN_DISPATCH.get() else {
        return;
    };
    let _ = ENTERED.try_with(|entered| {
        if !entered.replace(true) {
            // Kept for the thread's life: its dispatch state ends with it.
            std::mem::forget(dispatcher::set_default(own));
        }
    });
}

/// Set when the process's global dispatcher may have been set since the
/// last look: tracing-core asks every subscriber for its `max_level_hint`
/// whenever a dispatcher is made (a global one is set right after), and a
/// cell's end re-arms it.
static LOOK: AtomicBool = AtomicBool::new(true);

/// The process's global dispatcher, once a cell (or a library) set one.
fn global() -> Option<&'static Dispatch> {
    static GLOBAL: OnceLock<Dispatch> = OnceLock::new();
    if let Some(global) = GLOBAL.get() {
        return Some(global);
    }
    if !LOOK.swap(false, Ordering::Relaxed) {
        return None;
    }
    // tracing-core hands out the global dispatcher only where no thread
    // default hides it: on a thread of its own. It never changes once set.
    let found = std::thread::spawn(|| dispatcher::get_default(Dispatch::clone))
        .join()
        .ok()
        .filter(|found| !found.is::<NoSubscriber>())?;
    Some(GLOBAL.get_or_init(|| found))
}

/// A cell ended: the next event looks for a global subscriber again (one
/// may have been set from a dispatcher made earlier).
pub(crate) fn look_again() {
    LOOK.store(true, Ordering::Relaxed);
}

/// The global dispatcher, if `id` is a span it made.
fn theirs(id: &Id) -> Option<&'static Dispatch> {
    (id.into_u64() & OWN == 0).then(global).flatten()
}

/// The target of the spans of `spawn_blocking`'s tasks.
const BLOCKING: &str = "tokio::task::blocking";

fn is_spawn(metadata: &Metadata<'_>) -> bool {
    matches!(metadata.target(), "tokio::task" | BLOCKING) && metadata.name() == "runtime.spawn"
}

/// The thread-default subscriber: follows tokio's spawn spans, forwards the rest.
struct TaskSpans;

/// Reads a spawn span's fields: `task.name` and `task.id` always; `kind`,
/// and the `loc.*` fields of a task the hooks do not see.
#[derive(Default)]
struct SpawnFields {
    name: String,
    id: Option<u64>,
    /// What kind of task, if the hooks do not see it.
    unseen: Option<TaskKind>,
    file: String,
    line: u32,
    column: u32,
}

impl Visit for SpawnFields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        match field.name() {
            "task.id" => self.id = Some(value),
            "loc.line" => self.line = value as u32,
            "loc.col" => self.column = value as u32,
            _ => {}
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        // `kind` comes before `loc.file`: only tracked tasks copy it.
        if field.name() == "loc.file" && self.unseen.is_some() {
            self.file = value.to_owned();
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        use fmt::Write as _;
        match field.name() {
            "task.name" => {
                let _ = write!(self.name, "{value:?}");
            }
            "kind" => {
                let mut local = Equals::new("local");
                let _ = write!(local, "{value:?}");
                if local.equal() {
                    self.unseen = Some(TaskKind::Local);
                }
            }
            _ => {}
        }
    }
}

/// Tells whether what is written equals `want`, without keeping it.
struct Equals {
    want: &'static str,
    seen: usize,
    differs: bool,
}

impl Equals {
    fn new(want: &'static str) -> Self {
        Self {
            want,
            seen: 0,
            differs: false,
        }
    }

    fn equal(&self) -> bool {
        !self.differs && self.seen == self.want.len()
    }
}

impl fmt::Write for Equals {
    fn write_str(&mut self, piece: &str) -> fmt::Result {
        let end = self.seen + piece.len();
        self.differs |= self.want.get(self.seen..end) != Some(piece);
        self.seen = end;
        Ok(())
    }
}

/// Reads a spawn span: names the task that follows, or enters a task the
/// hooks do not see. The span's id says which.
fn spawn_span(span: &Attributes<'_>) -> Id {
    let mut fields = SpawnFields {
        unseen: (span.metadata().target() == BLOCKING).then_some(TaskKind::Blocking),
        ..SpawnFields::default()
    };
    span.record(&mut fields);
    let name = (!fields.name.is_empty()).then(|| fields.name.into_boxed_str());
    match (fields.id, fields.unseen) {
        (Some(id), Some(kind)) => {
            let place = origin::span_place(&fields.file, fields.line, fields.column);
            hooks::span_spawned(id, kind, name, place);
            Id::from_u64(OWN | TRACKED | id)
        }
        (Some(id), None) => {
            if let Some(name) = name {
                hooks::name_next(id, name);
            }
            if hooks::records_next_spawn() {
                Id::from_u64(OWN | DRAWN | id)
            } else {
                // Nothing is kept per span, so all of them can share one id.
                Id::from_u64(OWN)
            }
        }
        (None, _) => Id::from_u64(OWN),
    }
}

impl Subscriber for TaskSpans {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if is_spawn(metadata) {
            Interest::always()
        } else {
            // No look here: a dispatcher being made registers callsites
            // before it is set as the global one.
            Interest::never()
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        LOOK.store(true, Ordering::Relaxed);
        None
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        is_spawn(metadata) || global().is_some_and(|global| global.enabled(metadata))
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        // Spawn spans stay here; another span is one the global
        // subscriber enabled.
        if is_spawn(span.metadata()) {
            return spawn_span(span);
        }
        match global() {
            Some(global) => global.new_span(span),
            None => Id::from_u64(OWN),
        }
    }

    fn record(&self, id: &Id, values: &Record<'_>) {
        if let Some(global) = theirs(id) {
            global.record(id, values);
        }
    }

    fn record_follows_from(&self, id: &Id, follows: &Id) {
        if let (Some(global), Some(_)) = (theirs(id), theirs(follows)) {
            global.record_follows_from(id, follows);
        }
    }

    fn event(&self, event: &Event<'_>) {
        if let Some(global) = global() {
            global.event(event);
        }
    }

    fn enter(&self, id: &Id) {
        if let Some(task) = tracked(id) {
            registry::poll_starts(task);
        } else if let Some(global) = theirs(id) {
            global.enter(id);
        }
    }

    fn exit(&self, id: &Id) {
        if let Some(task) = tracked(id) {
            registry::poll_ends(task);
        } else if let Some(global) = theirs(id) {
            global.exit(id);
        }
    }

    fn clone_span(&self, id: &Id) -> Id {
        match theirs(id) {
            Some(global) => global.clone_span(id),
            None => id.clone(),
        }
    }

    fn try_close(&self, id: Id) -> bool {
        if let Some(task) = tracked(&id) {
            registry::end(task);
            return true;
        }
        if let Some(task) = drawn(&id) {
            registry::future_dropped(task);
            return true;
        }
        match theirs(&id) {
            Some(global) => global.try_close(id),
            None => false,
        }
    }

    fn current_span(&self) -> Current {
        global().map_or_else(Current::none, Dispatch::current_span)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A user's subscriber: counts the events it is handed.
    struct Counting(Arc<AtomicUsize>);

    impl Subscriber for Counting {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &Attributes<'_>) -> Id {
            Id::from_u64(7)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, _: &Event<'_>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    /// An event of the user's code, as `tracing::info!` makes one (the
    /// library does not depend on `tracing` itself: a dev-dependency on it
    /// would build tokio a second time, with other features).
    fn user_event() {
        use tracing_core::callsite::DefaultCallsite;
        use tracing_core::metadata::Kind;
        use tracing_core::Level;
        static CALLSITE: DefaultCallsite = DefaultCallsite::new(&META);
        static META: Metadata<'static> = tracing_core::metadata! {
            name: "user event",
            target: "cell",
            level: Level::INFO,
            fields: &[],
            callsite: &CALLSITE,
            kind: Kind::EVENT,
        };
        if CALLSITE.interest().is_never() {
            return;
        }
        if dispatcher::get_default(|current| current.enabled(&META)) {
            Event::dispatch(&META, &META.fields().value_set::<[_; 0]>(&[]));
        }
    }

    #[test]
    fn events_reach_the_global_subscriber_set_after_names_are_read() {
        start();
        user_event();
        assert!(global().is_none());
        let seen = Arc::new(AtomicUsize::new(0));
        dispatcher::set_global_default(Dispatch::new(Counting(seen.clone())))
            .expect("the global dispatcher is free");
        // An event of a thread where cells or tasks run, and of another.
        user_event();
        std::thread::spawn(user_event).join().unwrap();
        assert_eq!(seen.load(Ordering::Relaxed), 2);
    }
}
