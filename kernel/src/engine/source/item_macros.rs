//! Macro calls at a cell's top level that define items, kept as items.
//!
//! evcxr reads a cell as the body of a function (rust-analyzer's parser,
//! `fn f(){ cell }`) and keeps for later cells only the statements that
//! parser calls items. In a function body the parser makes every macro
//! call an expression (`MacroExpr`, in an `ExprStmt` or as the tail): only
//! at a module's top level does it make one an item (`MacroCall`). So
//! `thread_local! { static C: Cell<u32> = .. }` stayed in the cell's body:
//! as the cell's last statement evcxr wrapped it to show its value
//! ("expected expression, found `vis` metavariable"); followed by `;` it
//! compiled as a function-local static that no later cell could see. The
//! same held for `tokio::task_local!` and a macro of the user's own that
//! writes a `struct` or `fn`.
//!
//! The kernel cannot know what a macro expands to, so it decides by what the
//! call looks like. A macro call that is a whole top-level statement counts
//! as an item macro when
//! - its name is one that only makes sense at module level
//!   ([`ITEM_MACROS`]: `thread_local`, `task_local`, `lazy_static`, ...), or
//! - it names a `macro_rules!` of this session (this cell or an earlier
//!   one) whose transcribers begin with an item (`struct`, `fn`, `static`,
//!   `pub`, `impl`, ..., after attributes and metavariables), or
//! - its own tokens begin with such an item (`my_items! { pub fn a() {} }`).
//!
//! Everything else (`println!`, `assert!`, `vec![..]` as the cell's value,
//! `tokio::select! {..}`, `tokio::pin!(..)`) stays an expression.
//!
//! Such a call is handed to evcxr inside a module of the kernel's own, on
//! its lines: `mod __asyncbook_items_<key> { call; /*__asyncbook_items_<key>*/}`,
//! which evcxr keeps as a named item (the key stands for the macro's path
//! and the first name its tokens define, so running the cell again
//! replaces it). Items in a module are private to it, so the rustc wrapper
//! (`item_carriers`) blanks the module's opening and closing with
//! spaces in the source it compiles: the items stand at the crate's top
//! level, where every later cell's code sees them, on the same lines and
//! columns. rust-analyzer, which evcxr asks for variable types, still sees
//! the module and cannot tell a type that needs such an item; the kernel's
//! type probe asks rustc then (one more compilation).
//!
//! A `macro_rules!` is also imported by path for rustc (`item_carriers`),
//! as evcxr writes kept items in no set order and a call before the
//! definition would not find it.
//!
//! Should evcxr start to keep top-level macro calls as items itself, the
//! module is still a named item and nothing changes; should it stop keeping
//! modules, the `thread_local!` test in `everyday_code.rs` fails.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;

use ra_ap_syntax::ast::{self, HasName};
use ra_ap_syntax::{AstNode, NodeOrToken, SyntaxKind};

use crate::engine::build::item_carriers::CARRIER;
use crate::engine::source::syntax::{cell_range, CellSyntax, Edit};
use crate::engine::source::thread_locals;

/// Macros whose expansion is items and that are meant for a module's top
/// level, by the last segment of their path.
pub const ITEM_MACROS: &[&str] = &[
    "thread_local",
    "task_local",
    "lazy_static",
    "bitflags",
    "cfg_if",
    "global_asm",
];

/// `macro_rules!` names seen in the session's cells, and whether their
/// expansions are items.
static DEFINED: Mutex<BTreeMap<String, bool>> = Mutex::new(BTreeMap::new());

/// `:clear`: the session's macros are gone.
pub(crate) fn forget() {
    crate::lock::lock(&DEFINED).clear();
}

