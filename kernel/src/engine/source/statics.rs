//! `static`s that hold state, one instance in the session.
//!
//! evcxr compiles a cell's items again into every later cell, each cell a
//! crate of its own, so a `static` was a fresh copy in each: a counter counted
//! from zero again, a `OnceLock` set in one cell was empty in the next, a
//! `LazyLock` ran its initialiser in every cell, silently; so was a `static`
//! inside a function, which the function's calls in each later cell found
//! fresh. The kernel writes a `static` whose type holds state (an atomic, a
//! lock, a `OnceLock` or `LazyLock`, a cell, a semaphore, ...), at the top
//! level or in a function, as a `LazyLock` of a reference to one instance
//! that the cell library keeps by the static's name (and, in a function, its
//! place in the cell) and the cell that defined it
//! (`asyncbook::statics::shared`): later cells
//! find it, and running the defining cell again makes a new one, as running
//! a program again would. Methods, `&NAME` and deref reach it as before; a
//! static of a type that dereferences (`LazyLock<String>`) is held so that it
//! dereferences to the same target (`*NAME` is the `String`).
//! Statics of plain values (numbers, strings) stay as they are: every copy is
//! the same. Lines keep their numbers. Were evcxr to compile items only
//! once, the rewrite would cost a `LazyLock` and change nothing; the counter
//! test in `shared_runtime.rs` holds either way.

use ra_ap_syntax::ast::{self, HasName};
use ra_ap_syntax::AstNode;

use crate::engine::source::syntax::{cell_range, CellSyntax, Edit};

/// Words of type names whose values change behind a shared reference.
const STATEFUL: &[&str] = &[
    "Atomic",
    "Mutex",
    "RwLock",
    "Once",
    "Lazy",
    "Cell",
    "Semaphore",
    "Notify",
    "Condvar",
    "Barrier",
];

/// Types whose values dereference to what they hold, by the last segment
/// of their path.
const DEREFS: &[&str] = &["LazyLock", "Lazy", "LazyCell"];

/// `LazyLock` for `std::sync::LazyLock<String>`.
fn outer_type(type_text: &str) -> &str {
    let path = type_text.split('<').next().unwrap_or_default();
    path.rsplit("::").next().unwrap_or_default().trim()
}

/// The cell (run as cell `cell`) with its stateful statics kept in the cell
/// library.
pub fn edits(syntax: &CellSyntax, cell: usize) -> Vec<Edit> {
    let mut edits = Vec::new();
    for (stat, key) in statics(syntax) {
        let (Some(ty), Some(body)) = (stat.ty(), stat.body()) else {
            continue;
        };
        let type_text = ty.syntax().text().to_string();
        let stateful = STATEFUL.iter().any(|word| type_text.contains(word));
        if stat.mut_token().is_some() || !stateful {
            continue;
        }
        // The type, where it fits on the line, so that rustc need not infer
        // it through the closure (a `LazyLock`'s own closure would not).
        let turbofish = if type_text.contains('\n') {
            String::new()
        } else {
            format!("::<{type_text}>")
        };
        // A type that dereferences (`LazyLock<String>`) is kept in a holder
        // that dereferences to the same target, so `*NAME` means what it
        // does in a program; others are reached through a `LazyLock` of a
        // reference, whose methods and `&NAME` reach the instance.
        let holder = if DEREFS.iter().any(|lazy| outer_type(&type_text) == *lazy) {
            "::asyncbook::statics::Derefs"
        } else {
            "::std::sync::LazyLock"
        };
        let reference = if holder.ends_with("Derefs") {
            ""
        } else {
            "&'static "
        };
        let (ty, body) = (
            cell_range(ty.syntax().text_range()),
            cell_range(body.syntax().text_range()),
        );
        edits.push((ty.start..ty.start, format!("{holder}<{reference}")));
        edits.push((ty.end..ty.end, ">".to_owned()));
        edits.push((
            body.start..body.start,
            format!(
                "{holder}::new(|| ::asyncbook::statics::shared{turbofish}({key:?}, {cell}, || "
            ),
        ));
        edits.push((body.end..body.end, "))".to_owned()));
    }
    edits
}

