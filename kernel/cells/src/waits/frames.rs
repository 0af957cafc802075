//! A task's backtraces from tokio's dump, read as the steps people know:
//! the notebook's places (`[3] line 2, in async fn fetch`) and the futures
//! of libraries by crate path and type (`tokio::sync::oneshot::Receiver`).
//! The frames of tokio's scheduler, of `core`, `std` and `alloc`, and of the
//! cell library (the kernel's wrappers around a cell's code) are left out;
//! no file path of the registry, the toolchain or the machine is kept.

use crate::tasks::source::{self, Site};

/// One resolved frame, as the backtrace gives it.
#[derive(Clone, Debug, Default)]
pub struct RawFrame {
    /// The demangled name, its hash included.
    pub symbol: Option<String>,
    pub file: Option<String>,
    pub line: Option<u32>,
}

/// One step of an await chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Code of the notebook: where in it (unknown without line tables) and
    /// what runs there (`async fn fetch`, `async block`).
    Notebook { site: Option<Site>, what: String },
    /// A library's future or function: `tokio::sync::oneshot::Receiver`.
    Library(String),
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Notebook {
                site: Some(site),
                what,
            } => write!(f, "{site}, in {what}"),
            Step::Notebook { site: None, what } => write!(f, "in {what} (a cell; no line known)"),
            Step::Library(path) => f.write_str(path),
        }
    }
}

/// The crate every cell is compiled as (see the kernel's `build::link`).
const CELL_CRATE: &str = "ctx";

/// The file every cell's code is compiled from.
const GENERATED: &str = "asyncbook_lib.rs";

/// Paths whose frames are machinery, not places a task waits at.
const LEFT_OUT: [&str; 13] = [
    "core::",
    "std::",
    "alloc::",
    "asyncbook::",
    "backtrace::",
    "tracing::instrument::",
    "tokio::runtime::",
    "tokio::task::coop::",
    "tokio::util::",
    "tokio::loom::",
    "tokio::macros::",
    "tokio::future::poll_fn::",
    "futures_util::future::future::catch_unwind::",
];

/// The steps of one backtrace (`frames` innermost first, as tokio gives
/// them), outermost first, for a task of cell `cell`.
pub fn steps(frames: &[RawFrame], cell: Option<u64>) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    for frame in frames.iter().rev() {
        let Some(step) = step(frame, cell) else {
            continue;
        };
        let repeated = match (out.last(), &step) {
            (Some(Step::Library(outer)), Step::Library(inner)) => internal(outer, inner),
            (Some(outer), inner) => outer == inner,
            (None, _) => false,
        };
        if !repeated {
            out.push(step);
        }
    }
    out
}

/// Whether library step `inner`, right under `outer`, is a detail of it: in
/// the same part of the same crate (`tokio::sync::batch_semaphore::Acquire`
/// under `tokio::sync::mpsc::bounded::Sender::send`, the `Sleep` of a
/// `tokio::time::timeout::Timeout`), not another future it awaits (a
/// `tokio::sync::oneshot::Receiver` under that `Timeout`).
fn internal(outer: &str, inner: &str) -> bool {
    let part =
        |path: &str| -> Vec<String> { path.split("::").take(2).map(str::to_owned).collect() };
    part(outer) == part(inner)
}

fn step(frame: &RawFrame, cell: Option<u64>) -> Option<Step> {
    let symbol = frame.symbol.as_deref().map(without_hash)?;
    let path = library_path(symbol);
    let in_cell = frame
        .file
        .as_deref()
        .is_some_and(|f| f.ends_with(GENERATED))
        || path.starts_with(&format!("{CELL_CRATE}::"));
    if in_cell {
        let site = match (&frame.file, frame.line) {
            (Some(file), Some(line)) => Some(source::site_of(cell, file, line)),
            _ => None,
        };
        return described(symbol)
            .map(|what| Step::Notebook { site, what })
            .filter(|step| {
                !matches!(
                    step,
                    Step::Notebook {
                        site: Some(Site::Elsewhere(_)),
                        ..
                    }
                )
            });
    }
    // A task awaiting another's `JoinHandle` is parked on it, though the
    // type lives in tokio's runtime, which is left out.
    if path == JOIN_HANDLE {
        return Some(Step::Library("tokio::task::JoinHandle".to_owned()));
    }
    if path.is_empty() || LEFT_OUT.iter().any(|left| path.starts_with(left)) {
        return None;
    }
    Some(Step::Library(path))
}

