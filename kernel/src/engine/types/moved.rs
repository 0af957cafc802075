//! Variables a cell moved away (`let w = v;`, `drop(v)`, into a task): what
//! a failing cell says of those it took, and what a later cell that names
//! one is told instead of rustc's bare "cannot find value".

use std::collections::{BTreeMap, BTreeSet};

use crate::engine::diagnostics::Diagnostic;

/// Which cell last moved each variable that is gone, and whether it was
/// lost instead (its type defined again since it was made).
#[derive(Default)]
pub struct Moved {
    by: BTreeMap<String, Gone>,
}

#[derive(Clone)]
struct Gone {
    cell: usize,
    lost: bool,
    /// For a lost variable, the crates its type comes from.
    crates: Vec<String>,
}

impl Moved {
    /// Cell `cell` ran: the variables of `before` missing from `now` are
    /// the ones it moved away (returned), and so are those it `defined`
    /// (when it ran to its end) and did not keep; a name defined again is
    /// no longer gone. Those evcxr dropped as `lost` (with their types, where
    /// known) were not moved.
    pub fn note<'a>(
        &mut self,
        cell: usize,
        before: &[String],
        defined: &[String],
        lost: &[(String, Option<&str>)],
        now: impl Iterator<Item = &'a str>,
    ) -> Vec<String> {
        let now: BTreeSet<&str> = now.collect();
        self.by.retain(|name, _| !now.contains(name.as_str()));
        let missing =
            |name: &&String| !now.contains(name.as_str()) && !lost.iter().any(|(l, _)| l == *name);
        let gone: Vec<String> = before.iter().filter(missing).cloned().collect();
        for name in gone.iter().chain(defined.iter().filter(missing)) {
            let crates = Vec::new();
            self.by.insert(
                name.clone(),
                Gone {
                    cell,
                    lost: false,
                    crates,
                },
            );
        }
        for (name, ty) in lost.iter().filter(|(name, _)| !now.contains(name.as_str())) {
            let crates = ty.map(crates_of).unwrap_or_default();
            self.by.insert(
                name.clone(),
                Gone {
                    cell,
                    lost: true,
                    crates,
                },
            );
        }
        gone
    }

    /// Tells, beside rustc's "cannot find value `v` in this scope", which
    /// cell moved `v` away, or lost it.
    pub fn explain(&self, error: &mut Diagnostic) {
        let name = error
            .message
            .strip_prefix("cannot find value `")
            .and_then(|rest| rest.strip_suffix("` in this scope"));
        let Some((name, gone)) = name.and_then(|name| Some((name, self.by.get(name)?))) else {
            return;
        };
        let Gone { cell, lost, crates } = gone;
        error.help.push(if *lost && !crates.is_empty() {
            let crates: Vec<String> = crates.iter().map(|c| format!("`{c}`")).collect();
            format!(
                "`{name}` was lost when cell [{cell}] ran: its type comes from {}, which a \
                 `:dep` since the value was made built again (another version or other \
                 features), so it is another type now; make the value again",
                crates.join(" and ")
            )
        } else if *lost {
            format!(
                "`{name}` was lost when cell [{cell}] ran: its type was defined again since the \
                 value was made; make the value again"
            )
        } else {
            format!(
                "`{name}` was moved away by cell [{cell}]: a value moved into another, \
                 or into a task, is gone from the notebook"
            )
        });
    }
}

/// The crates other than the standard library's that a type's paths name
/// (`tokio_util` for `std::sync::Arc<tokio_util::sync::CancellationToken>`).
fn crates_of(ty: &str) -> Vec<String> {
    let mut crates: Vec<String> = Vec::new();
    let mut previous = ' ';
    for (at, c) in ty.char_indices() {
        let starts = (c.is_alphabetic() || c == '_')
            && !(previous.is_alphanumeric() || previous == '_' || previous == ':');
        previous = c;
        if !starts {
            continue;
        }
        let word: String = ty[at..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let followed = ty[at + word.len()..].starts_with("::");
        let standard = ["std", "core", "alloc", "crate", "self", "super"].contains(&word.as_str());
        if followed && !standard && !crates.contains(&word) {
            crates.push(word);
        }
    }
    crates
}

/// The clause a failed cell's message gives the earlier variables it had
/// moved in: they are dropped with the cell's own.
pub fn clause(gone: &[String]) -> String {
    let named: Vec<String> = gone.iter().map(|name| format!("`{name}`")).collect();
    match named.as_slice() {
        [] => String::new(),
        [one] => format!(", except {one}, moved into this cell and dropped with it"),
        [many @ .., last] => format!(
            ", except {} and {last}, moved into this cell and dropped with it",
            many.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_variable_moved_away_is_named_with_the_cell_that_took_it() {
        let mut moved = Moved::default();
        let before = vec!["v".to_owned(), "s".to_owned()];
        let defined = vec!["w".to_owned(), "t".to_owned()];
        assert_eq!(
            moved.note(4, &before, &defined, &[], ["s", "w"].into_iter()),
            ["v"]
        );
        let mut error = Diagnostic {
            level: "error".into(),
            code: Some("E0425".into()),
            message: "cannot find value `v` in this scope".into(),
            spans: vec![],
            help: vec![],
            notes: vec![],
        };
        moved.explain(&mut error);
        assert_eq!(
            error.help,
            ["`v` was moved away by cell [4]: a value moved into another, or into a task, is gone from the notebook"]
        );
        // Defined again, it is no longer gone.
        let mut moved_here = Diagnostic {
            message: "cannot find value `t` in this scope".into(),
            help: vec![],
            ..error.clone()
        };
        moved.explain(&mut moved_here);
        assert_eq!(moved_here.help.len(), 1, "defined and moved on in one cell");
        moved.note(5, &["s".to_owned()], &[], &[], ["s", "v"].into_iter());
        let mut again = Diagnostic {
            help: vec![],
            ..error
        };
        moved.explain(&mut again);
        assert!(again.help.is_empty());
        // A variable evcxr dropped for its type is lost, not moved.
        let lost = [("job".to_owned(), Some("Job"))];
        assert!(moved
            .note(6, &["job".to_owned()], &[], &lost, ["s", "v"].into_iter())
            .is_empty());
        let mut job = Diagnostic {
            message: "cannot find value `job` in this scope".into(),
            help: vec![],
            ..again.clone()
        };
        moved.explain(&mut job);
        assert_eq!(
            job.help,
            ["`job` was lost when cell [6] ran: its type was defined again since the value was made; make the value again"]
        );
        // Lost with a crate's type: the crate is named.
        let token = [(
            "tok".to_owned(),
            Some("std::sync::Arc<tokio_util::sync::CancellationToken>"),
        )];
        moved.note(7, &["tok".to_owned()], &[], &token, ["s"].into_iter());
        let mut tok = Diagnostic {
            message: "cannot find value `tok` in this scope".into(),
            help: vec![],
            ..job.clone()
        };
        moved.explain(&mut tok);
        assert!(
            tok.help[0].contains("its type comes from `tokio_util`, which a `:dep`"),
            "{:?}",
            tok.help
        );
        assert_eq!(
            clause(&["a".into(), "b".into(), "c".into()]),
            ", except `a`, `b` and `c`, moved into this cell and dropped with it"
        );
    }
}