/// The cell's statics, at its top level and inside its functions, each with
/// the name it is kept by: a top-level static's own, one inside a function
/// its name and place in the cell (a function's static is one instance
/// for all its calls, and for every type a generic function is called with).
pub(crate) fn statics(syntax: &CellSyntax) -> Vec<(ast::Static, String)> {
    let Some(body) = &syntax.body else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for node in body {
        for stat in node.descendants().filter_map(ast::Static::cast) {
            let Some(name) = stat.name() else { continue };
            let key = if stat.syntax() == node {
                name.text().to_string()
            } else {
                format!(
                    "{}@{}",
                    name.text(),
                    cell_range(stat.syntax().text_range()).start
                )
            };
            found.push((stat, key));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    use crate::engine::source::syntax::replaced;

    /// The cell as the pass alone leaves it.
    fn rewrite(code: &str, cell: usize) -> Cow<'_, str> {
        replaced(code, edits(&CellSyntax::parse(code), cell))
    }

    #[test]
    fn a_stateful_static_is_kept_in_the_library() {
        let code = "use std::sync::atomic::{AtomicU64, Ordering};\nstatic HITS: AtomicU64 = AtomicU64::new(0);\nfn hit() -> u64 { HITS.fetch_add(1, Ordering::SeqCst) + 1 }";
        let rewritten = rewrite(code, 3);
        assert_eq!(
            rewritten.lines().nth(1),
            Some("static HITS: ::std::sync::LazyLock<&'static AtomicU64> = ::std::sync::LazyLock::new(|| ::asyncbook::statics::shared::<AtomicU64>(\"HITS\", 3, || AtomicU64::new(0)));")
        );
        assert_eq!(rewritten.lines().count(), code.lines().count());
    }

    #[test]
    fn a_lazy_static_keeps_dereferencing_to_its_value() {
        let code = "static BANNER: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| \"hi\".into());";
        assert_eq!(
            rewrite(code, 2),
            "static BANNER: ::asyncbook::statics::Derefs<std::sync::LazyLock<String>> = \
             ::asyncbook::statics::Derefs::new(|| ::asyncbook::statics::shared::<std::sync::LazyLock<String>>(\
             \"BANNER\", 2, || std::sync::LazyLock::new(|| \"hi\".into())));"
        );
    }

    #[test]
    fn visibility_attributes_and_lines_stay() {
        let code = "#[allow(dead_code)]\npub static LOG: std::sync::Mutex<Vec<String>> =\n    std::sync::Mutex::new(Vec::new());";
        let rewritten = rewrite(code, 1);
        assert_eq!(rewritten.lines().count(), 3, "{rewritten}");
        assert!(rewritten.starts_with("#[allow(dead_code)]\npub static LOG: ::std::sync::LazyLock<&'static std::sync::Mutex<Vec<String>>> =\n"));
        assert!(rewritten.ends_with("shared::<std::sync::Mutex<Vec<String>>>(\"LOG\", 1, || std::sync::Mutex::new(Vec::new())));"));
    }

    #[test]
    fn a_static_inside_a_function_is_kept_by_its_place() {
        let code = "fn next() -> u32 {\n    static N: AtomicU32 = AtomicU32::new(0);\n    N.fetch_add(1, SeqCst)\n}";
        assert_eq!(
            rewrite(code, 6).lines().nth(1),
            Some("    static N: ::std::sync::LazyLock<&'static AtomicU32> = ::std::sync::LazyLock::new(|| ::asyncbook::statics::shared::<AtomicU32>(\"N@23\", 6, || AtomicU32::new(0)));")
        );
    }

    #[test]
    fn plain_and_mutable_statics_stay() {
        for code in [
            "static LIMIT: u32 = 10;",
            "static NAME: &str = \"x\";",
            "static mut COUNT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);",
            "let stat = 1;",
        ] {
            assert!(matches!(rewrite(code, 1), Cow::Borrowed(_)), "{code}");
        }
    }
}
