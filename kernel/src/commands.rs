//! Asyncbook's own `:` commands, expanded into cell code before evcxr sees
//! the cell (evcxr's commands, such as `:dep`, pass through unchanged).

use std::borrow::Cow;

/// `(command, code it runs)`.
const COMMANDS: [(&str, &str); 1] = [(
    ":runtime",
    "println!(\"{}\", asyncbook::runtime::report());",
)];

pub fn expand(code: &str) -> Cow<'_, str> {
    if !code.lines().any(|line| lookup(line).is_some()) {
        return Cow::Borrowed(code);
    }
    let lines: Vec<&str> = code
        .lines()
        .map(|line| lookup(line).unwrap_or(line))
        .collect();
    Cow::Owned(lines.join("\n"))
}

fn lookup(line: &str) -> Option<&'static str> {
    let line = line.trim();
    COMMANDS
        .iter()
        .find(|(name, _)| *name == line)
        .map(|(_, code)| *code)
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
    }
}
