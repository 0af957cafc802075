//! evcxr's generated cell source, rewritten to run on the cell library.
//!
//! evcxr writes each cell as a crate of its own (`src/lib.rs`) with its own
//! variable store and tokio runtime. The rustc wrapper compiles a copy
//! (`src/asyncbook_lib.rs`) that takes both from the cell library, names
//! `!` in stored types as stable rustc accepts it, and keeps every line on
//! its line number, so evcxr maps rustc's diagnostics back to the user's
//! code. Each rewrite looks for one shape of evcxr's code and leaves the
//! source alone when it does not find it; the unit tests below hold the
//! shapes, and the integration tests fail should evcxr change them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Result;

/// The execution count of the cell being built, passed to the wrapper as a
/// build environment variable so the cell knows its number.
pub const CELL_ENV: &str = "ASYNCBOOK_CELL";

/// The rewritten source's file name, beside evcxr's `src/lib.rs`.
pub const COMPILED_FILE: &str = "asyncbook_lib.rs";

/// Set to `1` while `:types` is on: results are shown with their type.
pub const TYPES_ENV: &str = "ASYNCBOOK_TYPES";

/// Writes beside evcxr's generated cell source at `path` (its text:
/// `source`) a copy that runs on the cell library (see
/// [`rewrite_cell_source`]).
pub fn rewrite_source(path: &Path, source: &str, never: &BTreeSet<String>) -> Result<PathBuf> {
    let cell = std::env::var(CELL_ENV).ok().and_then(|n| n.parse().ok());
    let typed = std::env::var(TYPES_ENV).is_ok_and(|on| on == "1");
    let rewritten = rewrite_cell_source(source, cell, never, typed);
    let target = path.with_file_name(COMPILED_FILE);
    std::fs::write(&target, rewritten)?;
    Ok(target)
}

/// evcxr's generated cell source, made to run on the cell library:
/// - the variable store comes from `asyncbook::variables`, and the runtime
///   is `asyncbook::runtime::shared()` instead of one kept in that store;
/// - the async body runs through `asyncbook::__CellRuntime` (interruptible,
///   told the cell's number `cell`);
/// - the final value is shown with `Debug`, after its type when `typed`.
///
/// Both keep generic code (hash maps, tokio's `block_on`, the runtime's drop
/// glue) out of the cell: it is compiled once in the cell library rather than
/// at every cell. Lines keep their numbers, so evcxr maps diagnostics back to
/// the user's code.
pub fn rewrite_cell_source(
    source: &str,
    cell: Option<u64>,
    never: &BTreeSet<String>,
    typed: bool,
) -> String {
    let source = crate::engine::build::item_carriers::for_rustc(source);
    let mut lines: Vec<String> = source.lines().map(str::to_owned).collect();
    replace_variable_store(&mut lines);
    static_analysis_params(&mut lines);
    for line in &mut lines {
        name_never(line, never);
    }
    if let Some(open) = lines.iter().position(|l| l.trim() == ".block_on(async {") {
        replace_runtime(&mut lines, open);
        route_body(&mut lines, open, cell);
    }
    // Loading the cell library in every cell, async or not, keeps rustc from
    // linking a second, static copy of tokio into the cell. Its `dbg!` names
    // the cell's line rather than this file's, in every module, unless the
    // cell imports another.
    lines
        .push("#[allow(unused_imports)] #[macro_use(dbg)] extern crate asyncbook as _;".to_owned());
    // A cell's final value is shown with `Debug` on the first compilation.
    let display = if typed {
        "TypedDisplay"
    } else {
        "DebugDisplay"
    };
    lines.push(format!(
        "#[allow(unused_imports)] use asyncbook::display::{display} as _;"
    ));
    lines.push("#[allow(unused_imports)] use asyncbook::__CellRuntime as _;".to_owned());
    // Names evcxr's `src/lib.rs` in rustc's dep-info, so cargo rebuilds the
    // cell whenever evcxr writes new code there.
    lines.push("const _: &str = include_str!(\"lib.rs\");".to_owned());
    lines.join("\n") + "\n"
}

