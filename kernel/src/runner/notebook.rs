//! Notebooks as JSON: reading cells and their tags, and writing the file back
//! in the layout Jupyter itself writes, so that a diff shows only real
//! changes. Everything the runner does not touch is kept as it was read.

use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};

pub struct Notebook {
    pub json: Value,
}

/// What the tags of one code cell ask of the runner.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct CellPlan {
    pub skip: bool,
    pub ignore_output: bool,
    pub raises: bool,
    /// Seconds, from a `timeout=SECONDS` tag.
    pub timeout: Option<f64>,
}

/// One code cell to run: its place in the notebook and what to do with it.
pub struct CodeCell {
    pub index: usize,
    pub id: Option<String>,
    pub source: String,
    pub plan: CellPlan,
    /// The stored outputs, as in the file.
    pub outputs: Vec<Value>,
}

impl Notebook {
    pub fn read(path: &Path) -> Result<Notebook> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let json: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid JSON", path.display()))?;
        if !json.get("cells").is_some_and(Value::is_array) {
            bail!("{} has no cell list", path.display());
        }
        Ok(Notebook { json })
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        std::fs::write(path, to_nbformat_text(&self.json))
            .with_context(|| format!("writing {}", path.display()))
    }

    fn cells(&self) -> &[Value] {
        self.json["cells"].as_array().map_or(&[], Vec::as_slice)
    }

    pub fn code_cells(&self) -> Result<Vec<CodeCell>> {
        let mut found = Vec::new();
        for (index, cell) in self.cells().iter().enumerate() {
            if cell["cell_type"] != "code" {
                continue;
            }
            let tags = cell["metadata"]["tags"]
                .as_array()
                .map(|tags| tags.iter().filter_map(Value::as_str).collect::<Vec<_>>())
                .unwrap_or_default();
            found.push(CodeCell {
                index,
                id: cell["id"].as_str().map(str::to_owned),
                source: multiline(&cell["source"]),
                plan: CellPlan::from_tags(&tags).with_context(|| format!("cell {}", index + 1))?,
                outputs: cell["outputs"].as_array().cloned().unwrap_or_default(),
            });
        }
        Ok(found)
    }

    /// Replaces a cell's outputs and execution count.
    pub fn set_outputs(&mut self, index: usize, outputs: Vec<Value>, count: Option<usize>) {
        let Some(cell) = self.json["cells"].get_mut(index) else {
            return;
        };
        cell["outputs"] = Value::Array(outputs);
        cell["execution_count"] = count.map_or(Value::Null, Value::from);
    }

    /// Brings what the comparison of a passing cell leaves out up to date
    /// with a fresh run: its execution count (in the cell and its result)
    /// and its errors' tracebacks (errors are compared by name and value).
    /// True if the stored cell changed.
    pub fn refresh(&mut self, index: usize, fresh: &[Value], count: Option<usize>) -> bool {
        let Some(cell) = self.json["cells"].get_mut(index) else {
            return false;
        };
        let before = cell.clone();
        let count = count.map_or(Value::Null, Value::from);
        cell["execution_count"] = count.clone();
        let fresh_errors = fresh.iter().filter(|o| o["output_type"] == "error");
        let stored = cell["outputs"].as_array_mut().into_iter().flatten();
        let mut stored_errors = Vec::new();
        for output in stored {
            match output["output_type"].as_str() {
                Some("execute_result") => output["execution_count"] = count.clone(),
                Some("error") => stored_errors.push(output),
                _ => {}
            }
        }
        for (output, fresh) in stored_errors.into_iter().zip(fresh_errors) {
            output["traceback"] = fresh["traceback"].clone();
        }
        *cell != before
    }
}

impl CellPlan {
    fn from_tags(tags: &[&str]) -> Result<CellPlan> {
        let mut plan = CellPlan::default();
        for tag in tags {
            match *tag {
                "skip-test" => plan.skip = true,
                "ignore-output" => plan.ignore_output = true,
                "raises-exception" => plan.raises = true,
                other => {
                    if let Some(seconds) = other.strip_prefix("timeout=") {
                        let seconds: f64 = seconds
                            .parse()
                            .ok()
                            .filter(|s: &f64| s.is_finite() && *s > 0.0)
                            .with_context(|| format!("bad tag `{other}`"))?;
                        plan.timeout = Some(seconds);
                    }
                }
            }
        }
        Ok(plan)
    }
}

/// Joins a string stored either whole or as a list of lines.
pub fn multiline(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(lines) => lines.iter().filter_map(Value::as_str).collect(),
        _ => String::new(),
    }
}

