//! rustc diagnostics rendered against the cell's own source, rustc style.

use std::path::Path;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use evcxr::CompilationError;
use serde_json::Value;

/// One diagnostic, from evcxr (a cell that failed to compile) or from
/// rustc's JSON (the warnings of a cell that compiled), with spans in the
/// cell's own lines and columns.
#[derive(Clone)]
pub struct Diagnostic {
    pub level: String,
    /// An error code (`E0308`) or, for a lint, its name.
    pub code: Option<String>,
    pub message: String,
    pub spans: Vec<Labelled>,
    pub help: Vec<String>,
    /// Notes with places in the cell, drawn below the diagnostic as rustc
    /// draws them ("note: future is not `Send` as this value is used across
    /// an await").
    pub notes: Vec<Note>,
}

/// A note of a diagnostic, with its labels in the cell.
#[derive(Clone)]
pub struct Note {
    pub message: String,
    pub spans: Vec<Labelled>,
}

/// A label of a diagnostic; `span` is `None` for a note without a place.
#[derive(Clone)]
pub struct Labelled {
    pub span: Option<Span>,
    pub label: String,
    pub primary: bool,
}

/// 1-based lines and columns; the end column is exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start_line: usize,
    pub start_column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

impl From<&CompilationError> for Diagnostic {
    fn from(error: &CompilationError) -> Self {
        Self {
            level: error.level().to_owned(),
            code: error.code().map(str::to_owned),
            message: error.message(),
            spans: error
                .spanned_messages()
                .iter()
                .map(|m| Labelled {
                    span: m.span.map(|s| Span {
                        start_line: s.start_line,
                        start_column: s.start_column,
                        end_line: s.end_line,
                        end_column: s.end_column,
                    }),
                    label: m.label.clone(),
                    primary: m.is_primary,
                })
                .collect(),
            help: error.help(),
            notes: Vec::new(),
        }
    }
}

/// The errors rustc gave for the cell's last failed compilation (its JSON,
/// kept by the cell compiler in `file`, which is then removed).
pub fn rustc_errors(file: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let _ = std::fs::remove_file(file);
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .collect()
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
    let tokens = super::syntax::tokens(source);
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
    error.help.push(
        "end the cell with `;` to show nothing, or print the value with `println!(\"{value}\")`"
            .to_owned(),
    );
    true
}

