//! Variables whose type cannot be written down: lazy futures, streams,
//! iterator adaptors and closures kept from cell to cell.
//!
//! evcxr stores a cell's variables under the type rust-analyzer infers for
//! them, and refuses a type that mentions `impl` ("The variable `x` has type
//! `impl Future<Output = String>` which cannot be persisted") or a closure
//! ("The variable `f` is a closure"), before it compiles anything. The kernel
//! then gives that variable's `let` a trait object type whose parameters are
//! left to inference (`Pin<Box<dyn Future<Output = _> + Send>>`), boxes the
//! value, and runs the cell again: rust-analyzer names the boxed type, rustc
//! checks it, and a value that does not fit one trait (a compile error, so
//! nothing ran) is tried with the next. Futures stay lazy in their box until
//! a later cell awaits them. A value of any other `impl Trait` (the user's
//! own `fn make() -> impl Shape`) is kept as a `Box<dyn Shape>`. Should evcxr word those errors differently, the
//! cells fail as before and the lazy-future test in `protocol.rs` says so.

mod closures;
mod future_items;
mod traits;

use future_items::future_items;
use traits::{trait_order, Trait};

pub use crate::engine::source::syntax::find_let;
use crate::engine::source::syntax::{split_top_level, statements_end, tokens};

/// What evcxr could not store.
#[derive(Debug, PartialEq, Eq)]
pub struct Unpersistable {
    pub variable: String,
    /// The type as rust-analyzer shows it; `None` for a closure.
    pub shown_type: Option<String>,
}

/// Reads evcxr's refusal to store a variable.
pub fn unpersistable(message: &str) -> Option<Unpersistable> {
    let rest = message.strip_prefix("The variable `")?;
    let (variable, rest) = rest.split_once('`')?;
    let shown_type = if rest.starts_with(" is a closure") {
        None
    } else {
        let rest = rest.strip_prefix(" has type `")?;
        let (shown, _) = rest.split_once("` which cannot be persisted")?;
        Some(shown.to_owned())
    };
    Some(Unpersistable {
        variable: variable.to_owned(),
        shown_type,
    })
}

/// The ways to box a value, most likely first. Each is the cell with the
/// variable's `let` rewritten, or with the boxed value bound to the same
/// name after the cell's last statement (for a value the cell still changes
/// after its `let`: `pending.push(..)`); all on the same lines (diagnostics
/// keep their line numbers).
pub fn rewrites(code: &str, what: &Unpersistable) -> Vec<String> {
    placed_rewrites(code, what)
        .into_iter()
        .map(|(cell, _)| cell)
        .collect()
}

/// [`rewrites`], each told apart by whether it boxes the value at the
/// cell's end (`true`) or at its `let`.
fn placed_rewrites(code: &str, what: &Unpersistable) -> Vec<(String, bool)> {
    // A collection's own annotation (`Vec<_>`) gives way to the boxed one.
    let collection = what
        .shown_type
        .as_deref()
        .is_some_and(|shown| shown.starts_with("Vec<impl Future"));
    let Some(site) = find_let(code, &what.variable, collection) else {
        return Vec::new();
    };
    let binding = &code[..site.name_end];
    let binding = &binding[binding.rfind("let").unwrap_or(0)..];
    let early = shapes(what, &code[site.init.clone()], collection)
        .into_iter()
        .map(|(annotation, value)| {
            let cell = format!(
                "{}: {annotation} = {value}{}",
                &code[..site.name_end],
                &code[site.init.end..]
            );
            (with_stream_named(&annotation, cell), false)
        });
    let late = statements_end(code).into_iter().flat_map(|at| {
        shapes(what, &what.variable, collection)
            .into_iter()
            .map(move |(annotation, value)| {
                let cell = format!(
                    "{} {binding}: {annotation} = {value};{}",
                    &code[..at],
                    &code[at..]
                );
                (with_stream_named(&annotation, cell), true)
            })
    });
    // A value the cell uses after its `let` is most likely still being
    // built (`pending.push(..)`): boxed at the end first.
    let used_later = tokens(&code[site.init.end..])
        .iter()
        .any(|t| code[site.init.end..][t.span.clone()] == what.variable);
    if used_later {
        late.chain(early).collect()
    } else {
        early.chain(late).collect()
    }
}

