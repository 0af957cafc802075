//! The message loop and session state: dispatches typed requests from shell
//! and control, keeps execution count and history, and publishes outputs on
//! iopub in order (busy, execute_input, outputs, reply, idle).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use jupyter_protocol::{
    ClearOutput, CodeMirrorMode, CommInfoReply, CompleteReply, DisplayData, ErrorOutput,
    ExecuteInput, ExecuteReply, ExecuteRequest, ExecuteResult, ExecutionCount, ExecutionState,
    HelpLink, HistoryEntry, HistoryReply, HistoryRequest, InputRequest, InspectReply,
    InterruptReply, IsCompleteReply, IsCompleteReplyStatus, JupyterMessage, JupyterMessageContent,
    KernelInfoReply, LanguageInfo, Media, Payload, ReplyError, ReplyStatus, ShutdownReply, Status,
    Stdio, StreamContent, Transient, UnknownMessage, UpdateDisplayData,
};
use jupyter_zmq_client::{KernelIoPubXPubConnection, RouterRecvConnection, RouterSendConnection};
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot, Mutex};

use super::transport::{self, Rejected, Sockets};
use crate::engine::completeness::{self, Completeness};
use crate::engine::session_dir::SessionDir;
use crate::engine::{CellError, Engine, EngineChannels, InputAsk, Outcome, Output};

/// What the iopub publisher task is asked to do, in order.
enum Publish {
    Message(Box<JupyterMessage>),
    /// Later cell output belongs to this request (the most recent cell).
    Parent(Box<JupyterMessage>),
    /// Answers once every output produced so far has been published.
    Flush(oneshot::Sender<()>),
}

/// Stream output one cell may publish before the rest is dropped.
const STREAM_LIMIT: usize = 8 * 1024 * 1024;

pub struct Session {
    engine: Engine,
    publish: mpsc::UnboundedSender<Publish>,
    shell_send: Arc<Mutex<RouterSendConnection>>,
    stdin: (RouterSendConnection, RouterRecvConnection),
    inputs: mpsc::UnboundedReceiver<InputAsk>,
    execution_count: usize,
    history: Vec<HistoryItem>,
    shell_recv: RouterRecvConnection,
    /// Requests read while aborting, to be handled in order afterwards.
    deferred: std::collections::VecDeque<JupyterMessage>,
    /// Set when a cell failed with `stop_on_error`: execute requests already
    /// queued behind it (a "Run All") are aborted before the failed cell's
    /// idle status, as ipykernel does.
    abort_queued: bool,
}

/// A request counts as already queued when it is there within this time.
const QUEUED: std::time::Duration = std::time::Duration::from_millis(2);

/// One executed cell as history reports it.
struct HistoryItem {
    count: usize,
    input: String,
    /// The `text/plain` result, for `output=true` requests.
    output: String,
}

/// Runs a kernel on the given connection until shutdown.
pub async fn run(info: jupyter_protocol::ConnectionInfo) -> Result<()> {
    let session_id = uuid_like();
    let sockets = Sockets::bind(&info, &session_id).await?;
    let session_dir = Arc::new(SessionDir::create()?);
    let (engine, EngineChannels { outputs, inputs }) = Engine::start(session_dir.path())?;

    let (publish, publish_rx) = mpsc::unbounded_channel();
    tokio::spawn(publisher(sockets.iopub, publish_rx, outputs));
    tokio::spawn(transport::serve_heartbeat(sockets.heartbeat));
    watch_for_signals(engine.clone());
    watch_parent(engine.clone(), session_dir.clone());

    let shell_send = Arc::new(Mutex::new(sockets.shell.0));
    let control = Control {
        engine: engine.clone(),
        publish: publish.clone(),
        send: sockets.control.0,
        session_dir: session_dir.clone(),
    };
    tokio::spawn(control.serve(sockets.control.1));

    let mut session = Session {
        engine,
        publish,
        shell_send,
        stdin: sockets.stdin,
        inputs,
        execution_count: 0,
        history: Vec::new(),
        shell_recv: sockets.shell.1,
        deferred: Default::default(),
        abort_queued: false,
    };
    loop {
        let message = match session.deferred.pop_front() {
            Some(message) => message,
            None => match next_request(&mut session.shell_recv, "shell").await {
                Ok(message) => message,
                Err(error) => {
                    tracing::error!("shell socket failed: {error}");
                    return Ok(());
                }
            },
        };
        session.handle(message).await;
    }
}

