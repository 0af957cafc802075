//! rustc diagnostics rendered against the cell's own source, rustc style.

use evcxr::CompilationError;

/// What a failed cell shows of rustc's diagnostics: its errors, then the
/// warnings that point into the cell. Warnings without a place in the cell
/// are about earlier cells' items (an unused macro, say) and would repeat
/// under every failing cell. Should nothing be left, all are shown.
pub fn shown(diagnostics: &[CompilationError]) -> Vec<&CompilationError> {
    let (errors, warnings): (Vec<_>, Vec<_>) =
        diagnostics.iter().partition(|d| d.level() != "warning");
    let in_cell = warnings.into_iter().filter(|w| {
        w.primary_spanned_message()
            .is_some_and(|m| m.span.is_some())
    });
    let shown: Vec<_> = errors.into_iter().chain(in_cell).collect();
    if shown.is_empty() {
        diagnostics.iter().collect()
    } else {
        shown
    }
}

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
        out.push_str(&format!("{pad} = help: {}\n", with_suggestion(&help)));
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