/// A diagnostic's notes from rustc's JSON `json`: those with places in the
/// cell `source` as [`Note`]s, the others (a bound in a library's source)
/// as placeless labels.
pub fn notes_of(json: &Value, source: &str) -> (Vec<Note>, Vec<Labelled>) {
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
            if let Some(place) = library_place(&note["spans"]) {
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
pub fn labels_in(spans: &Value, lines: &[&str]) -> Vec<Labelled> {
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

/// A diagnostic of rustc's JSON with its spans placed in `source`, if its
/// primary span is there.
pub fn from_json(json: &Value, source: &str) -> Option<Diagnostic> {
    let lines: Vec<&str> = source.lines().collect();
    let spans = labels_in(&json["spans"], &lines);
    if !spans.iter().any(|s| s.primary) {
        return None;
    }
    // As evcxr writes a help: its suggested code after a blank line.
    let help = json["children"]
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
        .collect();
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

/// Completes `error` as evcxr reports it from rustc's JSON `errors` of the
/// same compilation: with its notes (evcxr hands on none), found as the
/// error with its message whose primary span is on the same line of the
/// cell. evcxr reports one of an error's notes instead of the error when it
/// cannot place the error itself (a call of the cell's own `fn` with a
/// wrong argument gave only "note: function defined here"): such a note,
/// placed nowhere, is replaced by the error that holds it, if that one has
/// a place in the cell.
pub fn complete(error: &mut Diagnostic, errors: &[Value], source: &str) {
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

/// What a failed cell shows of rustc's diagnostics: its errors, then the
/// warnings that point into the cell (none when `warnings` is false).
/// Warnings without a place in the cell are about earlier cells' items (an
/// unused macro, say) and would repeat under every failing cell. Should
/// nothing be left, all are shown.
pub fn shown(diagnostics: &[CompilationError], warnings: bool) -> Vec<Diagnostic> {
    let (errors, warned): (Vec<_>, Vec<_>) =
        diagnostics.iter().partition(|d| d.level() != "warning");
    let in_cell = warned.into_iter().filter(|w| {
        warnings
            && w.primary_spanned_message()
                .is_some_and(|m| m.span.is_some())
    });
    let shown: Vec<_> = errors.into_iter().chain(in_cell).collect();
    if shown.is_empty() {
        diagnostics.iter().map(Diagnostic::from).collect()
    } else {
        shown.into_iter().map(Diagnostic::from).collect()
    }
}

/// Renders `error`, whose spans are in `ran` (the cell as the kernel
/// compiled it), against `written` (the cell as the user wrote it) where
/// every line a span is on differs from the user's by one insertion (a
/// type the kernel wrote into a `let`); else against `ran`.
pub fn render_written(error: &Diagnostic, ran: &str, written: &str) -> String {
    let ran_lines: Vec<&str> = ran.lines().collect();
    let written_lines: Vec<&str> = written.lines().collect();
    if ran == written || ran_lines.len() != written_lines.len() {
        return render(error, ran);
    }
    let moved = |labelled: &Labelled| -> Option<Labelled> {
        let Some(span) = labelled.span else {
            return Some(labelled.clone());
        };
        let column = |line: usize, column: usize| {
            let line = line.checked_sub(1)?;
            column_written(ran_lines.get(line)?, written_lines.get(line)?, column)
        };
        Some(Labelled {
            span: Some(Span {
                start_column: column(span.start_line, span.start_column)?,
                end_column: column(span.end_line, span.end_column)?,
                ..span
            }),
            ..labelled.clone()
        })
    };
    let spans: Option<Vec<Labelled>> = error.spans.iter().map(moved).collect();
    let notes: Option<Vec<Note>> = error
        .notes
        .iter()
        .map(|note| {
            Some(Note {
                message: note.message.clone(),
                spans: note.spans.iter().map(moved).collect::<Option<_>>()?,
            })
        })
        .collect();
    match (spans, notes) {
        (Some(spans), Some(notes)) => render(
            &Diagnostic {
                level: error.level.clone(),
                code: error.code.clone(),
                message: error.message.clone(),
                spans,
                help: error.help.clone(),
                notes,
            },
            written,
        ),
        _ => render(error, ran),
    }
}

/// Column `column` (1-based, in characters) of the line `ran` in the line
/// `written`, when `ran` is `written` with one run of characters inserted
/// and the column is not inside it.
fn column_written(ran: &str, written: &str, column: usize) -> Option<usize> {
    let ran: Vec<char> = ran.chars().collect();
    let written: Vec<char> = written.chars().collect();
    if ran == written {
        return Some(column);
    }
    let inserted = ran.len().checked_sub(written.len())?;
    let prefix = ran.iter().zip(&written).take_while(|(a, b)| a == b).count();
    let suffix = ran
        .iter()
        .rev()
        .zip(written.iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    // One insertion: what precedes it and what follows it cover the line.
    if prefix + suffix < written.len() {
        return None;
    }
    let at = written.len() - suffix.min(written.len() - prefix.min(written.len()));
    let before = column.checked_sub(1)?;
    if before <= at {
        Some(column)
    } else if before >= at + inserted {
        Some(column - inserted)
    } else {
        None
    }
}

/// Renders one diagnostic as rustc does (rustc's own renderer, the
/// `annotate-snippets` crate), with spans in cell coordinates: labels on
/// one line share it, lines come in order, a span over several lines is
/// drawn as one.
pub fn render(error: &Diagnostic, source: &str) -> String {
    let level = match error.level.as_str() {
        "warning" => Level::WARNING,
        "note" => Level::NOTE,
        "help" => Level::HELP,
        _ => Level::ERROR,
    };
    let message = in_cell_terms(&error.message);
    let mut title = level.primary_title(message.as_ref());
    // A lint is named in a note, as rustc does.
    if let Some(code) = error.code.as_deref().filter(|code| code.starts_with('E')) {
        title = title.id(code);
    }
    // evcxr labels a span rustc left unlabelled with the diagnostic's own
    // title ("error: cannot find value `x`"), which the header already says.
    let restated = format!("{}: {}", error.level, error.message);
    let labels: Vec<_> = error
        .spans
        .iter()
        .map(|labelled| {
            let label = in_cell_terms(&labelled.label);
            let label = if label == restated { "".into() } else { label };
            (labelled, label)
        })
        .collect();
    let mut snippet = Snippet::source(source)
        .line_start(1)
        .path("cell")
        .fold(true);
    let mut notes = Vec::new();
    let mut placed = false;
    for (labelled, label) in &labels {
        match &labelled.span {
            Some(span) => {
                placed = true;
                let kind = if labelled.primary {
                    AnnotationKind::Primary
                } else {
                    AnnotationKind::Context
                };
                snippet = snippet.annotation(kind.span(byte_range(source, span)).label(label));
            }
            None if !label.is_empty() => notes.push(label),
            None => {}
        }
    }
    let mut group = if placed {
        title.element(snippet)
    } else {
        Group::with_title(title)
    };
    let helps: Vec<String> = error
        .help
        .iter()
        .map(|help| with_suggestion(&in_cell_terms(help)))
        .collect();
    for help in &helps {
        group = group.element(Level::HELP.message(help.as_str()));
    }
    for note in notes {
        group = group.element(Level::NOTE.message(note.as_ref()));
    }
    let mut groups = vec![group];
    let notes: Vec<_> = error
        .notes
        .iter()
        .map(|note| {
            let labels: Vec<_> = note
                .spans
                .iter()
                .filter_map(|l| Some((l.span?, l.primary, in_cell_terms(&l.label))))
                .collect();
            (in_cell_terms(&note.message), labels)
        })
        .collect();
    for (message, labels) in &notes {
        let mut snippet = Snippet::source(source)
            .line_start(1)
            .path("cell")
            .fold(true);
        for (span, primary, label) in labels {
            let kind = if *primary {
                AnnotationKind::Primary
            } else {
                AnnotationKind::Context
            };
            snippet = snippet.annotation(kind.span(byte_range(source, span)).label(label));
        }
        groups.push(
            Level::NOTE
                .secondary_title(message.as_ref())
                .element(snippet),
        );
    }
    let mut out = Renderer::plain().render(&groups);
    out.push('\n');
    out
}

/// Where a span of rustc's JSON lies in the cell: the line whose text is the
/// span's first line, columns shifted by the difference in indentation.
pub fn place(span: &Value, lines: &[&str]) -> Option<Span> {
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

/// The byte range of `span` (1-based lines, columns counted in characters)
/// in `source`; a place past the source's end is its end.
fn byte_range(source: &str, span: &Span) -> std::ops::Range<usize> {
    let at = |line: usize, column: usize| {
        let mut start = 0;
        for (index, text) in source.split_inclusive('\n').enumerate() {
            if index + 1 == line {
                let text = text.trim_end_matches('\n');
                return start
                    + text
                        .char_indices()
                        .nth(column.saturating_sub(1))
                        .map_or(text.len(), |(byte, _)| byte);
            }
            start += text.len();
        }
        source.len()
    };
    let start = at(span.start_line, span.start_column);
    start..at(span.end_line, span.end_column).max(start)
}

/// rustc names a closure or an async block by its place in the file it
/// compiled (`{closure@src/asyncbook_lib.rs:173:20: 173:27}`), a file the
/// user never sees: the place goes, the label already points at it. What
/// follows a cell's last line there is evcxr's variable store, which a
/// parse error names as what it found: it is the end of the cell (evcxr
/// words its messages so, not its labels).
fn in_cell_terms(text: &str) -> std::borrow::Cow<'_, str> {
    static PLACE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"@src/[^\s:{}]+\.rs:\d+:\d+: \d+:\d+\}").expect("a valid pattern")
    });
    match PLACE.replace_all(text, "}") {
        placed if placed.contains("`evcxr_variable_store`") => placed
            .replace("`evcxr_variable_store`", "<end of input>")
            .into(),
        placed => placed,
    }
}

/// evcxr appends a help's suggested code after a blank line; it reads as part
/// of the help: "help: make it mutable: `mut`".
fn with_suggestion(help: &str) -> String {
    match help.split_once("\n\n") {
        // "consider annotating `Shown` with `#[derive(Debug)]`" says it already.
        Some((message, code)) if message.contains(&format!("`{code}`")) => message.to_owned(),
        Some((message, code)) if !code.contains('\n') => format!("{message}: `{code}`"),
        Some((message, code)) => format!("{message}:\n{}", indent(code)),
        None => help.to_owned(),
    }
}

fn indent(code: &str) -> String {
    code.lines()
        .map(|line| format!("    {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(span: (usize, usize, usize, usize), label: &str, primary: bool) -> Labelled {
        Labelled {
            span: Some(Span {
                start_line: span.0,
                start_column: span.1,
                end_line: span.2,
                end_column: span.3,
            }),
            label: label.into(),
            primary,
        }
    }

    fn an_error(code: &str, message: &str, spans: Vec<Labelled>) -> Diagnostic {
        Diagnostic {
            level: "error".into(),
            code: Some(code.into()),
            message: message.into(),
            spans,
            help: vec![],
            notes: vec![],
        }
    }

    #[test]
    fn labels_share_their_line_and_lines_come_in_order() {
        let source = "let moved = vec![1];
let a = moved;
let b = moved;";
        let error = an_error(
            "E0382",
            "use of moved value: `moved`",
            vec![
                label((3, 9, 3, 14), "value used here after move", true),
                label((2, 9, 2, 14), "value moved here", false),
                label(
                    (1, 5, 1, 10),
                    "move occurs because `moved` has type `Vec<i32>`",
                    false,
                ),
            ],
        );
        assert_eq!(
            render(&error, source),
            "error[E0382]: use of moved value: `moved`\n\
             \x20--> cell:3:9\n\
             \x20 |\n\
             1 | let moved = vec![1];\n\
             \x20 |     ----- move occurs because `moved` has type `Vec<i32>`\n\
             2 | let a = moved;\n\
             \x20 |         ----- value moved here\n\
             3 | let b = moved;\n\
             \x20 |         ^^^^^ value used here after move\n"
        );
        let one_line = an_error(
            "E0308",
            "mismatched types",
            vec![
                label((1, 14, 1, 19), "expected `u32`, found `&str`", true),
                label((1, 8, 1, 11), "expected due to this", false),
            ],
        );
        assert_eq!(
            render(&one_line, "let x: u32 = \"ten\";"),
            "error[E0308]: mismatched types\n\
             \x20--> cell:1:14\n\
             \x20 |\n\
             1 | let x: u32 = \"ten\";\n\
             \x20 |        ---   ^^^^^ expected `u32`, found `&str`\n\
             \x20 |        |\n\
             \x20 |        expected due to this\n"
        );
    }

    #[test]
    fn a_label_that_restates_the_title_is_left_out() {
        let mut error = an_error(
            "E0425",
            "cannot find value `fut` in this scope",
            vec![label(
                (1, 7, 1, 10),
                "error: cannot find value `fut` in this scope",
                true,
            )],
        );
        error.help = vec!["a local variable with a similar name exists\n\nout".into()];
        assert_eq!(
            render(&error, "(&mut fut).await"),
            "error[E0425]: cannot find value `fut` in this scope\n\
             \x20--> cell:1:7\n\
             \x20 |\n\
             1 | (&mut fut).await\n\
             \x20 |       ^^^\n\
             \x20 |\n\
             \x20 = help: a local variable with a similar name exists: `out`\n"
        );
    }

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
    fn errors_are_drawn_on_the_cell_as_written_around_a_type_the_kernel_wrote() {
        let written = "let name = String::from(\"x\"); let bad: u8 = \"q\";";
        let ran = "let name: String = String::from(\"x\"); let bad: u8 = \"q\";";
        assert_eq!(column_written(ran, written, 1), Some(1));
        assert_eq!(
            column_written(ran, written, 9),
            Some(9),
            "where it was inserted"
        );
        assert_eq!(
            column_written(ran, written, 12),
            None,
            "inside what was inserted"
        );
        assert_eq!(column_written(ran, written, 56), Some(48));
        let error = an_error(
            "E0308",
            "mismatched types",
            vec![label((1, 53, 1, 56), "expected `u8`, found `&str`", true)],
        );
        assert_eq!(
            render_written(&error, ran, written),
            "error[E0308]: mismatched types\n\
             \x20--> cell:1:45\n\
             \x20 |\n\
             1 | let name = String::from(\"x\"); let bad: u8 = \"q\";\n\
             \x20 |                                             ^^^ expected `u8`, found `&str`\n"
        );
        // A line rewritten otherwise keeps the kernel's text.
        let boxed = "let f: Box<dyn Fn()> = Box::new(|| 1); let bad: u8 = \"q\";";
        let error = an_error(
            "E0308",
            "mismatched types",
            vec![label((1, 55, 1, 58), "expected `u8`, found `&str`", true)],
        );
        let written = "let f = || 1; let bad: u8 = \"q\";";
        assert!(render_written(&error, boxed, written).contains("Box::new"));
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
    fn closures_are_not_named_by_the_compiled_file() {
        assert_eq!(
            in_cell_terms("within `{closure@src/asyncbook_lib.rs:173:20: 173:27}`, the trait"),
            "within `{closure}`, the trait"
        );
        assert_eq!(
            in_cell_terms("`{async block@src/asyncbook_lib.rs:9:5: 9:10}` is not `Send`"),
            "`{async block}` is not `Send`"
        );
        assert_eq!(in_cell_terms("see src/lib.rs:3:1"), "see src/lib.rs:3:1");
    }

    #[test]
    fn suggested_code_reads_as_part_of_its_help() {
        assert_eq!(
            with_suggestion("consider changing this to be mutable\n\nmut"),
            "consider changing this to be mutable: `mut`"
        );
        assert_eq!(
            with_suggestion("add these lines\n\nuse a;\nuse b;"),
            "add these lines:\n    use a;\n    use b;"
        );
        assert_eq!(with_suggestion("plain help"), "plain help");
        assert_eq!(
            with_suggestion("consider annotating `S` with `#[derive(Debug)]`\n\n#[derive(Debug)]"),
            "consider annotating `S` with `#[derive(Debug)]`"
        );
    }
}
