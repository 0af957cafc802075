//! What tokio tells of a task as it is spawned: how the task runs and where
//! it was spawned. The registry keeps it; `source` places it in a cell.

use std::panic::Location;
use std::sync::Mutex;

use crate::lock::lock;

/// How a task runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskKind {
    /// A future on the runtime's workers (`tokio::spawn` and the like).
    Async,
    /// A future on a `LocalSet` (`spawn_local`), polled where the set runs.
    Local,
    /// A closure of `spawn_blocking`, on a thread of the blocking pool: it
    /// runs in one go, its one "poll".
    Blocking,
}

impl TaskKind {
    /// How `:tasks` marks it (nothing for the common kind).
    pub fn label(self) -> Option<&'static str> {
        match self {
            Self::Async => None,
            Self::Local => Some("local"),
            Self::Blocking => Some("blocking"),
        }
    }
}

/// Where a task was spawned, as tokio tells: the location its spawn hook
/// gives, or the place its tracing span names (a task on a `LocalSet`, or
/// one of `spawn_blocking`, which the hooks do not see).
#[derive(Clone, Copy, Debug)]
pub enum SpawnedAt {
    Hook(&'static Location<'static>),
    Span(&'static SpanPlace),
}

/// A place named by a spawn span's fields.
#[derive(Debug, PartialEq, Eq)]
pub struct SpanPlace {
    file: Box<str>,
    line: u32,
    column: u32,
}

impl SpawnedAt {
    pub fn file(&self) -> &str {
        match self {
            Self::Hook(at) => at.file(),
            Self::Span(at) => &at.file,
        }
    }

    pub fn line(&self) -> u32 {
        match self {
            Self::Hook(at) => at.line(),
            Self::Span(at) => at.line,
        }
    }

    pub fn column(&self) -> u32 {
        match self {
            Self::Hook(at) => at.column(),
            Self::Span(at) => at.column,
        }
    }
}

/// The place a spawn span names, kept once for the process (spawn sites
/// are places in code: there are few of them).
pub(crate) fn span_place(file: &str, line: u32, column: u32) -> &'static SpanPlace {
    static PLACES: Mutex<Vec<&'static SpanPlace>> = Mutex::new(Vec::new());
    let mut places = lock(&PLACES);
    let wanted = SpanPlace {
        file: file.into(),
        line,
        column,
    };
    if let Some(place) = places.iter().find(|place| ***place == wanted) {
        return place;
    }
    let place: &'static SpanPlace = Box::leak(Box::new(wanted));
    places.push(place);
    place
}
