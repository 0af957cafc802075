//! The rustc wrapper's side of item macros (see `item_macros`): evcxr's
//! generated source with the carrier modules opened, and every
//! `macro_rules!` reachable by path.

use std::borrow::Cow;

use ra_ap_syntax::ast::{self, HasModuleItem, HasName};
use ra_ap_syntax::{AstNode, Edition, SourceFile};

/// The prefix of the modules that carry item macros to the wrapper.
pub(crate) const CARRIER: &str = "__asyncbook_items_";

/// evcxr's generated source as rustc is to compile it: the carrier modules
/// opened ([`unwrap_carriers`]) and each `macro_rules!` reachable by path
/// ([`macros_by_path`]).
pub fn for_rustc(source: &str) -> Cow<'_, str> {
    match unwrap_carriers(source) {
        Cow::Borrowed(source) => macros_by_path(source),
        Cow::Owned(opened) => Cow::Owned(macros_by_path(&opened).into_owned()),
    }
}

/// The source with each top-level `macro_rules!` also imported into the
/// crate's root (`pub(crate) use NAME;`, on its last line), unless it is
/// `#[macro_export]`ed or a `use` already names it. evcxr writes the items
/// it keeps in no set order (a hash map), and a `macro_rules!` reaches by
/// its text only the code after it: a call placed before the definition
/// failed ("cannot find macro"), now and then for calls inside functions,
/// always for a carried call. By path a macro reaches the whole crate, as
/// every item does in a program.
fn macros_by_path(source: &str) -> Cow<'_, str> {
    if !source.contains("macro_rules!") {
        return Cow::Borrowed(source);
    }
    let file = SourceFile::parse(source, Edition::Edition2024).tree();
    let used: Vec<String> = file
        .items()
        .filter_map(|item| match item {
            ast::Item::Use(u) => Some(u.syntax().text().to_string()),
            _ => None,
        })
        .collect();
    let mut edits = Vec::new();
    for item in file.items() {
        let ast::Item::MacroRules(rules) = item else {
            continue;
        };
        let Some(name) = rules.name().map(|n| n.text().to_string()) else {
            continue;
        };
        let exported = rules
            .syntax()
            .text()
            .to_string()
            .split("macro_rules")
            .next()
            .is_some_and(|attrs| attrs.contains("macro_export"));
        let named = used.iter().any(|u| {
            u.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|word| word == name)
        });
        if !exported && !named {
            let end = usize::from(rules.syntax().text_range().end());
            edits.push((
                end..end,
                format!(" #[allow(unused_imports)] pub(crate) use {name};"),
            ));
        }
    }
    crate::engine::source::syntax::replaced(source, edits)
}

/// evcxr's generated source with the kernel's carrier modules opened: their
/// first and last words blanked, so the items they carry stand at the
/// crate's top level on the same lines and columns.
fn unwrap_carriers(source: &str) -> Cow<'_, str> {
    if !source.contains(CARRIER) {
        return Cow::Borrowed(source);
    }
    let mut out = source.to_owned();
    let key_len = 16;
    let mut from = 0;
    while let Some(found) = out[from..].find(CARRIER) {
        let at = from + found;
        let key_end = at + CARRIER.len() + key_len;
        if out.len() < key_end || !out.is_char_boundary(key_end) {
            break;
        }
        let name = out[at..key_end].to_owned();
        let opening = format!("mod {name} {{ ");
        let closing = format!("/*{name}*/}}");
        let start = at.saturating_sub(4);
        if out[start..].starts_with(&opening) {
            if let Some(close) = out[start..].find(&closing) {
                let close = start + close;
                out.replace_range(close..close + closing.len(), &" ".repeat(closing.len()));
                out.replace_range(start..start + opening.len(), &" ".repeat(opening.len()));
            }
        }
        from = key_end;
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macros_are_reachable_by_path_for_rustc() {
        let source =
            "m!(P);\nmacro_rules! m { () => {} }\n#[macro_export] macro_rules! e { () => {} }\n\
                      macro_rules! u { () => {} }\nuse u as _;\n";
        let out = for_rustc(source);
        assert_eq!(out.lines().count(), source.lines().count());
        assert!(out
            .contains("macro_rules! m { () => {} } #[allow(unused_imports)] pub(crate) use m;\n"));
        assert_eq!(out.matches("pub(crate) use").count(), 1, "{out}");
    }
}