/// The next correctly signed, well-formed message on `channel`; the others
/// are logged, once each, and dropped.
async fn next_request(
    recv: &mut RouterRecvConnection,
    channel: &str,
) -> std::result::Result<JupyterMessage, zeromq::ZmqError> {
    loop {
        match transport::receive(recv).await? {
            Ok(message) => return Ok(message),
            Err(Rejected::Signature(why)) => {
                tracing::warn!("{channel}: dropped a message with a bad signature ({why})")
            }
            Err(Rejected::Malformed(why)) => {
                tracing::warn!("{channel}: dropped a malformed message ({why})")
            }
        }
    }
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{:032x}", nanos ^ ((std::process::id() as u128) << 64))
}

impl Session {
    async fn reply(&self, content: impl Into<JupyterMessageContent>, parent: &JupyterMessage) {
        let message = transport::message(content, parent);
        if let Err(error) = self.shell_send.lock().await.send(message).await {
            tracing::error!("could not send a shell reply: {error}");
        }
    }

    fn status(&self, state: ExecutionState, parent: &JupyterMessage) {
        let status = Status {
            execution_state: state,
        };
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
        self.status(ExecutionState::Busy, &message);
        match &message.content {
            JupyterMessageContent::ExecuteRequest(request) => {
                let request = request.clone();
                self.execute(request, &message).await;
            }
            JupyterMessageContent::KernelInfoRequest(_) => {
                self.reply(kernel_info(), &message).await;
            }
            JupyterMessageContent::IsCompleteRequest(request) => {
                let reply = match completeness::check(&request.code) {
                    Completeness::Complete => {
                        IsCompleteReply::new(IsCompleteReplyStatus::Complete, String::new())
                    }
                    Completeness::Incomplete(indent) => {
                        IsCompleteReply::new(IsCompleteReplyStatus::Incomplete, indent)
                    }
                    Completeness::Invalid => {
                        IsCompleteReply::new(IsCompleteReplyStatus::Invalid, String::new())
                    }
                };
                self.reply(reply, &message).await;
            }
            JupyterMessageContent::CompleteRequest(request) => {
                let reply = self.complete(&request.code, request.cursor_pos).await;
                self.reply(reply, &message).await;
            }
            JupyterMessageContent::InspectRequest(request) => {
                let cursor = byte_offset(&request.code, request.cursor_pos);
                let found = self.engine.inspect(request.code.clone(), cursor).await;
                let reply = InspectReply {
                    found: found.is_some(),
                    data: media(
                        found
                            .map(|text| {
                                [("text/plain".to_owned(), Value::String(text))]
                                    .into_iter()
                                    .collect()
                            })
                            .unwrap_or_default(),
                    ),
                    metadata: Map::new(),
                    status: ReplyStatus::Ok,
                    error: None,
                };
                self.reply(reply, &message).await;
            }
            JupyterMessageContent::HistoryRequest(request) => {
                let reply = HistoryReply {
                    history: self.history_for(request),
                    status: ReplyStatus::Ok,
                    error: None,
                };
                self.reply(reply, &message).await;
            }
            JupyterMessageContent::CommInfoRequest(_) => {
                let reply = CommInfoReply {
                    status: ReplyStatus::Ok,
                    comms: HashMap::new(),
                    error: None,
                };
                self.reply(reply, &message).await;
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
        if std::mem::take(&mut self.abort_queued) {
            self.abort_queue().await;
        }
        self.flush().await;
        self.status(ExecutionState::Idle, &message);
    }

    async fn execute(&mut self, request: ExecuteRequest, message: &JupyterMessage) {
        if !request.silent && request.store_history {
            self.execution_count += 1;
        }
        let count = ExecutionCount(self.execution_count);
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

        let engine = self.engine.clone();
        let code = request.code.clone();
        let run = engine.execute(code, self.execution_count);
        tokio::pin!(run);
        let outcome: Outcome = loop {
            tokio::select! {
                outcome = &mut run => break outcome,
                Some(ask) = self.inputs.recv() => self.answer_input(ask, request.allow_stdin, message).await,
            }
        };
        self.flush().await;

        if request.store_history {
            let output = outcome
                .result
                .get("text/plain")
                .and_then(Value::as_str)
                .unwrap_or_default();
            self.history.push(HistoryItem {
                count: self.execution_count,
                input: request.code.clone(),
                output: output.to_owned(),
            });
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
                ename,
                evalue,
                traceback,
            }) => {
                reply_failed = true;
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
        self.reply(reply, message).await;
        if reply_failed && request.stop_on_error {
            self.abort_queued = true;
        }
    }

    /// Answers `aborted` to the execute requests already waiting on shell;
    /// other requests keep their turn.
    async fn abort_queue(&mut self) {
        while let Ok(Ok(message)) =
            tokio::time::timeout(QUEUED, next_request(&mut self.shell_recv, "shell")).await
        {
            if !matches!(message.content, JupyterMessageContent::ExecuteRequest(_)) {
                self.deferred.push_back(message);
                continue;
            }
            self.status(ExecutionState::Busy, &message);
            let reply = ExecuteReply {
                status: ReplyStatus::Aborted,
                execution_count: ExecutionCount(self.execution_count),
                payload: vec![],
                user_expressions: Some(HashMap::new()),
                error: None,
            };
            self.reply(reply, &message).await;
            self.status(ExecutionState::Idle, &message);
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
        let request = transport::message(request, parent);
        if self.stdin.0.send(request).await.is_err() {
            let _ = ask.reply.send(String::new());
            return;
        }
        loop {
            match next_request(&mut self.stdin.1, "stdin").await {
                Ok(message) => {
                    if let JupyterMessageContent::InputReply(reply) = message.content {
                        let _ = ask.reply.send(reply.value);
                        return;
                    }
                }
                Err(_) => {
                    let _ = ask.reply.send(String::new());
                    return;
                }
            }
        }
    }

    async fn complete(&self, code: &str, cursor_pos: usize) -> CompleteReply {
        let cursor = byte_offset(code, cursor_pos);
        let (matches, kinds, start, end) = match self.engine.complete(code.to_owned(), cursor).await
        {
            Some(found) => (found.matches, found.kinds, found.start, found.end),
            None => (vec![], vec![], cursor, cursor),
        };
        let (cursor_start, cursor_end) = (char_offset(code, start), char_offset(code, end));
        // JupyterLab and VS Code show each match's kind as an icon.
        let typed: Vec<Value> = matches
            .iter()
            .zip(kinds)
            .map(|(text, kind)| {
                serde_json::json!({
                    "text": text, "type": kind, "start": cursor_start, "end": cursor_end,
                })
            })
            .collect();
        let mut metadata = Map::new();
        metadata.insert("_jupyter_types_experimental".into(), typed.into());
        CompleteReply {
            matches,
            cursor_start,
            cursor_end,
            metadata,
            status: ReplyStatus::Ok,
            error: None,
        }
    }

    fn history_for(&self, request: &HistoryRequest) -> Vec<HistoryEntry> {
        let (with_output, matching): (bool, Vec<&HistoryItem>) = match request {
            HistoryRequest::Tail { n, output, .. } => {
                let skip = self.history.len().saturating_sub((*n).max(0) as usize);
                (*output, self.history[skip..].iter().collect())
            }
            HistoryRequest::Range {
                start,
                stop,
                output,
                ..
            } => {
                let within = |item: &&HistoryItem| {
                    let n = item.count as i32;
                    n >= *start && (*stop <= 0 || n < *stop)
                };
                (*output, self.history.iter().filter(within).collect())
            }
            HistoryRequest::Search {
                pattern,
                unique,
                n,
                output,
                ..
            } => {
                let mut found: Vec<&HistoryItem> = self
                    .history
                    .iter()
                    .filter(|item| glob_match(pattern, &item.input))
                    .collect();
                if *unique {
                    // Keep the latest run of each distinct input.
                    let mut seen = std::collections::HashSet::new();
                    found.reverse();
                    found.retain(|item| seen.insert(item.input.as_str()));
                    found.reverse();
                }
                let skip = if *n > 0 {
                    found.len().saturating_sub(*n as usize)
                } else {
                    0
                };
                (*output, found.split_off(skip))
            }
        };
        matching
            .into_iter()
            .map(|item| {
                if with_output {
                    HistoryEntry::InputOutput(
                        SESSION_NUMBER,
                        item.count,
                        (item.input.clone(), item.output.clone()),
                    )
                } else {
                    HistoryEntry::Input(SESSION_NUMBER, item.count, item.input.clone())
                }
            })
            .collect()
    }
}

/// History numbers sessions; a kernel process holds exactly one.
const SESSION_NUMBER: usize = 1;

/// `*` and `?` wildcards, as IPython's history search uses.
fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        // A `*` in the pattern is always a wildcard, even where the text
        // holds a `*` too.
        if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// A reply for a request type this kernel does not know, where the protocol
/// names one (`x_request` → `x_reply`).
fn unknown_reply(unknown: &UnknownMessage) -> Option<JupyterMessageContent> {
    let base = unknown.msg_type.strip_suffix("_request")?;
    Some(JupyterMessageContent::UnknownMessage(UnknownMessage {
        msg_type: format!("{base}_reply"),
        content: serde_json::json!({
            "status": "error",
            "ename": "UnknownRequest",
            "evalue": format!("asyncbook does not handle {}", unknown.msg_type),
            "traceback": [],
        }),
    }))
}

fn media(data: Map<String, Value>) -> Media {
    serde_json::from_value(Value::Object(data)).unwrap_or_default()
}

/// Jupyter counts cursor positions in code points; evcxr in bytes.
fn byte_offset(code: &str, chars: usize) -> usize {
    code.char_indices()
        .nth(chars)
        .map(|(i, _)| i)
        .unwrap_or(code.len())
}

fn char_offset(code: &str, bytes: usize) -> usize {
    code.get(..bytes.min(code.len()))
        .map(|s| s.chars().count())
        .unwrap_or(0)
}

/// The kernel_info reply. Protocol 5.5 lists optional features in
/// `supported_features` (this kernel has none: no debugger, no subshells),
/// a field the protocol crate's type does not carry yet.
pub fn kernel_info() -> JupyterMessageContent {
    let mut content = serde_json::to_value(kernel_info_fields()).unwrap_or_default();
    content["supported_features"] = Value::Array(Vec::new());
    JupyterMessageContent::UnknownMessage(UnknownMessage {
        msg_type: "kernel_info_reply".into(),
        content,
    })
}

fn kernel_info_fields() -> KernelInfoReply {
    KernelInfoReply {
        status: ReplyStatus::Ok,
        protocol_version: transport::PROTOCOL_VERSION.into(),
        implementation: "asyncbook".into(),
        implementation_version: env!("CARGO_PKG_VERSION").into(),
        language_info: LanguageInfo {
            name: "rust".into(),
            version: rustc_version(),
            mimetype: Some("text/rust".into()),
            file_extension: Some(".rs".into()),
            pygments_lexer: Some("rust".into()),
            codemirror_mode: Some(CodeMirrorMode::Simple("rust".into())),
            nbconvert_exporter: Some("rust".into()),
        },
        banner: "Asyncbook: async Rust cells on one shared tokio runtime".into(),
        help_links: vec![HelpLink {
            text: "tokio".into(),
            url: "https://docs.rs/tokio".into(),
        }],
        debugger: false,
        error: None,
    }
}

fn rustc_version() -> String {
    static VERSION: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    VERSION
        .get_or_init(|| {
            std::process::Command::new("rustc")
                .arg("--version")
                .output()
                .ok()
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .and_then(|v| v.split_whitespace().nth(1).map(str::to_owned))
                .unwrap_or_else(|| "unknown".into())
        })
        .clone()
}

/// Control channel: answered even while a cell runs.
struct Control {
    engine: Engine,
    publish: mpsc::UnboundedSender<Publish>,
    send: RouterSendConnection,
    session_dir: Arc<SessionDir>,
}

impl Control {
    async fn serve(mut self, mut recv: RouterRecvConnection) {
        loop {
            let Ok(message) = next_request(&mut recv, "control").await else {
                return;
            };
            let status = |state| {
                let status = Status {
                    execution_state: state,
                };
                Publish::Message(Box::new(status.as_child_of(&message)))
            };
            let _ = self.publish.send(status(ExecutionState::Busy));
            let reply: Option<JupyterMessageContent> = match &message.content {
                JupyterMessageContent::KernelInfoRequest(_) => Some(kernel_info()),
                JupyterMessageContent::InterruptRequest(_) => {
                    self.engine.interrupt();
                    Some(
                        InterruptReply {
                            status: ReplyStatus::Ok,
                            error: None,
                        }
                        .into(),
                    )
                }
                JupyterMessageContent::ShutdownRequest(request) => {
                    let reply = ShutdownReply {
                        restart: request.restart,
                        status: ReplyStatus::Ok,
                        error: None,
                    };
                    let _ = self.send.send(transport::message(reply, &message)).await;
                    let _ = self.publish.send(status(ExecutionState::Idle));
                    let (done, flushed) = oneshot::channel();
                    let _ = self.publish.send(Publish::Flush(done));
                    let _ = flushed.await;
                    shut_down(&self.engine, &self.session_dir);
                }
                JupyterMessageContent::UnknownMessage(unknown) => unknown_reply(unknown),
                other => {
                    tracing::warn!("control: ignoring {}", other.message_type());
                    None
                }
            };
            if let Some(reply) = reply {
                let _ = self.send.send(transport::message(reply, &message)).await;
            }
            let _ = self.publish.send(status(ExecutionState::Idle));
        }
    }
}

/// Ends the cell process, removes the session's build folder, exits.
fn shut_down(engine: &Engine, session_dir: &SessionDir) -> ! {
    engine.kill_cell_process();
    session_dir.remove();
    std::process::exit(0);
}

/// SIGINT (sent by jupyter_client in signal mode, and before restarts)
/// interrupts the running cell instead of ending the kernel.
fn watch_for_signals(engine: Engine) {
    tokio::spawn(async move {
        let Ok(mut interrupts) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        else {
            return;
        };
        while interrupts.recv().await.is_some() {
            engine.interrupt();
        }
    });
}

/// Exits when the process that started the kernel is gone, as ipykernel does.
fn watch_parent(engine: Engine, session_dir: Arc<SessionDir>) {
    let parent = std::env::var("JPY_PARENT_PID")
        .ok()
        .and_then(|pid| pid.parse::<i32>().ok())
        // SAFETY: getppid has no preconditions.
        .unwrap_or_else(|| unsafe { libc::getppid() });
    if parent <= 1 {
        return;
    }
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            // SAFETY: signal 0 only checks that the process exists.
            let alive = unsafe { libc::kill(parent, 0) } == 0
                || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
            // SAFETY: as above.
            let orphaned =
                unsafe { libc::getppid() } != parent && std::env::var("JPY_PARENT_PID").is_err();
            if !alive || orphaned {
                shut_down(&engine, &session_dir);
            }
        }
    });
}

