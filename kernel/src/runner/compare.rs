//! Stored against fresh outputs: both sides are rendered to one text (streams
//! joined per name, text-like mime data verbatim, binary images by presence,
//! errors by name and value), sanitised, and diffed line by line. The
//! `Compiling ..` lines of a `:dep` are left out: whether a dependency is
//! compiled depends on what the kernel built before (a kernel that ran an
//! earlier notebook may have it), not on the cell.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use anyhow::{Context, Result};
use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use super::notebook::multiline;

pub const SANITIZE_FILE: &str = "sanitize.toml";

/// Regex replacements applied to both sides before comparing, for output
/// that changes from run to run (durations, addresses, thread ids).
#[derive(Default)]
pub struct Sanitizer {
    rules: Vec<(Regex, String)>,
}

#[derive(Deserialize)]
struct RulesFile {
    #[serde(default)]
    rule: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    regex: String,
    replace: String,
}

impl Sanitizer {
    /// Uses the nearest `sanitize.toml`: beside the notebook, else in the
    /// folders above it up to `root`.
    pub fn for_notebook(notebook: &Path, root: &Path) -> Result<Sanitizer> {
        match find_rules(notebook, root) {
            Some(path) => Sanitizer::load(&path),
            None => Ok(Sanitizer::default()),
        }
    }

    fn load(path: &Path) -> Result<Sanitizer> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let file: RulesFile =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let rules = file
            .rule
            .into_iter()
            .map(|rule| {
                let regex = Regex::new(&rule.regex)
                    .with_context(|| format!("{}: bad regex `{}`", path.display(), rule.regex))?;
                Ok((regex, rule.replace))
            })
            .collect::<Result<_>>()?;
        Ok(Sanitizer { rules })
    }

    pub fn apply(&self, text: &str) -> String {
        self.rules
            .iter()
            .fold(text.to_owned(), |text, (regex, replace)| {
                regex.replace_all(&text, replace.as_str()).into_owned()
            })
    }
}

fn find_rules(notebook: &Path, root: &Path) -> Option<PathBuf> {
    let root = std::fs::canonicalize(root).ok()?;
    let mut dir = std::fs::canonicalize(notebook)
        .ok()?
        .parent()?
        .to_path_buf();
    loop {
        let candidate = dir.join(SANITIZE_FILE);
        if candidate.is_file() {
            return Some(candidate);
        }
        if dir == root || !dir.pop() || !dir.starts_with(&root) {
            return None;
        }
    }
}

/// The text both sides are compared as.
pub fn render(outputs: &[Value], sanitizer: &Sanitizer) -> String {
    let mut streams = [("stdout", String::new()), ("stderr", String::new())];
    let mut rest = String::new();
    for output in outputs {
        match output["output_type"].as_str() {
            Some("stream") => {
                if let Some((_, text)) = streams.iter_mut().find(|(n, _)| output["name"] == *n) {
                    text.push_str(&multiline(&output["text"]));
                }
            }
            Some(kind @ ("display_data" | "execute_result")) => {
                let Some(data) = output["data"].as_object() else {
                    continue;
                };
                let mut mimes: Vec<&String> = data.keys().collect();
                mimes.sort();
                for mime in mimes {
                    if compared_as_text(mime) {
                        let text = sanitizer.apply(&multiline(&data[mime]));
                        rest.push_str(&format!("[{kind} {mime}]\n{}\n", text.trim_end()));
                    } else {
                        rest.push_str(&format!("[{kind} {mime}] present\n"));
                    }
                }
            }
            Some("error") => {
                let ename = output["ename"].as_str().unwrap_or_default();
                let evalue = sanitizer.apply(output["evalue"].as_str().unwrap_or_default());
                rest.push_str(&format!("[error] {ename}: {evalue}\n"));
            }
            _ => {}
        }
    }
    let mut rendered = String::new();
    for (name, text) in streams {
        if text.is_empty() {
            continue;
        }
        let text = sanitizer.apply(&without_build_progress(&text));
        if text.is_empty() {
            continue;
        }
        rendered.push_str(&format!("[{name}]\n{text}"));
        if !text.ends_with('\n') {
            rendered.push_str("\n[no newline at end]\n");
        }
    }
    rendered + &rest
}

