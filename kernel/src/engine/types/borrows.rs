//! Variables that borrow: `let first = &v[0];` or `let words = text.split(' ');`
//! at a cell's top level.
//!
//! evcxr keeps every top-level `let` of a cell for later cells, and refuses
//! one whose value borrows ("The variable `first` contains a reference with a
//! non-static lifetime so can't be persisted", or a type with `'_`) before it
//! compiles anything, where a program's borrow simply lives to the end of
//! `main`. The kernel then runs the cell again with the part from the first
//! such `let` to the end inside a block, so each borrow lives to the end of
//! its cell; the other variables of that part are handed out of the block
//! and kept as before. A borrow cannot outlive its cell (the value it
//! borrows from is kept between cells by evcxr, which moves it), so later
//! cells do not see it and the cell says so. Should evcxr word its refusal
//! differently, the cell fails with evcxr's message as before and
//! `a_borrowing_let_lives_to_the_end_of_its_cell` fails.

use ra_ap_syntax::ast::{self, HasName};
use ra_ap_syntax::{AstNode, SyntaxNode};

use crate::engine::source::syntax::{cell_range, replaced, CellSyntax};

/// The variable evcxr refused to keep because its value borrows, from its
/// message.
pub fn borrowing(message: &str) -> Option<String> {
    let rest = message.strip_prefix("The variable `")?;
    let (variable, rest) = rest.split_once('`')?;
    rest.starts_with(" contains a reference with a non-static lifetime")
        .then(|| variable.to_owned())
}

/// The cell with its part from the first top-level `let` of one of the
/// `borrowing` variables to the end inside a block, the part's other
/// variables handed out of it; None where that cannot keep the cell's
/// meaning (an item in that part, or a final value that uses a borrow).
pub fn scoped(code: &str, borrowing: &[String]) -> Option<String> {
    let syntax = CellSyntax::parse(code);
    let body = syntax.body.as_ref()?;
    let binds_borrow = |node: &SyntaxNode| {
        ast::LetStmt::cast(node.clone())
            .and_then(|stmt| stmt.pat())
            .is_some_and(|pat| bindings(pat.syntax()).any(|(name, _)| borrowing.contains(&name)))
    };
    let first = body.iter().position(binds_borrow)?;
    let part = &body[first..];
    if part.iter().any(|node| ast::Item::can_cast(node.kind())) {
        return None;
    }
    let last = part.last()?;
    let value = ast::Expr::cast(last.clone());
    let statements = if value.is_some() {
        &part[..part.len() - 1]
    } else {
        part
    };
    let mut handed: Vec<(String, bool)> = Vec::new();
    for pat in statements
        .iter()
        .filter_map(|node| ast::LetStmt::cast(node.clone())?.pat())
    {
        for (name, mutable) in bindings(pat.syntax()) {
            if borrowing.contains(&name) {
                continue;
            }
            match handed.iter_mut().find(|(n, _)| *n == name) {
                Some((_, m)) => *m |= mutable,
                None => handed.push((name, mutable)),
            }
        }
    }
    if let Some(value) = &value {
        let uses_borrow = value.syntax().descendants().any(|node| {
            ast::NameRef::cast(node).is_some_and(|r| borrowing.contains(&r.text().to_string()))
        });
        if uses_borrow && !handed.is_empty() {
            return None;
        }
    }
    let start = cell_range(part[0].text_range()).start;
    let edits = match (&value, handed.is_empty(), statements.last()) {
        // The block is the cell's value, or its last statement.
        (_, true, _) => vec![
            (start..start, "{ ".to_owned()),
            (
                cell_range(last.text_range()).end..cell_range(last.text_range()).end,
                " }".to_owned(),
            ),
        ],
        (_, false, Some(end)) => {
            let end = cell_range(end.text_range()).end;
            let pattern: Vec<String> = handed
                .iter()
                .map(|(name, mutable)| format!("{}{name}", if *mutable { "mut " } else { "" }))
                .collect();
            let names: Vec<&str> = handed.iter().map(|(name, _)| name.as_str()).collect();
            vec![
                (start..start, format!("let ({},) = {{ ", pattern.join(", "))),
                (end..end, format!(" ({},) }};", names.join(", "))),
            ]
        }
        (_, false, None) => return None,
    };
    Some(replaced(code, edits).into_owned())
}

/// The names a pattern binds, each with whether it is `mut`.
fn bindings(pat: &SyntaxNode) -> impl Iterator<Item = (String, bool)> + '_ {
    pat.descendants()
        .filter_map(ast::IdentPat::cast)
        .filter_map(|ident| {
            Some((
                ident.name()?.text().to_string(),
                ident.mut_token().is_some(),
            ))
        })
}

/// What the cell says of the variables it kept inside: they end with it.
pub fn note(borrowing: &[String]) -> String {
    let names: Vec<String> = borrowing.iter().map(|name| format!("`{name}`")).collect();
    let (verb, them, object) = if names.len() == 1 {
        ("borrows", "it", "it")
    } else {
        ("borrow", "they", "them")
    };
    format!(
        "note: {} {verb} from another value, so {them} lasted until the end of this cell \
         (later cells do not see {object}).\n",
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn evcxrs_refusal_names_the_borrowing_variable() {
        let message = "The variable `first` contains a reference with a non-static lifetime so\ncan't be persisted. You can prevent this error by making sure that the\nvariable goes out of scope - i.e. wrapping the code in {}.";
        assert_eq!(borrowing(message).as_deref(), Some("first"));
        assert_eq!(borrowing("The variable `f` is a closure"), None);
    }

    #[test]
    fn the_borrow_lives_in_a_block_and_other_variables_are_handed_out() {
        let code = "let total: i32 = v.iter().sum();\nlet first = &v[0];\nlet mut n = *first + 1;\nprintln!(\"{first} {n}\");\ntotal + n";
        assert_eq!(
            scoped(code, &names(&["first"])).as_deref(),
            Some("let total: i32 = v.iter().sum();\nlet (mut n,) = { let first = &v[0];\nlet mut n = *first + 1;\nprintln!(\"{first} {n}\"); (n,) };\ntotal + n")
        );
    }

    #[test]
    fn with_nothing_to_hand_out_the_block_ends_the_cell() {
        let code = "let r = &v;\nprintln!(\"{}\", r.len());";
        assert_eq!(
            scoped(code, &names(&["r"])).as_deref(),
            Some("{ let r = &v;\nprintln!(\"{}\", r.len()); }")
        );
        let valued = "let r = &v;\nr.len()";
        assert_eq!(
            scoped(valued, &names(&["r"])).as_deref(),
            Some("{ let r = &v;\nr.len() }")
        );
    }

    #[test]
    fn items_after_the_borrow_or_a_value_using_it_keep_the_cell_as_it_is() {
        assert_eq!(scoped("let r = &v;\nfn f() {}", &names(&["r"])), None);
        assert_eq!(scoped("let r = &v;\nlet n = 1;\nr", &names(&["r"])), None);
        assert_eq!(scoped("let n = 1;", &names(&["r"])), None);
    }
}