/// What carries each top-level item macro call of the cell in a module
/// (see the module's documentation).
pub fn edits(syntax: &CellSyntax, cell: usize) -> Vec<Edit> {
    let Some(body) = &syntax.body else {
        return Vec::new();
    };
    let mut edits = Vec::new();
    for node in body {
        if let Some(rules) = ast::MacroRules::cast(node.clone()) {
            if let (Some(name), Some(body)) = (rules.name(), rules.token_tree()) {
                let items = transcribers(&body).all(|t| starts_with_item(&elements(&t)));
                crate::lock::lock(&DEFINED).insert(name.text().to_string(), items);
            }
            continue;
        }
        let (call, semicolon) = match ast::Stmt::cast(node.clone()) {
            Some(ast::Stmt::ExprStmt(stmt)) => match stmt.expr() {
                Some(ast::Expr::MacroExpr(expr)) => (expr.macro_call(), stmt.semicolon_token()),
                _ => continue,
            },
            Some(_) => continue,
            None => match ast::Expr::cast(node.clone()) {
                Some(ast::Expr::MacroExpr(expr)) => (expr.macro_call(), None),
                _ => continue,
            },
        };
        let Some(call) = call.filter(is_item_macro) else {
            continue;
        };
        let (Some(path), Some(tree)) = (call.path(), call.token_tree()) else {
            continue;
        };
        let mut key = DefaultHasher::new();
        path.syntax()
            .text()
            .to_string()
            .replace(' ', "")
            .hash(&mut key);
        first_name(&elements(&tree)).hash(&mut key);
        let name = format!("{CARRIER}{:016x}", key.finish());
        let range = cell_range(node.text_range());
        let braces = tree.l_curly_token().is_some();
        edits.push((range.start..range.start, format!("mod {name} {{ ")));
        // A thread-local is one in the session: see `thread_locals`.
        let shared = if path.syntax().text().to_string().ends_with("thread_local") {
            let (renames, declared) = thread_locals::shared(&call, cell);
            edits.extend(renames);
            declared
        } else {
            String::new()
        };
        let close = format!("/*{name}*/}}{shared}");
        match &semicolon {
            // At a module's top level a braced call takes no `;` (its
            // column kept), others need one.
            Some(semi) if braces => {
                let semi = cell_range(semi.text_range());
                edits.push((semi, format!(" {close}")));
            }
            None if !braces => edits.push((range.end..range.end, format!(";{close}"))),
            _ => edits.push((range.end..range.end, close)),
        }
    }
    edits
}

/// Whether `call`, a whole top-level statement, defines items.
fn is_item_macro(call: &ast::MacroCall) -> bool {
    let Some(name) = call
        .path()
        .and_then(|p| p.segment())
        .and_then(|s| s.name_ref())
        .map(|n| n.text().to_string())
    else {
        return false;
    };
    if ITEM_MACROS.contains(&name.as_str()) {
        return true;
    }
    if let Some(items) = crate::lock::lock(&DEFINED).get(&name) {
        return *items;
    }
    call.token_tree()
        .is_some_and(|tree| starts_with_item(&elements(&tree)))
}

/// A token tree's contents at its own level: tokens by their text, groups
/// by their opening delimiter; whitespace and comments left out.
#[derive(Debug)]
enum Element {
    Token(String),
    Group(char),
}

fn elements(tree: &ast::TokenTree) -> Vec<Element> {
    let children: Vec<_> = tree.syntax().children_with_tokens().collect();
    let inner = children
        .get(1..children.len().saturating_sub(1))
        .unwrap_or_default();
    inner
        .iter()
        .filter_map(|child| match child {
            NodeOrToken::Token(token) => {
                let trivia = matches!(token.kind(), SyntaxKind::WHITESPACE | SyntaxKind::COMMENT);
                (!trivia).then(|| Element::Token(token.text().to_owned()))
            }
            NodeOrToken::Node(node) => {
                let open = node.text().char_at(0.into()).unwrap_or('(');
                Some(Element::Group(open))
            }
        })
        .collect()
}

/// The transcribers of a `macro_rules!` body: the second token tree of each
/// `(matcher) => { transcriber }` rule.
fn transcribers(body: &ast::TokenTree) -> impl Iterator<Item = ast::TokenTree> {
    let trees: Vec<_> = body
        .syntax()
        .children()
        .filter_map(ast::TokenTree::cast)
        .collect();
    trees.into_iter().skip(1).step_by(2)
}

/// Whether the tokens begin with an item, after attributes, a visibility
/// and `$`-metavariables or repetitions (which stand for either).
fn starts_with_item(tokens: &[Element]) -> bool {
    let text = |i: usize| match tokens.get(i) {
        Some(Element::Token(t)) => Some(t.as_str()),
        _ => None,
    };
    let group = |i: usize| match tokens.get(i) {
        Some(Element::Group(open)) => Some(*open),
        _ => None,
    };
    let mut i = 0;
    loop {
        match (text(i), group(i + 1)) {
            (Some("#"), Some('[')) => i += 2,
            (Some("#"), None) if text(i + 1) == Some("!") && group(i + 2) == Some('[') => i += 3,
            (Some("$"), Some('(')) => {
                i += 2;
                // An optional separator, then the repetition operator.
                for _ in 0..2 {
                    if matches!(text(i), Some("*" | "+" | "?")) {
                        i += 1;
                        break;
                    }
                    if text(i).is_some() {
                        i += 1;
                    }
                }
            }
            (Some("$"), None) if text(i + 1).is_some() => i += 2,
            (Some("pub"), open) => i += if open == Some('(') { 2 } else { 1 },
            (Some(word), _) => return item_keyword(word, text(i + 1), group(i + 1)),
            _ => return false,
        }
    }
}

