//! Closures, and values of `impl Fn..` types, boxed as trait objects.
//!
//! A closure is boxed as `Box<dyn Fn(..) -> _>` (then `FnMut`, `FnOnce`,
//! each with and without `Send`). A closure whose result is itself
//! unnameable (a future: `|| fetch(1)`, `async |x| ..`) cannot be boxed
//! that way; it is wrapped in a closure that boxes each future it returns,
//! `Box<dyn Fn(..) -> Pin<Box<dyn Future<Output = _> + Send>>>`, so calling
//! it and awaiting the result works as before.

use crate::engine::source::syntax::split_top_level;

/// The traits of closures, whose values are boxed here.
pub const CLOSURE_TRAITS: [&str; 6] = [
    "Fn",
    "FnMut",
    "FnOnce",
    "AsyncFn",
    "AsyncFnMut",
    "AsyncFnOnce",
];

/// The ways to box a closure `init` (or a value whose type evcxr shows as
/// `shown`, `impl FnMut(u8) -> u32`): `(annotation, value)` pairs.
pub fn shapes(init: &str, shown: Option<&str>) -> Vec<(String, String)> {
    let (params, returns_future) = match shown {
        None => (closure_params(init).unwrap_or_default(), is_async(init)),
        Some(shown) => {
            let Some((params, output)) = signature(shown) else {
                return Vec::new();
            };
            let future = shown.starts_with("impl Async") || output.contains("impl Future");
            (params, future)
        }
    };
    let args = params.join(", ");
    let mut found = Vec::new();
    if !returns_future {
        for kind in ["Fn", "FnMut", "FnOnce"] {
            for send in [" + Send", ""] {
                found.push((
                    format!("Box<dyn {kind}({args}) -> _{send}>"),
                    format!("Box::new({init})"),
                ));
            }
        }
    }
    // Each call's future boxed: `|p0, p1| -> Pin<..> { Box::pin(f(p0, p1)) }`.
    let names: Vec<String> = (0..params.len()).map(|i| format!("p{i}")).collect();
    let names = names.join(", ");
    let future = "std::pin::Pin<Box<dyn Future<Output = _> + Send>>";
    for kind in ["Fn", "FnMut", "FnOnce"] {
        found.push((
            format!("Box<dyn {kind}({args}) -> {future} + Send>"),
            format!(
                "Box::new({{ let mut f = {}; move |{names}| -> {future} {{ Box::pin(f({names})) }} }})",
                init.trim()
            ),
        ));
    }
    if returns_future {
        // An async closure's future borrows the closure (its captures): each
        // future holds the closure, shared, and calls it itself.
        found.push((
            format!("Box<dyn Fn({args}) -> {future} + Send>"),
            format!(
                "Box::new({{ let f = std::sync::Arc::new({}); move |{names}| -> {future} {{ \
                 let f = f.clone(); Box::pin(async move {{ f({names}).await }}) }} }})",
                init.trim()
            ),
        ));
    }
    found
}

/// Whether a closure expression is `async` (its calls return futures).
fn is_async(init: &str) -> bool {
    let code = init.trim_start();
    code.starts_with("async ") || code.starts_with("async|")
}

/// The parameter types and output of an `impl Fn(A, B) -> C` type.
fn signature(shown: &str) -> Option<(Vec<String>, String)> {
    let rest = shown.strip_prefix("impl ")?;
    let open = rest.find('(')?;
    if !CLOSURE_TRAITS.contains(&&rest[..open]) {
        return None;
    }
    let mut depth = 0;
    let close = rest[open..].char_indices().find_map(|(at, c)| {
        match c {
            '(' | '<' | '[' => depth += 1,
            ')' | '>' | ']' => depth -= 1,
            _ => {}
        }
        (depth == 0).then_some(open + at)
    })?;
    let params = split_top_level(&rest[open + 1..close], ',');
    let output = rest[close + 1..]
        .trim()
        .strip_prefix("->")
        .map_or("()", str::trim)
        .to_owned();
    Some((params, output))
}

/// The parameter types of a closure expression (`|a, b: &str| ..` gives
/// `_` and `&str`): a written type keeps its elided lifetimes general, as
/// the closure has them.
pub fn closure_params(init: &str) -> Option<Vec<String>> {
    let code = init.trim_start();
    let code = code.strip_prefix("async").unwrap_or(code).trim_start();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closures_are_boxed_with_their_parameter_types() {
        let shapes = shapes(" move |a, (b, c): (i32, i32)| a + b + c", None);
        assert_eq!(
            shapes[0],
            (
                "Box<dyn Fn(_, (i32, i32)) -> _ + Send>".to_owned(),
                "Box::new( move |a, (b, c): (i32, i32)| a + b + c)".to_owned()
            )
        );
        assert_eq!(shapes[3].0, "Box<dyn FnMut(_, (i32, i32)) -> _>");
        assert_eq!(shapes[5].0, "Box<dyn FnOnce(_, (i32, i32)) -> _>");
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
    fn closures_returning_futures_box_each_future() {
        let future = "std::pin::Pin<Box<dyn Future<Output = _> + Send>>";
        let shapes = shapes(" async move |x: u32| x * 2", None);
        assert_eq!(shapes.len(), 4, "only the boxing of futures fits");
        assert_eq!(shapes[0].0, format!("Box<dyn Fn(u32) -> {future} + Send>"));
        assert_eq!(
            shapes[0].1,
            format!("Box::new({{ let mut f = async move |x: u32| x * 2; move |p0| -> {future} {{ Box::pin(f(p0)) }} }})")
        );
        // A future that borrows its closure's captures holds the closure.
        assert_eq!(shapes[3].0, shapes[0].0);
        assert!(
            shapes[3]
                .1
                .contains("let f = f.clone(); Box::pin(async move { f(p0).await })"),
            "{}",
            shapes[3].1
        );
        // A plain closure may return a future too: both ways are tried.
        assert_eq!(shapes_of("|| fetch(6)").len(), 9);
        assert_eq!(shapes_of("async || fetch(6).await").len(), 4);
    }

    fn shapes_of(init: &str) -> Vec<(String, String)> {
        shapes(init, None)
    }

    #[test]
    fn impl_fn_types_give_their_signature() {
        let shapes = shapes("make_counter()", Some("impl FnMut() -> u32"));
        assert_eq!(shapes[0].0, "Box<dyn Fn() -> _ + Send>");
        let asynchronous = super::shapes("f()", Some("impl AsyncFn(u32, (u8, u8)) -> u32"));
        assert_eq!(
            asynchronous[0].0,
            "Box<dyn Fn(u32, (u8, u8)) -> std::pin::Pin<Box<dyn Future<Output = _> + Send>> + Send>"
        );
        assert!(asynchronous[0].1.contains("move |p0, p1| ->"));
        assert_eq!(signature("impl Iterator<Item = u8>"), None);
    }
}