/// evcxr stores each variable under the type rust-analyzer infers for it,
/// written into the cell as `put_variable::<T>(stringify!(x), x)` (and
/// `check_variable::<T>`, `take_variable::<T>` in later cells). Stable rustc
/// does not accept `!` in such a type, and rust-analyzer writes `!` for two
/// different things: a block that never ends (`async { loop { .. } }`), which
/// rustc types as producing `()`, and a `-> !` function's result, which stays
/// `!`. So `!` is written as `()`, or as `asyncbook::variables::Never` for the
/// variables named in `never` (the cell compiler finds which; see
/// `build::compile`). A function pointer's `-> !` is stable and stays. Should
/// evcxr ever write types elsewhere, the `!` would reach rustc again and the
/// never-ending task tests in `shared_runtime.rs` fail.
fn name_never(line: &mut String, never: &BTreeSet<String>) {
    let Some(stored) = StoredType::find(line) else {
        return;
    };
    let ty = &line[stored.ty.clone()];
    if !has_never(ty) {
        return;
    }
    let name = if never.contains(stored.variable) {
        "asyncbook::variables::Never"
    } else {
        "()"
    };
    let mut fixed = String::with_capacity(ty.len() + 8);
    for (at, c) in ty.char_indices() {
        if c == '!' && !ty[..at].trim_end().ends_with("->") {
            fixed.push_str(name);
        } else {
            fixed.push(c);
        }
    }
    line.replace_range(stored.ty, &fixed);
}

/// Whether a type holds a `!` other than a function pointer's `-> !`.
fn has_never(ty: &str) -> bool {
    ty.char_indices()
        .any(|(at, c)| c == '!' && !ty[..at].trim_end().ends_with("->"))
}

/// A stored variable's type in one of evcxr's store lines.
pub struct StoredType<'a> {
    /// `put`, `check` or `take`.
    pub action: &'a str,
    /// Where the type is in the line.
    pub ty: std::ops::Range<usize>,
    pub variable: &'a str,
}

impl<'a> StoredType<'a> {
    pub fn find(line: &'a str) -> Option<Self> {
        const TYPE_START: &str = "_variable::<";
        const TYPE_END: &str = ">(stringify!(";
        let at = line.find(TYPE_START)?;
        let start = at + TYPE_START.len();
        let end = line.rfind(TYPE_END).filter(|&end| end >= start)?;
        let action = line[..at].rsplit('.').next()?;
        let rest = &line[end + TYPE_END.len()..];
        let variable = &rest[..rest.find(')')?];
        Some(Self {
            action,
            ty: start..end,
            variable,
        })
    }

    /// Whether the type holds a `!` that [`name_never`] names.
    pub fn has_never(&self, line: &str) -> bool {
        has_never(&line[self.ty.clone()])
    }
}

/// evcxr's analysis wrapper (compiled by `cargo check` when rust-analyzer
/// cannot type a variable, or finds a closure) takes the stored variables
/// as parameters, typed as evcxr keeps them, `&str` with its lifetime left
/// out, and hands them to a function that wants `'static` values: rustc then
/// reports "borrowed data escapes" about a `&str` of an earlier cell instead
/// of the cell's real question. Stored variables are `'static`, so their
/// references are written `&'static` there. Parameters of function types
/// keep their own lifetimes.
fn static_analysis_params(lines: &mut [String]) {
    let Some(open) = lines.iter().position(|l| {
        let l = l.trim_start();
        l.starts_with("async fn evcxr_analysis_wrapper(")
            || l.starts_with("fn evcxr_analysis_wrapper(")
    }) else {
        return;
    };
    for line in &mut lines[open + 1..] {
        if line.starts_with(')') {
            break;
        }
        if !line.contains("fn(") && !line.contains("Fn") {
            *line = static_references(line);
        }
    }
}

/// `name: &Type` as `name: &'static Type` (also `'_` and nested references).
fn static_references(param: &str) -> String {
    let Some(colon) = param.find(':') else {
        return param.to_owned();
    };
    let (name, ty) = param.split_at(colon + 1);
    let ty = ty.replace("'_", "'static");
    let mut out = String::with_capacity(param.len() + 16);
    out.push_str(name);
    let mut rest = ty.as_str();
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        if !rest.trim_start().starts_with('\'') {
            out.push_str("'static ");
        }
    }
    out.push_str(rest);
    out
}

/// Blanks lines `range` out, keeping their count.
fn blank(lines: &mut [String], range: std::ops::Range<usize>) {
    for line in &mut lines[range] {
        line.clear();
    }
}

/// evcxr's inlined `mod evcxr_internal_runtime { .. }` (the store cell
/// variables live in between cells) becomes a re-export of the cell
/// library's; the module ends two lines after `create_variable_store`.
fn replace_variable_store(lines: &mut [String]) {
    let Some(start) = lines
        .iter()
        .position(|l| l.trim() == "mod evcxr_internal_runtime {")
    else {
        return;
    };
    let Some(create) = lines[start..]
        .iter()
        .position(|l| l.trim_start().starts_with("pub fn create_variable_store()"))
        .map(|i| start + i)
    else {
        return;
    };
    let end = create + 3;
    if lines.get(end).map(|l| l.trim()) != Some("}") {
        return;
    }
    blank(lines, start..end + 1);
    lines[start] = "mod evcxr_internal_runtime { pub use asyncbook::variables::*; }".to_owned();
}

