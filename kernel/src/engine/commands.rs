//! Asyncbook's own `:` commands, expanded into cell code before evcxr sees
//! the cell (evcxr's commands, such as `:dep`, pass through unchanged).

use std::borrow::Cow;

/// `(command, code it runs, help)`.
const COMMANDS: [(&str, &str, &str); 2] = [
    (
        ":runtime",
        "println!(\"{}\", asyncbook::runtime::report());",
        "Show the shared runtime: flavour, workers, live tasks",
    ),
    (
        ":tasks",
        "asyncbook::tasks::show();",
        "List the tasks alive on the shared runtime (named ones in full) and its metrics",
    ),
];

/// evcxr's `:help` lists its own commands; ours are printed before them.
const HELP: &str = ":help";

pub fn expand(code: &str) -> Cow<'_, str> {
    if !code.lines().any(|line| lookup(line).is_some()) {
        return Cow::Borrowed(code);
    }
    let lines: Vec<Cow<'_, str>> = code
        .lines()
        .map(|line| lookup(line).unwrap_or(Cow::Borrowed(line)))
        .collect();
    Cow::Owned(lines.join("\n"))
}

fn lookup(line: &str) -> Option<Cow<'static, str>> {
    let line = line.trim();
    if line == HELP {
        return Some(Cow::Owned(format!("{HELP}\nprintln!({:?});", help())));
    }
    COMMANDS
        .iter()
        .find(|(name, _, _)| *name == line)
        .map(|(_, code, _)| Cow::Borrowed(*code))
}

/// Asyncbook's commands, one per line, as `:help` shows them.
fn help() -> String {
    let lines: Vec<String> = COMMANDS
        .iter()
        .map(|(name, _, help)| format!("{name:<17}{help}"))
        .collect();
    format!(
        "Asyncbook commands:\n{}\n\nevcxr commands:",
        lines.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_only_whole_command_lines() {
        assert_eq!(expand("1 + 1"), "1 + 1");
        let expanded = expand("let a = 1;\n:runtime\n");
        assert!(expanded.starts_with("let a = 1;\nprintln!"));
        assert!(expanded.contains("asyncbook::runtime::report()"));
        assert_eq!(expand("// :runtime"), "// :runtime");
        assert_eq!(expand("  :tasks  "), "asyncbook::tasks::show();");
    }

    #[test]
    fn help_lists_asyncbook_commands_before_evcxr_ones() {
        let expanded = expand(":help");
        let (command, print) = expanded.split_once('\n').unwrap();
        assert_eq!(command, ":help");
        assert!(print.contains(":tasks           List the tasks alive"));
        assert!(print.contains(":runtime"));
    }
}