/// `text` without cargo's `Compiling name vX.Y.Z` lines.
fn without_build_progress(text: &str) -> String {
    static PROGRESS: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?m)^ *Compiling [\w-]+ v\d\S*( \(.*\))?\n").expect("a valid regex")
    });
    PROGRESS.replace_all(text, "").into_owned()
}

/// Text mime types and SVG are compared verbatim; other data (PNG, JPEG,
/// JSON) only for being there.
fn compared_as_text(mime: &str) -> bool {
    mime.starts_with("text/") || mime == "image/svg+xml"
}

/// A unified diff when the outputs differ after sanitising; or, when the
/// stored outputs hold a stream in several pieces, which the runner never
/// stores, that they do.
pub fn difference(expected: &[Value], actual: &[Value], sanitizer: &Sanitizer) -> Option<String> {
    for name in ["stdout", "stderr"] {
        let pieces = expected
            .iter()
            .filter(|o| o["output_type"] == "stream" && o["name"] == name)
            .count();
        if pieces > 1 {
            return Some(format!(
                "the stored outputs hold {name} in {pieces} pieces; the runner stores one \
                 (`asyncbook test --update` writes it so)\n"
            ));
        }
    }
    let expected = render(expected, sanitizer);
    let actual = render(actual, sanitizer);
    if expected == actual {
        return None;
    }
    Some(
        similar::TextDiff::from_lines(&expected, &actual)
            .unified_diff()
            .context_radius(3)
            .header("expected", "actual")
            .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn joins_streams_per_name_and_sanitises_both_sides() {
        let sanitizer = Sanitizer {
            rules: vec![(Regex::new(r"\d+ms").unwrap(), "<time>".into())],
        };
        let stored = [
            json!({"output_type": "stream", "name": "stdout", "text": ["a\n", "took 5ms\n"]}),
            json!({"output_type": "execute_result", "data": {"text/plain": "1", "image/png": "AAA"}}),
        ];
        let fresh = [
            json!({"output_type": "stream", "name": "stdout", "text": "a\n"}),
            json!({"output_type": "stream", "name": "stderr", "text": ""}),
            json!({"output_type": "stream", "name": "stdout", "text": "took 17ms\n"}),
            json!({"output_type": "execute_result", "data": {"text/plain": ["1"], "image/png": "BBB"}}),
        ];
        assert_eq!(difference(&stored, &fresh, &sanitizer), None);
        let changed = [json!({"output_type": "stream", "name": "stdout", "text": "b\n"})];
        let diff = difference(&stored, &changed, &sanitizer).unwrap();
        assert!(diff.contains("-a\n") && diff.contains("+b\n"), "{diff}");
    }

    #[test]
    fn a_stream_stored_in_pieces_is_a_difference() {
        let sanitizer = Sanitizer { rules: Vec::new() };
        let split = [
            json!({"output_type": "stream", "name": "stdout", "text": "a\n"}),
            json!({"output_type": "stream", "name": "stdout", "text": "b\n"}),
        ];
        let whole = [json!({"output_type": "stream", "name": "stdout", "text": "a\nb\n"})];
        let said = difference(&split, &whole, &sanitizer).unwrap();
        assert!(said.contains("stdout in 2 pieces"), "{said}");
        assert_eq!(difference(&whole, &split, &sanitizer), None);
    }

    #[test]
    fn a_dependency_built_or_not_compares_the_same() {
        let none = Sanitizer::default();
        let built = [
            json!({"output_type": "stream", "name": "stderr", "text": "   Compiling tiny v0.1.0\n   Compiling tiny-macros v0.1.0 (/src/tiny-macros)\n"}),
            json!({"output_type": "stream", "name": "stdout", "text": "42\n"}),
        ];
        let cached = [json!({"output_type": "stream", "name": "stdout", "text": "42\n"})];
        assert_eq!(difference(&built, &cached, &none), None);
        let told =
            [json!({"output_type": "stream", "name": "stderr", "text": "Compiling the report\n"})];
        assert!(difference(&told, &cached, &none).is_some());
    }

    #[test]
    fn errors_compare_by_name_and_value() {
        let error = |evalue: &str| {
            [json!({"output_type": "error", "ename": "E", "evalue": evalue, "traceback": ["x"]})]
        };
        let none = Sanitizer::default();
        assert_eq!(difference(&error("v"), &error("v"), &none), None);
        assert!(difference(&error("v"), &error("w"), &none).is_some());
    }
}
