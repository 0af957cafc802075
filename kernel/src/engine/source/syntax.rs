//! A cell read as evcxr reads it: rust-analyzer's parse of the cell as the
//! statements of a function body (`CellSyntax`, made once for every pass of
//! `source::prepare`), its top-level items, and its tokens with their
//! bracket depth (words and punctuation; comments, strings and character
//! literals left out), which the passes and the type readers scan.

use std::borrow::Cow;
use std::ops::Range;

use ra_ap_syntax::ast::{self, HasName};
use ra_ap_syntax::{AstNode, Edition, SourceFile, SyntaxKind, SyntaxNode, TextRange};

/// Makes a cell a function body, as evcxr reads it.
const BODY_PRELUDE: &str = "fn f(){\n";

/// A cell parsed once: its text, its top-level items and its tokens.
pub struct CellSyntax<'a> {
    pub code: &'a str,
    /// The cell's top-level items, statements and final expression; None if
    /// the cell does not parse.
    pub body: Option<Vec<SyntaxNode>>,
    /// The items among them.
    pub items: Option<Vec<ast::Item>>,
    pub tokens: Vec<Token>,
}

impl<'a> CellSyntax<'a> {
    pub fn parse(code: &'a str) -> Self {
        let wrapped = format!("{BODY_PRELUDE}{code}\n}}");
        let parsed = SourceFile::parse(&wrapped, Edition::Edition2024);
        let root = parsed.syntax_node();
        let body = parsed
            .errors()
            .is_empty()
            .then(|| body_nodes(&parsed.tree()))
            .flatten();
        let items = body
            .as_ref()
            .map(|body| body.iter().cloned().filter_map(ast::Item::cast).collect());
        let cell = BODY_PRELUDE.len()..BODY_PRELUDE.len() + code.len();
        Self {
            code,
            body,
            items,
            tokens: tokens_in(&root, cell),
        }
    }
}

/// The statements of the function `CellSyntax` wraps the cell in.
fn body_nodes(file: &SourceFile) -> Option<Vec<SyntaxNode>> {
    let list = file
        .syntax()
        .children()
        .find_map(ast::Fn::cast)?
        .body()?
        .stmt_list()?;
    Some(list.syntax().children().collect())
}

/// Where `range`, of a node or token of [`CellSyntax`], is in the cell.
pub fn cell_range(range: TextRange) -> Range<usize> {
    usize::from(range.start()) - BODY_PRELUDE.len()..usize::from(range.end()) - BODY_PRELUDE.len()
}

/// The name an item defines, if it defines one (not an `impl`, a `use` or
/// a macro call).
pub fn item_name(item: &ast::Item) -> Option<ast::Name> {
    match item {
        ast::Item::Const(i) => i.name(),
        ast::Item::Enum(i) => i.name(),
        ast::Item::Fn(i) => i.name(),
        ast::Item::MacroDef(i) => i.name(),
        ast::Item::MacroRules(i) => i.name(),
        ast::Item::Module(i) => i.name(),
        ast::Item::Static(i) => i.name(),
        ast::Item::Struct(i) => i.name(),
        ast::Item::Trait(i) => i.name(),
        ast::Item::TypeAlias(i) => i.name(),
        ast::Item::Union(i) => i.name(),
        _ => None,
    }
}

/// Where `let [mut] name = value;` stands at the top level of a cell.
#[derive(Debug, PartialEq, Eq)]
pub struct LetSite {
    pub name_end: usize,
    /// The value, without the `=` before it and the `;` after it.
    pub init: Range<usize>,
}

/// `a, (b, c), D<e, f>` split at `sep` as `a`, `(b, c)`, `D<e, f>`: only
/// where no bracket is open (the `>` of `->` closes none).
pub fn split_top_level(list: &str, sep: char) -> Vec<String> {
    let mut found = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let mut previous = ' ';
    for (at, c) in list.char_indices() {
        match c {
            '(' | '<' | '[' => depth += 1,
            '>' if previous == '-' => {}
            ')' | '>' | ']' => depth -= 1,
            _ if c == sep && depth == 0 => {
                found.push(list[start..at].trim().to_owned());
                start = at + c.len_utf8();
            }
            _ => {}
        }
        previous = c;
    }
    if !list[start..].trim().is_empty() {
        found.push(list[start..].trim().to_owned());
    }
    found
}

