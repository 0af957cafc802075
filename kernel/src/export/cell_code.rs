//! One cell's code cut into what a program needs: kernel commands, items
//! (which go to the module), statements (which go into `main`) and the final
//! value the kernel shows.
//!
//! Cells are parsed with rust-analyzer's parser, the one evcxr splits cells
//! with, inside a function body as evcxr wraps them: what the kernel read as
//! one statement is one statement here, with its source text kept as written.

use std::collections::BTreeSet;
use std::ops::Range;

use anyhow::{bail, Result};
use ra_ap_syntax::ast::{self, HasName};
use ra_ap_syntax::{AstNode, Edition, SourceFile, SyntaxKind, SyntaxNode, TextRange};

use crate::engine::source::syntax::item_name;

/// What a line starting with `:` asks the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `:dep name = spec`: a dependency, as a line of `[dependencies]`.
    Dep(String),
    /// `:dep ./path`: a crate in a folder (relative to the notebook's).
    LocalDep(std::path::PathBuf),
    /// Any other command (`:runtime`, `:vars`, a `!` shell line), which a
    /// program has no use for.
    Kernel(String),
}

/// A piece of a cell's code, with its comments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub kind: PieceKind,
    pub text: String,
    /// Lines (counted from 0) that start inside a string literal: indenting
    /// them would change the string.
    pub string_lines: BTreeSet<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PieceKind {
    /// `#![...]`: an attribute of the whole crate.
    CrateAttribute,
    Item(Item),
    /// A statement; `binds` names the variables a `let` introduces.
    Statement {
        binds: Vec<String>,
    },
    /// The cell's final expression, whose value the kernel shows.
    Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Item {
    /// The name it defines (none for `impl` and `use`).
    pub name: Option<String>,
    pub is_use: bool,
    /// Single names the item reads as values without defining them itself:
    /// a variable of `main` among them cannot be seen from the item.
    pub free_names: BTreeSet<String>,
}

/// A cell's commands and pieces, in order.
#[derive(Debug, Default)]
pub struct CellCode {
    pub commands: Vec<Command>,
    pub pieces: Vec<Piece>,
}

/// Text before the cell that makes it a function body, as evcxr wraps it.
const PRELUDE: &str = "fn f(){\n";

/// Cuts one cell's source; an error says what could not be read.
pub fn split(source: &str) -> Result<CellCode> {
    let mut code = CellCode::default();
    let mut rust = String::with_capacity(source.len());
    // As evcxr reads a cell: commands (`:name args`, `!shell`) stand in the
    // lines above its code, among blank lines and `//` comments.
    let mut header = true;
    for line in source.split_inclusive('\n') {
        let trimmed = line.trim();
        if header && line.starts_with('!') {
            code.commands.push(Command::Kernel(trimmed.to_owned()));
        } else if let Some(rest) = trimmed.strip_prefix(':').filter(|_| header) {
            code.commands.push(command(rest)?);
        } else {
            header &= trimmed.is_empty() || line.starts_with("//");
            rust.push_str(line);
            continue;
        }
        // The line stays, empty, so positions keep their lines.
        rust.push('\n');
    }
    let wrapped = format!("{PRELUDE}{rust}\n}}");
    let parsed = SourceFile::parse(&wrapped, Edition::Edition2024);
    if let Some(error) = parsed.errors().first() {
        let at = usize::from(error.range().start()).saturating_sub(PRELUDE.len());
        let line = rust[..at.min(rust.len())].matches('\n').count() + 1;
        bail!("line {line} does not parse: {error}");
    }
    let Some(list) = parsed
        .tree()
        .syntax()
        .children()
        .find_map(ast::Fn::cast)
        .and_then(|f| f.body())
        .and_then(|body| body.stmt_list())
    else {
        bail!("the code does not parse as statements");
    };
    let strings = string_ranges(list.syntax());
    let nodes: Vec<SyntaxNode> = list.syntax().children().collect();
    let offset = |at: ra_ap_syntax::TextSize| usize::from(at) - PRELUDE.len();
    let mut start = 0;
    for (i, node) in nodes.iter().enumerate() {
        // A piece runs from the end of the one before to the end of its own
        // line, so a comment above an item travels with it and one beside a
        // statement stays with it; comments after the last node stay with it.
        let end = match nodes.get(i + 1) {
            None => rust.trim_end().len(),
            Some(next) => {
                let end = offset(node.text_range().end());
                let next_start = offset(next.text_range().start());
                match rust[end..].find('\n').map(|at| end + at) {
                    Some(line_end) if line_end < next_start => line_end,
                    _ => end,
                }
            }
        };
        let kind = classify(node, i + 1 == nodes.len())?;
        code.pieces
            .push(piece(&rust, start..end.max(start), kind, &strings));
        start = end.max(start);
    }
    Ok(code)
}

fn command(rest: &str) -> Result<Command> {
    let rest = rest.trim();
    let Some(spec) = rest
        .strip_prefix("dep")
        .filter(|s| s.starts_with(char::is_whitespace))
    else {
        return Ok(Command::Kernel(format!(":{rest}")));
    };
    let spec = spec.trim();
    if spec.starts_with('.') || spec.starts_with('/') {
        return Ok(Command::LocalDep(spec.into()));
    }
    // `:dep name` alone means any version, as evcxr reads it.
    let line = if spec.contains('=') {
        spec.to_owned()
    } else {
        format!("{spec} = \"*\"")
    };
    if toml::from_str::<toml::Table>(&line).is_err() {
        bail!("`:dep {spec}` is not a dependency line (`:dep name = \"version\"`)");
    }
    Ok(Command::Dep(line))
}

fn classify(node: &SyntaxNode, last: bool) -> Result<PieceKind> {
    if let Some(attr) = ast::Attr::cast(node.clone()) {
        if attr.excl_token().is_some() {
            return Ok(PieceKind::CrateAttribute);
        }
    }
    if let Some(stmt) = ast::Stmt::cast(node.clone()) {
        return Ok(match stmt {
            // A macro call in statement position runs code (`println!`,
            // `tokio::select!`); it stays in `main`.
            ast::Stmt::Item(ast::Item::MacroCall(_)) => PieceKind::Statement { binds: vec![] },
            ast::Stmt::Item(item) => PieceKind::Item(item_facts(&item)),
            ast::Stmt::LetStmt(stmt) => PieceKind::Statement {
                binds: stmt
                    .pat()
                    .map(|pat| {
                        pat.syntax()
                            .descendants()
                            .filter_map(ast::IdentPat::cast)
                            .filter_map(|ident| ident.name())
                            .map(|name| name.text().to_string())
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            ast::Stmt::ExprStmt(_) => PieceKind::Statement { binds: vec![] },
        });
    }
    if let Some(expr) = ast::Expr::cast(node.clone()) {
        if last && shows_value(&expr) {
            return Ok(PieceKind::Value);
        }
        return Ok(PieceKind::Statement { binds: vec![] });
    }
    bail!("cannot tell what `{}` is", node.text())
}

/// Whether a final expression can have a value other than `()`: loops and
/// printing macros cannot, and showing them would only clutter the program.
fn shows_value(expr: &ast::Expr) -> bool {
    match expr {
        ast::Expr::ForExpr(_) | ast::Expr::WhileExpr(_) => false,
        ast::Expr::IfExpr(if_expr) => if_expr.else_branch().is_some(),
        ast::Expr::MacroExpr(macro_expr) => {
            let name = macro_expr
                .macro_call()
                .and_then(|call| call.path())
                .and_then(|path| path.segment())
                .map(|segment| segment.syntax().text().to_string())
                .unwrap_or_default();
            !matches!(
                name.as_str(),
                "print" | "println" | "eprint" | "eprintln" | "assert" | "assert_eq" | "assert_ne"
            )
        }
        _ => true,
    }
}

fn item_facts(item: &ast::Item) -> Item {
    let name = item_name(item).map(|name| name.text().to_string());
    let defined: BTreeSet<String> = item
        .syntax()
        .descendants()
        .filter_map(ast::Name::cast)
        .map(|name| name.text().to_string())
        .collect();
    let free_names = item
        .syntax()
        .descendants()
        .filter_map(ast::PathExpr::cast)
        .filter_map(|expr| expr.path()?.as_single_name_ref())
        .map(|name| name.text().to_string())
        .filter(|name| !defined.contains(name))
        .collect();
    Item {
        name,
        is_use: matches!(item, ast::Item::Use(_)),
        free_names,
    }
}

/// Where multi-line string literals stand, in cell coordinates.
fn string_ranges(list: &SyntaxNode) -> Vec<Range<usize>> {
    list.descendants_with_tokens()
        .filter_map(|element| element.into_token())
        .filter(|token| {
            matches!(
                token.kind(),
                SyntaxKind::STRING | SyntaxKind::BYTE_STRING | SyntaxKind::C_STRING
            ) && token.text().contains('\n')
        })
        .map(|token| cell_range(token.text_range()))
        .collect()
}

fn cell_range(range: TextRange) -> Range<usize> {
    usize::from(range.start()) - PRELUDE.len()..usize::from(range.end()) - PRELUDE.len()
}

fn piece(rust: &str, range: Range<usize>, kind: PieceKind, strings: &[Range<usize>]) -> Piece {
    let raw = &rust[range.clone()];
    // Blank lines before the piece are the layout of the cell, not its code.
    let skipped = raw.len() - raw.trim_start_matches(['\n', '\r']).len();
    let skipped = raw[..skipped].rfind('\n').map_or(0, |at| at + 1);
    let start = range.start + skipped;
    let text = rust[start..range.end].trim_end().to_owned();
    let mut string_lines = BTreeSet::new();
    let mut line_start = start;
    for (n, line) in text.split('\n').enumerate() {
        if strings
            .iter()
            .any(|s| s.start < line_start && line_start < s.end)
        {
            string_lines.insert(n);
        }
        line_start += line.len() + 1;
    }
    Piece {
        kind,
        text,
        string_lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<(String, &'static str)> {
        split(source)
            .unwrap()
            .pieces
            .into_iter()
            .map(|piece| {
                let kind = match piece.kind {
                    PieceKind::CrateAttribute => "attribute",
                    PieceKind::Item(_) => "item",
                    PieceKind::Statement { .. } => "statement",
                    PieceKind::Value => "value",
                };
                (piece.text, kind)
            })
            .collect()
    }

    #[test]
    fn items_statements_and_the_final_value_are_told_apart() {
        let source = "use std::time::Duration;\nlet x = 1; // one\n\n// doubles\nfn double(n: u32) -> u32 { n * 2 }\nprintln!(\"{x}\");\ndouble(x)";
        assert_eq!(
            kinds(source),
            vec![
                ("use std::time::Duration;".into(), "item"),
                ("let x = 1; // one".into(), "statement"),
                (
                    "// doubles\nfn double(n: u32) -> u32 { n * 2 }".into(),
                    "item"
                ),
                ("println!(\"{x}\");".into(), "statement"),
                ("double(x)".into(), "value"),
            ]
        );
    }

    #[test]
    fn loops_and_printing_macros_at_the_end_show_nothing() {
        assert_eq!(
            kinds("for i in 0..2 { println!(\"{i}\") }"),
            vec![("for i in 0..2 { println!(\"{i}\") }".into(), "statement")]
        );
        assert_eq!(
            kinds("println!(\"hi\")"),
            vec![("println!(\"hi\")".into(), "statement")]
        );
    }

    #[test]
    fn commands_are_taken_out() {
        let code = split(":dep rand = \"0.8\"\n:dep itoa\n:runtime\nlet x = 1;").unwrap();
        assert_eq!(
            code.commands,
            vec![
                Command::Dep("rand = \"0.8\"".into()),
                Command::Dep("itoa = \"*\"".into()),
                Command::Kernel(":runtime".into()),
            ]
        );
        assert_eq!(
            kinds(":vars\n#![allow(unused)]\nlet x = 1;")
                .into_iter()
                .map(|(_, kind)| kind)
                .collect::<Vec<_>>(),
            vec!["attribute", "statement"]
        );
        assert!(split(":dep = nothing").is_err());
        assert_eq!(
            split("// setup\n:dep ../mine\n!ls\nlet s = \"\n:not a command\";")
                .unwrap()
                .commands,
            vec![
                Command::LocalDep("../mine".into()),
                Command::Kernel("!ls".into())
            ]
        );
    }

    #[test]
    fn an_item_knows_the_names_it_reads_from_outside() {
        let code = split("fn f(n: u32) -> u32 { let m = n + limit; m + other::x }").unwrap();
        let PieceKind::Item(item) = &code.pieces[0].kind else {
            panic!("not an item");
        };
        assert_eq!(item.name.as_deref(), Some("f"));
        assert_eq!(item.free_names.iter().collect::<Vec<_>>(), vec!["limit"]);
    }

    #[test]
    fn lines_inside_strings_are_marked() {
        let code = split("let s = \"a\nb\";\nlet t = 1;").unwrap();
        assert_eq!(code.pieces[0].string_lines, BTreeSet::from([1]));
        assert!(code.pieces[1].string_lines.is_empty());
    }

    #[test]
    fn bad_code_names_its_line() {
        let error = split("let x = 1;\nlet = ;").unwrap_err().to_string();
        assert!(error.starts_with("line 2 does not parse"), "{error}");
    }
}
