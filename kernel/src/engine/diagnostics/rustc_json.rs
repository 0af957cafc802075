//! rustc's JSON diagnostics read against the cell: the errors of a failed
//! compilation, which the cell compiler keeps, complete what evcxr reports
//! (rustc's notes, the error behind a note evcxr hands on alone), and the
//! warnings of a cell that compiled are read from it whole. A span is
//! placed by its line's text, which rustc's JSON carries and which evcxr
//! copies from the cell unchanged (only its indentation may differ).
//!
//! This answers evcxr's `CompilationError`, which keeps an error's help but
//! none of its notes, and which stands a note in for its error when the
//! error's own place is not one evcxr maps. Should evcxr hand notes on
//! itself, they would show twice; should it stop standing notes in,
//! [`complete`] finds every error placed and leaves it as it is.

use std::path::Path;

use serde_json::Value;

use super::diagnostic::{Diagnostic, Labelled, Note, Span};

/// The errors rustc gave for the cell's last failed compilation (its JSON,
/// kept by the cell compiler in `file`; the kernel removes it before each
/// cell).
pub fn rustc_errors(file: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .collect()
}

/// Completes `error` as evcxr reports it from rustc's JSON `errors` of the
/// same compilation: with its notes (evcxr hands on none), found as the
/// error with its message whose primary span is on the same line of the
/// cell. evcxr reports one of an error's notes instead of the error when it
/// cannot place the error itself (a call of the cell's own `fn` with a
/// wrong argument gave only "note: function defined here"): such a note,
/// placed nowhere, is replaced by the error that holds it, if that one has
/// a place in the cell.
pub fn complete(error: &mut Diagnostic, errors: &[Value], source: &str) {
    super::titles::titled(error, errors);
    if shown_without_debug(error, source) {
        return;
    }
    let lines: Vec<&str> = source.lines().collect();
    let line = |span: &Option<Span>| span.map(|s| s.start_line);
    let Some(primary) = error
        .spans
        .iter()
        .find(|l| l.primary && l.span.is_some())
        .map(|l| line(&l.span))
    else {
        let holder = errors.iter().find_map(|json| {
            let children = json["children"].as_array().into_iter().flatten();
            let holds = children
                .map(|child| &child["message"])
                .chain([&json["message"]])
                .any(|message| message.as_str() == Some(error.message.as_str()));
            holds.then(|| from_json(json, source)).flatten()
        });
        if let Some(holder) = holder {
            *error = holder;
        }
        return;
    };
    let same = errors.iter().find(|json| {
        json["message"].as_str() == Some(error.message.as_str())
            && json["spans"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|span| span["is_primary"] == true && line(&place(span, &lines)) == primary)
    });
    if let Some(json) = same {
        let (placed, placeless) = notes_of(json, source);
        error.notes.extend(placed);
        error.spans.extend(placeless);
    }
}

/// A cell's last value is shown with `Debug`, in code the kernel writes
/// around it: an error there about a type without `Debug` points at that
/// value, and says why `Debug` is wanted. True if `error` was that.
fn shown_without_debug(error: &mut Diagnostic, source: &str) -> bool {
    let placed = error.spans.iter().any(|l| l.span.is_some());
    if placed || !error.message.ends_with("doesn't implement `Debug`") {
        return false;
    }
    // The value starts after the last top-level `;`, or `}` that ends its
    // line (an item's, a block's), before the cell's last token.
    let tokens = crate::engine::source::syntax::tokens(source);
    let ends_line = |end: usize| {
        source[end..]
            .split('\n')
            .next()
            .is_some_and(|rest| rest.trim().is_empty())
    };
    let value_starts = tokens
        .iter()
        .rev()
        .skip(1)
        .find(|t| {
            t.depth == 0
                && match &source[t.span.clone()] {
                    ";" => true,
                    "}" => ends_line(t.span.end),
                    _ => false,
                }
        })
        .map_or(0, |t| t.span.end);
    let value = source[value_starts..].trim();
    let Some(at) = (!value.is_empty()).then(|| source.rfind(value)).flatten() else {
        return false;
    };
    let position = |byte: usize| {
        let line = source[..byte].matches('\n').count() + 1;
        let column = source[..byte]
            .rsplit('\n')
            .next()
            .map_or(0, |l| l.chars().count())
            + 1;
        (line, column)
    };
    let (start_line, start_column) = position(at);
    let (end_line, end_column) = position(at + value.len());
    error.spans.insert(
        0,
        Labelled {
            span: Some(Span {
                start_line,
                start_column,
                end_line,
                end_column,
            }),
            label: "the cell's value, shown with `Debug`".to_owned(),
            primary: true,
        },
    );
    // A future shows nothing until it runs: most likely the cell meant to
    // await it.
    if error.message.contains("Future") || error.message.contains("async block") {
        error.help.push(
            "the value is a future, which does nothing until it is awaited: end the cell with \
             `.await` to run it and show what it gives"
                .to_owned(),
        );
    }
    error.help.push(
        "end the cell with `;` to show nothing, or print the value with `println!(\"{value}\")`"
            .to_owned(),
    );
    true
}

