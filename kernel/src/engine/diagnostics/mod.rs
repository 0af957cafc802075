//! rustc diagnostics rendered against the cell's own source, rustc style:
//! evcxr's errors, completed from rustc's own JSON (`rustc_json`), and the
//! warnings the cell compiler keeps.

mod diagnostic;
pub(crate) mod rustc_json;
mod titles;
pub(crate) mod warnings;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use evcxr::CompilationError;

pub use diagnostic::{Diagnostic, Labelled, Note, Span};
pub use rustc_json::{complete, from_json, rustc_errors};

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
                spans,
                notes,
                ..error.clone()
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
    // The insertion starts where the common prefix ends.
    let at = prefix;
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
/// Adds what a program's error means in a notebook, where a cell's
/// top-level variables live on after the cell: a closure or async block
/// kept in one cannot borrow another variable (rustc's E0373 speaks of "the
/// current function", which the user never wrote).
pub fn explain_for_notebook(error: &mut Diagnostic, ran: &str) {
    let outlives = ["closure may outlive", "async block may outlive"]
        .iter()
        .any(|start| error.message.starts_with(start));
    let kept = error
        .spans
        .iter()
        .filter(|l| l.primary)
        .filter_map(|l| l.span)
        .any(|span| crate::engine::source::syntax::let_on_line(ran, span.start_line).is_some());
    if outlives && kept {
        error.help.push(
            "a variable of the cell lives on after it, and so must what it holds: write `move` \
             to let it own what it uses (clone first what later cells still need), or keep it \
             inside `{ .. }` if only this cell uses it"
                .to_owned(),
        );
    }
}

/// An error's message in the notebook's terms, as its rendering's title
/// reads (the short text clients show beside the traceback).
pub fn title(error: &Diagnostic) -> String {
    in_cell_terms(&error.message).into_owned()
}

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
/// words its messages so, not its labels). The error type of a cell's
/// `Result`, into which `?` converts, is evcxr's own.
fn in_cell_terms(text: &str) -> std::borrow::Cow<'_, str> {
    static PLACE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"@src/[^\s:{}]+\.rs:\d+:\d+: \d+:\d+\}").expect("a valid pattern")
    });
    const EVCXR_TERMS: [(&str, &str); 2] = [
        ("`evcxr_variable_store`", "<end of input>"),
        ("`Result<(), EvcxrUserCodeError>`", "the cell's `Result`"),
    ];
    let mut text = PLACE.replace_all(text, "}");
    for (theirs, ours) in EVCXR_TERMS {
        if text.contains(theirs) {
            text = text.replace(theirs, ours).into();
        }
    }
    text
}

/// evcxr appends a help's suggested code after a blank line; it reads as part
/// of the help: "help: make it mutable: `mut`".
fn with_suggestion(help: &str) -> String {
    match help.split_once("\n\n") {
        // A removal suggests no code; "consider annotating `Shown` with
        // `#[derive(Debug)]`" quotes it already.
        Some((message, code))
            if code.trim().is_empty() || message.contains(&format!("`{code}`")) =>
        {
            message.to_owned()
        }
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
mod tests;
