//! What the kernel sent, as the tests read it: one message, and everything
//! one execute request produced.

use jupyter_zmq_client::RawMessage;
use serde_json::Value;

/// One message as sent over the wire.
#[derive(Clone, Debug)]
pub struct Msg {
    pub header: Value,
    pub parent: Value,
    pub metadata: Value,
    pub content: Value,
}

impl Msg {
    pub(super) fn from_raw(raw: RawMessage) -> Msg {
        let part = |i: usize| serde_json::from_slice(&raw.jparts[i]).expect("a JSON frame");
        Msg {
            header: part(0),
            parent: part(1),
            metadata: part(2),
            content: part(3),
        }
    }

    pub fn msg_type(&self) -> &str {
        self.header["msg_type"].as_str().unwrap_or_default()
    }

    pub fn parent_id(&self) -> Option<&str> {
        self.parent["msg_id"].as_str()
    }

    /// `status` messages: the execution state.
    pub fn state(&self) -> Option<&str> {
        (self.msg_type() == "status")
            .then(|| self.content["execution_state"].as_str())
            .flatten()
    }
}

/// Everything one execute request produced.
#[derive(Clone)]
pub struct ExecResult {
    pub code: String,
    pub request_id: String,
    pub reply: Msg,
    /// iopub messages whose parent is the request, in arrival order.
    pub iopub: Vec<Msg>,
}

impl ExecResult {
    pub fn status(&self) -> &str {
        self.reply.content["status"].as_str().unwrap_or_default()
    }

    pub fn count(&self) -> u64 {
        self.reply.content["execution_count"]
            .as_u64()
            .expect("execution_count in execute_reply")
    }

    pub fn types(&self) -> Vec<&str> {
        self.iopub.iter().map(Msg::msg_type).collect()
    }

    /// The cell's outputs: everything but status and execute_input.
    pub fn outputs(&self) -> impl Iterator<Item = &Msg> {
        self.iopub
            .iter()
            .filter(|m| !matches!(m.msg_type(), "status" | "execute_input"))
    }

    pub fn of_type(&self, msg_type: &str) -> Vec<&Msg> {
        self.iopub
            .iter()
            .filter(|m| m.msg_type() == msg_type)
            .collect()
    }

    fn stream(&self, name: &str) -> String {
        self.of_type("stream")
            .iter()
            .filter(|m| m.content["name"] == name)
            .filter_map(|m| m.content["text"].as_str())
            .collect()
    }

    pub fn stdout(&self) -> String {
        self.stream("stdout")
    }

    pub fn stderr(&self) -> String {
        self.stream("stderr")
    }

    /// `text/plain` of the execute_result, if any.
    pub fn result(&self) -> Option<String> {
        self.of_type("execute_result")
            .first()
            .and_then(|m| m.content["data"]["text/plain"].as_str())
            .map(str::to_owned)
    }

    /// The error output's ename, evalue and traceback as one text.
    pub fn error_text(&self) -> String {
        self.of_type("error")
            .iter()
            .map(|m| {
                let traceback: Vec<&str> = m.content["traceback"]
                    .as_array()
                    .map(|t| t.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                format!(
                    "{}: {}\n{}",
                    m.content["ename"].as_str().unwrap_or_default(),
                    m.content["evalue"].as_str().unwrap_or_default(),
                    traceback.join("\n")
                )
            })
            .collect()
    }

    /// Everything the user would see: streams and error text.
    pub fn shown(&self) -> String {
        format!("{}{}{}", self.stdout(), self.stderr(), self.error_text())
    }

    /// Panics with the whole exchange unless the cell succeeded.
    pub fn ok(self) -> Self {
        assert_eq!(self.status(), "ok", "cell failed: {self:?}");
        self
    }

    /// Panics with the whole exchange unless the cell failed.
    pub fn failed(self) -> Self {
        assert_eq!(self.status(), "error", "cell should fail: {self:?}");
        self
    }
}

impl std::fmt::Debug for ExecResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "\n--- cell:\n{}", self.code)?;
        writeln!(f, "--- reply: {}", self.reply.content)?;
        for m in &self.iopub {
            writeln!(f, "--- {}: {}", m.msg_type(), m.content)?;
        }
        Ok(())
    }
}
