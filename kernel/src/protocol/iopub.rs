//! The iopub publisher: the one owner of iopub's outgoing order. It sends
//! status and side messages as the session asks, cell output under the most
//! recent cell, and answers a flush once everything before it has gone out.

use jupyter_protocol::{
    ClearOutput, DisplayData, JupyterMessage, JupyterMessageContent, Stdio, StreamContent,
    Transient, UpdateDisplayData,
};
use serde_json::Map;
use tokio::sync::{mpsc, oneshot};

use super::interpreter::Output;
use super::replies::media;
use super::wire::Outbound;

/// What the iopub publisher task is asked to do, in order.
pub enum Publish {
    Message(Box<JupyterMessage>),
    /// Later cell output belongs to this request (the most recent cell).
    Parent(Box<JupyterMessage>),
    /// Answers once every output produced so far has been published.
    Flush(oneshot::Sender<()>),
}

/// Stream output one cell may publish before the rest is dropped.
const STREAM_LIMIT: usize = 8 * 1024 * 1024;

/// Publishes status and replies' side messages, and cell output under the
/// most recent cell, until the session is gone.
pub async fn publisher(
    iopub: Outbound,
    mut requests: mpsc::UnboundedReceiver<Publish>,
    mut outputs: mpsc::UnboundedReceiver<Output>,
) {
    let mut state = OutputState::default();
    loop {
        tokio::select! {
            biased;
            request = requests.recv() => {
                let Some(request) = request else { return };
                match request {
                    Publish::Message(message) => { let _ = iopub.send(*message).await; }
                    Publish::Parent(parent) => state.start_cell(*parent),
                    Publish::Flush(done) => {
                        while let Ok(output) = outputs.try_recv() {
                            state.publish(&iopub, output).await;
                        }
                        let _ = done.send(());
                    }
                }
            }
            Some(output) = outputs.recv() => state.publish(&iopub, output).await,
        }
    }
}

#[derive(Default)]
struct OutputState {
    parent: Option<JupyterMessage>,
    stream_bytes: usize,
    truncated: bool,
}

impl OutputState {
    fn start_cell(&mut self, parent: JupyterMessage) {
        self.parent = Some(parent);
        self.stream_bytes = 0;
        self.truncated = false;
    }

    async fn publish(&mut self, iopub: &Outbound, output: Output) {
        if self.parent.is_none() {
            // Output before any cell ran (engine warm-up) has no cell to go to.
            tracing::debug!("output before the first cell: {output:?}");
            return;
        }
        let content: JupyterMessageContent = match output {
            Output::Stdout(text) | Output::Stderr(text) if self.truncated => {
                let _ = text;
                return;
            }
            Output::Stdout(text) => self.stream(Stdio::Stdout, text),
            Output::Stderr(text) => self.stream(Stdio::Stderr, text),
            Output::Display { data, display_id } => DisplayData {
                data: media(data),
                metadata: Map::new(),
                transient: display_id.map(|id| Transient {
                    display_id: Some(id),
                }),
            }
            .into(),
            Output::Update { data, display_id } => UpdateDisplayData {
                data: media(data),
                metadata: Map::new(),
                transient: Transient {
                    display_id: Some(display_id),
                },
            }
            .into(),
            Output::Clear { wait } => ClearOutput { wait }.into(),
        };
        let message = JupyterMessage::new(content, self.parent.as_ref());
        let _ = iopub.send(message).await;
    }

    fn stream(&mut self, name: Stdio, mut text: String) -> JupyterMessageContent {
        self.stream_bytes += text.len();
        if self.stream_bytes > STREAM_LIMIT {
            self.truncated = true;
            let keep = text.len().saturating_sub(self.stream_bytes - STREAM_LIMIT);
            let keep = (0..=keep)
                .rev()
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(0);
            text.truncate(keep);
            text.push_str(&format!(
                "\n[asyncbook: output truncated after {} MB; the cell keeps running]\n",
                STREAM_LIMIT / (1024 * 1024)
            ));
        }
        StreamContent { name, text }.into()
    }
}
