//! Every error shown under its own title.
//!
//! evcxr hands on a child of rustc's error (a help or a note) in place of
//! the error when the error's own spans are all in code it generated and the
//! child's are in the cell (`CompilationError::opt_new`): rustc's "cannot
//! find trait `Any` in this scope", about the type evcxr wrote into its
//! store line, came out as "help: consider importing this trait" whenever
//! rustc would insert the import at a line of the user's, with neither the
//! error's title nor its code. The kernel finds the error that holds such a
//! child in rustc's JSON of the same compilation and shows that error's
//! level, code and message as the title, the child below it as the help or
//! note it is. Should evcxr stop standing children in, nothing here
//! applies.

use serde_json::Value;

use super::diagnostic::{Diagnostic, Note};

/// `error` under the title of the rustc error (of `errors`, rustc's JSON)
/// whose help or note it is, when evcxr handed on that child alone.
pub fn titled(error: &mut Diagnostic, errors: &[Value]) {
    if matches!(error.level.as_str(), "error" | "warning") {
        return;
    }
    let held = errors.iter().find_map(|json| {
        let child = json["children"]
            .as_array()?
            .iter()
            .find(|child| child["message"].as_str() == Some(error.message.as_str()))?;
        Some((json, child))
    });
    let Some((holder, child)) = held else {
        return;
    };
    let (Some(level), Some(message)) = (holder["level"].as_str(), holder["message"].as_str())
    else {
        return;
    };
    let child_level = std::mem::replace(&mut error.level, level.to_owned());
    let child_message = std::mem::replace(&mut error.message, message.to_owned());
    error.code = holder["code"]["code"].as_str().map(str::to_owned);
    let spans = std::mem::take(&mut error.spans);
    if child_level == "help" {
        // As evcxr writes a help: its suggested code after a blank line.
        let help = match child["spans"][0]["suggested_replacement"].as_str() {
            Some(code) if !code.trim().is_empty() => {
                format!("{child_message}\n\n{}", code.trim_end())
            }
            _ => child_message,
        };
        error.help.insert(0, help);
    } else {
        error.notes.insert(
            0,
            Note {
                message: child_message,
                spans,
            },
        );
    }
}