/// The four lines before `.block_on(async {` fetch the runtime from evcxr's
/// variable store (`let mut mutex = .. lazy_arc("evcxr_tokio_runtime" ..`
/// .. `mutex.lock() ..`); the session's one runtime stands in for them.
fn replace_runtime(lines: &mut [String], open: usize) {
    let Some(start) = open.checked_sub(4) else {
        return;
    };
    let fetches_runtime = lines[start].trim() == "let mut mutex ="
        && lines[start + 1].contains("lazy_arc(\"evcxr_tokio_runtime\"")
        && lines[start + 3].trim_start().starts_with("mutex.lock()");
    if fetches_runtime {
        blank(lines, start..open);
        lines[start] = "asyncbook::runtime::shared()".to_owned();
    }
}

/// evcxr wraps an async cell as `.block_on(async {` .. `});` followed by its
/// panic guard `})) {`; the user's own code may contain `});` lines, so the
/// body's end is the last `});` before that guard. The body runs in an inner
/// block whose value is dropped: a cell that uses `?` ends in
/// `Ok::<(), EvcxrUserCodeError>(())`, and the library's runner takes `()`.
fn route_body(lines: &mut [String], open: usize, cell: Option<u64>) {
    let guard = lines[open..].iter().position(|l| l.trim() == "})) {");
    let close = guard.and_then(|guard| {
        lines[open..open + guard]
            .iter()
            .rposition(|l| l.trim() == "});")
            .map(|i| open + i)
    });
    if let Some(close) = close {
        lines[open] = lines[open].replace(
            ".block_on(async {",
            &format!(".__asyncbook_run({cell:?}, Box::pin(async {{ let _ = async {{"),
        );
        lines[close] = lines[close].replace("});", "}.await; }));");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape of evcxr's generated code for an async cell (its own
    /// helper module abridged).
    const GENERATED: &str = "#![allow(unused_imports, unused_mut, dead_code)]
mod evcxr_internal_runtime {
pub struct VariableStore {}
pub fn create_variable_store() -> *mut VariableStore {
    std::ptr::null_mut()
}
}
#[unsafe(no_mangle)]
pub extern \"C\" fn run_user_code_1(
mut evcxr_variable_store: *mut evcxr_internal_runtime::VariableStore)
  -> *mut evcxr_internal_runtime::VariableStore {
match std::panic::catch_unwind(
  std::panic::AssertUnwindSafe(||{
let mut mutex =
evcxr_variable_store.lazy_arc(\"evcxr_tokio_runtime\", ||
std::sync::Mutex::new(tokio::runtime::Runtime::new().unwrap())); match
mutex.lock() { Ok(guard) => guard, Err(poisoned) => poisoned.into_inner(), }
.block_on(async {
tokio::spawn(async {
    1
});
});
})) {
  Ok(_) => {}
  Err(_) => {}
}}
evcxr_variable_store
}";

    #[test]
    fn cell_body_runtime_and_store_come_from_the_cell_library() {
        let rewritten = rewrite_cell_source(GENERATED, Some(7), &BTreeSet::new(), false);
        let lines: Vec<&str> = rewritten.lines().collect();
        let original: Vec<&str> = GENERATED.lines().collect();
        assert_eq!(
            lines.len(),
            original.len() + 4,
            "line numbers must not move"
        );
        assert_eq!(
            lines[1],
            "mod evcxr_internal_runtime { pub use asyncbook::variables::*; }"
        );
        assert!(lines[2..7].iter().all(|l| l.is_empty()), "{lines:#?}");
        assert_eq!(lines[7], "#[unsafe(no_mangle)]");
        assert_eq!(lines[13], "asyncbook::runtime::shared()");
        assert!(lines[14..17].iter().all(|l| l.is_empty()), "{lines:#?}");
        assert_eq!(
            lines[17],
            ".__asyncbook_run(Some(7), Box::pin(async { let _ = async {"
        );
        // The user's own `});` stays; evcxr's closing one ends both blocks.
        assert_eq!(lines[20], "});");
        assert_eq!(lines[21], "}.await; }));");
        assert_eq!(lines[22], "})) {");
        assert!(!rewritten.contains("Runtime::new"));
        assert!(lines
            .contains(&"#[allow(unused_imports)] #[macro_use(dbg)] extern crate asyncbook as _;"));
        assert_eq!(
            lines.last(),
            Some(&"const _: &str = include_str!(\"lib.rs\");")
        );
    }

    #[test]
    fn never_in_a_stored_type_becomes_unit() {
        let generated = "\
evcxr_variable_store.put_variable::<tokio::task::JoinHandle<!>>(stringify!(ticker), ticker);
vars_ok &= evcxr_variable_store.check_variable::<Result<(!, i32), fn() -> !>>(stringify!(r));
let mut t = evcxr_variable_store.take_variable::<Vec<[!; 0]>>(stringify!(t));
println!(\"{}\", !done);";
        let rewritten = rewrite_cell_source(generated, None, &BTreeSet::new(), false);
        let lines: Vec<&str> = rewritten.lines().collect();
        assert_eq!(
            lines[0],
            "evcxr_variable_store.put_variable::<tokio::task::JoinHandle<()>>(stringify!(ticker), ticker);"
        );
        assert_eq!(
            lines[1],
            "vars_ok &= evcxr_variable_store.check_variable::<Result<((), i32), fn() -> !>>(stringify!(r));"
        );
        assert_eq!(
            lines[2],
            "let mut t = evcxr_variable_store.take_variable::<Vec<[(); 0]>>(stringify!(t));"
        );
        // The user's own code keeps its `!`s.
        assert_eq!(lines[3], "println!(\"{}\", !done);");
    }

    #[test]
    fn never_of_variables_found_to_keep_it_is_named() {
        let generated = "\
evcxr_variable_store.put_variable::<tokio::task::JoinHandle<!>>(stringify!(server), server);
evcxr_variable_store.put_variable::<tokio::task::JoinHandle<!>>(stringify!(ticker), ticker);";
        let never = BTreeSet::from(["server".to_owned()]);
        let rewritten = rewrite_cell_source(generated, None, &never, false);
        let lines: Vec<&str> = rewritten.lines().collect();
        assert_eq!(
            lines[0],
            "evcxr_variable_store.put_variable::<tokio::task::JoinHandle<asyncbook::variables::Never>>(stringify!(server), server);"
        );
        assert!(lines[1].contains("JoinHandle<()>"), "{}", lines[1]);
        let stored = StoredType::find(generated.lines().next().unwrap()).unwrap();
        assert_eq!((stored.action, stored.variable), ("put", "server"));
        let take = "let mut t = evcxr_variable_store.take_variable::<Vec<u8>>(stringify!(t));";
        let stored = StoredType::find(take).unwrap();
        assert_eq!((stored.action, stored.variable), ("take", "t"));
        assert!(!stored.has_never(take));
    }

    #[test]
    fn stored_references_are_static_in_the_analysis_wrapper() {
        let generated = "\
fn evcxr_variable_store<T: 'static>(_: T) {}
#[allow(unused_variables)]
async fn evcxr_analysis_wrapper(
word: &str,
pairs: Vec<(&'static str, &&u8)>,
mut table: &mut std::collections::HashMap<&'_ str, u8>,
f: fn(&str) -> &str,
) -> Result<(), EvcxrUserCodeError> {
let x: &str = word;";
        let rewritten = rewrite_cell_source(generated, None, &BTreeSet::new(), false);
        let lines: Vec<&str> = rewritten.lines().collect();
        assert_eq!(lines[3], "word: &'static str,");
        assert_eq!(
            lines[4],
            "pairs: Vec<(&'static str, &'static &'static u8)>,"
        );
        assert_eq!(
            lines[5],
            "mut table: &'static mut std::collections::HashMap<&'static str, u8>,"
        );
        assert_eq!(lines[6], "f: fn(&str) -> &str,");
        assert_eq!(lines[8], "let x: &str = word;");
    }

    #[test]
    fn unexpected_shapes_are_left_alone() {
        let plain = "fn run_user_code_2() {\nlet x = 1;\n}";
        let rewritten = rewrite_cell_source(plain, None, &BTreeSet::new(), false);
        assert!(rewritten.starts_with(plain), "{rewritten}");
    }

    #[test]
    fn types_choose_the_display_trait() {
        let display = |typed| {
            let rewritten = rewrite_cell_source("", None, &BTreeSet::new(), typed);
            ["DebugDisplay", "TypedDisplay"].map(|name| rewritten.contains(name))
        };
        assert_eq!(display(false), [true, false]);
        assert_eq!(display(true), [false, true]);
    }
}
