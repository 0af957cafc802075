//! rustc diagnostics rendered against the cell's own source, rustc style.

use evcxr::CompilationError;

/// One diagnostic, from evcxr (a cell that failed to compile) or from
/// rustc's JSON (the warnings of a cell that compiled), with spans in the
/// cell's own lines and columns.
pub struct Diagnostic {
    pub level: String,
    /// An error code (`E0308`) or, for a lint, its name.
    pub code: Option<String>,
    pub message: String,
    pub spans: Vec<Labelled>,
    pub help: Vec<String>,
}

/// A label of a diagnostic; `span` is `None` for a note without a place.
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

/// Renders one diagnostic as rustc would, with spans in cell coordinates.
pub fn render(error: &Diagnostic, source: &str) -> String {
    let lines: Vec<&str> = source.lines().collect();
    let mut out = String::new();
    let level = &error.level;
    match &error.code {
        // A lint is named in a note, as rustc does.
        Some(code) if code.starts_with('E') => {
            out.push_str(&format!("{level}[{code}]: {}\n", error.message))
        }
        _ => out.push_str(&format!("{level}: {}\n", error.message)),
    }
    let spanned = &error.spans;
    let width = spanned
        .iter()
        .filter_map(|m| m.span.as_ref().map(|s| s.end_line))
        .max()
        .unwrap_or(1)
        .to_string()
        .len();
    let pad = " ".repeat(width);
    if let Some(first) = spanned.iter().find_map(|m| m.span.as_ref()) {
        out.push_str(&format!(
            "{pad}--> cell:{}:{}\n",
            first.start_line, first.start_column
        ));
    }
    let mut notes = Vec::new();
    for message in spanned {
        let Some(span) = &message.span else {
            if !message.label.is_empty() {
                notes.push(message.label.clone());
            }
            continue;
        };
        out.push_str(&format!("{pad} |\n"));
        for line_no in span.start_line..=span.end_line {
            let text = lines.get(line_no - 1).copied().unwrap_or("");
            out.push_str(&format!("{line_no:>width$} | {text}\n"));
        }
        let text = lines.get(span.end_line - 1).copied().unwrap_or("");
        let (start, end) = if span.start_line == span.end_line {
            (
                span.start_column,
                span.end_column.max(span.start_column + 1),
            )
        } else {
            (1, text.chars().count() + 1)
        };
        let marker = if message.primary { '^' } else { '-' };
        let underline = format!(
            "{pad} | {}{} {}",
            " ".repeat(start.saturating_sub(1)),
            marker.to_string().repeat(end - start),
            message.label
        );
        out.push_str(underline.trim_end());
        out.push('\n');
    }
    for help in &error.help {
        out.push_str(&format!("{pad} = help: {}\n", with_suggestion(help)));
    }
    for note in notes {
        out.push_str(&format!("{pad} = note: {note}\n"));
    }
    out
}

/// evcxr appends a help's suggested code after a blank line; it reads as part
/// of the help: "help: make it mutable: `mut`".
fn with_suggestion(help: &str) -> String {
    match help.split_once("\n\n") {
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
    use super::with_suggestion;

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
    }
}
