//! Fresh outputs: iopub messages turned into nbformat outputs the way a
//! notebook frontend keeps them (streams merged, clear_output and display
//! updates applied).

use jupyter_protocol::{JupyterMessageContent, Media, Stdio};
use serde_json::{json, Map, Value};

use super::notebook::{is_split_mime, lines_value};

/// One output of a cell, with the display id updates refer to.
struct Fresh {
    output: Value,
    display_id: Option<String>,
}

/// The outputs of every cell run so far in one notebook: a display made in
/// one cell may be updated from a later one.
#[derive(Default)]
pub struct NotebookOutputs {
    cells: Vec<Vec<Fresh>>,
    /// A `clear_output(wait=true)` waiting for the next output of the cell.
    clear_pending: bool,
}

impl NotebookOutputs {
    /// Starts collecting the outputs of the next cell; returns its slot.
    pub fn start_cell(&mut self) -> usize {
        self.cells.push(Vec::new());
        self.clear_pending = false;
        self.cells.len() - 1
    }

    /// Applies one iopub message of the running (last) cell.
    pub fn apply(&mut self, content: &JupyterMessageContent) {
        let fresh = match content {
            JupyterMessageContent::StreamContent(stream) => {
                let name = match stream.name {
                    Stdio::Stdout => "stdout",
                    Stdio::Stderr => "stderr",
                };
                self.clear_if_pending();
                self.push_stream(name, &stream.text);
                return;
            }
            JupyterMessageContent::DisplayData(display) => Fresh {
                output: json!({
                    "output_type": "display_data",
                    "data": bundle(&display.data),
                    "metadata": display.metadata,
                }),
                display_id: display
                    .transient
                    .as_ref()
                    .and_then(|t| t.display_id.clone()),
            },
            JupyterMessageContent::ExecuteResult(result) => Fresh {
                output: json!({
                    "output_type": "execute_result",
                    "data": bundle(&result.data),
                    "metadata": result.metadata,
                    "execution_count": result.execution_count.value(),
                }),
                display_id: result.transient.as_ref().and_then(|t| t.display_id.clone()),
            },
            JupyterMessageContent::ErrorOutput(error) => Fresh {
                output: json!({
                    "output_type": "error",
                    "ename": error.ename,
                    "evalue": error.evalue,
                    "traceback": error.traceback,
                }),
                display_id: None,
            },
            JupyterMessageContent::UpdateDisplayData(update) => {
                let Some(id) = update.transient.display_id.as_deref() else {
                    return;
                };
                let data = bundle(&update.data);
                for fresh in self.cells.iter_mut().flatten() {
                    if fresh.display_id.as_deref() == Some(id) {
                        fresh.output["data"] = data.clone();
                        fresh.output["metadata"] = Value::Object(update.metadata.clone());
                    }
                }
                return;
            }
            JupyterMessageContent::ClearOutput(clear) => {
                if clear.wait {
                    self.clear_pending = true;
                } else if let Some(cell) = self.cells.last_mut() {
                    cell.clear();
                }
                return;
            }
            _ => return,
        };
        self.clear_if_pending();
        if let Some(cell) = self.cells.last_mut() {
            cell.push(fresh);
        }
    }

    fn clear_if_pending(&mut self) {
        if std::mem::take(&mut self.clear_pending) {
            if let Some(cell) = self.cells.last_mut() {
                cell.clear();
            }
        }
    }

    /// A cell's stream text of one name is one output, where the first of it
    /// was (as nbclient's `coalesce_streams` stores it): a table's header is
    /// not cut off from its rows by a display between them.
    fn push_stream(&mut self, name: &str, text: &str) {
        let Some(cell) = self.cells.last_mut() else {
            return;
        };
        let same = |f: &&mut Fresh| f.output["output_type"] == "stream" && f.output["name"] == name;
        if let Some(earlier) = cell.iter_mut().find(same) {
            let joined = super::notebook::multiline(&earlier.output["text"]) + text;
            earlier.output["text"] = Value::String(joined);
            return;
        }
        cell.push(Fresh {
            output: json!({"output_type": "stream", "name": name, "text": text}),
            display_id: None,
        });
    }

    /// The outputs of one cell in notebook form (text split into lines).
    pub fn cell(&self, slot: usize) -> Vec<Value> {
        self.cells
            .get(slot)
            .map(|cell| cell.iter().map(|f| stored_form(&f.output)).collect())
            .unwrap_or_default()
    }
}

fn bundle(media: &Media) -> Value {
    serde_json::to_value(media).unwrap_or_else(|_| Value::Object(Map::new()))
}

/// nbformat keeps multi-line text as a list of lines.
fn stored_form(output: &Value) -> Value {
    let mut output = output.clone();
    if let Some(text) = output.get("text").and_then(Value::as_str) {
        output["text"] = lines_value(text);
    }
    if let Some(data) = output.get_mut("data").and_then(Value::as_object_mut) {
        for (mime, value) in data.iter_mut() {
            if let (true, Some(text)) = (is_split_mime(mime), value.as_str()) {
                *value = lines_value(text);
            }
        }
    }
    output
}

#[cfg(test)]
mod tests {
    use super::*;
    use jupyter_protocol::{ClearOutput, StreamContent};

    fn stream(name: Stdio, text: &str) -> JupyterMessageContent {
        StreamContent {
            name,
            text: text.into(),
        }
        .into()
    }

    #[test]
    fn merges_streams_and_honours_clear_output() {
        let mut outputs = NotebookOutputs::default();
        let slot = outputs.start_cell();
        outputs.apply(&stream(Stdio::Stdout, "a"));
        outputs.apply(&stream(Stdio::Stdout, "b\nc\n"));
        outputs.apply(&stream(Stdio::Stderr, "e\n"));
        outputs.apply(&stream(Stdio::Stdout, "d\n"));
        assert_eq!(
            outputs.cell(slot),
            vec![
                json!({"output_type": "stream", "name": "stdout", "text": ["ab\n", "c\n", "d\n"]}),
                json!({"output_type": "stream", "name": "stderr", "text": ["e\n"]}),
            ]
        );
        outputs.apply(&ClearOutput { wait: true }.into());
        assert_eq!(outputs.cell(slot).len(), 2);
        outputs.apply(&stream(Stdio::Stdout, "x"));
        assert_eq!(
            outputs.cell(slot),
            vec![json!({"output_type": "stream", "name": "stdout", "text": ["x"]})]
        );
    }
}
