//! A `thread_local!` at a cell's top level, one per thread in the session.
//!
//! evcxr compiles a cell's items again into every later cell, each cell a
//! crate of its own, so a thread-local declared in one cell was a fresh one
//! in each: a counter set in one cell read as its initial value in the next,
//! although every cell runs on the same thread. The kernel renames each
//! thread-local the macro declares (`__asyncbook_local_NAME`) and declares
//! `NAME` beside it, on the macro's last line, as a `LazyLock` of a reference
//! to the `LocalKey` of the cell that defined it, which the cell library keeps
//! by name and cell (`asyncbook::statics::shared`, as for statics). `NAME.with`,
//! `NAME.set`, `NAME.get` and the other `LocalKey` methods reach it through
//! deref. Running the defining cell again makes a new thread-local, as running
//! a program again would. Were evcxr to compile items only once, nothing
//! would change but a `LazyLock`; the thread-local test in `everyday_code.rs`
//! holds either way.

use ra_ap_syntax::ast;
use ra_ap_syntax::{AstNode, NodeOrToken, SyntaxKind};

use crate::engine::source::syntax::{cell_range, Edit};

/// The prefix of a renamed thread-local.
const LOCAL: &str = "__asyncbook_local_";

/// For a `thread_local!` call: the renames inside it, and the declarations
/// of the shared names, to be written after it on its last line.
pub fn shared(call: &ast::MacroCall, cell: usize) -> (Vec<Edit>, String) {
    let Some(tree) = call.token_tree() else {
        return (Vec::new(), String::new());
    };
    let children: Vec<_> = tree
        .syntax()
        .children_with_tokens()
        .filter(|c| !matches!(c.kind(), SyntaxKind::WHITESPACE | SyntaxKind::COMMENT))
        .collect();
    let text = |i: usize| children.get(i).map(|c| c.to_string()).unwrap_or_default();
    let mut renames = Vec::new();
    let mut declared = String::new();
    let mut start = 1;
    while let Some(at) = (start..children.len()).find(|&i| text(i) == "static") {
        let Some(end) = (at..children.len()).find(|&i| text(i) == ";" || i + 1 == children.len())
        else {
            break;
        };
        start = end + 1;
        let (Some(NodeOrToken::Token(name)), true) = (children.get(at + 1), text(at + 2) == ":")
        else {
            continue;
        };
        let Some(equals) = (at + 3..end).find(|&i| text(i) == "=") else {
            continue;
        };
        let written = tree.syntax().to_string();
        let tree_start = tree.syntax().text_range().start();
        let offset = |i: usize, end: bool| {
            let range = children[i].text_range();
            usize::from(if end { range.end() } else { range.start() } - tree_start)
        };
        let ty = written[offset(at + 3, false)..offset(equals - 1, true)].replace('\n', " ");
        let visibility: Vec<String> = (start_of_statement(&children, at)..at)
            .map(text)
            .filter(|t| t.starts_with("pub") || t.starts_with('('))
            .collect();
        let name = name.text().to_string();
        renames.push((
            cell_range(children[at + 1].text_range()),
            format!("{LOCAL}{name}"),
        ));
        let key = format!("&'static ::std::thread::LocalKey<{ty}>");
        declared.push_str(&format!(
            " {} static {name}: ::std::sync::LazyLock<{key}> = ::std::sync::LazyLock::new(|| \
             ::asyncbook::statics::shared::<{key}>({name:?}, {cell}, || &{LOCAL}{name}));",
            visibility.join("")
        ));
    }
    (renames, declared)
}

/// Where the declaration that holds `static` at `at` begins: after the
/// previous `;` or the tree's opening delimiter.
fn start_of_statement(children: &[ra_ap_syntax::SyntaxElement], at: usize) -> usize {
    (1..at)
        .rev()
        .find(|&i| children[i].to_string() == ";")
        .map_or(1, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::source::syntax::CellSyntax;

    fn call(code: &str) -> ast::MacroCall {
        let syntax = CellSyntax::parse(code);
        let body = syntax.body.expect("the cell parses");
        body.iter()
            .find_map(|node| node.descendants().find_map(ast::MacroCall::cast))
            .expect("a macro call")
    }

    #[test]
    fn each_thread_local_is_renamed_and_declared_shared() {
        let code = "thread_local! {\n    pub(crate) static A: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };\n    #[allow(unused)] static B: u8 = 1\n}";
        let (renames, declared) = shared(&call(code), 4);
        let renamed: Vec<&str> = renames.iter().map(|(r, _)| &code[r.clone()]).collect();
        assert_eq!(renamed, ["A", "B"]);
        assert_eq!(renames[0].1, "__asyncbook_local_A");
        assert!(declared.contains(
            " pub(crate) static A: ::std::sync::LazyLock<&'static ::std::thread::LocalKey<std::cell::Cell<u32>>>"
        ), "{declared}");
        assert!(
            declared.contains("(\"B\", 4, || &__asyncbook_local_B)"),
            "{declared}"
        );
        assert!(!declared.contains('\n'), "lines keep their numbers");
    }
}
