//! rustc diagnostics rendered against the cell's own source, rustc style.

use evcxr::CompilationError;

/// Renders one compile error as rustc would, with spans in cell coordinates.
pub fn render(error: &CompilationError, source: &str) -> String {
    let lines: Vec<&str> = source.lines().collect();
    let mut out = String::new();
    let level = error.level();
    match error.code() {
        Some(code) => out.push_str(&format!("{level}[{code}]: {}\n", error.message())),
        None => out.push_str(&format!("{level}: {}\n", error.message())),
    }
    let spanned = error.spanned_messages();
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
        let marker = if message.is_primary { '^' } else { '-' };
        out.push_str(&format!(
            "{pad} | {}{} {}\n",
            " ".repeat(start.saturating_sub(1)),
            marker.to_string().repeat(end - start),
            message.label
        ));
    }
    for help in error.help() {
        out.push_str(&format!("{pad} = help: {help}\n"));
    }
    for note in notes {
        out.push_str(&format!("{pad} = note: {note}\n"));
    }
    out
}
