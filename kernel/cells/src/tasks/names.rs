//! The names given with `tokio::task::Builder::name`.
//!
//! Tokio's task hooks do not carry a task's name; tokio hands it only to
//! the tracing span it opens for every spawn (with its `tracing` feature and
//! `tokio_unstable`). The cell library installs, as the process's global
//! tracing dispatcher, a subscriber that cares for that one span: it passes
//! the name to the registry, which the spawn hook that follows on the same
//! thread picks up. Every other callsite is switched off once, so tracing
//! costs nothing else. A cell that sets a tracing subscriber of its own for
//! the whole process finds this one in place: it can use
//! `tracing::subscriber::set_default` (for a thread) instead.

use std::fmt;
use std::sync::Once;

use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::subscriber::{Interest, Subscriber};
use tracing_core::{Dispatch, Event, Metadata};

/// Installs the subscriber, once, unless the process already has one.
pub(crate) fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = tracing_core::dispatcher::set_global_default(Dispatch::new(TaskNames));
    });
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
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        is_spawn(metadata)
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut fields = SpawnFields::default();
        span.record(&mut fields);
        if let (false, Some(id)) = (fields.name.is_empty(), fields.id) {
            super::registry::name_next(id, fields.name.into());
        }
        // Nothing is kept per span, so every span can share one id.
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, _: &Event<'_>) {}

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}
