//! Variables whose type rust-analyzer cannot tell: rustc tells it.
//!
//! evcxr stores a cell's variables under the types rust-analyzer infers, and
//! gives up on a variable it cannot type ("Couldn't automatically determine
//! type of variable `m`. Please give it an explicit type.": a `collect()`
//! into `HashMap<_, _>`, a macro's value ...). The kernel then runs the cell
//! once more with a probe after it, `let PROBE: () = m;`, which cannot
//! compile, so nothing runs: rustc's mismatched-types error names `m`'s type
//! (the cell compiler asks rustc for long types when it sees the probe, see
//! `build::compile`; names rustc prints short are qualified as its own help
//! suggests, see [`qualified`]). That type, with integer and float literals given the
//! types rustc defaults them to, is written into `m`'s `let` and the cell
//! runs. Should evcxr word its message differently, the cell fails as
//! before and the test of a collected `HashMap` in `shared_runtime.rs` says so.
//!
//! rust-analyzer may also get a type wrong: it does not see tokio's
//! `tokio_unstable` items, and types `tokio::task::Builder::spawn(..)
//! .unwrap()` as a `std::thread::JoinHandle`. evcxr writes that type into
//! the `let` (where the user wrote none, or one with `_` placeholders) and
//! rustc rejects it ("expected due to this" on the annotation). The kernel
//! then probes the cell inside a block ([`probe_alone`]), where evcxr keeps
//! no variable and so writes no type, and rustc's own type goes into the
//! `let`. The `Builder` tests in `tasks.rs` fail should either step change.

use crate::engine::source::syntax::{find_let, tokens};

/// The name of the probe's binding: the cell compiler looks for it.
pub const PROBE: &str = "__asyncbook_type_probe";

/// The variable evcxr could not type, from its message.
pub fn untyped(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("Couldn't automatically determine type of variable `")?;
    Some(&rest[..rest.find('`')?])
}

/// The cell with the probe of `variable` after it, on a line of its own.
pub fn probe(code: &str, variable: &str) -> String {
    format!("{}\nlet {PROBE}: () = {variable};", code.trim_end())
}

/// The cell and the probe of `variable` inside a block: evcxr keeps none
/// of the cell's variables then, so it writes no type of its own into any.
pub fn probe_alone(code: &str, variable: &str) -> String {
    format!("{{\n{}\n}}", probe(code, variable))
}

/// The line of a probe's code that holds the probe (1-based).
pub fn probe_line(probe_code: &str) -> usize {
    let probe = format!("let {PROBE}:");
    probe_code
        .lines()
        .position(|line| line.starts_with(&probe))
        .map_or(0, |at| at + 1)
}

/// True if `ty` holds a `_` to be inferred (`HashMap<_, _>`).
pub fn has_placeholder(ty: &str) -> bool {
    ty.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|word| word == "_")
}

/// `ty` with each `_` to be inferred written as `with`.
pub fn fill_placeholders(ty: &str, with: &str) -> String {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::with_capacity(ty.len());
    let mut rest = ty;
    while let Some(at) = rest.find('_') {
        let alone = !rest[..at].ends_with(word) && !rest[at + 1..].starts_with(word);
        out.push_str(&rest[..at]);
        out.push_str(if alone { with } else { "_" });
        rest = &rest[at + 1..];
    }
    out.push_str(rest);
    out
}

/// What the probe's error says `variable` is: from the note of the error's
/// `rendered` text ("found struct `T`"), whose paths are untrimmed and
/// whose types are never cut short, or else from the label rustc puts on
/// the probe ("expected `()`, found `T`"), unless that cuts the type short
/// (`Pin<Box<...>>`).
pub fn found(label: &str, rendered: &str) -> Option<String> {
    let labelled = label
        .strip_prefix("expected `()`, found `")?
        .strip_suffix('`')?;
    // The rendering is coloured: the note is read without its escapes.
    let plain = regex::Regex::new("\x1b\\[[0-9;]*m")
        .expect("a valid pattern")
        .replace_all(rendered, "");
    let noted = || {
        let (_, note) = plain.split_once("expected unit type `()`")?;
        let line = note.lines().nth(1)?.trim().strip_prefix("found ")?;
        Some(&line[line.find('`')? + 1..line.rfind('`')?])
    };
    let ty = match noted() {
        Some(ty) => ty,
        None if !labelled.contains("...") => labelled,
        None => return None,
    };
    Some(ty.replace("{integer}", "i32").replace("{float}", "f64"))
}

/// Why a type found by the probe cannot be written into the cell, if so.
pub fn unwritable(ty: &str) -> Option<&'static str> {
    if ["{closure", "{async", "{coroutine", "{static coroutine"]
        .iter()
        .any(|part| ty.contains(part))
    {
        Some("it holds a closure or an async block, whose types have no name")
    } else if ty.contains("impl ") {
        Some("it holds an `impl Trait` value, whose type has no name")
    } else if ty.contains('{') {
        Some("part of it has no name in Rust")
    } else {
        None
    }
}

