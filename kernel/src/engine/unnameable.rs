//! Variables whose type cannot be written down: lazy futures, streams,
//! iterator adaptors and closures kept from cell to cell.
//!
//! evcxr stores a cell's variables under the type rust-analyzer infers for
//! them, and refuses a type that mentions `impl` ("The variable `x` has type
//! `impl Future<Output = String>` which cannot be persisted") or a closure
//! ("The variable `f` is a closure"), before it compiles anything. The kernel
//! then gives that variable's `let` a trait object type whose parameters are
//! left to inference (`Pin<Box<dyn Future<Output = _> + Send>>`), boxes the
//! value, and runs the cell again: rust-analyzer names the boxed type, rustc
//! checks it, and a value that does not fit one trait (a compile error, so
//! nothing ran) is tried with the next. Futures stay lazy in their box until
//! a later cell awaits them. Should evcxr word those errors differently, the
//! cells fail as before and the lazy-future test in `protocol.rs` says so.

/// What evcxr could not store.
#[derive(Debug, PartialEq, Eq)]
pub struct Unpersistable {
    pub variable: String,
    /// The type as rust-analyzer shows it; `None` for a closure.
    pub shown_type: Option<String>,
}

/// Reads evcxr's refusal to store a variable.
pub fn unpersistable(message: &str) -> Option<Unpersistable> {
    let rest = message.strip_prefix("The variable `")?;
    let (variable, rest) = rest.split_once('`')?;
    let shown_type = if rest.starts_with(" is a closure") {
        None
    } else {
        let rest = rest.strip_prefix(" has type `")?;
        let (shown, _) = rest.split_once("` which cannot be persisted")?;
        Some(shown.to_owned())
    };
    Some(Unpersistable {
        variable: variable.to_owned(),
        shown_type,
    })
}

