//! A fake interpreter and a harness that plays the client on the session's
//! channels, noting everything the session sends in the order it went out.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jupyter_protocol::{ExecuteRequest, JupyterMessage, JupyterMessageContent};
use serde_json::{Map, Value};
use tokio::sync::{mpsc, Notify};

use crate::engine::source::completeness::Completeness;
use crate::protocol::control::Exit;
use crate::protocol::interpreter::{
    CellError, CellErrorKind, Completion, InputAsk, Interpreter, Outcome, Output,
};
use crate::protocol::session::serve;
use crate::protocol::wire::{wire, ChannelEnd, OutboundEnd, WireEnds};

#[derive(Clone)]
pub struct Fake(pub Arc<FakeState>);

pub struct FakeState {
    pub outputs: mpsc::UnboundedSender<Output>,
    pub inputs: mpsc::UnboundedSender<InputAsk>,
    pub interrupt: Notify,
    pub interrupts: AtomicUsize,
    /// Each executed cell's code and execution count.
    pub executed: Mutex<Vec<(String, usize)>>,
}

pub fn text(value: &str) -> Map<String, Value> {
    [("text/plain".to_owned(), Value::String(value.to_owned()))]
        .into_iter()
        .collect()
}

impl Fake {
    async fn run(self, code: String, count: usize) -> Outcome {
        self.0.executed.lock().unwrap().push((code.clone(), count));
        let (verb, rest) = code.split_once(' ').unwrap_or((&code, ""));
        let rest = rest.to_owned();
        let failed = |kind, evalue: &str| Outcome {
            error: Some(CellError {
                kind,
                evalue: evalue.to_owned(),
                traceback: vec![evalue.to_owned()],
            }),
            ..Outcome::default()
        };
        match verb {
            "print" => {
                let _ = self.0.outputs.send(Output::Stdout(rest));
                Outcome::default()
            }
            "value" => Outcome {
                result: text(&rest),
                ..Outcome::default()
            },
            "fail" => match rest.as_str() {
                "compile" => failed(CellErrorKind::CompileError, "expected `;`"),
                _ => failed(CellErrorKind::Panic, "boom"),
            },
            "input" => {
                let (reply, answer) = std::sync::mpsc::channel();
                let ask = InputAsk {
                    prompt: rest,
                    password: false,
                    reply,
                };
                let _ = self.0.inputs.send(ask);
                let answer = tokio::task::spawn_blocking(move || answer.recv())
                    .await
                    .unwrap()
                    .unwrap_or_default();
                Outcome {
                    result: text(&answer),
                    ..Outcome::default()
                }
            }
            "wait" => {
                self.0.interrupt.notified().await;
                failed(CellErrorKind::Interrupted, "interrupted")
            }
            _ => Outcome::default(),
        }
    }
}

impl Interpreter for Fake {
    fn execute(
        &self,
        code: String,
        count: usize,
    ) -> impl std::future::Future<Output = Outcome> + Send {
        self.clone().run(code, count)
    }

    async fn complete(&self, code: String, cursor: usize) -> Option<Completion> {
        Some(Completion {
            matches: vec![format!("{}_done", &code[..cursor])],
            kinds: vec!["function"],
            start: 0,
            end: cursor,
        })
    }

    async fn inspect(&self, code: String, _cursor: usize) -> Option<String> {
        Some(format!("about {code}"))
    }

    fn is_complete(&self, code: &str) -> Completeness {
        if code.ends_with('{') {
            Completeness::Incomplete("    ".into())
        } else {
            Completeness::Complete
        }
    }

    fn interrupt(&self) {
        self.0.interrupts.fetch_add(1, Ordering::SeqCst);
        self.0.interrupt.notify_one();
    }
}

/// One message the session sent, in the order the channels took them.
#[derive(Debug, Clone)]
pub struct Sent {
    pub channel: &'static str,
    pub msg_type: String,
    /// The msg_id of the request it answers.
    pub parent: String,
    pub content: Value,
}

pub type Log = Arc<Mutex<Vec<Sent>>>;

pub struct Kernel {
    pub fake: Fake,
    pub shell: mpsc::Sender<JupyterMessage>,
    pub control: mpsc::Sender<JupyterMessage>,
    pub stdin: mpsc::Sender<JupyterMessage>,
    pub log: Log,
}

