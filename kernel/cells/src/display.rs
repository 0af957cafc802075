//! Rich output from cells: HTML, SVG, Markdown, PNG, updatable displays and
//! `clear_output`.
//!
//! Each call writes one marker line to stdout; the kernel's output relay turns
//! it into the matching Jupyter message, in order with the cell's text output.
//! Outside a kernel (a program made by `asyncbook export`) each display and
//! update prints its `text/plain` form as a line, as a console shows it.

use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use serde_json::{json, Map, Value};

/// Prefix of the lines that carry display messages to the kernel.
pub const MARKER: &str = "\u{1}asyncbook-display ";

fn emit(message: Value) {
    if crate::kernel_io::in_kernel() {
        crate::kernel_io::tell_kernel(format_args!("{MARKER}{message}"));
        return;
    }
    // A program has no output to clear or to replace in place: it prints
    // each display and each update in turn.
    let shown = ["display", "update", "page"]
        .iter()
        .find_map(|kind| message[kind]["data"]["text/plain"].as_str());
    if let Some(text) = shown.filter(|text| !text.is_empty()) {
        crate::kernel_io::print_line(text);
    }
}

/// A bundle of representations of one value, keyed by MIME type.
#[derive(Clone, Debug, Default)]
pub struct Bundle(Map<String, Value>);

impl Bundle {
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a representation; text types are stored as strings.
    pub fn with(mut self, mime: &str, content: impl Into<String>) -> Self {
        self.0
            .insert(mime.to_owned(), Value::String(content.into()));
        self
    }
    fn into_data(self, fallback: &str) -> Value {
        let mut data = self.0;
        data.entry("text/plain")
            .or_insert_with(|| Value::String(fallback.to_owned()));
        Value::Object(data)
    }
}

/// A display that later cells or tasks can replace in place.
#[derive(Clone, Debug)]
pub struct DisplayHandle {
    id: String,
}

impl DisplayHandle {
    /// Replaces what this display shows.
    pub fn update(&self, bundle: Bundle) {
        emit(json!({"update": {"data": bundle.into_data(""), "display_id": self.id}}));
    }
    pub fn update_html(&self, html: impl Into<String>) {
        self.update(Bundle::new().with("text/html", html));
    }
    pub fn update_text(&self, text: impl Into<String>) {
        self.update(Bundle::new().with("text/plain", text));
    }
    pub fn id(&self) -> &str {
        &self.id
    }
}

/// Shows a bundle; returns a handle to update it later.
pub fn show(bundle: Bundle) -> DisplayHandle {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let id = format!(
        "asyncbook-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    emit(json!({"display": {"data": bundle.into_data(""), "display_id": id}}));
    DisplayHandle { id }
}

pub fn html(html: impl Into<String>) -> DisplayHandle {
    show(
        Bundle::new()
            .with("text/html", html)
            .with("text/plain", "[HTML]"),
    )
}

pub fn svg(svg: impl Into<String>) -> DisplayHandle {
    show(
        Bundle::new()
            .with("image/svg+xml", svg)
            .with("text/plain", "[SVG]"),
    )
}

pub fn markdown(markdown: impl Into<String>) -> DisplayHandle {
    let text: String = markdown.into();
    show(
        Bundle::new()
            .with("text/markdown", text.clone())
            .with("text/plain", text),
    )
}

pub fn png(bytes: &[u8]) -> DisplayHandle {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    show(
        Bundle::new()
            .with("image/png", encoded)
            .with("text/plain", "[PNG]"),
    )
}

pub fn text(text: impl Into<String>) -> DisplayHandle {
    show(Bundle::new().with("text/plain", text))
}

/// Shows text in the frontend's pager (JupyterLab's help panel), as
/// IPython's `?` does; other frontends show it below the cell.
pub fn page(text: impl Into<String>) {
    emit(json!({"page": {"data": {"text/plain": text.into()}, "start": 0}}));
}

/// Clears the cell's output; with `wait`, only when new output arrives.
pub fn clear_output(wait: bool) {
    emit(json!({"clear": {"wait": wait}}));
}

/// Escapes text for HTML and SVG content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Shows a cell's final value with `Debug`, as evcxr's own fallback does, but
/// without costing a second compilation: evcxr first tries a method named
/// `evcxr_display` on the value and, only when that fails to compile, builds
/// the cell again with its fallback. The kernel brings this trait into scope
/// in every cell; types with an inherent `evcxr_display` (such as
/// [`crate::Timeline`]) still take precedence.
pub trait DebugDisplay {
    fn evcxr_display(&self);
}

impl<T: std::fmt::Debug + ?Sized> DebugDisplay for T {
    fn evcxr_display(&self) {
        show_debug(&self, None);
    }
}

/// [`DebugDisplay`] with the value's type before it, as evcxr shows a
/// result after `:types` (`: i32 = 42`). The kernel brings this trait into
/// scope in place of [`DebugDisplay`] while `:types` is on.
pub trait TypedDisplay {
    fn evcxr_display(&self);
}

impl<T: std::fmt::Debug + ?Sized> TypedDisplay for T {
    fn evcxr_display(&self) {
        show_debug(&self, Some(std::any::type_name::<T>()));
    }
}

/// The non-generic part of [`DebugDisplay`] and [`TypedDisplay`], compiled
/// once here rather than in every cell that shows a value.
fn show_debug(value: &dyn std::fmt::Debug, type_name: Option<&str>) {
    let text = format!("{value:?}");
    // The kernel shows no result for `()`; neither does a program.
    let text = match type_name {
        Some(full) if text != "()" => format!(": {} = {text}", short_type_name(full)),
        _ => text,
    };
    if crate::kernel_io::in_kernel() {
        crate::kernel_io::tell_kernel(format_args!(
            "EVCXR_BEGIN_CONTENT text/plain\n{text}\nEVCXR_END_CONTENT"
        ));
    } else if text != "()" {
        crate::kernel_io::print_line(&text);
    }
}

/// A type as a Rust programmer writes it with its names imported: every
/// path cut to its last segment (`core::option::Option<alloc::string::String>`
/// is `Option<String>`), as evcxr shortens the types it shows.
pub fn short_type_name(full: &str) -> String {
    let mut short = String::with_capacity(full.len());
    // Where the word being read (a path segment, so far) starts in `short`.
    let mut word = 0;
    let mut chars = full.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ':' && chars.peek() == Some(&':') {
            chars.next();
            short.truncate(word);
            continue;
        }
        short.push(c);
        if !(c.is_alphanumeric() || c == '_') {
            word = short.len();
        }
    }
    short
}

#[cfg(test)]
mod tests {
    use super::short_type_name;

    #[test]
    fn types_are_shown_with_their_last_path_segments() {
        let short = |t: &str| short_type_name(t);
        assert_eq!(short("i32"), "i32");
        assert_eq!(
            short("core::option::Option<alloc::string::String>"),
            "Option<String>"
        );
        assert_eq!(
            short("tokio::runtime::task::join::JoinHandle<i32>"),
            "JoinHandle<i32>"
        );
        assert_eq!(
            short("std::collections::hash::map::HashMap<u32, alloc::vec::Vec<&str>>"),
            "HashMap<u32, Vec<&str>>"
        );
        assert_eq!(
            short("(u8, [ctx::Point; 2], &mut dyn core::any::Any)"),
            "(u8, [Point; 2], &mut dyn Any)"
        );
        assert_eq!(short("ctx::run::{{closure}}"), "{{closure}}");
    }
}