/// The ways to box a value, most likely first. Each is the cell with the
/// variable's `let` rewritten, on the same lines (diagnostics keep their
/// line numbers).
pub fn rewrites(code: &str, what: &Unpersistable) -> Vec<String> {
    let Some(site) = find_let(code, &what.variable, false) else {
        return Vec::new();
    };
    let init = &code[site.init.clone()];
    let mut shapes: Vec<(&str, String)> = Vec::new();
    match &what.shown_type {
        None => {
            let args = closure_params(init).unwrap_or_default().join(", ");
            for kind in ["Fn", "FnMut", "FnOnce"] {
                shapes.push(("Box::new", format!("Box<dyn {kind}({args}) -> _ + Send>")));
                shapes.push(("Box::new", format!("Box<dyn {kind}({args}) -> _>")));
            }
        }
        Some(shown) => {
            for trait_ in trait_order(shown) {
                let (wrap, object) = match trait_ {
                    Trait::Future => ("Box::pin", "std::pin::Pin<Box<dyn Future<Output = _>SEND>>"),
                    Trait::Stream => (
                        "Box::pin",
                        "std::pin::Pin<Box<dyn futures::Stream<Item = _>SEND>>",
                    ),
                    Trait::Iterator => ("Box::new", "Box<dyn Iterator<Item = _>SEND>"),
                };
                shapes.push((wrap, object.replace("SEND", " + Send")));
                shapes.push((wrap, object.replace("SEND", "")));
            }
        }
    }
    shapes
        .into_iter()
        .map(|(wrap, annotation)| {
            // rust-analyzer names the stream trait `Stream`: the cell brings
            // that name into scope for the code evcxr writes around it.
            let prelude = if annotation.contains("futures::Stream") {
                "use futures::Stream; "
            } else {
                ""
            };
            format!(
                "{prelude}{}: {annotation} = {wrap}({init}){}",
                &code[..site.name_end],
                &code[site.init.end..]
            )
        })
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Trait {
    Future,
    Stream,
    Iterator,
}

/// Which trait the value most likely implements, judged from the type's
/// name; the others follow, since adaptors share names (`Map`, `Filter`).
fn trait_order(shown: &str) -> Vec<Trait> {
    let first = if shown.starts_with("impl Future") || shown.contains("Future<Output") {
        if shown.contains("Stream") || shown.contains("Then<") {
            Trait::Stream
        } else {
            Trait::Future
        }
    } else if shown.contains("Stream") {
        Trait::Stream
    } else if shown.contains("Iterator") || shown.contains("Range") {
        Trait::Iterator
    } else {
        Trait::Future
    };
    let mut order = vec![first];
    order.extend(
        [Trait::Future, Trait::Stream, Trait::Iterator]
            .into_iter()
            .filter(|t| *t != first),
    );
    order
}

/// Where `let [mut] name = value;` stands at the top level of a cell.
#[derive(Debug, PartialEq, Eq)]
pub struct LetSite {
    pub name_end: usize,
    /// The value, without the `=` before it and the `;` after it.
    pub init: std::ops::Range<usize>,
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

/// The parameter types of a closure expression (`|a, b: &str| ..` gives
/// `_` and `&str`): a written type keeps its elided lifetimes general, as
/// the closure has them.
fn closure_params(init: &str) -> Option<Vec<String>> {
    let code = init.trim_start();
    let code = code.strip_prefix("move").unwrap_or(code).trim_start();
    if code.starts_with("||") {
        return Some(Vec::new());
    }
    let params = code.strip_prefix('|')?;
    let mut depth = 0i32;
    let mut found = Vec::new();
    let mut start = 0;
    for (at, c) in params.char_indices() {
        match c {
            '(' | '[' | '<' | '{' => depth += 1,
            ')' | ']' | '>' | '}' => depth -= 1,
            ',' | '|' if depth == 0 => {
                found.push(param_type(&params[start..at]));
                start = at + 1;
                if c == '|' {
                    return Some(found);
                }
            }
            _ => {}
        }
    }
    None
}

/// `pattern: Type` gives `Type`; a pattern alone, `_`.
fn param_type(param: &str) -> String {
    let bytes = param.as_bytes();
    let mut depth = 0i32;
    for (at, &b) in bytes.iter().enumerate() {
        match b {
            b'(' | b'[' | b'<' => depth += 1,
            b')' | b']' | b'>' => depth -= 1,
            b':' if depth == 0
                && bytes.get(at + 1) != Some(&b':')
                && (at == 0 || bytes[at - 1] != b':') =>
            {
                return param[at + 1..].trim().to_owned();
            }
            _ => {}
        }
    }
    "_".to_owned()
}

struct Token {
    span: std::ops::Range<usize>,
    /// Brackets open around it.
    depth: usize,
}

/// Words and punctuation of Rust code with the bracket depth of each;
/// comments, strings and character literals are skipped.
fn tokens(code: &str) -> Vec<Token> {
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        match c {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let mut nested = 0;
                while i < bytes.len() {
                    if bytes[i..].starts_with(b"/*") {
                        nested += 1;
                        i += 2;
                    } else if bytes[i..].starts_with(b"*/") {
                        nested -= 1;
                        i += 2;
                        if nested == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                continue;
            }
            b'r' if matches!(bytes.get(i + 1), Some(b'#') | Some(b'"')) => {
                let hashes = bytes[i + 1..].iter().take_while(|&&b| b == b'#').count();
                if bytes.get(i + 1 + hashes) == Some(&b'"') {
                    let close: Vec<u8> = std::iter::once(b'"')
                        .chain(std::iter::repeat_n(b'#', hashes))
                        .collect();
                    i += 2 + hashes;
                    while i < bytes.len() && !bytes[i..].starts_with(&close) {
                        i += 1;
                    }
                    i += close.len();
                    continue;
                }
                i += 1;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                continue;
            }
            b'\'' => {
                // A character literal closes within a few bytes; a
                // lifetime does not.
                let close = if bytes.get(i + 1) == Some(&b'\\') {
                    bytes[i + 2..]
                        .iter()
                        .position(|&b| b == b'\'')
                        .map(|p| i + 2 + p)
                } else {
                    let width = code[i + 1..].chars().next().map_or(1, char::len_utf8);
                    (bytes.get(i + 1 + width) == Some(&b'\'')).then_some(i + 1 + width)
                };
                i = close.map_or(i + 1, |at| at + 1);
                continue;
            }
            b'(' | b'[' | b'{' => {
                out.push(Token {
                    span: i..i + 1,
                    depth,
                });
                depth += 1;
                i += 1;
                continue;
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
                out.push(Token {
                    span: start..i,
                    depth,
                });
                continue;
            }
            c if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] >= 0x80)
                {
                    i += 1;
                }
            }
            b'=' if matches!(bytes.get(i + 1), Some(b'=') | Some(b'>')) => i += 2,
            _ => i += 1,
        }
        out.push(Token {
            span: start..i,
            depth,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_evcxr_refused() {
        let message = "The variable `order` has type `impl Future<Output = String>` which \
                       cannot be persisted.\nYou might be able to fix this by creating a \
                       `Box<dyn YourType>`.";
        assert_eq!(
            unpersistable(message),
            Some(Unpersistable {
                variable: "order".into(),
                shown_type: Some("impl Future<Output = String>".into()),
            })
        );
        let message = "The variable `bump` is a closure, which cannot be persisted.";
        assert_eq!(
            unpersistable(message).map(|u| (u.variable, u.shown_type)),
            Some(("bump".into(), None))
        );
        assert_eq!(unpersistable("mismatched types"), None);
    }

    #[test]
    fn a_lazy_future_is_pinned_in_a_box_on_its_own_line() {
        let code = "let greeting = \"hi\";\nlet order = brew(\"espresso; please\");\nlet n = 1;";
        let what = unpersistable(
            "The variable `order` has type `impl Future<Output = String>` which cannot be persisted.",
        )
        .unwrap();
        let tries = rewrites(code, &what);
        assert_eq!(
            tries[0],
            "let greeting = \"hi\";\nlet order: std::pin::Pin<Box<dyn Future<Output = _> + Send>> \
             = Box::pin( brew(\"espresso; please\"));\nlet n = 1;"
        );
        // Without Send next, then the other traits.
        assert!(tries[1].contains("dyn Future<Output = _>>> = Box::pin("));
        assert!(tries[2].starts_with("use futures::Stream; let greeting"));
        assert!(tries[4].contains("let order: Box<dyn Iterator<Item = _> + Send> = Box::new("));
        assert_eq!(tries.len(), 6);
        assert!(tries.iter().all(|t| t.lines().count() == 3));
    }

    #[test]
    fn adaptors_try_the_trait_their_name_suggests_first() {
        let first = |shown: &str| trait_order(shown)[0];
        assert_eq!(first("impl Future<Output = i32>"), Trait::Future);
        assert_eq!(first("JoinAll<impl Future<Output = u8>>"), Trait::Future);
        assert_eq!(
            first("Then<Iter<Range<i32>>, impl Future<Output = i32>, impl FnMut(i32) -> impl Future<Output = i32>>"),
            Trait::Stream
        );
        assert_eq!(
            first("Filter<RangeFrom<i32>, impl FnMut(&i32) -> bool>"),
            Trait::Iterator
        );
        assert_eq!(trait_order("Map<X, impl FnMut(u8) -> u8>").len(), 3);
    }

    #[test]
    fn closures_are_boxed_with_their_parameter_types() {
        let what = Unpersistable {
            variable: "add".into(),
            shown_type: None,
        };
        let tries = rewrites("let add = move |a, (b, c): (i32, i32)| a + b + c;", &what);
        assert_eq!(
            tries[0],
            "let add: Box<dyn Fn(_, (i32, i32)) -> _ + Send> = Box::new( move |a, (b, c): (i32, i32)| a + b + c);"
        );
        assert!(tries[3].contains("Box<dyn FnMut(_, (i32, i32)) -> _>"));
        assert!(tries[5].contains("Box<dyn FnOnce(_, (i32, i32)) -> _>"));
        assert_eq!(closure_params("|| 1"), Some(vec![]));
        assert_eq!(
            closure_params("|x: Vec<(u8, u8)>, name: &str, std::ops::Range { start, .. }: std::ops::Range<u8>| 0"),
            Some(vec![
                "Vec<(u8, u8)>".to_owned(),
                "&str".to_owned(),
                "std::ops::Range<u8>".to_owned()
            ])
        );
    }

    #[test]
    fn only_a_top_level_let_without_a_type_is_rewritten() {
        let what = Unpersistable {
            variable: "f".into(),
            shown_type: Some("impl Future<Output = ()>".into()),
        };
        // Inside a block, in a string or a comment, or already typed: left alone.
        for code in [
            "{ let f = async {}; }",
            "let s = \"let f = 1;\";",
            "// let f = async {};",
            "let f: Box<dyn Send> = Box::new(1);",
        ] {
            assert!(rewrites(code, &what).is_empty(), "{code}");
        }
        // The last of two lets of the same name is the one kept.
        let tries = rewrites("let f = 1;\nlet mut f = async { '}' };", &what);
        assert!(
            tries[0].starts_with("let f = 1;\nlet mut f: std::pin::Pin<"),
            "{}",
            tries[0]
        );
        assert!(
            tries[0].ends_with("Box::pin( async { '}' });"),
            "{}",
            tries[0]
        );
    }
}
