//! Documentation from evcxr's hover (rust-analyzer's), as `:doc` and
//! Shift-Tab show it.
//!
//! evcxr compiles the session's items into a crate named `ctx`, and the
//! hover of an item opens with the path of its module: for the session's own
//! items that is `ctx`, a name the notebook never wrote. The kernel leaves it
//! out (and `ctx::` before a module of the session). Should evcxr rename its
//! crate, the header shows again; `doc_shows_doc_comments` in
//! `evcxr_commands.rs` fails.

use serde_json::{Map, Value};

/// The name evcxr gives the crate of the session's items.
const SESSION_CRATE: &str = "ctx";

/// Hover text without the session crate's name.
pub(super) fn plain(text: &str) -> String {
    let (header, rest) = text.split_once('\n').unwrap_or((text, ""));
    match header.strip_prefix(SESSION_CRATE) {
        Some("") => rest.trim_start_matches('\n').to_owned(),
        Some(module) if module.starts_with("::") => format!("{}\n{rest}", &module[2..]),
        _ => text.to_owned(),
    }
}

/// Hover HTML (evcxr's rendering of rust-analyzer's markdown) without the
/// session crate's name.
fn html(text: &str) -> String {
    const OPEN: &str = "<pre><code class=\"language-rust\">";
    let Some(block) = text.strip_prefix(OPEN) else {
        return text.to_owned();
    };
    let (header, rest) = block.split_once('\n').unwrap_or((block, ""));
    match header.strip_prefix(SESSION_CRATE) {
        Some("") => rest
            .trim_start_matches("</code></pre>")
            .trim_start_matches('\n')
            .to_owned(),
        Some(module) if module.starts_with("::") => format!("{OPEN}{}\n{rest}", &module[2..]),
        _ => text.to_owned(),
    }
}

/// `:doc`'s result, its `text/plain` and `text/html` without the session
/// crate's name.
pub(super) fn tidy(result: &mut Map<String, Value>) {
    for (mime, content) in result.iter_mut() {
        let tidy: fn(&str) -> String = match mime.as_str() {
            "text/plain" => plain,
            "text/html" => html,
            _ => continue,
        };
        if let Value::String(text) = content {
            *text = tidy(text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_session_crate_is_left_out() {
        assert_eq!(
            plain("ctx\n\nfn f() -> i32\n\nDoc."),
            "fn f() -> i32\n\nDoc."
        );
        assert_eq!(plain("ctx::shapes\n\nstruct S"), "shapes\n\nstruct S");
        assert_eq!(plain("tokio::task\n\nfn spawn"), "tokio::task\n\nfn spawn");
        assert_eq!(plain("ctxt\n\nfn f()"), "ctxt\n\nfn f()");
        let mut result = Map::new();
        result.insert("text/plain".into(), json!("ctx\n\nfn f()"));
        result.insert(
            "text/html".into(),
            json!("<pre><code class=\"language-rust\">ctx\n</code></pre>\n<pre><code class=\"language-rust\">fn f()\n</code></pre>\n"),
        );
        tidy(&mut result);
        assert_eq!(result["text/plain"], "fn f()");
        assert_eq!(
            result["text/html"],
            "<pre><code class=\"language-rust\">fn f()\n</code></pre>\n"
        );
    }
}