/// Owns the iopub socket: publishes status and replies' side messages, cell
/// output under the most recent cell, and iopub_welcome to new subscribers.
async fn publisher(
    mut iopub: KernelIoPubXPubConnection,
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
                    Publish::Message(message) => { let _ = transport::publish(&mut iopub, *message).await; }
                    Publish::Parent(parent) => state.start_cell(*parent),
                    Publish::Flush(done) => {
                        while let Ok(output) = outputs.try_recv() {
                            state.publish(&mut iopub, output).await;
                        }
                        let _ = done.send(());
                    }
                }
            }
            Some(output) = outputs.recv() => state.publish(&mut iopub, output).await,
            event = iopub.recv_subscription() => {
                if let Ok(jupyter_zmq_client::SubscriptionEvent::Subscribe(topic)) = event {
                    let welcome = jupyter_protocol::IoPubWelcome { subscription: topic };
                    let _ = transport::publish(&mut iopub, JupyterMessage::new(welcome, None)).await;
                }
            }
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

    async fn publish(&mut self, iopub: &mut KernelIoPubXPubConnection, output: Output) {
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
        let _ = transport::publish(iopub, message).await;
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

pub fn connection_info(path: &PathBuf) -> Result<jupyter_protocol::ConnectionInfo> {
    let text = std::fs::read_to_string(path)?;
    Ok(serde_json::from_str(&text)?)
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn wildcards_match_as_in_ipython_history_search() {
        for (pattern, text, matches) in [
            ("6 *", "6 * 7", true),
            ("*", "", true),
            ("6*7", "6 * 7", true),
            ("6 ? 7", "6 * 7", true),
            ("6 ? 7", "6 ?? 7", false),
            ("?", "?", true),
            ("a*b*c", "a*xb*yc", true),
            ("a*b*c", "a*xb*y", false),
            ("let x*", "let y = 1", false),
            ("*é", "café", true),
        ] {
            assert_eq!(
                glob_match(pattern, text),
                matches,
                "{pattern:?} on {text:?}"
            );
        }
    }
}