/// A diagnostic's notes from rustc's JSON `json`: those with places in the
/// cell `source` as [`Note`]s, the others (a bound in a library's source)
/// as placeless labels.
fn notes_of(json: &Value, source: &str) -> (Vec<Note>, Vec<Labelled>) {
    let lines: Vec<&str> = source.lines().collect();
    let mut placed = Vec::new();
    let mut placeless = Vec::new();
    let notes = json["children"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|child| child["level"] == "note");
    for note in notes {
        let mut message = note["message"].as_str().unwrap_or_default().to_owned();
        let spans = labels_in(&note["spans"], &lines);
        if spans.is_empty() {
            // A note that names its item (`tokio::spawn`) needs no line of
            // the library's source, which moves with each release.
            if let Some(place) = library_place(&note["spans"]).filter(|_| !message.contains('`')) {
                message = format!("{message} ({place})");
            }
            placeless.push(Labelled {
                span: None,
                label: message,
                primary: false,
            });
        } else {
            placed.push(Note { message, spans });
        }
    }
    (placed, placeless)
}

/// Where the primary span of rustc's JSON `spans` lies in a library's
/// source (tokio's, std's), as `tokio-1.54.1/src/task/spawn.rs:176` or
/// `library/std/src/thread/functions.rs:128`, the same on every machine; `None`
/// in the cell crate's own generated code, which the user never sees.
fn library_place(spans: &Value) -> Option<String> {
    let span = spans
        .as_array()?
        .iter()
        .find(|span| span["is_primary"] == true)?;
    let file = span["file_name"].as_str()?;
    let short = if let Some((_, rest)) = file.split_once("/registry/src/") {
        rest.split_once('/')?.1
    } else if let Some(rest) = file.strip_prefix("/rustc/") {
        rest.split_once('/')?.1
    } else if let Some((_, rest)) = file.split_once("/lib/rustlib/src/rust/") {
        rest
    } else if file.starts_with("src/") {
        return None;
    } else {
        file
    };
    Some(format!("{short}:{}", span["line_start"].as_u64()?))
}

/// The spans of rustc's JSON `spans` that have a place in the cell's
/// `lines`, with their labels.
fn labels_in(spans: &Value, lines: &[&str]) -> Vec<Labelled> {
    spans
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|span| {
            Some(Labelled {
                span: Some(place(span, lines)?),
                label: span["label"].as_str().unwrap_or_default().to_owned(),
                primary: span["is_primary"] == true,
            })
        })
        .collect()
}

/// The helps of a diagnostic of rustc's JSON, as evcxr writes a help: its
/// suggested code, if any, after a blank line.
pub fn helps(json: &Value) -> Vec<String> {
    json["children"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|child| child["level"] == "help")
        .map(|child| {
            let message = child["message"].as_str().unwrap_or_default();
            match child["spans"][0]["suggested_replacement"].as_str() {
                Some(code) if !code.trim().is_empty() => {
                    format!("{message}\n\n{}", code.trim_end())
                }
                _ => message.to_owned(),
            }
        })
        .collect()
}