/// A text as nbformat stores it: a list of lines, each with its line end.
pub fn lines_value(text: &str) -> Value {
    Value::Array(
        split_lines_keep_ends(text)
            .into_iter()
            .map(|line| Value::String(line.to_owned()))
            .collect(),
    )
}

/// Mime types whose values nbformat stores as lists of lines.
pub fn is_split_mime(mime: &str) -> bool {
    mime.starts_with("text/") || mime == "application/javascript" || mime == "image/svg+xml"
}

/// Python's `str.splitlines(True)`: every line boundary Python knows.
fn split_lines_keep_ends(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let end = match c {
            '\r' => match chars.peek() {
                Some((_, '\n')) => {
                    chars.next();
                    i + 2
                }
                _ => i + 1,
            },
            '\n' | '\u{0b}' | '\u{0c}' | '\u{1c}' | '\u{1d}' | '\u{1e}' | '\u{85}' | '\u{2028}'
            | '\u{2029}' => i + c.len_utf8(),
            _ => continue,
        };
        lines.push(&text[start..end]);
        start = end;
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

/// The text Jupyter writes for a notebook: Python's
/// `json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False)` plus a
/// final newline.
pub fn to_nbformat_text(json: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, json, 0);
    out.push('\n');
    out
}

fn write_value(out: &mut String, value: &Value, depth: usize) {
    match value {
        Value::Null | Value::Bool(_) => out.push_str(&value.to_string()),
        Value::Number(number) => match number.as_f64().filter(|_| number.is_f64()) {
            Some(float) => out.push_str(&python_float(float)),
            None => out.push_str(&number.to_string()),
        },
        // serde_json escapes exactly what Python escapes without ensure_ascii.
        Value::String(_) => out.push_str(&value.to_string()),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write_value(out, item, depth + 1);
            }
            newline(out, depth);
            out.push(']');
        }
        Value::Object(map) if map.is_empty() => out.push_str("{}"),
        Value::Object(map) => write_object(out, map, depth),
    }
}

fn write_object(out: &mut String, map: &Map<String, Value>, depth: usize) {
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    out.push('{');
    for (i, key) in keys.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        newline(out, depth + 1);
        out.push_str(&Value::String(key.clone()).to_string());
        out.push_str(": ");
        write_value(out, &map[key], depth + 1);
    }
    newline(out, depth);
    out.push('}');
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    out.extend(std::iter::repeat_n(' ', depth));
}

/// Python's `repr(float)`: shortest round trip, exponent form below 1e-4 and
/// from 1e16 on, with a signed exponent of at least two digits.
fn python_float(value: f64) -> String {
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .unwrap_or((scientific.as_str(), "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if value == 0.0 || (-4..16).contains(&exponent) {
        let plain = format!("{value}");
        if plain.contains('.') {
            plain
        } else {
            format!("{plain}.0")
        }
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines_as_python_does() {
        assert_eq!(
            split_lines_keep_ends("a\nb\r\nc\rd"),
            ["a\n", "b\r\n", "c\r", "d"]
        );
        assert_eq!(split_lines_keep_ends("a\n"), ["a\n"]);
        assert!(split_lines_keep_ends("").is_empty());
    }

    #[test]
    fn writes_json_as_jupyter_does() {
        let json = serde_json::json!({
            "b": [1, 2.5, 1e-5, 1e16, "é\n\"\u{1}"],
            "a": {},
            "c": {"z": [], "y": null, "x": true}
        });
        let expected = "{\n \"a\": {},\n \"b\": [\n  1,\n  2.5,\n  1e-05,\n  1e+16,\n  \"é\\n\\\"\\u0001\"\n ],\n \"c\": {\n  \"x\": true,\n  \"y\": null,\n  \"z\": []\n }\n}\n";
        assert_eq!(to_nbformat_text(&json), expected);
    }

    #[test]
    fn rewrites_the_fixture_notebooks_byte_for_byte() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/runner");
        for name in [
            "pass.ipynb",
            "expected_error.ipynb",
            "sanitize/timing.ipynb",
        ] {
            let path = fixtures.join(name);
            let stored = std::fs::read_to_string(&path).unwrap();
            let notebook = Notebook::read(&path).unwrap();
            assert_eq!(to_nbformat_text(&notebook.json), stored, "{name}");
        }
    }

    #[test]
    fn reads_tags() {
        let plan = CellPlan::from_tags(&["skip-test", "timeout=2.5", "other"]).unwrap();
        assert_eq!(
            plan,
            CellPlan {
                skip: true,
                timeout: Some(2.5),
                ..CellPlan::default()
            }
        );
        assert!(CellPlan::from_tags(&["timeout=soon"]).is_err());
    }
}