/// rust-analyzer names the stream trait `Stream`: a cell whose box names it
/// brings that name into scope for the code evcxr writes around the cell.
fn with_stream_named(annotation: &str, cell: String) -> String {
    if annotation.contains("futures::Stream") && !cell.starts_with("use futures::Stream; ") {
        format!("use futures::Stream; {cell}")
    } else {
        cell
    }
}

/// The boxes `(annotation, value)` for a value `init` of the type `what`
/// shows.
fn shapes(what: &Unpersistable, init: &str, collection: bool) -> Vec<(String, String)> {
    let objects = what.shown_type.as_deref().and_then(trait_objects);
    match what.shown_type.as_deref() {
        _ if objects.is_some() => objects
            .into_iter()
            .flatten()
            .map(|object| (object, format!("Box::new({init})")))
            .collect(),
        None => closures::shapes(init, None),
        Some(_) if collection => {
            let future = "std::pin::Pin<Box<dyn Future<Output = _> + Send>>";
            vec![(
                format!("Vec<{future}>"),
                format!(
                    "{{ let all: Vec<_> = {}; all }}.into_iter().map(|f| -> {future} {{ Box::pin(f) }}).collect()",
                    init.trim()
                ),
            )]
        }
        Some(shown) if shown.starts_with("impl Fn") || shown.starts_with("impl AsyncFn") => {
            closures::shapes(init, Some(shown))
        }
        Some(shown) => future_items(shown, init)
            .into_iter()
            .chain(trait_order(shown).into_iter().flat_map(|trait_| {
                let (wrap, object) = match trait_ {
                    Trait::Future => ("Box::pin", "std::pin::Pin<Box<dyn Future<Output = _>SEND>>"),
                    Trait::Stream => (
                        "Box::pin",
                        "std::pin::Pin<Box<dyn futures::Stream<Item = _>SEND>>",
                    ),
                    Trait::Iterator => ("Box::new", "Box<dyn Iterator<Item = _>SEND>"),
                };
                [" + Send", ""]
                    .map(|send| (object.replace("SEND", send), format!("{wrap}({init})")))
            }))
            .collect(),
    }
}

/// The shape after its own for the variable `chosen[index]` that boxes it
/// at its `let`: a value the cell moves on (`timeout(d, work)`,
/// `async move { fut.await }`) is gone by the cell's end, where its other
/// shapes box it. Past the last shape when none is left.
pub fn next_at_let(code: &str, chosen: &[(Unpersistable, usize)], index: usize) -> usize {
    let (what, shape) = &chosen[index];
    let shapes = apply(code, &chosen[..index])
        .map(|before| placed_rewrites(&before, what))
        .unwrap_or_default();
    (shape + 1..shapes.len())
        .find(|&next| !shapes[next].1)
        .unwrap_or(usize::MAX)
}

/// The cell with each variable in `chosen` boxed in its shape of that
/// index, in order; `None` once a variable has no shape left.
pub fn apply(code: &str, chosen: &[(Unpersistable, usize)]) -> Option<String> {
    let mut boxed = code.to_owned();
    for (what, shape) in chosen {
        boxed = rewrites(&boxed, what).into_iter().nth(*shape)?;
    }
    Some(boxed)
}

/// The line (1-based) of the top-level `let` of `variable`.
pub fn let_line(code: &str, variable: &str) -> Option<usize> {
    let site = find_let(code, variable, true)?;
    Some(code[..site.name_end].matches('\n').count() + 1)
}

