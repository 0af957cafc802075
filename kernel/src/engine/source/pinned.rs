//! `pin!` at a cell's top level: `tokio::pin!(sleep);`,
//! `futures::pin_mut!(fut);`, `let fut = std::pin::pin!(async { .. });`.
//!
//! Each pins a future on the stack of the function it is written in: the
//! variable becomes a `Pin<&mut _>` that borrows a hidden local. A cell's
//! top-level variables live on into later cells, and a borrow of the cell's
//! own stack cannot, so such a cell failed to compile with an error about
//! types the user never wrote. The kernel pins those futures in a box
//! instead (`Box::pin`): the same future behind a `Pin` for `.await`,
//! `&mut fut` in `select!`, `fut.as_mut().reset(..)` and `fut.is_elapsed()`,
//! kept with the cell's other variables. Pins inside functions and blocks
//! are left alone, and lines keep their numbers.

use std::ops::Range;

use crate::engine::source::syntax::{CellSyntax, Edit, Token};

/// Macros that shadow variables with themselves pinned: `tokio::pin!(a, b)`.
const PIN_IN_PLACE: &[&str] = &[
    "pin",
    "tokio::pin",
    "pin_mut",
    "futures::pin_mut",
    "futures_util::pin_mut",
    "pin_utils::pin_mut",
];

/// Macros that pin a value and give it back: `std::pin::pin!(fut)`.
const PIN_VALUE: &[&str] = &["pin", "std::pin::pin", "core::pin::pin"];

/// A variable pinned in a box, as `let` declares it: `mut`, since a pinned
/// future is mostly used through `&mut` or `as_mut()`, and quiet about it
/// when the cell only awaits it.
const BOXED_LET: &str = "#[allow(unused_mut)] let mut";
const BOX_PIN: &str = "::std::boxed::Box::pin(";

/// What makes each top-level `pin!` of the cell pin in a box.
pub fn edits(syntax: &CellSyntax) -> Vec<Edit> {
    let tokens = &syntax.tokens;
    let cell = Cell {
        code: syntax.code,
        tokens,
    };
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let statement_start =
            tokens[i].depth == 0 && (i == 0 || matches!(cell.text(i - 1), ";" | "}"));
        let found = if statement_start && cell.text(i) == "let" {
            cell.pinned_value(i, &mut edits)
        } else if statement_start {
            cell.pinned_in_place(i, &mut edits)
        } else {
            None
        };
        i = found.unwrap_or(i + 1);
    }
    edits
}

struct Cell<'a> {
    code: &'a str,
    tokens: &'a [Token],
}

/// A macro call: its path as written (without a leading `::`), and the
/// tokens of its opening and closing brackets.
struct MacroCall {
    path: String,
    open: usize,
    close: usize,
}

