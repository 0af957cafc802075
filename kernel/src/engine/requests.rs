//! What the engine thread is asked (`Request`, each with a oneshot reply)
//! and what it answers besides outcomes: completions, and a running cell's
//! requests for input.

use std::sync::mpsc as std_mpsc;

use tokio::sync::oneshot;

use crate::engine::outcome::Outcome;

/// A request for input from a running cell; the answer goes back on `reply`.
#[derive(Debug)]
pub struct InputAsk {
    pub prompt: String,
    pub password: bool,
    pub reply: std_mpsc::Sender<String>,
}

pub struct Completion {
    pub matches: Vec<String>,
    /// The kind of each match (`function`, `class`, `module`...), as the
    /// frontends' icons name them.
    pub kinds: Vec<&'static str>,
    /// Byte offsets into the code.
    pub start: usize,
    pub end: usize,
}

pub(crate) enum Request {
    Execute {
        code: String,
        /// The execution count shown beside the cell.
        cell: usize,
        reply: oneshot::Sender<Outcome>,
    },
    Complete {
        code: String,
        cursor: usize,
        reply: oneshot::Sender<Completion>,
    },
    Inspect {
        code: String,
        cursor: usize,
        reply: oneshot::Sender<Option<String>>,
    },
}
