//! The message loop and session state: dispatches typed requests from shell,
//! keeps execution count and history, and publishes outputs on iopub in
//! order (busy, execute_input, outputs, reply, idle). It speaks to the
//! interpreter through [`Interpreter`] and to the client through the
//! channels of `wire`, never to sockets.

use std::collections::{HashMap, VecDeque};

use jupyter_protocol::{
    CommInfoReply, ErrorOutput, ExecuteInput, ExecuteReply, ExecuteRequest, ExecuteResult,
    ExecutionCount, HistoryReply, InputRequest, IsCompleteReply, JupyterMessage,
    JupyterMessageContent, Payload, ReplyError, ReplyStatus, Status, Transient,
};
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};

use super::control::{Control, Exit};
use super::history::History;
use super::interpreter::{ename, CellError, InputAsk, Interpreter, Outcome, Output};
use super::iopub::{publisher, Publish};
use super::replies::{
    byte_offset, complete_reply, inspect_reply, kernel_info, media, unknown_reply,
};
use super::wire::{message, Channel, Wire};
use crate::engine::source::completeness::Completeness;

/// A request counts as already queued when it is there within this time.
const QUEUED: std::time::Duration = std::time::Duration::from_millis(2);

pub struct Session<I> {
    interpreter: I,
    publish: mpsc::UnboundedSender<Publish>,
    shell: Channel,
    stdin: Channel,
    inputs: mpsc::UnboundedReceiver<InputAsk>,
    execution_count: ExecutionCount,
    history: History,
    /// Requests read while aborting, to be handled in order afterwards.
    deferred: VecDeque<JupyterMessage>,
}

/// Serves a kernel on `wire` until the shell channel closes: the iopub
/// publisher and control run beside this loop. `outputs` and `inputs` are
/// the interpreter's cell output and the cells' requests for input.
pub async fn serve<I: Interpreter>(
    interpreter: I,
    wire: Wire,
    outputs: mpsc::UnboundedReceiver<Output>,
    inputs: mpsc::UnboundedReceiver<InputAsk>,
    exit: Exit,
) {
    let (publish, publish_rx) = mpsc::unbounded_channel();
    tokio::spawn(publisher(wire.iopub, publish_rx, outputs));
    let control = Control {
        interpreter: interpreter.clone(),
        publish: publish.clone(),
        exit,
    };
    tokio::spawn(control.serve(wire.control));

    let mut session = Session {
        interpreter,
        publish,
        shell: wire.shell,
        stdin: wire.stdin,
        inputs,
        execution_count: ExecutionCount::default(),
        history: History::default(),
        deferred: VecDeque::new(),
    };
    loop {
        let message = match session.deferred.pop_front() {
            Some(message) => message,
            None => match session.shell.incoming.recv().await {
                Some(message) => message,
                None => return,
            },
        };
        session.handle(message).await;
    }
}

impl<I: Interpreter> Session<I> {
    async fn reply(&self, content: impl Into<JupyterMessageContent>, parent: &JupyterMessage) {
        if self
            .shell
            .outgoing
            .send(message(content, parent))
            .await
            .is_err()
        {
            tracing::error!("could not send a shell reply");
        }
    }

    fn status(&self, status: Status, parent: &JupyterMessage) {
        let _ = self
            .publish
            .send(Publish::Message(Box::new(status.as_child_of(parent))));
    }

    fn iopub(&self, content: impl Into<JupyterMessageContent>, parent: &JupyterMessage) {
        let _ = self
            .publish
            .send(Publish::Message(Box::new(JupyterMessage::new(
                content,
                Some(parent),
            ))));
    }

    async fn flush(&self) {
        let (done, flushed) = oneshot::channel();
        if self.publish.send(Publish::Flush(done)).is_ok() {
            let _ = flushed.await;
        }
    }

    async fn handle(&mut self, message: JupyterMessage) {
        tracing::debug!("shell: {}", message.header.msg_type);
        self.status(Status::busy(), &message);
        match &message.content {
            JupyterMessageContent::ExecuteRequest(request) => {
                let request = request.clone();
                self.execute(request, &message).await;
            }
            JupyterMessageContent::KernelInfoRequest(_) => {
                self.reply(kernel_info(), &message).await;
            }
            JupyterMessageContent::IsCompleteRequest(request) => {
                let reply = match self.interpreter.is_complete(&request.code) {
                    Completeness::Complete => IsCompleteReply::complete(),
                    Completeness::Incomplete(indent) => IsCompleteReply::incomplete(indent),
                    Completeness::Invalid => IsCompleteReply::invalid(),
                };
                self.reply(reply, &message).await;
            }
            JupyterMessageContent::CompleteRequest(request) => {
                let cursor = byte_offset(&request.code, request.cursor_pos);
                let found = self
                    .interpreter
                    .complete(request.code.clone(), cursor)
                    .await;
                self.reply(complete_reply(&request.code, cursor, found), &message)
                    .await;
            }
            JupyterMessageContent::InspectRequest(request) => {
                let cursor = byte_offset(&request.code, request.cursor_pos);
                let found = self.interpreter.inspect(request.code.clone(), cursor).await;
                self.reply(inspect_reply(found), &message).await;
            }
            JupyterMessageContent::HistoryRequest(request) => {
                let reply = HistoryReply::new(self.history.answer(request));
                self.reply(reply, &message).await;
            }
            JupyterMessageContent::CommInfoRequest(_) => {
                self.reply(CommInfoReply::default(), &message).await;
            }
            JupyterMessageContent::CommOpen(_)
            | JupyterMessageContent::CommMsg(_)
            | JupyterMessageContent::CommClose(_) => {
                // No comm targets exist; the protocol asks for no reply.
            }
            JupyterMessageContent::UnknownMessage(unknown) => {
                if let Some(reply) = unknown_reply(unknown) {
                    self.reply(reply, &message).await;
                }
            }
            other => {
                tracing::warn!("shell: ignoring {}", other.message_type());
            }
        }
        self.flush().await;
        self.status(Status::idle(), &message);
    }

