//! What a timeline hands out: the spans and marks it recorded, in time
//! since its start, ready to be drawn.

use std::time::Duration;

/// How a span ended, as far as the timeline knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Still going when the picture was taken.
    Open,
    /// The future returned its value.
    Done,
    /// The future was dropped before finishing.
    Cancelled,
}

/// One piece of tracked work, in time since the timeline's start.
#[derive(Clone, Debug, PartialEq)]
pub struct Span {
    pub name: String,
    pub start: Duration,
    /// When it ended, or when the picture was taken if it is still open.
    pub end: Duration,
    pub status: Status,
    /// The stretches of time it was being polled (running); the rest of
    /// `start..end` it was waiting.
    pub running: Vec<(Duration, Duration)>,
}

/// A labelled instant.
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    pub label: String,
    pub at: Duration,
}