/// `ty` with the names rustc could not find in the cell written as the
/// paths it suggests: rustc prints a type's names short where they are
/// unique (`HashMap`), and the cell may not have them in scope. `errors`
/// are `(message, helps)` of the compilation that failed; `None` when they
/// do not say how.
pub fn qualified(ty: &str, errors: &[(String, Vec<String>)]) -> Option<String> {
    let mut fixed = ty.to_owned();
    for (message, helps) in errors {
        let Some(name) = ["cannot find type `", "cannot find trait `"]
            .iter()
            .find_map(|start| message.strip_prefix(start)?.strip_suffix("` in this scope"))
            .or_else(|| {
                message
                    .strip_prefix("expected trait, found derive macro `")?
                    .strip_suffix('`')
            })
        else {
            continue;
        };
        let suffix = format!("::{name}");
        let Some(path) = helps
            .iter()
            .flat_map(|help| help.split(['\n', '`']))
            .filter_map(|line| line.trim().strip_prefix("use ")?.strip_suffix(';'))
            .find(|path| path.ends_with(&suffix))
        else {
            continue;
        };
        fixed = replace_name(&fixed, name, path);
    }
    (fixed != ty).then_some(fixed)
}

/// Replaces `name` where it stands alone in `ty` (not as part of a longer
/// name or path).
fn replace_name(ty: &str, name: &str, path: &str) -> String {
    let mut out = String::with_capacity(ty.len() + path.len());
    let mut rest = ty;
    while let Some(at) = rest.find(name) {
        let before = &rest[..at];
        let after = &rest[at + name.len()..];
        let word = |c: char| c.is_alphanumeric() || c == '_';
        let alone = !before.ends_with(word) && !before.ends_with("::") && !after.starts_with(word);
        out.push_str(before);
        out.push_str(if alone { path } else { name });
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The cell with `ty` written into the `let` of `variable` (replacing an
/// annotation with placeholders such as `HashMap<_, _>`); where a pattern
/// binds it (`let (a, b) = futures::join!(..);`), the variable bound again
/// with its type after the `let`, on the same line.
pub fn annotate(code: &str, variable: &str, ty: &str) -> Option<String> {
    let Some(site) = find_let(code, variable, true) else {
        return annotate_bound(code, variable, ty);
    };
    Some(format!(
        "{}: {ty} ={}",
        &code[..site.name_end],
        &code[site.init.start..]
    ))
}

/// `let [mut] variable: ty = variable;` after the last top-level `let`
/// whose pattern binds `variable`.
fn annotate_bound(code: &str, variable: &str, ty: &str) -> Option<String> {
    let tokens = tokens(code);
    let text = |i: usize| &code[tokens[i].span.clone()];
    let mut found = None;
    for start in (0..tokens.len()).filter(|&i| tokens[i].depth == 0 && text(i) == "let") {
        let Some(equals) =
            (start + 1..tokens.len()).find(|&i| tokens[i].depth == 0 && text(i) == "=")
        else {
            continue;
        };
        let Some(bound) = (start + 1..equals).find(|&i| text(i) == variable) else {
            continue;
        };
        let Some(semi) = (equals..tokens.len()).find(|&i| tokens[i].depth == 0 && text(i) == ";")
        else {
            continue;
        };
        let mutable = bound > 0 && text(bound - 1) == "mut";
        found = Some((tokens[semi].span.end, mutable));
    }
    let (at, mutable) = found?;
    let mutable = if mutable { "mut " } else { "" };
    Some(format!(
        "{} let {mutable}{variable}: {ty} = {variable};{}",
        &code[..at],
        &code[at..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_variable_a_pattern_binds_is_bound_again_with_its_type() {
        let code = "let (u, mut c) = futures::join!(a(), b());\nprintln!(\"{u}\");";
        assert_eq!(
            annotate(code, "c", "usize").as_deref(),
            Some("let (u, mut c) = futures::join!(a(), b()); let mut c: usize = c;\nprintln!(\"{u}\");")
        );
        assert_eq!(
            annotate(code, "u", "String").as_deref(),
            Some(
                "let (u, mut c) = futures::join!(a(), b()); let u: String = u;\nprintln!(\"{u}\");"
            )
        );
        assert_eq!(annotate(code, "d", "u8"), None);
    }

    #[test]
    fn reads_evcxrs_message() {
        let message = "Couldn't automatically determine type of variable `m`.\nPlease give it an explicit type.";
        assert_eq!(untyped(message), Some("m"));
        assert_eq!(untyped("The variable `m` is a closure"), None);
    }

    #[test]
    fn the_probe_stands_on_a_line_after_the_cell() {
        let code = probe("let m = f();\n", "m");
        assert_eq!(code, format!("let m = f();\nlet {PROBE}: () = m;"));
        assert_eq!(probe_line(&code), 2);
    }

    #[test]
    fn literals_get_their_default_types() {
        assert_eq!(
            found(
                "expected `()`, found `std::collections::HashMap<{integer}, {float}>`",
                ""
            )
            .as_deref(),
            Some("std::collections::HashMap<i32, f64>")
        );
        assert_eq!(found("expected `u8`, found `()`", ""), None);
    }

    #[test]
    fn placeholders_are_found_and_filled_as_whole_words() {
        assert!(has_placeholder("HashMap<_, Vec<_>>"));
        assert!(!has_placeholder("my_mod::Some_Type<u8>"));
        assert_eq!(
            fill_placeholders("tokio::task::JoinHandle<_>", "()"),
            "tokio::task::JoinHandle<()>"
        );
        assert_eq!(fill_placeholders("a_b::C<_, d_>", "()"), "a_b::C<(), d_>");
    }

    #[test]
    fn the_untrimmed_note_wins_over_the_trimmed_label() {
        let rendered = "error[E0308]: mismatched types\n  = note: expected unit type `()`\n\
            \x20            found struct `tokio::task::JoinHandle<u8>`\n";
        assert_eq!(
            found("expected `()`, found `JoinHandle<u8>`", rendered).as_deref(),
            Some("tokio::task::JoinHandle<u8>")
        );
    }

    #[test]
    fn a_type_the_label_cuts_short_is_read_from_the_note() {
        let rendered = "error[E0308]: mismatched types\n --> src/lib.rs:4:21\n  |\n\
            4 |     let probe: () = race;\n  |                     ^^^^ expected `()`, found `Pin<Box<...>>`\n\
            \n  = note: expected unit type `()`\n\
            \x20            found struct `\x1b[1m\x1b[35mPin<Box<dyn Future<Output = String> + Send>>\x1b[0m`\n";
        assert_eq!(
            found("expected `()`, found `Pin<Box<...>>`", rendered).as_deref(),
            Some("Pin<Box<dyn Future<Output = String> + Send>>")
        );
        assert_eq!(found("expected `()`, found `Pin<Box<...>>`", ""), None);
    }

    #[test]
    fn short_names_become_the_paths_rustc_suggests() {
        let errors = vec![
            (
                "cannot find type `HashMap` in this scope".to_owned(),
                vec!["consider importing this struct\n\nuse std::collections::HashMap;\n".to_owned()],
            ),
            (
                "cannot find type `Pin` in this scope".to_owned(),
                vec!["consider importing one of these items\n\nuse core::pin::Pin;\nuse std::pin::Pin;".to_owned()],
            ),
            (
                "expected trait, found derive macro `Debug`".to_owned(),
                vec!["consider importing this trait instead: `use std::fmt::Debug;`".to_owned()],
            ),
            (
                "cannot find trait `Display` in this scope".to_owned(),
                vec!["consider importing this trait\n\nuse std::fmt::Display;".to_owned()],
            ),
            ("mismatched types".to_owned(), vec![]),
        ];
        assert_eq!(
            qualified("Pin<Box<HashMap<MyHashMap, std::pin::Pin<u8>>>>", &errors).as_deref(),
            Some("core::pin::Pin<Box<std::collections::HashMap<MyHashMap, std::pin::Pin<u8>>>>")
        );
        assert_eq!(
            qualified("(Box<dyn Debug + Send>, Box<dyn Display>)", &errors).as_deref(),
            Some("(Box<dyn std::fmt::Debug + Send>, Box<dyn std::fmt::Display>)")
        );
        assert_eq!(qualified("Vec<u8>", &errors[4..]), None);
    }

    #[test]
    fn unnamed_types_are_told_apart() {
        assert!(unwritable("std::vec::Vec<i32>").is_none());
        assert!(
            unwritable("std::iter::Map<std::ops::Range<i32>, {closure@src/lib.rs:3:4: 3:7}>")
                .is_some()
        );
        assert!(unwritable("std::pin::Pin<Box<{async block@src/lib.rs:1:1: 1:9}>>").is_some());
    }

    #[test]
    fn the_type_replaces_the_annotation() {
        let code = "let v = vec![1];\nlet mut m: HashMap<_, _> = v.iter().map(|x| (x, 1)).collect();\nm.len()";
        assert_eq!(
            annotate(code, "m", "std::collections::HashMap<&i32, i32>").unwrap(),
            "let v = vec![1];\nlet mut m: std::collections::HashMap<&i32, i32> = v.iter().map(|x| (x, 1)).collect();\nm.len()"
        );
        assert_eq!(
            annotate("let n = 1;", "n", "i32").unwrap(),
            "let n: i32 = 1;"
        );
        assert_eq!(
            annotate(
                "let f: Box<dyn Fn(u8) -> Vec<u8>> = Box::new(|x| vec![x]);",
                "f",
                "T"
            )
            .unwrap(),
            "let f: T = Box::new(|x| vec![x]);"
        );
    }
}