/// `impl Shape + Send` as trait objects, with `Send` first where the type
/// does not say: the first trait the type names, with the auto traits and
/// lifetimes it names (others, such as `Clone`, cannot be in a `dyn`).
fn trait_objects(shown: &str) -> Option<Vec<String>> {
    let bounds = split_top_level(shown.strip_prefix("impl ")?, '+');
    let auto = |b: &str| matches!(b, "Send" | "Sync" | "Unpin") || b.starts_with('\'');
    let principal = bounds.iter().find(|b| !auto(b))?;
    let name = principal.split(['<', '(']).next()?.rsplit("::").next()?;
    // Futures, streams, iterators and closures have shapes of their own.
    let shaped = ["Future", "Stream", "Iterator"].contains(&name)
        || closures::CLOSURE_TRAITS.contains(&name);
    if shaped || principal.contains("impl ") {
        return None;
    }
    let mut parts = vec![principal.as_str()];
    parts.extend(bounds.iter().map(String::as_str).filter(|b| auto(b)));
    let object = format!("Box<dyn {}>", parts.join(" + "));
    Some(if parts.contains(&"Send") {
        vec![object]
    } else {
        let sent = format!("Box<dyn {} + Send>", parts.join(" + "));
        vec![sent, object]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_evcxr_refused() {
        let message = "The variable `order` has type `impl Future<Output = String>` which \
                       cannot be persisted.\nYou might be able to fix this by creating a \
                       `Box<dyn YourType>`.";
        assert_eq!(
            unpersistable(message),
            Some(Unpersistable {
                variable: "order".into(),
                shown_type: Some("impl Future<Output = String>".into()),
            })
        );
        let message = "The variable `bump` is a closure, which cannot be persisted.";
        assert_eq!(
            unpersistable(message).map(|u| (u.variable, u.shown_type)),
            Some(("bump".into(), None))
        );
        assert_eq!(unpersistable("mismatched types"), None);
    }

    #[test]
    fn a_lazy_future_is_pinned_in_a_box_on_its_own_line() {
        let code = "let greeting = \"hi\";\nlet order = brew(\"espresso; please\");\nlet n = 1;";
        let what = unpersistable(
            "The variable `order` has type `impl Future<Output = String>` which cannot be persisted.",
        )
        .unwrap();
        let tries = rewrites(code, &what);
        assert_eq!(
            tries[0],
            "let greeting = \"hi\";\nlet order: std::pin::Pin<Box<dyn Future<Output = _> + Send>> \
             = Box::pin( brew(\"espresso; please\"));\nlet n = 1;"
        );
        // Without Send next, then the other traits.
        assert!(tries[1].contains("dyn Future<Output = _>>> = Box::pin("));
        assert!(tries[2].starts_with("use futures::Stream; let greeting"));
        assert!(tries[4].contains("let order: Box<dyn Iterator<Item = _> + Send> = Box::new("));
        // Then the same boxes bound after the cell's last statement.
        assert_eq!(
            tries[6],
            "let greeting = \"hi\";\nlet order = brew(\"espresso; please\");\nlet n = 1; \
             let order: std::pin::Pin<Box<dyn Future<Output = _> + Send>> = Box::pin(order);"
        );
        assert_eq!(tries.len(), 12);
        assert!(tries.iter().all(|t| t.lines().count() == 3));
        // A value the cell goes on using is boxed at the end first.
        let pushed = rewrites("let mut order = brew(\"tea\");\norder.as_mut();", &what);
        assert!(
            pushed[0].ends_with("order.as_mut(); let mut order: std::pin::Pin<Box<dyn Future<Output = _> + Send>> = Box::pin(order);"),
            "{}",
            pushed[0]
        );
    }

    #[test]
    fn adaptors_try_the_trait_their_name_suggests_first() {
        let first = |shown: &str| trait_order(shown)[0];
        assert_eq!(first("impl Future<Output = i32>"), Trait::Future);
        assert_eq!(first("JoinAll<impl Future<Output = u8>>"), Trait::Future);
        assert_eq!(
            first("Then<Iter<Range<i32>>, impl Future<Output = i32>, impl FnMut(i32) -> impl Future<Output = i32>>"),
            Trait::Stream
        );
        assert_eq!(
            first("Filter<RangeFrom<i32>, impl FnMut(&i32) -> bool>"),
            Trait::Iterator
        );
        assert_eq!(trait_order("Map<X, impl FnMut(u8) -> u8>").len(), 3);
    }

    #[test]
    fn values_of_other_traits_are_kept_as_trait_objects() {
        let shapes = |shown: &str| trait_objects(shown);
        assert_eq!(
            shapes("impl Shape"),
            Some(vec![
                "Box<dyn Shape + Send>".into(),
                "Box<dyn Shape>".into()
            ])
        );
        assert_eq!(
            shapes("impl Display + Send + 'static"),
            Some(vec!["Box<dyn Display + Send + 'static>".into()])
        );
        // A trait object holds one trait besides the auto traits.
        assert_eq!(
            shapes("impl Sync + Codec<Item = Vec<u8>> + Clone"),
            Some(vec![
                "Box<dyn Codec<Item = Vec<u8>> + Sync + Send>".into(),
                "Box<dyn Codec<Item = Vec<u8>> + Sync>".into()
            ])
        );
        // Futures, streams, iterators and closures have their own shapes;
        // a nested `impl` cannot be in a `dyn`.
        for shown in [
            "impl Future<Output = u8>",
            "impl futures::Stream<Item = u8>",
            "impl Iterator<Item = u8> + Send",
            "impl Fn(u8) -> u8",
            "impl Wrap<Inner = impl Shape>",
            "Vec<impl Shape>",
        ] {
            assert_eq!(shapes(shown), None, "{shown}");
        }
        let what =
            unpersistable("The variable `s` has type `impl Shape` which cannot be persisted.")
                .unwrap();
        assert_eq!(
            rewrites("let s = make(2.0);", &what),
            [
                "let s: Box<dyn Shape + Send> = Box::new( make(2.0));",
                "let s: Box<dyn Shape> = Box::new( make(2.0));",
                "let s = make(2.0); let s: Box<dyn Shape + Send> = Box::new(s);",
                "let s = make(2.0); let s: Box<dyn Shape> = Box::new(s);"
            ]
        );
    }

    #[test]
    fn a_vector_of_futures_holds_them_boxed() {
        let what = unpersistable(
            "The variable `futs` has type `Vec<impl Future<Output = String>>` which cannot be persisted.",
        )
        .unwrap();
        let tries = rewrites("let futs: Vec<_> = (1..=3).map(fetch).collect();", &what);
        assert_eq!(
            tries,
            ["let futs: Vec<std::pin::Pin<Box<dyn Future<Output = _> + Send>>> = \
              { let all: Vec<_> = (1..=3).map(fetch).collect(); all }.into_iter()\
              .map(|f| -> std::pin::Pin<Box<dyn Future<Output = _> + Send>> { Box::pin(f) }).collect();",
             "let futs: Vec<_> = (1..=3).map(fetch).collect(); \
              let futs: Vec<std::pin::Pin<Box<dyn Future<Output = _> + Send>>> = \
              { let all: Vec<_> = futs; all }.into_iter()\
              .map(|f| -> std::pin::Pin<Box<dyn Future<Output = _> + Send>> { Box::pin(f) }).collect();"]
        );
    }

    #[test]
    fn only_a_top_level_let_without_a_type_is_rewritten() {
        let what = Unpersistable {
            variable: "f".into(),
            shown_type: Some("impl Future<Output = ()>".into()),
        };
        // Inside a block, in a string or a comment, or already typed: left alone.
        for code in [
            "{ let f = async {}; }",
            "let s = \"let f = 1;\";",
            "// let f = async {};",
            "let f: Box<dyn Send> = Box::new(1);",
        ] {
            assert!(rewrites(code, &what).is_empty(), "{code}");
        }
        // The last of two lets of the same name is the one kept.
        let tries = rewrites("let f = 1;\nlet mut f = async { '}' };", &what);
        assert!(
            tries[0].starts_with("let f = 1;\nlet mut f: std::pin::Pin<"),
            "{}",
            tries[0]
        );
        assert!(
            tries[0].ends_with("Box::pin( async { '}' });"),
            "{}",
            tries[0]
        );
    }

    #[test]
    fn an_iterator_of_futures_boxes_each_future_too() {
        let code = "let requests = (0..3).map(|i| async move { i * 2 });";
        let what = unpersistable(
            "The variable `requests` has type `std::iter::Map<std::ops::Range<i32>, impl FnMut(i32) -> impl Future<Output = i32>>` which cannot be persisted.",
        )
        .unwrap();
        let tries = rewrites(code, &what);
        assert_eq!(
            tries[0],
            "let requests: Box<dyn Iterator<Item = std::pin::Pin<Box<dyn Future<Output = _> + Send>>> + Send> \
             = Box::new(Iterator::map( (0..3).map(|i| async move { i * 2 }), \
             |f| -> std::pin::Pin<Box<dyn Future<Output = _> + Send>> { Box::pin(f) }));"
        );
        assert!(tries[1].contains("futures::StreamExt::map("));
    }
}