impl Cell<'_> {
    fn text(&self, i: usize) -> &str {
        self.tokens
            .get(i)
            .map_or("", |t| &self.code[t.span.clone()])
    }

    fn span(&self, i: usize) -> Range<usize> {
        self.tokens[i].span.clone()
    }

    /// `path!(..)`, `path![..]` or `path! {..}` starting at token `i`.
    fn macro_call(&self, i: usize) -> Option<MacroCall> {
        let mut k = i;
        if self.text(k) == ":" && self.text(k + 1) == ":" {
            k += 2;
        }
        let mut path = String::new();
        loop {
            let word = self.text(k);
            if !word.starts_with(|c: char| c.is_alphabetic() || c == '_') {
                return None;
            }
            path.push_str(word);
            k += 1;
            if self.text(k) == ":" && self.text(k + 1) == ":" {
                path.push_str("::");
                k += 2;
            } else {
                break;
            }
        }
        if self.text(k) != "!" || !matches!(self.text(k + 1), "(" | "[" | "{") {
            return None;
        }
        let open = k + 1;
        let depth = self.tokens[open].depth;
        let close = (open + 1..self.tokens.len()).find(|&j| self.tokens[j].depth == depth)?;
        Some(MacroCall { path, open, close })
    }

    /// `let [mut] x = std::pin::pin!(value);` at token `i` (no type written:
    /// `Pin<&mut _>` would not fit the box).
    fn pinned_value(&self, i: usize, edits: &mut Vec<(Range<usize>, String)>) -> Option<usize> {
        let mut k = i + 1;
        if self.text(k) == "mut" {
            k += 1;
        }
        if self.text(k + 1) != "=" {
            return None;
        }
        let call = self.macro_call(k + 2)?;
        let after = self.text(call.close + 1);
        if !PIN_VALUE.contains(&call.path.as_str()) || self.text(call.open) == "{" || after != ";" {
            return None;
        }
        edits.push((
            self.span(k + 2).start..self.span(call.open).end,
            BOX_PIN.to_owned(),
        ));
        edits.push((self.span(call.close), ")".to_owned()));
        Some(call.close + 1)
    }

    /// `tokio::pin!(a, b);` or `tokio::pin! { let a = value; }` at token `i`.
    fn pinned_in_place(&self, i: usize, edits: &mut Vec<(Range<usize>, String)>) -> Option<usize> {
        let call = self.macro_call(i)?;
        if !PIN_IN_PLACE.contains(&call.path.as_str()) {
            return None;
        }
        let end = if self.text(call.close + 1) == ";" {
            call.close + 1
        } else {
            call.close
        };
        let inner = call.open + 1..call.close;
        if self.text(inner.start) == "let" {
            return self
                .pinned_lets(inner, self.span(i).start..self.span(call.open).end)
                .map(|mut lets| {
                    lets.push((
                        self.span(call.close).start..self.span(end).end,
                        String::new(),
                    ));
                    edits.extend(lets);
                    end + 1
                });
        }
        // Names only, separated by commas.
        let names: Vec<&str> = inner.clone().step_by(2).map(|k| self.text(k)).collect();
        let separated = inner
            .clone()
            .skip(1)
            .step_by(2)
            .all(|k| self.text(k) == ",");
        let named = names
            .iter()
            .all(|name| name.starts_with(|c: char| c.is_alphabetic() || c == '_'));
        if names.is_empty() || !separated || !named {
            return None;
        }
        let lets: Vec<String> = names
            .iter()
            .map(|name| format!("{BOXED_LET} {name} = {BOX_PIN}{name});"))
            .collect();
        edits.push((self.span(i).start..self.span(end).end, lets.join(" ")));
        Some(end + 1)
    }

    /// The edits for `let a = value; let b = value;` inside a pin macro's
    /// brackets (`tokens`), the macro's path and opening bracket being
    /// `opening`: each value in a box, on its own lines.
    fn pinned_lets(
        &self,
        tokens: Range<usize>,
        opening: Range<usize>,
    ) -> Option<Vec<(Range<usize>, String)>> {
        let depth = self.tokens[tokens.start].depth;
        let mut lets = vec![(opening, String::new())];
        let mut k = tokens.start;
        while k < tokens.end {
            let name = k + 1;
            if self.text(k) != "let" || self.text(name + 1) != "=" {
                return None;
            }
            let semi = (name + 2..tokens.end)
                .find(|&j| self.tokens[j].depth == depth && self.text(j) == ";")?;
            lets.push((
                self.span(k).start..self.span(name + 2).start,
                format!("{BOXED_LET} {} = {BOX_PIN}", self.text(name)),
            ));
            lets.push((self.span(semi), ");".to_owned()));
            k = semi + 1;
        }
        Some(lets)
    }
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
    fn variables_pinned_in_place_are_pinned_in_a_box() {
        assert_eq!(
            rewrite("let sleep = tokio::time::sleep(d);\ntokio::pin!(sleep);\n(&mut sleep).await"),
            "let sleep = tokio::time::sleep(d);\n\
             #[allow(unused_mut)] let mut sleep = ::std::boxed::Box::pin(sleep);\n\
             (&mut sleep).await"
        );
        assert_eq!(
            rewrite("use futures::pin_mut;\npin_mut!(a, b,);"),
            "use futures::pin_mut;\n\
             #[allow(unused_mut)] let mut a = ::std::boxed::Box::pin(a); \
             #[allow(unused_mut)] let mut b = ::std::boxed::Box::pin(b);"
        );
    }

    #[test]
    fn values_pinned_by_a_let_are_pinned_in_a_box() {
        assert_eq!(
            rewrite("let mut fut = std::pin::pin!(async {\n    1\n});"),
            "let mut fut = ::std::boxed::Box::pin(async {\n    1\n});"
        );
        assert_eq!(
            rewrite("tokio::pin! {\n    let a = sleep(d);\n    let b = async { 2 };\n}\nx"),
            "\n\
             \x20   #[allow(unused_mut)] let mut a = ::std::boxed::Box::pin(sleep(d));\n\
             \x20   #[allow(unused_mut)] let mut b = ::std::boxed::Box::pin(async { 2 });\n\
             \nx"
        );
    }

    #[test]
    fn pins_below_the_top_level_and_other_macros_are_left_alone() {
        for code in [
            "async fn f() {\n    tokio::pin!(x);\n}",
            "{ tokio::pin!(x); (&mut x).await; }",
            "let x: Pin<&mut Sleep> = std::pin::pin!(s);",
            "foo(std::pin::pin!(s));",
            "println!(x);",
            "tokio::pin!(a.b);",
            "let s = \"tokio::pin!(x);\";",
        ] {
            assert_eq!(rewrite(code), code, "{code}");
        }
    }
}
