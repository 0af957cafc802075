//! The cell's text made ready for evcxr: the kernel's own `:` commands
//! expanded, then the passes of `prepare`, each a function of one parse of
//! the cell that says what to replace. Every pass keeps lines on their
//! numbers, so diagnostics, panics and `:tasks` still point at the cell.

use std::borrow::Cow;

use commands::Clear;
use syntax::{replaced, CellSyntax, Edit};

pub(crate) mod commands;
pub mod completeness;
pub(crate) mod impls;
pub(crate) mod item_macros;
pub(crate) mod leading_docs;
pub(crate) mod pinned;
pub(crate) mod static_muts;
pub(crate) mod statics;
pub(crate) mod syntax;
pub(crate) mod thread_locals;
pub(crate) mod tokio_main;

/// A cell ready for evcxr, and what its `:` commands ask of the worker.
pub(crate) struct Prepared<'a> {
    /// The cell with the kernel's commands expanded: the code as meant.
    pub(crate) expanded: Cow<'a, str>,
    /// The code as evcxr gets it.
    pub(crate) code: String,
    /// Set by `:warnings on` or `:warnings off`.
    pub(crate) show_warnings: Option<bool>,
    /// Set by `:types`: results show their type from now on, or no longer.
    pub(crate) toggle_types: bool,
    pub(crate) clear: Clear,
}

/// Cell `cell`, as the user wrote it, made ready for evcxr. The passes, in
/// order:
/// - `leading_docs`: a doc comment at the cell's top documents its item;
/// - `tokio_main`: a pasted `#[tokio::main]` function runs on the shared
///   runtime;
/// - `pinned`: a top-level `pin!` pins in a box, so the future outlives
///   the cell;
/// - `item_macros`: a macro call that defines items (`thread_local!`) is
///   kept as an item, a thread-local as one in the session (`thread_locals`);
/// - `impls`: an `impl` with no named item before it is kept as evcxr
///   keeps named items;
/// - `statics`: a `static` that holds state is one instance in the session;
/// - `static_muts`: a `static mut` is one place in the session, and its uses
///   reach it.
///
/// Each finds its own shape (a doc comment's first line, an attributed
/// function, a top-level `pin!`, a top-level item macro call, an `impl` item,
/// a `static` item, a `static mut` and its uses), so their edits never meet;
/// where two would, the first pass's edit is kept.
pub(crate) fn prepare(written: &str, cell: usize) -> Prepared<'_> {
    let commands::Expanded {
        code: expanded,
        show_warnings,
        toggle_types,
        clear,
    } = commands::expand(written);
    let syntax = CellSyntax::parse(&expanded);
    let passes = [
        leading_docs::edits(&syntax),
        tokio_main::edits(&syntax),
        pinned::edits(&syntax),
        item_macros::edits(&syntax, cell),
        impls::edits(&syntax),
        statics::edits(&syntax, cell),
        static_muts::edits(&syntax, cell),
    ];
    let code = replaced(&expanded, apart(passes.concat())).into_owned();
    Prepared {
        expanded,
        code,
        show_warnings,
        toggle_types,
        clear,
    }
}

/// `edits` in the order of the cell, an edit that overlaps one before it left
/// out (a stable sort keeps the passes' order at one place).
fn apart(mut edits: Vec<Edit>) -> Vec<Edit> {
    edits.sort_by_key(|(range, _)| range.start);
    let mut kept: Vec<Edit> = Vec::with_capacity(edits.len());
    for edit in edits {
        match kept.last() {
            Some((last, _)) if last.end > edit.0.start => {
                tracing::warn!("two rewrites of a cell overlap at {:?}", edit.0);
            }
            _ => kept.push(edit),
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_passes_meet_in_one_cell_on_the_same_lines() {
        let written = "impl S {}\n#[tokio::main]\nasync fn main() {\n    tokio::pin!(x);\n}\n\
                       let f = std::pin::pin!(async { 1 });\n\
                       static HITS: AtomicU64 = AtomicU64::new(0);";
        let prepared = prepare(written, 4);
        assert_eq!(prepared.code.lines().count(), written.lines().count());
        assert!(prepared.code.contains("asyncbook::runtime::block_on"));
        assert!(
            prepared.code.contains("tokio::pin!(x)"),
            "a pin inside a function stays"
        );
        assert!(prepared.code.contains("Box::pin(async { 1 })"));
        assert_ne!(prepared.code, written);
        for (line, (ran, wrote)) in prepared.code.lines().zip(written.lines()).enumerate() {
            if wrote.starts_with("impl") || wrote.starts_with("static") {
                assert_ne!(ran, wrote, "line {line} was rewritten");
            }
        }
    }

    #[test]
    fn overlapping_edits_keep_the_first() {
        let edits = vec![
            (0..4, "a".to_owned()),
            (2..6, "b".to_owned()),
            (6..6, "c".into()),
        ];
        assert_eq!(
            apart(edits),
            [(0..4, "a".to_owned()), (6..6, "c".to_owned())]
        );
    }
}
