//! `static mut`s, one place in the session.
//!
//! evcxr compiles a cell's items again into every later cell, each cell a
//! crate of its own, so a `static mut` was a fresh copy in each: a count
//! written in one cell read as its initial value in the next. A value of its
//! own cannot be shared the way `statics` shares a stateful `static`, since a
//! `static mut` is a place that code assigns to. So the kernel writes a
//! `static mut NAME: T = init;` (at the top level or in a function, kept by
//! the same name as `statics` keeps one) as a function `NAME()` that returns
//! a pointer to the one place the cell library keeps for it
//! (`asyncbook::statics::place`), and every use of `NAME`, in that cell and
//! the later ones, as `(*NAME())`: the same place, reached in the `unsafe`
//! code that a `static mut` needs anyway. `&raw mut NAME`, `&raw const NAME`
//! and `addr_of!`/`addr_of_mut!` of it, safe in a program, become the pointer
//! itself. Lines keep their numbers. Were evcxr to compile items only once,
//! the rewrite would still give one place; the `static mut` test in
//! `everyday_code.rs` holds either way.

use std::collections::BTreeSet;
use std::sync::Mutex;

use ra_ap_syntax::ast::HasName;
use ra_ap_syntax::AstNode;

use crate::engine::source::statics::statics;
use crate::engine::source::syntax::{cell_range, CellSyntax, Edit};

/// Names of the `static mut`s the session's cells defined.
static DEFINED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// `:clear`: the session's `static mut`s are gone.
pub(crate) fn forget() {
    crate::lock::lock(&DEFINED).clear();
}

/// The cell (run as cell `cell`) with its top-level `static mut`s kept in
/// the cell library and every use of a session's `static mut` reaching that.
pub fn edits(syntax: &CellSyntax, cell: usize) -> Vec<Edit> {
    let mut edits = Vec::new();
    let mut names_defined = Vec::new();
    for (stat, key) in statics(syntax) {
        if stat.mut_token().is_none() {
            continue;
        }
        let (Some(keyword), Some(name), Some(ty), Some(eq), Some(body), Some(semicolon)) = (
            stat.static_token(),
            stat.name(),
            stat.ty(),
            stat.eq_token(),
            stat.body(),
            stat.semicolon_token(),
        ) else {
            continue;
        };
        let name_text = name.text().to_string();
        let type_text = ty.syntax().text().to_string();
        // The type, where it fits on the line, so that rustc need not infer
        // it through the closure.
        let turbofish = if type_text.contains('\n') {
            String::new()
        } else {
            format!("::<{type_text}>")
        };
        let item = cell_range(stat.syntax().text_range());
        let keyword = cell_range(keyword.text_range());
        let ty = cell_range(ty.syntax().text_range());
        let eq = cell_range(eq.text_range());
        let body = cell_range(body.syntax().text_range());
        let semicolon = cell_range(semicolon.text_range());
        edits.push((
            item.start..item.start,
            "#[allow(non_snake_case)] ".to_owned(),
        ));
        edits.push((
            keyword.start..ty.start,
            format!("fn {name_text}() -> *mut "),
        ));
        edits.push((
            ty.end..eq.end,
            format!(" {{ ::asyncbook::statics::place{turbofish}({key:?}, {cell}, ||"),
        ));
        edits.push((body.end..semicolon.end, ") }".to_owned()));
        names_defined.push((cell_range(name.syntax().text_range()), name_text));
    }
    let mut names = crate::lock::lock(&DEFINED);
    names.extend(names_defined.iter().map(|(_, name)| name.clone()));
    if names.is_empty() {
        return edits;
    }
    let text = |at: usize| -> &str {
        syntax
            .tokens
            .get(at)
            .map_or("", |token| &syntax.code[token.span.clone()])
    };
    for (at, token) in syntax.tokens.iter().enumerate() {
        let word = &syntax.code[token.span.clone()];
        if !names.contains(word) || names_defined.iter().any(|(span, _)| *span == token.span) {
            continue;
        }
        let before = at.checked_sub(1).map_or("", text);
        let declares = matches!(
            before,
            "." | ":"
                | "'"
                | "let"
                | "fn"
                | "static"
                | "const"
                | "struct"
                | "enum"
                | "mod"
                | "type"
                | "use"
                | "as"
                | "macro_rules"
        ) && !(before == "const" && at.checked_sub(2).map_or("", text) == "raw")
            || before == "mut" && at.checked_sub(2).map_or("", text) == "let";
        if declares || matches!(text(at + 1), ":" | "!") {
            continue;
        }
        edits.push(use_site(syntax, at, word));
    }
    edits
}

