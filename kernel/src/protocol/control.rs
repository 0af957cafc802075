//! The control channel: kernel_info, interrupt and shutdown, answered even
//! while a cell runs.

use std::sync::Arc;

use jupyter_protocol::{InterruptReply, JupyterMessageContent, ShutdownReply, Status};
use tokio::sync::{mpsc, oneshot};

use super::interpreter::Interpreter;
use super::iopub::Publish;
use super::replies::{kernel_info, unknown_reply};
use super::wire::{message, Channel};

/// Ends the kernel (shutdown request, parent gone): stops the interpreter,
/// removes the session's folder and exits the process.
pub type Exit = Arc<dyn Fn() + Send + Sync>;

pub struct Control<I> {
    pub interpreter: I,
    pub publish: mpsc::UnboundedSender<Publish>,
    pub exit: Exit,
}

impl<I: Interpreter> Control<I> {
    pub async fn serve(self, mut channel: Channel) {
        while let Some(request) = channel.incoming.recv().await {
            let status = |status: Status| Publish::Message(Box::new(status.as_child_of(&request)));
            let _ = self.publish.send(status(Status::busy()));
            let reply: Option<JupyterMessageContent> = match &request.content {
                JupyterMessageContent::KernelInfoRequest(_) => Some(kernel_info()),
                JupyterMessageContent::InterruptRequest(_) => {
                    self.interpreter.interrupt();
                    Some(InterruptReply::new().into())
                }
                JupyterMessageContent::ShutdownRequest(shutdown) => {
                    let reply = ShutdownReply {
                        restart: shutdown.restart,
                        ..ShutdownReply::default()
                    };
                    let _ = channel.outgoing.send(message(reply, &request)).await;
                    let _ = self.publish.send(status(Status::idle()));
                    self.flush().await;
                    (self.exit)();
                    return;
                }
                JupyterMessageContent::UnknownMessage(unknown) => unknown_reply(unknown),
                other => {
                    tracing::warn!("control: ignoring {}", other.message_type());
                    None
                }
            };
            if let Some(reply) = reply {
                let _ = channel.outgoing.send(message(reply, &request)).await;
            }
            let _ = self.publish.send(status(Status::idle()));
        }
    }

    async fn flush(&self) {
        let (done, flushed) = oneshot::channel();
        if self.publish.send(Publish::Flush(done)).is_ok() {
            let _ = flushed.await;
        }
    }
}