/// Where a statement can follow the cell's last one: the end of a cell
/// that ends in `;` or `}`, else after the last top-level `;` (before the
/// trailing expression whose value the cell shows); `None` for a cell that
/// is one expression.
pub fn statements_end(code: &str) -> Option<usize> {
    let tokens = tokens(code);
    let last = tokens.last()?;
    if last.depth == 0 && matches!(&code[last.span.clone()], ";" | "}") {
        return Some(last.span.end);
    }
    tokens
        .iter()
        .rfind(|t| t.depth == 0 && &code[t.span.clone()] == ";")
        .map(|t| t.span.end)
}

/// A range of the cell and the text that replaces it.
pub type Edit = (Range<usize>, String);

/// `code` with each range in `edits` (in order, none overlapping) replaced;
/// the replaced text's line breaks are kept, so lines keep their numbers.
pub fn replaced<S: AsRef<str>>(code: &str, edits: Vec<(Range<usize>, S)>) -> Cow<'_, str> {
    if edits.is_empty() {
        return Cow::Borrowed(code);
    }
    let mut out = code.to_owned();
    for (range, with) in edits.into_iter().rev() {
        let breaks = "\n".repeat(code[range.clone()].matches('\n').count());
        out.replace_range(range, &format!("{}{breaks}", with.as_ref()));
    }
    Cow::Owned(out)
}

/// The last top-level `let` of `name`; one with a type annotation only if
/// `annotated`.
pub fn find_let(code: &str, name: &str, annotated: bool) -> Option<LetSite> {
    let tokens = tokens(code);
    let mut found = None;
    for (i, token) in tokens.iter().enumerate() {
        if token.depth != 0 || &code[token.span.clone()] != "let" {
            continue;
        }
        let mut j = i + 1;
        if tokens
            .get(j)
            .is_some_and(|t| &code[t.span.clone()] == "mut")
        {
            j += 1;
        }
        let Some(ident) = tokens.get(j).filter(|t| &code[t.span.clone()] == name) else {
            continue;
        };
        let mut k = j + 1;
        if annotated && tokens.get(k).is_some_and(|t| &code[t.span.clone()] == ":") {
            k = annotation_end(code, &tokens, k + 1);
        }
        let Some(equals) = tokens.get(k).filter(|t| &code[t.span.clone()] == "=") else {
            continue;
        };
        let Some(semi) = tokens[k + 1..]
            .iter()
            .find(|t| t.depth == 0 && &code[t.span.clone()] == ";")
        else {
            continue;
        };
        found = Some(LetSite {
            name_end: ident.span.end,
            init: equals.span.end..semi.span.start,
        });
    }
    found
}

/// The names the cell's top-level `let`s bind one by one (`let [mut] name`).
pub fn let_names(code: &str) -> Vec<String> {
    let tokens = tokens(code);
    let text = |i: usize| tokens.get(i).map_or("", |t| &code[t.span.clone()]);
    let mut names = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        if token.depth != 0 || text(i) != "let" {
            continue;
        }
        let name = if text(i + 1) == "mut" { i + 2 } else { i + 1 };
        let word = text(name);
        if word.starts_with(|c: char| c.is_alphabetic() || c == '_')
            && matches!(text(name + 1), ":" | "=")
        {
            names.push(word.to_owned());
        }
    }
    names
}

/// The top-level `let` that starts on `line` (1-based) and binds one name:
/// the name, and the type annotation written there, if one is.
pub fn let_on_line(code: &str, line: usize) -> Option<(String, Option<String>)> {
    let tokens = tokens(code);
    let line_of = |at: usize| code[..at].matches('\n').count() + 1;
    let i = tokens.iter().position(|t| {
        t.depth == 0 && &code[t.span.clone()] == "let" && line_of(t.span.start) == line
    })?;
    let mut j = i + 1;
    if tokens
        .get(j)
        .is_some_and(|t| &code[t.span.clone()] == "mut")
    {
        j += 1;
    }
    let ident = tokens.get(j)?;
    let name = &code[ident.span.clone()];
    if !name.starts_with(|c: char| c.is_alphabetic() || c == '_') {
        return None;
    }
    let annotation = match tokens.get(j + 1) {
        Some(colon) if &code[colon.span.clone()] == ":" => {
            let end = tokens.get(annotation_end(code, &tokens, j + 2))?;
            Some(code[colon.span.end..end.span.start].trim().to_owned())
        }
        Some(equals) if &code[equals.span.clone()] == "=" => None,
        _ => return None,
    };
    Some((name.to_owned(), annotation))
}

