//! A doc comment on a cell's first line of code: `/// Adds one.` above the
//! cell's first `fn`.
//!
//! evcxr skips the lines at a cell's top that start with `//`, looking for
//! its `:` commands, and reads the cell's code from the first other line, so
//! the item there lost its documentation: `:doc` and Shift-Tab showed its
//! signature alone. The kernel writes the first of those doc lines as the
//! attribute it stands for (`#[doc = " Adds one."]`, same line), so the cell's
//! code starts at the item's documentation. Should evcxr come to keep such
//! comments, the attribute changes nothing; `doc_shows_doc_comments` in
//! `evcxr_commands.rs` checks the documentation either way.

use crate::engine::source::syntax::{CellSyntax, Edit};

/// The edit that turns the doc comment just before the cell's first code
/// line, if any, into an attribute.
pub fn edits(cell: &CellSyntax) -> Vec<Edit> {
    let code = cell.code;
    let mut run_start = None;
    let mut offset = 0;
    for line in code.split_inclusive('\n') {
        let text = line.trim_end_matches(['\n', '\r']);
        let start = offset;
        offset += line.len();
        if text.starts_with("///") && !text.starts_with("////") {
            run_start.get_or_insert((start, text));
            continue;
        }
        if skipped_by_evcxr(text) {
            run_start = None;
            continue;
        }
        // The first line of code: the doc lines just above it are its own,
        // if it starts an item (a doc on an expression is refused by rustc).
        return run_start
            .filter(|_| starts_item(text))
            .map(|(start, first)| {
                let attribute = format!("#[doc = {:?}]", &first[3..]);
                vec![(start..start + first.len(), attribute)]
            })
            .unwrap_or_default();
    }
    Vec::new()
}

/// Whether `line` starts an item (or the attributes before one).
fn starts_item(line: &str) -> bool {
    const ITEM_WORDS: [&str; 15] = [
        "fn", "pub", "struct", "enum", "union", "trait", "type", "const", "static", "impl", "mod",
        "async", "unsafe", "extern", "use",
    ];
    let line = line.trim_start();
    line.starts_with("#[")
        || line.starts_with("macro_rules!")
        || line
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .next()
            .is_some_and(|word| ITEM_WORDS.contains(&word))
}

/// A line evcxr passes over before a cell's code: blank, a comment at the
/// line's start, or one of its `:` commands.
fn skipped_by_evcxr(line: &str) -> bool {
    line.trim().is_empty() || line.starts_with("//") || line.trim_start().starts_with(':')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::source::syntax::replaced;

    fn rewritten(code: &str) -> String {
        replaced(code, edits(&CellSyntax::parse(code))).into_owned()
    }

    #[test]
    fn the_first_doc_line_before_the_first_code_becomes_an_attribute() {
        assert_eq!(
            rewritten("/// Adds \"one\".\n///\n/// Really.\nfn add_one() {}"),
            "#[doc = \" Adds \\\"one\\\".\"]\n///\n/// Really.\nfn add_one() {}"
        );
        assert_eq!(
            rewritten(":dep serde\n// a note\n\n/// Doc.\n#[derive(Debug)]\nstruct S;"),
            ":dep serde\n// a note\n\n#[doc = \" Doc.\"]\n#[derive(Debug)]\nstruct S;"
        );
        assert!(rewritten("/// Doc.\npub async fn f() {}").starts_with("#[doc"));
    }

    #[test]
    fn other_comments_and_later_docs_are_left_alone() {
        for code in [
            "let a = 1;\n/// Doc.\nfn f() {}",
            "/// Doc.\n// not a doc\nfn f() {}",
            "//// A line of slashes.\nfn f() {}",
            "/// Nothing follows.\n",
            "/// A doc on an expression.\n40 + 2",
            "/// On a statement.\nlet a = 1;",
        ] {
            assert_eq!(rewritten(code), code);
        }
    }
}
