//! Asyncbook's own `:` commands, expanded into cell code before evcxr sees
//! the cell (evcxr's commands, such as `:dep`, pass through unchanged).
//!
//! `:types` is evcxr's, but taken here: evcxr shows a result's type only in
//! the fallback it compiles when the value has no `evcxr_display`, and the
//! kernel gives every `Debug` value one (`asyncbook::display`), so evcxr's
//! switch would change nothing. The engine switches the kernel's display
//! instead. Should evcxr come to show types another way, a `:types` result
//! would still carry its type once; `types_are_shown_the_evcxr_way` in
//! `evcxr_commands.rs` checks the form.

use std::borrow::Cow;

/// `(command, code it runs, help)`.
const COMMANDS: [(&str, &str, &str); 7] = [
    (
        ":clear",
        "",
        "Start over in place, as a restarted kernel would (no variable, item, dependency or task kept), in a second or two",
    ),
    (
        ":runtime",
        "println!(\"{}\", asyncbook::runtime::report());",
        "Show the shared runtime: flavour, workers, live tasks",
    ),
    (
        ":tasks",
        "asyncbook::tasks::show();",
        "List every task alive on the shared runtime: spawn site, age, polls, running and waiting time",
    ),
    (
        ":tasks watch",
        "asyncbook::tasks::watch();",
        "`:tasks`, refreshed every second until its tasks end or the next cell starts",
    ),
    (
        ":timeline",
        "asyncbook::timeline::auto::record_cell();",
        "Record the cell's tasks and polls from here on; the timeline is drawn when the cell ends",
    ),
    (
        ":where",
        "asyncbook::where_now().show();",
        "Where each live task waits: its chain of `.await`s, from the task's future to the leaf it is parked on",
    ),
    (
        ":warnings",
        "",
        "`:warnings off` hides rustc's warnings about cells, `:warnings on` shows them again",
    ),
];

/// Where a cell has `:clear`, which the engine runs itself: the session
/// starts over in place (evcxr's own `:clear` keeps its settings and
/// leaves the cell library undeclared).
#[derive(Debug, PartialEq)]
pub enum Clear {
    No,
    Alone,
    WithOtherCode,
}

/// The kernel's side of a cell's `:` commands.
pub struct Expanded<'a> {
    pub code: Cow<'a, str>,
    /// Set by `:warnings on` or `:warnings off`.
    pub show_warnings: Option<bool>,
    /// Whether the cell's `:types` lines switch types over (an odd count).
    pub toggle_types: bool,
    pub clear: Clear,
}

/// evcxr's `:help` lists its own commands; ours are printed before them.
const HELP: &str = ":help";

pub fn expand(code: &str) -> Expanded<'_> {
    let mut show_warnings = None;
    let mut toggle_types = false;
    let (mut clear, mut other_code) = (false, false);
    let mut changed = false;
    let lines: Vec<Cow<'_, str>> = code
        .lines()
        .map(|line| {
            let trimmed = line.trim();
            if trimmed == ":clear" {
                clear = true;
            } else if !trimmed.is_empty() {
                other_code = true;
            }
            let found = match trimmed.strip_prefix(":warnings") {
                Some(" on") => Some(Cow::Borrowed("")).inspect(|_| show_warnings = Some(true)),
                Some(" off") => Some(Cow::Borrowed("")).inspect(|_| show_warnings = Some(false)),
                _ if trimmed == ":types" => {
                    toggle_types = !toggle_types;
                    Some(Cow::Borrowed(""))
                }
                _ => lookup(line),
            };
            changed |= found.is_some();
            found.unwrap_or(Cow::Borrowed(line))
        })
        .collect();
    let code = if changed {
        Cow::Owned(lines.join("\n"))
    } else {
        Cow::Borrowed(code)
    };
    let clear = match (clear, other_code) {
        (false, _) => Clear::No,
        (true, false) => Clear::Alone,
        (true, true) => Clear::WithOtherCode,
    };
    Expanded {
        code,
        show_warnings,
        toggle_types,
        clear,
    }
}

fn lookup(line: &str) -> Option<Cow<'static, str>> {
    let line = line.trim();
    if line == HELP {
        return Some(Cow::Owned(format!("{HELP}\nprintln!({:?});", help())));
    }
    COMMANDS
        .iter()
        .find(|(name, code, _)| *name == line && !code.is_empty())
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
        assert_eq!(expand("1 + 1").code, "1 + 1");
        let expanded = expand("let a = 1;\n:runtime\n").code;
        assert!(expanded.starts_with("let a = 1;\nprintln!"));
        assert!(expanded.contains("asyncbook::runtime::report()"));
        assert_eq!(expand("// :runtime").code, "// :runtime");
        assert_eq!(expand("  :tasks  ").code, "asyncbook::tasks::show();");
        assert_eq!(expand(":where").code, "asyncbook::where_now().show();");
    }

    #[test]
    fn clear_is_found_alone_or_with_other_code() {
        let clear = |code| expand(code).clear;
        assert_eq!(clear(":clear"), Clear::Alone);
        assert_eq!(clear("\n  :clear \n\n"), Clear::Alone);
        assert_eq!(clear("let a = 1;\n:clear"), Clear::WithOtherCode);
        assert_eq!(clear("// :clear\nlet a = 1;"), Clear::No);
        assert_eq!(clear(":clear_cache"), Clear::No);
    }

    #[test]
    fn warnings_are_switched_by_whole_lines() {
        let off = expand(":warnings off\nlet a = 1;");
        assert_eq!(
            (off.code.as_ref(), off.show_warnings),
            ("\nlet a = 1;", Some(false))
        );
        assert_eq!(expand(":warnings on").show_warnings, Some(true));
        let neither = expand(":warnings\n// :warnings off");
        assert_eq!(neither.show_warnings, None);
        assert_eq!(neither.code, ":warnings\n// :warnings off");
    }

    #[test]
    fn types_lines_toggle_and_leave_the_cell() {
        let once = expand(":types\n42");
        assert_eq!((once.code.as_ref(), once.toggle_types), ("\n42", true));
        assert!(!expand(":types\n:types").toggle_types);
        assert!(!expand("// :types\n:types_x").toggle_types);
    }

    #[test]
    fn help_lists_asyncbook_commands_before_evcxr_ones() {
        let expanded = expand(":help").code;
        let (command, print) = expanded.split_once('\n').unwrap();
        assert_eq!(command, ":help");
        assert!(print.contains(":tasks           List every task alive"));
        assert!(print.contains(":timeline        Record the cell's tasks"));
        assert!(print.contains(":where           Where each live task waits"));
        assert!(print.contains(":runtime"));
    }
}
