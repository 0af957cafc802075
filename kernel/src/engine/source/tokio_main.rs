//! A program pasted into a cell: `#[tokio::main] async fn main() { .. }`.
//!
//! In a program, the attribute builds a runtime and blocks on the function's
//! body. In a cell that would start a second runtime inside the shared one
//! (tokio panics: "Cannot start a runtime from within a runtime"). The
//! kernel instead turns each such function into a plain `fn` whose body runs
//! on the shared runtime through `asyncbook::runtime::block_on`, so calling
//! `main()` in a later cell runs the program beside the notebook's tasks.
//! Lines keep their numbers, so diagnostics still point at the user's code.

use crate::engine::source::syntax::{CellSyntax, Edit, Token};

/// What turns every top-level `#[tokio::main]` function of the cell.
pub fn edits(cell: &CellSyntax) -> Vec<Edit> {
    let (code, tokens) = (cell.code, &cell.tokens);
    let text = |t: &Token| &code[t.span.clone()];
    let mut edits: Vec<(std::ops::Range<usize>, &str)> = Vec::new();
    let mut i = 0;
    while i + 5 < tokens.len() {
        let is_attribute = tokens[i].depth == 0
            && text(&tokens[i]) == "#"
            && text(&tokens[i + 1]) == "["
            && text(&tokens[i + 2]) == "tokio"
            && text(&tokens[i + 3]) == ":"
            && text(&tokens[i + 4]) == ":"
            && text(&tokens[i + 5]) == "main";
        if !is_attribute {
            i += 1;
            continue;
        }
        let Some(close) =
            (i + 6..tokens.len()).find(|&k| tokens[k].depth == 0 && text(&tokens[k]) == "]")
        else {
            break;
        };
        let Some(found) = function_after(code, tokens, close + 1) else {
            i = close + 1;
            continue;
        };
        edits.push((tokens[i].span.start..tokens[close].span.end, ""));
        edits.push((found.async_keyword, ""));
        edits.push((
            found.open..found.open + 1,
            "{ asyncbook::runtime::block_on(async move {",
        ));
        edits.push((found.close..found.close + 1, "}) }"));
        i = close + 1;
    }
    edits
        .into_iter()
        .map(|(range, with)| (range, with.to_owned()))
        .collect()
}

/// An `async fn` after an attribute: where its `async` and body braces are.
struct AsyncFn {
    async_keyword: std::ops::Range<usize>,
    open: usize,
    close: usize,
}

fn function_after(code: &str, tokens: &[Token], from: usize) -> Option<AsyncFn> {
    let text = |k: usize| tokens.get(k).map_or("", |t| &code[t.span.clone()]);
    let mut k = from;
    if text(k) == "pub" {
        k += 1;
    }
    if text(k) != "async" || text(k + 1) != "fn" {
        return None;
    }
    let async_keyword = tokens[k].span.start..tokens[k + 1].span.start;
    let open = (k + 2..tokens.len()).find(|&j| tokens[j].depth == 0 && text(j) == "{")?;
    let close = (open + 1..tokens.len()).find(|&j| tokens[j].depth == 0 && text(j) == "}")?;
    Some(AsyncFn {
        async_keyword,
        open: tokens[open].span.start,
        close: tokens[close].span.start,
    })
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::engine::source::syntax::replaced;

    /// The cell as the pass alone leaves it.
    fn rewrite(code: &str) -> Cow<'_, str> {
        replaced(code, edits(&CellSyntax::parse(code)))
    }

    #[test]
    fn a_tokio_main_runs_on_the_shared_runtime() {
        let program = "use std::time::Duration;\n\
                       #[tokio::main(flavor = \"current_thread\")]\n\
                       async fn main() -> Result<(), Box<dyn std::error::Error>> {\n\
                       \x20   tokio::time::sleep(Duration::from_millis(1)).await;\n\
                       \x20   Ok(())\n\
                       }\n\
                       fn other() {}";
        let rewritten = rewrite(program);
        assert_eq!(
            rewritten,
            "use std::time::Duration;\n\
             \n\
             fn main() -> Result<(), Box<dyn std::error::Error>> { asyncbook::runtime::block_on(async move {\n\
             \x20   tokio::time::sleep(Duration::from_millis(1)).await;\n\
             \x20   Ok(())\n\
             }) }\n\
             fn other() {}"
        );
    }

    #[test]
    fn other_code_is_left_alone() {
        for code in [
            "#[tokio::test]\nasync fn t() {}",
            "// #[tokio::main]\nasync fn main() {}",
            "let s = \"#[tokio::main]\";",
            "mod m {\n#[tokio::main]\nasync fn main() {}\n}",
        ] {
            assert_eq!(rewrite(code), code, "{code}");
        }
    }
}