/// Takes what the session sends on one channel, notes it and tells the
/// session it went out.
pub fn take(channel: &'static str, mut outgoing: OutboundEnd, log: Log) {
    tokio::spawn(async move {
        while let Some((message, sent)) = outgoing.recv().await {
            log.lock().unwrap().push(Sent {
                channel,
                msg_type: message.header.msg_type.clone(),
                parent: message
                    .parent_header
                    .as_ref()
                    .map(|h| h.msg_id.clone())
                    .unwrap_or_default(),
                content: serde_json::to_value(&message.content).unwrap(),
            });
            let _ = sent.send(true);
        }
    });
}

pub fn start() -> Kernel {
    let (outputs_send, outputs) = mpsc::unbounded_channel();
    let (inputs_send, inputs) = mpsc::unbounded_channel();
    let fake = Fake(Arc::new(FakeState {
        outputs: outputs_send,
        inputs: inputs_send,
        interrupt: Notify::new(),
        interrupts: AtomicUsize::new(0),
        executed: Mutex::new(Vec::new()),
    }));
    let (wire, ends) = wire();
    let WireEnds {
        shell,
        control,
        stdin,
        iopub,
    } = ends;
    let log = Log::default();
    let incoming = |end: ChannelEnd, name| {
        take(name, end.outgoing, log.clone());
        end.incoming
    };
    let (shell, control, stdin) = (
        incoming(shell, "shell"),
        incoming(control, "control"),
        incoming(stdin, "stdin"),
    );
    take("iopub", iopub, log.clone());
    let exit: Exit = Arc::new(|| panic!("the tests never shut the kernel down"));
    tokio::spawn(serve(fake.clone(), wire, outputs, inputs, exit));
    Kernel {
        fake,
        shell,
        control,
        stdin,
        log,
    }
}

pub fn execute(code: &str) -> ExecuteRequest {
    ExecuteRequest {
        code: code.into(),
        silent: false,
        store_history: true,
        user_expressions: None,
        allow_stdin: true,
        stop_on_error: true,
    }
}

impl Kernel {
    /// Queues `content` on shell without giving the session a turn, so
    /// several requests can be waiting at once; their msg_id.
    pub fn queue(&self, content: impl Into<JupyterMessageContent>) -> String {
        let message = JupyterMessage::new(content, None);
        let id = message.header.msg_id.clone();
        self.shell.try_send(message).unwrap();
        id
    }

    /// What the session sent about request `id`, once it is idle again.
    pub async fn answered(&self, id: &str) -> Vec<Sent> {
        self.until(|sent| sent.iter().any(|s| s.parent == id && is_idle(s)))
            .await;
        self.about(id)
    }

    pub fn about(&self, id: &str) -> Vec<Sent> {
        let log = self.log.lock().unwrap();
        log.iter().filter(|s| s.parent == id).cloned().collect()
    }

    pub async fn until(&self, done: impl Fn(&[Sent]) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !done(&self.log.lock().unwrap()) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out; sent so far: {:#?}",
                self.log.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    pub async fn run(&self, request: ExecuteRequest) -> Vec<Sent> {
        let id = self.queue(request);
        self.answered(&id).await
    }
}

pub fn is_idle(sent: &Sent) -> bool {
    sent.msg_type == "status" && sent.content["execution_state"] == "idle"
}

/// Each message as `channel:type`, statuses as `status:state`.
pub fn shape(sent: &[Sent]) -> Vec<String> {
    sent.iter()
        .map(|s| match s.content["execution_state"].as_str() {
            Some(state) => format!("{}:status:{state}", s.channel),
            None => format!("{}:{}", s.channel, s.msg_type),
        })
        .collect()
}

/// A request answered without output: busy then idle on iopub, and the
/// reply before the idle. (The busy status is not flushed before the reply,
/// so across channels the reply may come first; only execute requests
/// flush their iopub messages before replying.)
pub fn assert_brackets(sent: &[Sent], reply: &str) {
    let shape = shape(sent);
    let iopub: Vec<&String> = shape.iter().filter(|s| s.starts_with("iopub:")).collect();
    assert_eq!(
        iopub,
        ["iopub:status:busy", "iopub:status:idle"],
        "{shape:?}"
    );
    let at = |wanted: &str| shape.iter().position(|s| s == wanted);
    assert!(at(reply).is_some(), "no {reply} in {shape:?}");
    assert!(at(reply) < at("iopub:status:idle"), "{shape:?}");
    assert_eq!(shape.len(), 3, "{shape:?}");
}

pub fn find<'a>(sent: &'a [Sent], msg_type: &str) -> &'a Sent {
    sent.iter()
        .find(|s| s.msg_type == msg_type)
        .unwrap_or_else(|| panic!("no {msg_type} in {sent:#?}"))
}
