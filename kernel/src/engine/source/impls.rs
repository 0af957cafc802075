//! `impl` blocks that a cell holds without a named item before them.
//!
//! evcxr keeps a cell's items by name and replaces an item when a later cell
//! defines its name again. An `impl` has no name: evcxr files it with the
//! named item before it in the same cell or, with none, among the items it
//! keeps for good. Running again a cell that holds only an `impl` (the usual
//! way to change a method, or to run a notebook from the top once more) then
//! defined its methods twice (`duplicate definitions`, `conflicting
//! implementations`), and the old body stayed in force.
//!
//! The kernel puts a named item of its own on the line of each such `impl`,
//! before it: a constant named after the impl's header (`impl Display for
//! P`) and, for an inherent `impl`, the name of its first item, so running
//! the cell again, changed or not, replaces the `impl`. Two inherent impls
//! of one type that start with the same item could not both stand anyway.
//! Should evcxr file items otherwise, the `impl` test in `shared_runtime.rs`
//! fails.

use std::hash::{DefaultHasher, Hash, Hasher};

use ra_ap_syntax::ast::{self, HasName};
use ra_ap_syntax::AstNode;

use crate::engine::source::syntax::{cell_range, item_name, CellSyntax, Edit};

/// The cell with a named constant before each `impl` that evcxr would keep
/// for good.
pub fn edits(cell: &CellSyntax) -> Vec<Edit> {
    let Some(items) = &cell.items else {
        return Vec::new();
    };
    let mut named_before = false;
    let mut edits = Vec::new();
    for item in items {
        match &item {
            ast::Item::Impl(block) if !named_before => {
                let at = cell_range(item.syntax().text_range()).start;
                edits.push((at..at, anchor(block)));
            }
            _ => named_before |= files_what_follows(item),
        }
    }
    edits
}

/// Whether evcxr files the unnamed items after `item` with it: a named
/// item, but for `macro_rules!`, which evcxr keeps apart.
fn files_what_follows(item: &ast::Item) -> bool {
    !matches!(item, ast::Item::MacroRules(_)) && item_name(item).is_some()
}

/// The named item put before `block`: a constant whose name stands for the
/// header and, in an inherent `impl`, the first item's name.
fn anchor(block: &ast::Impl) -> String {
    let text = block.syntax().text().to_string();
    let start = block.impl_token().map_or(0, |t| {
        usize::from(t.text_range().start() - block.syntax().text_range().start())
    });
    let end = block.assoc_item_list().map_or(text.len(), |list| {
        usize::from(list.syntax().text_range().start() - block.syntax().text_range().start())
    });
    let mut key = DefaultHasher::new();
    text[start..end]
        .split_whitespace()
        .for_each(|word| word.hash(&mut key));
    if block.trait_().is_none() {
        let first = block
            .assoc_item_list()
            .and_then(|list| list.assoc_items().next())
            .and_then(|item| match item {
                ast::AssocItem::Fn(f) => f.name(),
                ast::AssocItem::Const(c) => c.name(),
                ast::AssocItem::TypeAlias(t) => t.name(),
                ast::AssocItem::MacroCall(_) => None,
            });
        first.map(|name| name.text().to_string()).hash(&mut key);
    }
    format!(
        "#[allow(dead_code, non_upper_case_globals)] const __asyncbook_impl_{:016x}: () = (); ",
        key.finish()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    use crate::engine::source::syntax::replaced;

    /// The cell as the pass alone leaves it.
    fn rewrite(code: &str) -> Cow<'_, str> {
        replaced(code, edits(&CellSyntax::parse(code)))
    }

    fn anchors(code: &str) -> Vec<String> {
        rewrite(code)
            .lines()
            .filter_map(|line| line.split("const ").nth(1))
            .map(|rest| rest[..rest.find(':').unwrap()].to_owned())
            .collect()
    }

    #[test]
    fn an_impl_alone_gets_a_named_item_on_its_line() {
        let code = "impl P {\n    fn triple(&self) -> i32 { self.x * 3 }\n}";
        let rewritten = rewrite(code);
        assert_eq!(rewritten.lines().count(), code.lines().count());
        assert!(rewritten.ends_with(code), "{rewritten}");
        assert!(rewritten.starts_with("#[allow(dead_code, non_upper_case_globals)] const "));
    }

    #[test]
    fn attributes_stay_with_their_impl() {
        let code = "/// Shown as a point.\n#[allow(unused)]\nimpl std::fmt::Display for P {}";
        let rewritten = rewrite(code);
        assert!(rewritten.starts_with("#[allow(dead_code"), "{rewritten}");
        assert!(rewritten.contains("(); /// Shown as a point.\n#[allow(unused)]\nimpl std"));
    }

    #[test]
    fn the_name_follows_the_header_and_an_inherent_impls_first_item() {
        let once = anchors("impl P { fn a(&self) {} }");
        assert_eq!(
            once,
            anchors("impl  P {\n    fn a(&self) { 1; }\n    fn b() {}\n}")
        );
        assert_ne!(once, anchors("impl P { fn b(&self) {} }"));
        assert_ne!(once, anchors("impl Q { fn a(&self) {} }"));
        let display = anchors("impl Display for P { fn fmt(&self) {} }");
        assert_eq!(
            display,
            anchors("impl Display for P { fn fmt(&self) { x } }")
        );
        let both = anchors("impl Display for P {}\nimpl P { fn a(&self) {} }");
        assert_eq!(both.len(), 2);
        assert_eq!(both[1], once[0]);
    }

    #[test]
    fn an_impl_after_a_named_item_and_code_without_impls_stay() {
        for code in [
            "struct P;\nimpl P { fn a(&self) {} }",
            "fn helper() {}\nlet x = 1;\nimpl P {}",
            "let implied = 1;",
            "impl P {",
        ] {
            assert!(matches!(rewrite(code), Cow::Borrowed(_)), "{code}");
        }
        assert_eq!(anchors("use std::fmt;\nimpl fmt::Debug for P {}").len(), 1);
    }
}