/// Where `tokio::task::JoinHandle` is defined.
const JOIN_HANDLE: &str = "tokio::runtime::task::join::JoinHandle";

/// `foo::bar::h0123456789abcdef` without its `::h…` hash.
fn without_hash(symbol: &str) -> &str {
    match symbol.rsplit_once("::h") {
        Some((name, hash)) if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) => {
            name
        }
        _ => symbol,
    }
}

/// `<tokio::sync::oneshot::Receiver<T> as core::future::Future>::poll` reads
/// `tokio::sync::oneshot::Receiver`; `tokio::sync::watch::Receiver<T>::
/// changed::{{closure}}` reads `tokio::sync::watch::Receiver::changed`.
pub fn library_path(symbol: &str) -> String {
    let symbol = without_hash(symbol);
    let named = match symbol.strip_prefix('<') {
        Some(rest) => {
            let inner = &rest[..closing(rest)];
            split_top(inner, " as ").map_or(inner, |(ty, _)| ty)
        }
        None => symbol,
    };
    let plain = without_generics(named);
    plain
        .split("::")
        .filter(|part| !is_closure(part) && !part.is_empty())
        .collect::<Vec<_>>()
        .join("::")
}

/// Where the `<` opened before `rest` closes (or the end).
fn closing(rest: &str) -> usize {
    let mut depth = 1;
    for (at, c) in rest.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => {
                depth -= 1;
                if depth == 0 {
                    return at;
                }
            }
            _ => {}
        }
    }
    rest.len()
}

/// `text` split at the first `pattern` outside angle brackets.
fn split_top<'a>(text: &'a str, pattern: &str) -> Option<(&'a str, &'a str)> {
    let mut depth = 0i32;
    for (at, c) in text.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            _ if depth == 0 && text[at..].starts_with(pattern) => {
                return Some((&text[..at], &text[at + pattern.len()..]));
            }
            _ => {}
        }
    }
    None
}

fn without_generics(text: &str) -> String {
    let mut depth = 0;
    text.chars()
        .filter(|c| {
            match c {
                '<' => depth += 1,
                '>' => depth -= 1,
                _ => return depth == 0,
            }
            false
        })
        .collect()
}

fn is_closure(part: &str) -> bool {
    part == "{{closure}}" || part.starts_with("{closure#")
}

/// What a frame of the notebook runs: `async fn fetch`, `async block in
/// fetch`, `fn helper`, `Ticker::poll`; an async block for the cell's own
/// code (evcxr's `run_user_code_N`).
fn described(symbol: &str) -> Option<String> {
    if let Some(rest) = symbol.strip_prefix('<') {
        // A `Future` (or other trait) implemented in the notebook.
        let inner = &rest[..closing(rest)];
        let ty = split_top(inner, " as ").map_or(inner, |(ty, _)| ty);
        let method = symbol.rsplit("::").find(|part| !is_closure(part))?;
        let ty = without_generics(ty);
        let ty = ty.strip_prefix(&format!("{CELL_CRATE}::")).unwrap_or(&ty);
        return Some(format!("{ty}::{method}"));
    }
    let plain = without_generics(symbol);
    let parts: Vec<&str> = plain.split("::").skip(1).collect();
    let closures = parts
        .iter()
        .rev()
        .take_while(|part| is_closure(part))
        .count();
    let named: Vec<&str> = parts.iter().copied().filter(|p| !is_closure(p)).collect();
    let name = named.join("::");
    if named
        .first()
        .is_some_and(|first| first.starts_with("run_user_code"))
    {
        return (closures > 0).then(|| "async block".to_owned());
    }
    Some(match closures {
        0 => format!("fn {name}"),
        1 => format!("async fn {name}"),
        _ => format!("async block in {name}"),
    })
}

/// Backtraces merged where they share their outer steps: a task awaiting
/// several futures at once (`select!`, `join!`) branches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub step: Step,
    pub children: Vec<Node>,
}

pub fn tree(chains: Vec<Vec<Step>>) -> Vec<Node> {
    let mut roots: Vec<Node> = Vec::new();
    for chain in chains {
        let mut level = &mut roots;
        for step in chain {
            let at = match level.iter().position(|node| node.step == step) {
                Some(at) => at,
                None => {
                    level.push(Node {
                        step,
                        children: Vec::new(),
                    });
                    level.len() - 1
                }
            };
            level = &mut level[at].children;
        }
    }
    roots
}

#[cfg(test)]
#[path = "frames_tests.rs"]
mod tests;