    async fn execute(&mut self, request: ExecuteRequest, message: &JupyterMessage) {
        if !request.silent && request.store_history {
            self.execution_count.increment();
        }
        let count = self.execution_count;
        if !request.silent {
            self.iopub(
                ExecuteInput {
                    code: request.code.clone(),
                    execution_count: count,
                },
                message,
            );
        }
        let _ = self
            .publish
            .send(Publish::Parent(Box::new(message.clone())));

        let interpreter = self.interpreter.clone();
        let run = interpreter.execute(request.code.clone(), count.value());
        tokio::pin!(run);
        let outcome: Outcome = loop {
            tokio::select! {
                outcome = &mut run => break outcome,
                Some(ask) = self.inputs.recv() => self.answer_input(ask, request.allow_stdin, message).await,
            }
        };
        self.flush().await;
        let cleared = outcome.cleared;

        if request.store_history {
            let output = outcome
                .result
                .get("text/plain")
                .and_then(Value::as_str)
                .unwrap_or_default();
            self.history
                .push(count.value(), request.code.clone(), output.to_owned());
        }
        let payload: Vec<Payload> = outcome
            .pages
            .iter()
            .map(|data| Payload::Page {
                data: media(data.clone()),
                start: 0,
            })
            .collect();
        if !outcome.result.is_empty() && !request.silent {
            self.iopub(
                ExecuteResult {
                    execution_count: count,
                    data: media(outcome.result),
                    metadata: Map::new(),
                    transient: Some(Transient { display_id: None }),
                },
                message,
            );
        }
        let mut reply_failed = false;
        let reply = match outcome.error {
            None => ExecuteReply {
                status: ReplyStatus::Ok,
                execution_count: count,
                payload,
                user_expressions: Some(HashMap::new()),
                error: None,
            },
            Some(CellError {
                kind,
                evalue,
                traceback,
            }) => {
                reply_failed = true;
                let ename = ename(kind).to_owned();
                self.iopub(
                    ErrorOutput {
                        ename: ename.clone(),
                        evalue: evalue.clone(),
                        traceback: traceback.clone(),
                    },
                    message,
                );
                ExecuteReply {
                    status: ReplyStatus::Error,
                    execution_count: count,
                    payload: vec![],
                    user_expressions: Some(HashMap::new()),
                    error: Some(Box::new(ReplyError {
                        ename,
                        evalue,
                        traceback,
                    })),
                }
            }
        };
        self.flush().await;
        // A failed cell with `stop_on_error` aborts the execute requests queued
        // behind it (a "Run All"). They are taken before its reply goes out, so
        // a request a client sends on reading that reply is never among them.
        if reply_failed && request.stop_on_error {
            self.abort_queue().await;
        }
        self.reply(reply, message).await;
        if cleared {
            self.execution_count = ExecutionCount::default();
        }
    }

    /// Answers `aborted` to the execute requests already waiting on shell;
    /// other requests keep their turn.
    async fn abort_queue(&mut self) {
        while let Ok(Some(message)) = tokio::time::timeout(QUEUED, self.shell.incoming.recv()).await
        {
            if !matches!(message.content, JupyterMessageContent::ExecuteRequest(_)) {
                self.deferred.push_back(message);
                continue;
            }
            self.status(Status::busy(), &message);
            let reply = ExecuteReply {
                status: ReplyStatus::Aborted,
                execution_count: self.execution_count,
                payload: vec![],
                user_expressions: Some(HashMap::new()),
                error: None,
            };
            self.reply(reply, &message).await;
            self.status(Status::idle(), &message);
        }
    }

    /// Forwards a cell's request for input to the frontend on stdin.
    async fn answer_input(&mut self, ask: InputAsk, allowed: bool, parent: &JupyterMessage) {
        if !allowed {
            let _ = ask.reply.send(String::new());
            return;
        }
        let request = InputRequest {
            prompt: ask.prompt,
            password: ask.password,
        };
        if self
            .stdin
            .outgoing
            .send(message(request, parent))
            .await
            .is_err()
        {
            let _ = ask.reply.send(String::new());
            return;
        }
        loop {
            match self.stdin.incoming.recv().await {
                Some(message) => {
                    if let JupyterMessageContent::InputReply(reply) = message.content {
                        let _ = ask.reply.send(reply.value);
                        return;
                    }
                }
                None => {
                    let _ = ask.reply.send(String::new());
                    return;
                }
            }
        }
    }
}