/// A diagnostic of rustc's JSON with its spans placed in `source`, if its
/// primary span is there.
pub fn from_json(json: &Value, source: &str) -> Option<Diagnostic> {
    let lines: Vec<&str> = source.lines().collect();
    let spans = labels_in(&json["spans"], &lines);
    if !spans.iter().any(|s| s.primary) {
        return None;
    }
    let help = helps(json);
    let (notes, placeless) = notes_of(json, source);
    Some(Diagnostic {
        level: json["level"].as_str()?.to_owned(),
        code: json["code"]["code"].as_str().map(str::to_owned),
        message: json["message"].as_str()?.to_owned(),
        spans: spans.into_iter().chain(placeless).collect(),
        help,
        notes,
    })
}

/// Where a span of rustc's JSON lies in the cell: the line whose text is the
/// span's first line, columns shifted by the difference in indentation.
fn place(span: &Value, lines: &[&str]) -> Option<Span> {
    let text = span["text"].as_array()?;
    let first = text.first()?["text"].as_str()?;
    let last = text.last()?["text"].as_str()?;
    if first.trim().is_empty() {
        return None;
    }
    let at = lines.iter().position(|line| line.trim() == first.trim())?;
    let rows = span["line_end"]
        .as_u64()?
        .checked_sub(span["line_start"].as_u64()?)? as usize;
    let end_at = at + rows;
    let end_line = *lines.get(end_at)?;
    if end_line.trim() != last.trim() {
        return None;
    }
    let column = |value: &Value, ours: &str, theirs: &str| -> Option<usize> {
        let shifted =
            value.as_u64()? as isize + indentation(ours) as isize - indentation(theirs) as isize;
        usize::try_from(shifted).ok().filter(|&c| c >= 1)
    };
    Some(Span {
        start_line: at + 1,
        start_column: column(&span["column_start"], lines[at], first)?,
        end_line: end_at + 1,
        end_column: column(&span["column_end"], end_line, last)?,
    })
}

fn indentation(line: &str) -> usize {
    line.chars().take_while(|c| c.is_whitespace()).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::diagnostics::diagnostic::{an_error, label};

    #[test]
    fn notes_outside_the_cell_say_where_in_which_library() {
        let at = |file: &str| {
            library_place(&serde_json::json!([
                { "file_name": file, "line_start": 176, "is_primary": true }
            ]))
        };
        assert_eq!(
            at("/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/tokio-1.54.1/src/task/spawn.rs")
                .as_deref(),
            Some("tokio-1.54.1/src/task/spawn.rs:176")
        );
        assert_eq!(
            at("/rustc/0a1b2c/library/core/src/future/mod.rs").as_deref(),
            Some("library/core/src/future/mod.rs:176")
        );
        assert_eq!(
            at("/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/lib/rustlib/src/rust/library/std/src/thread/functions.rs")
                .as_deref(),
            Some("library/std/src/thread/functions.rs:176")
        );
        assert_eq!(at("src/asyncbook_lib.rs"), None, "the generated code");
    }

    #[test]
    fn a_value_without_debug_is_pointed_at_where_the_cell_ends() {
        let source = "struct Shown(u32);\nimpl X for Shown { fn f() {} }\nShown(3)";
        let mut error = an_error("E0277", "`Shown` doesn't implement `Debug`", vec![]);
        assert!(shown_without_debug(&mut error, source));
        let span = error.spans[0].span.unwrap();
        assert_eq!((span.start_line, span.start_column), (3, 1));
        assert_eq!((span.end_line, span.end_column), (3, 9));
        let mut placed = an_error(
            "E0277",
            "`Shown` doesn't implement `Debug`",
            vec![label((1, 1, 1, 2), "", true)],
        );
        assert!(
            !shown_without_debug(&mut placed, source),
            "a place of its own"
        );
    }

    #[test]
    fn a_future_left_as_the_value_is_told_to_be_awaited() {
        let source = "async fn fetch() -> u32 { 1 }\nfetch(1)";
        let message = "`impl Future<Output = u32>` doesn't implement `Debug`";
        let mut error = an_error("E0277", message, vec![]);
        assert!(shown_without_debug(&mut error, source));
        assert!(
            error.help[0].contains("end the cell with `.await`"),
            "{:?}",
            error.help
        );
        let mut plain = an_error("E0277", "`Shown` doesn't implement `Debug`", vec![]);
        assert!(shown_without_debug(&mut plain, "Shown(3)"));
        assert!(!plain.help.iter().any(|h| h.contains(".await")));
    }
}