/// The index of the token after a type annotation that starts at `from`:
/// the first `=` outside brackets and angle brackets (`->` is no bracket).
fn annotation_end(code: &str, tokens: &[Token], from: usize) -> usize {
    let mut angles = 0i32;
    let mut k = from;
    while let Some(token) = tokens.get(k) {
        match &code[token.span.clone()] {
            "=" | ";" if token.depth == 0 && angles == 0 => break,
            "<" => angles += 1,
            ">" if k == 0 || &code[tokens[k - 1].span.clone()] != "-" => angles -= 1,
            _ => {}
        }
        k += 1;
    }
    k
}

pub struct Token {
    pub span: Range<usize>,
    /// Brackets open around it.
    pub depth: usize,
}

/// Words and punctuation of Rust code with the bracket depth of each;
/// comments, strings and character literals are left out.
pub fn tokens(code: &str) -> Vec<Token> {
    CellSyntax::parse(code).tokens
}

/// The tokens of `root` within `cell` (a range of the wrapped text), placed
/// in the cell. Punctuation comes a character a token, as the lexer gives it
/// (`::` is `:` `:`), but for `==` and `=>`; a lifetime is its name.
fn tokens_in(root: &SyntaxNode, cell: Range<usize>) -> Vec<Token> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    for token in root
        .descendants_with_tokens()
        .filter_map(|e| e.into_token())
    {
        let range = token.text_range();
        let (start, end) = (usize::from(range.start()), usize::from(range.end()));
        if start < cell.start || end > cell.end {
            continue;
        }
        let span = start - cell.start..end - cell.start;
        let kind = token.kind();
        let text = token.text();
        if kind.is_trivia() || kind.is_literal() && !is_number(kind) {
            continue;
        }
        if kind == SyntaxKind::LIFETIME_IDENT {
            out.push(Token {
                span: span.start + 1..span.end,
                depth,
            });
        } else if kind.is_punct() && !matches!(text, "==" | "=>") {
            for (at, c) in text.char_indices() {
                let span = span.start + at..span.start + at + c.len_utf8();
                match c {
                    '(' | '[' | '{' => {
                        out.push(Token { span, depth });
                        depth += 1;
                    }
                    ')' | ']' | '}' => {
                        depth = depth.saturating_sub(1);
                        out.push(Token { span, depth });
                    }
                    _ => out.push(Token { span, depth }),
                }
            }
        } else {
            out.push(Token { span, depth });
        }
    }
    out
}

fn is_number(kind: SyntaxKind) -> bool {
    matches!(kind, SyntaxKind::INT_NUMBER | SyntaxKind::FLOAT_NUMBER)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_let_on_a_line_is_found_with_its_written_type() {
        let code = "let a = 1;\nlet mut b: Vec<_> = vec![a];\nfoo(|x| { let c = x; c });\nlet (d, e) = (1, 2);";
        assert_eq!(let_on_line(code, 1), Some(("a".to_owned(), None)));
        assert_eq!(
            let_on_line(code, 2),
            Some(("b".to_owned(), Some("Vec<_>".to_owned())))
        );
        assert_eq!(let_on_line(code, 3), None, "not at the top level");
        assert_eq!(let_on_line(code, 4), None, "a pattern, not one name");
    }

    #[test]
    fn a_cells_let_names_are_found() {
        assert_eq!(
            let_names(
                "let a = 1;\nlet mut b: u8 = 2;\nlet (c, d) = (1, 2);\nfn f() { let e = 1; }"
            ),
            ["a", "b"]
        );
    }

    #[test]
    fn lists_split_only_where_no_bracket_is_open() {
        assert_eq!(
            split_top_level("a, (b, c), D<e, f>, impl Fn(u8) -> u8", ','),
            ["a", "(b, c)", "D<e, f>", "impl Fn(u8) -> u8"]
        );
        assert_eq!(
            split_top_level("Fn(u8) -> Box<dyn A + B> + Send + 'static", '+'),
            ["Fn(u8) -> Box<dyn A + B>", "Send", "'static"]
        );
    }

    #[test]
    fn statements_end_before_the_value_a_cell_shows() {
        assert_eq!(
            statements_end("let a = 1;\nfor i in 0..2 { a; } // done"),
            Some(31)
        );
        assert_eq!(
            statements_end("let a = 1;\nlet b = \"x;\";\na + b.len()"),
            Some(24)
        );
        assert_eq!(statements_end("a + 1"), None);
    }
}