/// The edit for a use of the `static mut` `name`, the cell's token `at`.
fn use_site(syntax: &CellSyntax, at: usize, name: &str) -> Edit {
    let tokens = &syntax.tokens;
    let text = |i: usize| &syntax.code[tokens[i].span.clone()];
    let end = tokens[at].span.end;
    // `&raw mut NAME`, `&raw const NAME`.
    if at >= 3 && text(at - 3) == "&" && text(at - 2) == "raw" {
        let pointer = match text(at - 1) {
            "mut" => Some(format!("{name}()")),
            "const" => Some(format!("({name}() as *const _)")),
            _ => None,
        };
        if let Some(pointer) = pointer {
            return (tokens[at - 3].span.start..end, pointer);
        }
    }
    // `addr_of_mut!(NAME)` and `addr_of!(NAME)`, with any path before them.
    if at >= 3 && text(at - 1) == "(" && text(at - 2) == "!" && at + 1 < tokens.len() {
        let pointer = match text(at - 3) {
            "addr_of_mut" => Some(format!("{name}()")),
            "addr_of" => Some(format!("({name}() as *const _)")),
            _ => None,
        };
        if let (Some(pointer), ")") = (pointer, text(at + 1)) {
            let mut start = at - 3;
            while start >= 3 && text(start - 1) == ":" && text(start - 2) == ":" {
                start -= 3;
            }
            if start >= 2 && text(start - 1) == ":" && text(start - 2) == ":" {
                start -= 2;
            }
            return (tokens[start].span.start..tokens[at + 1].span.end, pointer);
        }
    }
    (tokens[at].span.clone(), format!("(*{name}())"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::source::syntax::replaced;

    /// The cell as the pass alone leaves it.
    fn rewrite(code: &str, cell: usize) -> String {
        replaced(code, edits(&CellSyntax::parse(code), cell)).into_owned()
    }

    #[test]
    fn a_static_mut_becomes_its_place_and_its_uses_reach_it() {
        let code = "static mut HITS_A: u64 = 0;\nunsafe { HITS_A += 1 }\nfn read() -> u64 { unsafe { HITS_A } }";
        assert_eq!(
            rewrite(code, 4),
            "#[allow(non_snake_case)] fn HITS_A() -> *mut u64 { ::asyncbook::statics::place::<u64>(\"HITS_A\", 4, || 0) }\n\
             unsafe { (*HITS_A()) += 1 }\nfn read() -> u64 { unsafe { (*HITS_A()) } }"
        );
        // A later cell: uses, in macros too, but no declaration or field.
        let later = "let HITS_A_COPY = unsafe { HITS_A };\nprintln!(\"{}\", unsafe { HITS_A });\nlet s = S { x: 1 }.HITS_A;";
        assert_eq!(
            rewrite(later, 5),
            "let HITS_A_COPY = unsafe { (*HITS_A()) };\nprintln!(\"{}\", unsafe { (*HITS_A()) });\nlet s = S { x: 1 }.HITS_A;"
        );
    }

    #[test]
    fn raw_pointers_to_a_static_mut_stay_safe() {
        let code = "static mut BUF_B: [u8; 4] = [0; 4];\n\
                    let p = &raw mut BUF_B;\nlet q = &raw const BUF_B;\n\
                    let r = std::ptr::addr_of_mut!(BUF_B);\nlet s = addr_of!(BUF_B);";
        let rewritten = rewrite(code, 2);
        assert_eq!(rewritten.lines().count(), code.lines().count());
        let lines: Vec<&str> = rewritten.lines().skip(1).collect();
        assert_eq!(
            lines,
            [
                "let p = BUF_B();",
                "let q = (BUF_B() as *const _);",
                "let r = BUF_B();",
                "let s = (BUF_B() as *const _);"
            ]
        );
    }

    #[test]
    fn a_multi_line_static_mut_keeps_its_lines() {
        let code =
            "#[allow(dead_code)]\npub static mut LOG_C: Vec<String> =\n    Vec::new();\nlet n = 1;";
        let rewritten = rewrite(code, 1);
        assert_eq!(
            rewritten.lines().count(),
            code.lines().count(),
            "{rewritten}"
        );
        assert!(rewritten.starts_with(
            "#[allow(non_snake_case)] #[allow(dead_code)]\npub fn LOG_C() -> *mut Vec<String> { ::asyncbook::statics::place::<Vec<String>>(\"LOG_C\", 1, ||\n    Vec::new()) }\n"
        ), "{rewritten}");
    }

    #[test]
    fn a_static_mut_in_a_function_is_kept_by_its_place() {
        let code =
            "fn f() -> u32 { static mut INNER_D: u32 = 0; unsafe { INNER_D += 1; INNER_D } }";
        assert_eq!(
            rewrite(code, 3),
            "fn f() -> u32 { #[allow(non_snake_case)] fn INNER_D() -> *mut u32 { ::asyncbook::statics::place::<u32>(\"INNER_D@16\", 3, || 0) } \
             unsafe { (*INNER_D()) += 1; (*INNER_D()) } }"
        );
    }

    #[test]
    fn other_statics_and_unknown_names_stay() {
        for code in [
            "static LIMIT_D: u32 = 10;\nlet x = LIMIT_D;",
            "let UNKNOWN_D = 1;",
        ] {
            assert_eq!(rewrite(code, 1), code);
        }
    }
}
