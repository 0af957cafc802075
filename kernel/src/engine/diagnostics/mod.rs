//! rustc diagnostics rendered against the cell's own source, rustc style:
//! evcxr's errors, completed from rustc's own JSON (`rustc_json`), and the
//! warnings the cell compiler keeps.

mod rustc_json;
mod titles;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use evcxr::CompilationError;

pub use rustc_json::{complete, from_json, rustc_errors};

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
        .any(|span| crate::engine::syntax::let_on_line(ran, span.start_line).is_some());
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
mod tests {
    use super::*;

    pub(super) fn label(
        span: (usize, usize, usize, usize),
        label: &str,
        primary: bool,
    ) -> Labelled {
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

    pub(super) fn an_error(code: &str, message: &str, spans: Vec<Labelled>) -> Diagnostic {
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
        assert_eq!(
            in_cell_terms("use `.ok_or(...)?` to provide an error compatible with `Result<(), EvcxrUserCodeError>`"),
            "use `.ok_or(...)?` to provide an error compatible with the cell's `Result`"
        );
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
            with_suggestion("if you import `Builder`, refer to it directly\n\n"),
            "if you import `Builder`, refer to it directly"
        );
        assert_eq!(
            with_suggestion("consider annotating `S` with `#[derive(Debug)]`\n\n#[derive(Debug)]"),
            "consider annotating `S` with `#[derive(Debug)]`"
        );
    }
}
