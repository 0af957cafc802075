//! The names given with `tokio::task::Builder::name`.
//!
//! Tokio's task hooks do not carry a task's name; tokio hands it only to
//! the tracing span it opens for every spawn (with its `tracing` feature and
//! `tokio_unstable`). The cell library reads that one span with a
//! subscriber of its own: it passes the name to the registry, which the
//! spawn hook that follows on the same thread picks up.
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

/// Bit set in the ids of the spans this subscriber keeps for itself (those
/// it does not hand on). Subscribers number spans from one upwards.
const OWN: u64 = 1 << 63;

static OWN_DISPATCH: OnceLock<Dispatch> = OnceLock::new();

/// Starts reading names (a runtime with the task hooks is being built), on
/// this thread first.
pub(crate) fn start() {
    OWN_DISPATCH.get_or_init(|| Dispatch::new(TaskNames));
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

fn is_spawn(metadata: &Metadata<'_>) -> bool {
    metadata.target() == "tokio::task" && metadata.name() == "runtime.spawn"
}

struct TaskNames;

/// Reads `task.name` and `task.id` from a spawn span's fields.
#[derive(Default)]
struct SpawnFields {
    name: String,
    id: Option<u64>,
}

impl Visit for SpawnFields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "task.id" {
            self.id = Some(value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "task.name" {
            use fmt::Write as _;
            let _ = write!(self.name, "{value:?}");
        }
    }
}

impl Subscriber for TaskNames {
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
        let metadata = span.metadata();
        if is_spawn(metadata) {
            let mut fields = SpawnFields::default();
            span.record(&mut fields);
            if let (false, Some(id)) = (fields.name.is_empty(), fields.id) {
                super::registry::name_next(id, fields.name.into());
            }
        }
        // Spawn spans stay here; another span is one the global
        // subscriber enabled.
        match (!is_spawn(metadata)).then(global).flatten() {
            Some(global) => global.new_span(span),
            // Nothing is kept per span, so all of them can share one id.
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
        if let Some(global) = theirs(id) {
            global.enter(id);
        }
    }

    fn exit(&self, id: &Id) {
        if let Some(global) = theirs(id) {
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

    #[test]
    fn events_reach_the_global_subscriber_set_after_names_are_read() {
        start();
        tracing::info!("before any subscriber");
        assert!(global().is_none());
        let seen = Arc::new(AtomicUsize::new(0));
        dispatcher::set_global_default(Dispatch::new(Counting(seen.clone())))
            .expect("the global dispatcher is free");
        // Events of a thread where cells or tasks run, and of any other.
        tracing::info!("on a thread of the runtime");
        std::thread::spawn(|| tracing::info!("elsewhere"))
            .join()
            .unwrap();
        assert_eq!(seen.load(Ordering::Relaxed), 2);
    }
}