/// Whether `word`, followed by the token `next` or a group opened by
/// `open`, begins an item.
fn item_keyword(word: &str, next: Option<&str>, open: Option<char>) -> bool {
    match word {
        "fn" | "struct" | "enum" | "trait" | "impl" | "type" | "mod" | "use" | "static"
        | "extern" | "macro_rules" => true,
        "const" => open != Some('{'),
        "unsafe" => matches!(next, Some("fn" | "impl" | "trait" | "extern")),
        "async" => matches!(next, Some("fn" | "unsafe")),
        "union" => next.is_some_and(|n| n.starts_with(|c: char| c.is_alphabetic() || c == '_')),
        _ => false,
    }
}

/// The first name the tokens define: the first word at their own level
/// that is not a keyword.
fn first_name(tokens: &[Element]) -> Option<&str> {
    const KEYWORDS: &[&str] = &[
        "pub", "crate", "static", "const", "mut", "fn", "struct", "enum", "union", "trait", "impl",
        "type", "mod", "use", "unsafe", "async", "extern", "ref", "in", "self", "super", "where",
        "for", "dyn",
    ];
    tokens.iter().find_map(|e| match e {
        Element::Token(t)
            if t.starts_with(|c: char| c.is_alphabetic() || c == '_')
                && !KEYWORDS.contains(&t.as_str()) =>
        {
            Some(t.as_str())
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::engine::source::syntax::replaced;

    /// The cell as the pass alone leaves it.
    fn rewrite(code: &str) -> Cow<'_, str> {
        replaced(code, edits(&CellSyntax::parse(code), 1))
    }

    fn carried(code: &str) -> bool {
        rewrite(code).contains("mod __asyncbook_items_")
    }

    #[test]
    fn item_macros_are_carried_on_their_lines_and_opened_for_rustc() {
        let code = "tokio::task_local! {\n    static C: u32;\n}\nC.get()";
        let rewritten = rewrite(code);
        assert_eq!(rewritten.lines().count(), code.lines().count());
        assert!(
            rewritten.starts_with("mod __asyncbook_items_"),
            "{rewritten}"
        );
        let opened = crate::engine::build::item_carriers::for_rustc(&rewritten);
        assert_eq!(opened.len(), rewritten.len());
        assert!(
            opened.split_whitespace().eq(code.split_whitespace()),
            "{opened}"
        );
        let column = |text: &str| text.find("tokio::task_local!").unwrap();
        assert_eq!(column(&opened), column(&rewritten));
    }

    #[test]
    fn a_semicolon_goes_after_braces_and_comes_after_parentheses() {
        let braced = rewrite("tokio::task_local! { static ID: u64; };");
        assert!(
            braced.contains("static ID: u64; } /*__asyncbook"),
            "{braced}"
        );
        let called = rewrite("macro_rules! m { ($n:ident) => { struct $n; } }\nm!(P)");
        assert!(called.contains("m!(P);/*__asyncbook"), "{called}");
        let opened = crate::engine::build::item_carriers::for_rustc(&called);
        assert!(
            opened
                .trim_end()
                .ends_with(&format!("\n{}m!(P);", " ".repeat(41))),
            "{opened}"
        );
    }

    #[test]
    fn the_rule_tells_items_from_expressions() {
        for code in [
            "thread_local!(static A: u8 = 1);",
            "tokio::task_local! { static ID: u64; }",
            "my_items! { pub fn a() {} }",
            "my_items! { #[derive(Debug)] struct S; }",
            "lazy_static::lazy_static! { static ref X: u8 = 1; }",
        ] {
            assert!(carried(code), "{code}");
        }
        for code in [
            "println!(\"x\");",
            "vec![1]",
            "assert!(1 + 1 == 2);",
            "format!(\"{}\", 1)",
            "tokio::select! { _ = a => {} }",
            "tokio::pin!(f);",
            "unknown_macro! { const { 1 } }",
            "let x = thread_local_thing!();",
            "fn f() { thread_local!(static A: u8 = 1); }",
        ] {
            assert!(!carried(code), "{code}");
        }
    }

    #[test]
    fn macros_of_the_session_are_told_by_their_transcribers() {
        rewrite("macro_rules! make_fn { ($n:ident) => { $(#[allow(unused)])* pub fn $n() -> u8 { 1 } }; }");
        rewrite("macro_rules! add_one { ($e:expr) => { $e + 1 }; }");
        assert!(carried("make_fn!(one);"));
        assert!(!carried("add_one!(2)"));
    }

    #[test]
    fn the_key_follows_the_macro_and_the_first_name() {
        let key = |code: &str| rewrite(code)[..40].to_owned();
        let a = key("thread_local! { static A: u8 = 1; }");
        assert_eq!(a, key("thread_local! { static A: u8 = 2; }"));
        assert_ne!(a, key("thread_local! { static B: u8 = 1; }"));
    }
}
