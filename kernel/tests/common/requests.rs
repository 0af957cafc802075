//! Requests that wait for their answers: any shell or control request,
//! and cells, run to the end or until they print a marker.

use std::time::Duration;

use serde_json::{json, Value};

use super::{ExecResult, Kernel, Msg, ANSWER, WARM_UP};

impl Kernel {
    /// Sends a shell request and returns its reply and its iopub messages.
    pub async fn request(&mut self, msg_type: &str, content: Value) -> (Msg, Vec<Msg>) {
        let id = self.send_shell(msg_type, content).await;
        let reply = self.shell_reply(&id, ANSWER).await;
        let iopub = self.iopub_until_idle(&id, ANSWER).await;
        (reply, iopub)
    }

    pub async fn control(&mut self, msg_type: &str, content: Value) -> Msg {
        let id = self.send_control(msg_type, content).await;
        self.control_reply(&id, ANSWER).await
    }

    /// Sends an execute_request; collect its outcome with [`Kernel::finish`].
    pub async fn submit(&mut self, code: &str, allow_stdin: bool) -> String {
        let content = json!({
            "code": code,
            "silent": false,
            "store_history": true,
            "user_expressions": {},
            "allow_stdin": allow_stdin,
            "stop_on_error": true,
        });
        self.send_shell("execute_request", content).await
    }

    pub async fn finish(&mut self, code: &str, id: &str, wait: Duration) -> ExecResult {
        let iopub = self.iopub_until_idle(id, wait).await;
        let reply = self.shell_reply(id, ANSWER).await;
        ExecResult {
            code: code.to_owned(),
            request_id: id.to_owned(),
            reply,
            iopub,
        }
    }

    /// Runs one cell and returns all it produced.
    pub async fn execute(&mut self, code: &str) -> ExecResult {
        let id = self.submit(code, false).await;
        self.finish(code, &id, WARM_UP).await
    }

    /// Submits a cell and waits until it printed `marker` (so it is running).
    /// Messages read before the marker are kept as strays.
    pub async fn start_cell(&mut self, code: &str, marker: &str) -> String {
        let id = self.submit(code, false).await;
        let printed = self
            .wait_iopub(WARM_UP, |m| {
                m.parent_id() == Some(id.as_str())
                    && ((m.msg_type() == "stream"
                        && m.content["text"]
                            .as_str()
                            .is_some_and(|t| t.contains(marker)))
                        || m.state() == Some("idle"))
            })
            .await;
        match printed {
            Some(message) if message.state() != Some("idle") => id,
            _ => {
                let seen: Vec<String> = self
                    .strays
                    .iter()
                    .filter(|m| m.parent_id() == Some(id.as_str()))
                    .map(|m| format!("{}: {}", m.msg_type(), m.content))
                    .collect();
                panic!("the cell ended or hung before printing {marker:?}: {seen:#?}")
            }
        }
    }

    /// Runs one cell that must succeed.
    pub async fn run(&mut self, code: &str) -> ExecResult {
        self.execute(code).await.ok()
    }
}
