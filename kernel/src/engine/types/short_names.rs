//! Stored types that name a trait or type by a short name the cell lacks.
//!
//! evcxr writes each new variable's type, as rust-analyzer displays it, into
//! the code that stores the variable (`put_variable::<T>(stringify!(x), x)`,
//! a line of its own that is nowhere in the cell). rust-analyzer displays
//! some names short: `JoinError::into_panic()` gives
//! `Box<dyn Any + Send>`, and the cell's crate has no `Any` in scope unless
//! the user imported it. rustc then failed the cell with "cannot find trait
//! `Any` in this scope" about code the user never wrote, where a program
//! compiles.
//!
//! rustc's error says which stored variable (its JSON carries the store
//! line) and its help which path the name has (`use std::any::Any;`): the
//! kernel writes the type, with the name as that path, into the variable's
//! `let` (as it does for types rustc finds, see `type_probe`), and evcxr
//! stores it under that type. It costs the one failed compilation. Should
//! rust-analyzer or evcxr come to write full paths, nothing is found here
//! and the `into_panic` test in `everyday_code.rs` still passes.

use serde_json::Value;

use crate::engine::build::generated::StoredType;
use crate::engine::diagnostics::rustc_json;
use crate::engine::types::type_probe;

/// The variable whose stored type names something rustc cannot find, with
/// that type written with the paths rustc suggests; from rustc's JSON of the
/// failed compilation (evcxr may hand on a help in place of such an error).
pub fn stored_type(rustc: &[Value]) -> Option<(String, String)> {
    let said: Vec<(String, Vec<String>)> = rustc.iter().map(said).collect();
    let lines: Vec<&str> = rustc
        .iter()
        .filter(|e| matches!(e["code"]["code"].as_str(), Some("E0405" | "E0412")))
        .flat_map(|e| e["spans"].as_array().into_iter().flatten())
        .flat_map(|span| span["text"].as_array().into_iter().flatten())
        .filter_map(|line| line["text"].as_str())
        .collect();
    // A name the cell's own code lacks too is the cell's error, as in a
    // program.
    if lines.iter().any(|line| StoredType::find(line).is_none()) {
        return None;
    }
    lines.into_iter().find_map(|line| {
        let stored = StoredType::find(line).filter(|s| s.action == "put")?;
        let ty = type_probe::qualified(&line[stored.ty.clone()], &said)?;
        Some((stored.variable.to_owned(), ty))
    })
}

/// An error's message with its helps and their suggested code, as
/// `type_probe::qualified` reads them.
fn said(error: &Value) -> (String, Vec<String>) {
    let message = error["message"].as_str().unwrap_or_default().to_owned();
    (message, rustc_json::helps(error))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_short_name_in_a_stored_type_becomes_the_suggested_path() {
        let rustc = [json!({
            "code": {"code": "E0405"},
            "message": "cannot find trait `Any` in this scope",
            "spans": [{"text": [{"text": "    evcxr_variable_store.put_variable::<Box<dyn Any + Send>>(stringify!(payload), payload);"}]}],
            "children": [{"level": "help", "message": "consider importing this trait",
                          "spans": [{"suggested_replacement": "use std::any::Any;\n"}]}]
        })];
        assert_eq!(
            stored_type(&rustc),
            Some((
                "payload".to_owned(),
                "Box<dyn std::any::Any + Send>".to_owned()
            ))
        );
        let in_cell = [json!({
            "code": {"code": "E0405"},
            "spans": [{"text": [{"text": "let b: Box<dyn Any> = Box::new(1);"}]}]
        })];
        assert_eq!(stored_type(&in_cell), None);
        let both = [rustc[0].clone(), in_cell[0].clone()];
        assert_eq!(stored_type(&both), None);
    }
}
