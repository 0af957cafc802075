//! The evcxr engine on its own thread, driven by a request enum with oneshot
//! replies, so the message loop, control and heartbeat never block on a cell.

use std::borrow::Cow;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{mpsc as std_mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use evcxr::{CommandContext, EvalCallbacks, EvalContext};
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};

pub mod cell_build;
pub mod cell_compile;
mod cell_error;
pub mod cell_link;
mod cell_source;
mod commands;
pub mod completeness;
mod diagnostics;
mod frames;
pub mod relay;
mod rustc_command;
pub mod session_dir;
mod std_sources;
mod type_probe;
mod unnameable;
mod warnings;

pub use cell_error::CellErrorKind;
use cell_link::CellLibrary;
use frames::{read_frame, Frame};
use warnings::Warnings;

/// Output of cells, in the order it was produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Stdout(String),
    Stderr(String),
    Display {
        data: Map<String, Value>,
        display_id: Option<String>,
    },
    Update {
        data: Map<String, Value>,
        display_id: String,
    },
    Clear {
        wait: bool,
    },
}

/// What became of one executed cell.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The value of the cell's trailing expression, by MIME type.
    pub result: Map<String, Value>,
    pub error: Option<CellError>,
    /// Texts for the pager (`asyncbook::display::page`), by MIME type.
    pub pages: Vec<Map<String, Value>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CellError {
    pub kind: CellErrorKind,
    pub evalue: String,
    pub traceback: Vec<String>,
}

impl Outcome {
    fn failed(error: CellError) -> Self {
        Outcome {
            error: Some(error),
            ..Outcome::default()
        }
    }
}

impl CellError {
    fn new(kind: CellErrorKind, evalue: impl Into<String>, traceback: Vec<String>) -> Self {
        Self {
            kind,
            evalue: evalue.into(),
            traceback,
        }
    }

    /// An error whose traceback is its message.
    fn plain(kind: CellErrorKind, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(kind, message.clone(), vec![message])
    }
}

/// Locks `mutex`, also after a panic elsewhere poisoned it: the data behind
/// these locks (a message, a list of pages) stays valid either way.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// A request for input from a running cell; the answer goes back on `reply`.
#[derive(Debug)]
pub struct InputAsk {
    pub prompt: String,
    pub password: bool,
    pub reply: std_mpsc::Sender<String>,
}

type EvalResult = Result<evcxr::EvalOutputs, evcxr::Error>;

/// The variable evcxr refused to store, if that is why `result` failed
/// (evcxr says so in a plain message, before compiling).
fn refused(result: &EvalResult) -> Option<unnameable::Unpersistable> {
    match result {
        Err(evcxr::Error::Message(message)) => unnameable::unpersistable(message),
        _ => None,
    }
}

/// evcxr's refusal to store a variable, after every box was tried, said
/// in the kernel's words: evcxr's own advice (a `Box<dyn Debug>`) is what
/// the kernel already tried.
fn with_unboxable_explained(result: EvalResult) -> EvalResult {
    let Some(what) = refused(&result) else {
        return result;
    };
    let variable = &what.variable;
    let kind = match &what.shown_type {
        // `'_`: a borrow of something the cell made, which ends with it.
        Some(shown) if shown.contains("'_") => {
            return Err(evcxr::Error::Message(format!(
                "The variable `{variable}` cannot be kept for later cells: its type, `{shown}`, \
                 borrows from another value (the `'_`), and a value kept between cells must own \
                 its data.\nCollect what you need into an owned value (`.collect::<Vec<_>>()`, \
                 `.to_owned()`), or wrap the cell in braces to keep the value inside it."
            )));
        }
        Some(shown) => format!("has type `{shown}`, which has no name in Rust"),
        None => "is a closure, whose type has no name in Rust".to_owned(),
    };
    Err(evcxr::Error::Message(format!(
        "The variable `{variable}` {kind}, so it cannot be kept for later cells as it is.\n\
         The kernel keeps such values boxed as a future, a stream, an iterator or a closure, and \
         `{variable}` is none of those (or its box would not compile).\n\
         Give it a type you can name, such as `let {variable}: Box<dyn YourTrait> = Box::new(..);`, \
         or wrap the cell in braces to keep the value inside it."
    )))
}

/// Variables of one cell the kernel may type by asking rustc (see
/// `type_probe`); each costs a compilation that runs nothing.
const TYPING_TRIES: usize = 8;

/// Compilations the kernel may spend boxing a cell's unnameable values: each
/// try fails before anything runs, and a few variables with a few shapes
/// each stay well within this.
const BOXING_TRIES: usize = 24;

pub struct Completion {
    pub matches: Vec<String>,
    /// The kind of each match (`function`, `class`, `module`...), as the
    /// frontends' icons name them.
    pub kinds: Vec<&'static str>,
    /// Byte offsets into the code.
    pub start: usize,
    pub end: usize,
}

enum Request {
    Execute {
        code: String,
        /// The execution count shown beside the cell.
        cell: usize,
        reply: oneshot::Sender<Outcome>,
    },
    Complete {
        code: String,
        cursor: usize,
        reply: oneshot::Sender<Completion>,
    },
    Inspect {
        code: String,
        cursor: usize,
        reply: oneshot::Sender<Option<String>>,
    },
}

/// Cheap handle to the engine thread.
#[derive(Clone)]
pub struct Engine {
    requests: std_mpsc::Sender<Request>,
    shared: Arc<Shared>,
}

/// State the engine thread shares with the output readers and the interrupter.
struct Shared {
    /// Process id of the current cell process (it changes after a crash).
    child_pid: AtomicI32,
    panicked: AtomicBool,
    returned_error: AtomicBool,
    panic_message: Mutex<Option<String>>,
    pages: Mutex<Vec<Map<String, Value>>>,
    interrupted: AtomicBool,
    /// The running cell's code has started (its compilation is over).
    cell_started: AtomicBool,
    /// An interrupt arrived while the cell was still compiling.
    interrupt_pending: AtomicBool,
    fences: AtomicU64,
    fence_signal: (Mutex<()>, std::sync::Condvar),
    running: AtomicBool,
    warnings: Warnings,
}

pub struct EngineChannels {
    pub outputs: mpsc::UnboundedReceiver<Output>,
    pub inputs: mpsc::UnboundedReceiver<InputAsk>,
}

impl Engine {
    /// Starts the engine thread; evcxr itself is set up on that thread (a few
    /// hundred ms) while the caller already answers requests.
    pub fn start(session_dir: &Path) -> Result<(Engine, EngineChannels)> {
        let library = CellLibrary::locate()?;
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let (in_tx, in_rx) = mpsc::unbounded_channel();
        let (req_tx, req_rx) = std_mpsc::channel();
        let shared = Arc::new(Shared {
            child_pid: AtomicI32::new(0),
            panicked: AtomicBool::new(false),
            returned_error: AtomicBool::new(false),
            panic_message: Mutex::new(None),
            pages: Mutex::new(Vec::new()),
            interrupted: AtomicBool::new(false),
            cell_started: AtomicBool::new(false),
            interrupt_pending: AtomicBool::new(false),
            fences: AtomicU64::new(0),
            fence_signal: (Mutex::new(()), std::sync::Condvar::new()),
            running: AtomicBool::new(false),
            warnings: Warnings::new(session_dir.join("warnings.json")),
        });
        let socket_path = session_dir.join("output.sock");
        let listener = UnixListener::bind(&socket_path).context("binding the output socket")?;
        std::fs::set_permissions(
            &socket_path,
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )?;
        spawn_output_listener(listener, out_tx.clone(), shared.clone());

        // The cell process inherits these; evcxr starts it with our binary.
        std::env::set_var(relay::SOCKET_ENV, &socket_path);
        std::env::set_var(cell_compile::WARNINGS_ENV, shared.warnings.file());
        let build_dir = session_dir.join("build");
        std::env::set_var("EVCXR_TMPDIR", &build_dir);
        // Cells resolve dependencies to the versions the cell library was
        // built with, so its prebuilt artifacts can stand in for them.
        std::fs::create_dir_all(&build_dir)?;
        let _ = std::fs::copy(library.dir.join("Cargo.lock"), build_dir.join("Cargo.lock"));
        std::env::set_var("EVCXR_CONFIG_DIR", session_dir.join("config"));
        let std_libdir = cell_link::std_libdir()?;
        std::env::set_var("LD_LIBRARY_PATH", library.load_path(&std_libdir)?);
        std_sources::prepare(&session_dir.join("rust-src"), &std_libdir)?;
        // evcxr then starts cargo through the kernel (see `cell_build`).
        cell_build::install(&session_dir.join("bin"))?;

        let thread_shared = shared.clone();
        std::thread::Builder::new()
            .name("asyncbook-engine".into())
            .spawn(move || {
                let worker = match Worker::new(&library, thread_shared, out_tx, in_tx) {
                    Ok(worker) => worker,
                    Err(error) => {
                        tracing::error!("the Rust engine could not start: {error:#}");
                        return fail_all(req_rx, &format!("{error:#}"));
                    }
                };
                worker.serve(req_rx);
            })?;
        Ok((
            Engine {
                requests: req_tx,
                shared,
            },
            EngineChannels {
                outputs: out_rx,
                inputs: in_rx,
            },
        ))
    }

    pub async fn execute(&self, code: String, cell: usize) -> Outcome {
        // From the request on, an interrupt belongs to this cell, even before
        // the engine thread picks it up.
        self.shared.cell_started.store(false, Ordering::SeqCst);
        self.shared.interrupt_pending.store(false, Ordering::SeqCst);
        self.shared.interrupted.store(false, Ordering::SeqCst);
        self.shared.running.store(true, Ordering::SeqCst);
        let (reply, answer) = oneshot::channel();
        if self
            .requests
            .send(Request::Execute { code, cell, reply })
            .is_err()
        {
            return engine_gone();
        }
        answer.await.unwrap_or_else(|_| engine_gone())
    }

    pub async fn complete(&self, code: String, cursor: usize) -> Option<Completion> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request::Complete {
                code,
                cursor,
                reply,
            })
            .ok()?;
        answer.await.ok()
    }

    pub async fn inspect(&self, code: String, cursor: usize) -> Option<String> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .send(Request::Inspect {
                code,
                cursor,
                reply,
            })
            .ok()?;
        answer.await.ok().flatten()
    }

    /// Interrupts the running cell: SIGINT cancels an awaiting cell at its
    /// next await; a cell stuck in synchronous code is stopped by killing the
    /// cell process after a grace period (the caller is told by the outcome).
    pub fn interrupt(&self) {
        let running = self.shared.running.load(Ordering::SeqCst);
        let started = self.shared.cell_started.load(Ordering::SeqCst);
        tracing::debug!("interrupt: cell running {running}, started {started}");
        if !running {
            return;
        }
        self.shared.interrupted.store(true, Ordering::SeqCst);
        if self.shared.cell_started.load(Ordering::SeqCst) {
            signal_cell(&self.shared);
        } else {
            // Still compiling: the signal goes out once the cell starts, so it
            // cancels the cell instead of arriving before anyone listens.
            self.shared.interrupt_pending.store(true, Ordering::SeqCst);
        }
    }

    /// Ends the cell process now (kernel shutdown).
    pub fn kill_cell_process(&self) {
        let pid = self.shared.child_pid.load(Ordering::SeqCst);
        if pid > 0 {
            // SAFETY: signalling our own child process.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    }
}

/// Sends SIGINT to the cell process; a cell stuck in synchronous code that
/// does not reach an `.await` within the grace period loses its process.
fn signal_cell(shared: &Arc<Shared>) {
    let pid = shared.child_pid.load(Ordering::SeqCst);
    if pid <= 0 {
        return;
    }
    // SAFETY: signalling our own child process.
    unsafe { libc::kill(pid, libc::SIGINT) };
    let shared = shared.clone();
    let cells_before = shared.fences.load(Ordering::SeqCst);
    std::thread::spawn(move || {
        std::thread::sleep(INTERRUPT_GRACE);
        let still_same_cell = shared.running.load(Ordering::SeqCst)
            && shared.fences.load(Ordering::SeqCst) == cells_before
            && shared.child_pid.load(Ordering::SeqCst) == pid;
        if still_same_cell {
            // SAFETY: as above; the cell ignored SIGINT (synchronous code).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
    });
}

/// How long an interrupted cell may take to reach an `.await` before its
/// process is killed.
const INTERRUPT_GRACE: Duration = Duration::from_millis(1500);

fn engine_gone() -> Outcome {
    Outcome::failed(CellError::plain(
        CellErrorKind::EngineError,
        "the Rust engine is not running; restart the kernel",
    ))
}

fn fail_all(requests: std_mpsc::Receiver<Request>, why: &str) {
    for request in requests {
        if let Request::Execute { reply, .. } = request {
            let _ = reply.send(Outcome::failed(CellError::plain(
                CellErrorKind::EngineError,
                why,
            )));
        }
    }
}

fn spawn_output_listener(
    listener: UnixListener,
    outputs: mpsc::UnboundedSender<Output>,
    shared: Arc<Shared>,
) {
    std::thread::Builder::new()
        .name("asyncbook-output".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                let outputs = outputs.clone();
                let shared = shared.clone();
                std::thread::spawn(move || read_cell_output(stream, outputs, shared));
            }
        })
        .expect("spawning the output listener");
}

/// Turns frames from one cell process (or rustc wrapper) into outputs.
fn read_cell_output(
    mut stream: std::os::unix::net::UnixStream,
    outputs: mpsc::UnboundedSender<Output>,
    shared: Arc<Shared>,
) {
    let mut stdout = Utf8Carry::default();
    let mut stderr = Utf8Carry::default();
    while let Ok(Some(frame)) = read_frame(&mut stream) {
        if let Some(warnings) = shared.warnings.take_due() {
            let _ = outputs.send(Output::Stderr(warnings));
        }
        match frame {
            Frame::Stdout(bytes) => {
                let text = stdout.push(&bytes);
                if !text.is_empty() {
                    let _ = outputs.send(Output::Stdout(text));
                }
            }
            Frame::Stderr(bytes) => {
                let text = stderr.push(&bytes);
                if !text.is_empty() {
                    let _ = outputs.send(Output::Stderr(text));
                }
            }
            Frame::Display(json) => match display_output(&json) {
                Some(Shown::Output(output)) => {
                    let _ = outputs.send(output);
                }
                Some(Shown::Page(data)) => lock(&shared.pages).push(data),
                None => {}
            },
            Frame::Panicked => shared.panicked.store(true, Ordering::SeqCst),
            Frame::ReturnedError => shared.returned_error.store(true, Ordering::SeqCst),
            Frame::CellStarted => {
                tracing::debug!("cell started");
                shared.cell_started.store(true, Ordering::SeqCst);
                if shared.interrupt_pending.swap(false, Ordering::SeqCst) {
                    signal_cell(&shared);
                }
            }
            Frame::PanicMessage(json) => {
                let report: Value = serde_json::from_slice(&json).unwrap_or_default();
                let message = format!(
                    "{}{}",
                    report["message"].as_str().unwrap_or("(no message)"),
                    report["location"].as_str().unwrap_or_default()
                );
                *lock(&shared.panic_message) = Some(message);
            }
            Frame::Fence => {
                let _guard = shared.fence_signal.0.lock();
                shared.fences.fetch_add(1, Ordering::SeqCst);
                shared.fence_signal.1.notify_all();
            }
        }
    }
}

/// Decodes UTF-8 that may be split across frames.
#[derive(Default)]
struct Utf8Carry(Vec<u8>);

impl Utf8Carry {
    fn push(&mut self, bytes: &[u8]) -> String {
        self.0.extend_from_slice(bytes);
        let valid = match std::str::from_utf8(&self.0) {
            Ok(_) => self.0.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => self.0.len(),
        };
        let rest = self.0.split_off(valid);
        let text = String::from_utf8_lossy(&self.0).into_owned();
        self.0 = rest;
        text
    }
}

/// rust-analyzer offers calls as snippets (`swap(x, y)`); a notebook
/// inserts the name and lets the user type the arguments.
fn insertable(code: String) -> String {
    match code.find('(') {
        Some(open) if code.ends_with(')') && open > 0 => code[..open].to_owned(),
        _ => code,
    }
}

/// Where a display message from the cell library goes.
enum Shown {
    Output(Output),
    /// Pager text travels in the execute reply's payload.
    Page(Map<String, Value>),
}

fn display_output(json: &[u8]) -> Option<Shown> {
    let message: Value = serde_json::from_slice(json).ok()?;
    let data_of = |body: &Value| body["data"].as_object().cloned().unwrap_or_default();
    let output = if let Some(body) = message.get("display") {
        Output::Display {
            data: data_of(body),
            display_id: body["display_id"].as_str().map(str::to_owned),
        }
    } else if let Some(body) = message.get("update") {
        Output::Update {
            data: data_of(body),
            display_id: body["display_id"].as_str()?.to_owned(),
        }
    } else if let Some(body) = message.get("clear") {
        Output::Clear {
            wait: body["wait"].as_bool().unwrap_or(false),
        }
    } else {
        return Some(Shown::Page(data_of(message.get("page")?)));
    };
    Some(Shown::Output(output))
}

/// Owns the evcxr context; lives on the engine thread.
struct Worker {
    context: CommandContext,
    shared: Arc<Shared>,
    outputs: mpsc::UnboundedSender<Output>,
    inputs: mpsc::UnboundedSender<InputAsk>,
}

impl Worker {
    fn new(
        library: &CellLibrary,
        shared: Arc<Shared>,
        outputs: mpsc::UnboundedSender<Output>,
        inputs: mpsc::UnboundedSender<InputAsk>,
    ) -> Result<Self> {
        let started = Instant::now();
        let (context, channels) = EvalContext::new().map_err(|e| anyhow::anyhow!("{e}"))?;
        log_warm_up("evcxr ready after", started, Duration::ZERO);
        // Whatever evcxr reads from the cell process outside our relay.
        for receiver in [channels.stdout, channels.stderr] {
            let outputs = outputs.clone();
            std::thread::spawn(move || {
                for line in receiver {
                    let _ = outputs.send(Output::Stderr(line + "\n"));
                }
            });
        }
        let context = CommandContext::with_eval_context(context);
        let exe = std::env::current_exe()?;
        let mut worker = Worker {
            context,
            shared,
            outputs,
            inputs,
        };
        worker.record_child_pid();
        worker.set_build_env("RUSTC_WRAPPER", &exe.display().to_string());
        worker.set_build_env(cell_link::WRAPPER_ENV, &library.dir.display().to_string());
        worker.set_build_env(cell_link::SETUP_ENV, "1");
        // The exact versions the cell library holds: the wrapper links them
        // in instead of compiling them, and rust-analyzer reads their source
        // to infer the types of variables such as a `JoinHandle`.
        let setup = format!(
            ":opt 0\n:offline true\n:dep tokio = {{ version = \"={}\", features = [\"full\", \"test-util\"] }}\n:dep futures = \"={}\"\n:dep asyncbook = {{ package = \"{}\", path = {:?} }}\n:offline false",
            cell_link::TOKIO_VERSION,
            cell_link::FUTURES_VERSION,
            cell_link::CELLS_PACKAGE,
            cell_link::cells_source(library)?.display().to_string(),
        );
        worker
            .context
            .execute(&setup)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        log_warm_up("dependencies declared after", started, Duration::ZERO);
        // One await switches evcxr to async mode now rather than in the user's
        // first cell, so every cell runs on the shared runtime and the first
        // real cell is already warm.
        worker
            .context
            .execute("async {}.await;")
            .map_err(|e| anyhow::anyhow!("warming up the engine: {e}"))?;
        worker.wait_for_fence(1, Duration::from_secs(5));
        worker.set_build_env(cell_link::SETUP_ENV, "");
        log_warm_up("first async cell ran after", started, Duration::ZERO);
        worker.record_child_pid();
        Ok(worker)
    }

    fn set_build_env(&mut self, key: &str, value: &str) {
        let _ = self.context.execute(&format!(":build_env {key}={value}"));
    }

    fn record_child_pid(&self) {
        let pid = self
            .context
            .process_handle()
            .lock()
            .map(|c| c.id() as i32)
            .unwrap_or(0);
        self.shared.child_pid.store(pid, Ordering::SeqCst);
    }

    fn serve(mut self, requests: std_mpsc::Receiver<Request>) {
        let mut analyzer_warm = false;
        loop {
            let request = if analyzer_warm {
                requests.recv().ok()
            } else {
                match requests.try_recv() {
                    Ok(request) => Some(request),
                    Err(std_mpsc::TryRecvError::Empty) => {
                        // rust-analyzer loads tokio's and the cell library's
                        // sources on first use: do that while nothing waits,
                        // so a user's first `let` does not pay for it.
                        let started = Instant::now();
                        let computed = thread_cpu_time();
                        let _ = self.context.completions("tokio::spawn(async {}).", 23);
                        log_warm_up("rust-analyzer ready in", started, computed);
                        analyzer_warm = true;
                        continue;
                    }
                    Err(std_mpsc::TryRecvError::Disconnected) => None,
                }
            };
            let Some(request) = request else { return };
            match request {
                Request::Execute { code, cell, reply } => {
                    self.set_build_env(cell_source::CELL_ENV, &cell.to_string());
                    let outcome = self.execute(&code);
                    let _ = reply.send(outcome);
                }
                Request::Complete {
                    code,
                    cursor,
                    reply,
                } => {
                    let completion = match self.context.completions(&code, cursor) {
                        Ok(c) => Completion {
                            kinds: c.completions.iter().map(|c| c.kind).collect(),
                            matches: c
                                .completions
                                .into_iter()
                                .map(|c| insertable(c.code))
                                .collect(),
                            start: c.start_offset,
                            end: c.end_offset,
                        },
                        Err(_) => Completion {
                            matches: vec![],
                            kinds: vec![],
                            start: cursor,
                            end: cursor,
                        },
                    };
                    let _ = reply.send(completion);
                }
                Request::Inspect {
                    code,
                    cursor,
                    reply,
                } => {
                    let found = self
                        .context
                        .hover_at(&code, cursor)
                        .ok()
                        .map(|(text, _)| text)
                        // evcxr answers Ok with this text when hover finds nothing.
                        .filter(|text| !text.trim().is_empty() && text != "No documentation found");
                    let _ = reply.send(found);
                }
            }
        }
    }

    fn execute(&mut self, code: &str) -> Outcome {
        let expanded = commands::expand(code);
        if let Some(on) = expanded.show_warnings {
            self.shared.warnings.show(on);
        }
        let code = expanded.code;
        self.shared.warnings.expect(&code);
        self.shared.panicked.store(false, Ordering::SeqCst);
        self.shared.returned_error.store(false, Ordering::SeqCst);
        self.take_panic_message();
        lock(&self.shared.pages).clear();
        let fences_before = self.shared.fences.load(Ordering::SeqCst);
        let inputs = self.inputs.clone();
        let mut callbacks = EvalCallbacks {
            input_reader: &|request| ask(&inputs, request.prompt, request.is_password),
        };
        let result = self.context.execute_with_callbacks(&code, &mut callbacks);
        let (code, result) = self.typed(code, result, &mut callbacks);
        let mut tries = BOXING_TRIES;
        let (code, result) = match self.boxed(&code, &result, &mut callbacks, &mut tries) {
            Some((boxed, result)) => (Cow::Owned(boxed), result),
            None => (code, with_unboxable_explained(result)),
        };
        let ran = matches!(&result, Ok(out) if out.phases.iter().any(|p| p.name == "Execution"));
        if let Ok(out) = &result {
            // Formatted only when debug logging is on.
            tracing::debug!(
                "cell phases: {}",
                out.phases
                    .iter()
                    .map(|p| format!("{} {:?}", p.name, p.duration))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if ran {
            self.wait_for_fence(fences_before + 1, Duration::from_secs(2));
        }
        if let Some(warnings) = self.shared.warnings.finish() {
            let _ = self.outputs.send(Output::Stderr(warnings));
        }
        self.shared.running.store(false, Ordering::SeqCst);
        let interrupted = self.shared.interrupted.swap(false, Ordering::SeqCst);
        let mut outcome = self.outcome(&code, result, interrupted);
        outcome.pages = std::mem::take(&mut *lock(&self.shared.pages));
        self.record_child_pid();
        outcome
    }

    /// Writes the type rustc finds into the `let` of each variable evcxr
    /// could not type (see `type_probe`), and runs the cell so.
    fn typed<'a>(
        &mut self,
        mut code: Cow<'a, str>,
        mut result: EvalResult,
        callbacks: &mut EvalCallbacks,
    ) -> (Cow<'a, str>, EvalResult) {
        for _ in 0..TYPING_TRIES {
            let Err(evcxr::Error::Message(message)) = &result else {
                break;
            };
            let Some(variable) = type_probe::untyped(message).map(str::to_owned) else {
                break;
            };
            let ty = match self.rustc_type(&code, &variable, callbacks) {
                Ok(Some(ty)) => ty,
                Ok(None) => break,
                Err(own_errors) => return (code, own_errors),
            };
            if let Some(why) = type_probe::unwritable(&ty) {
                let message = format!(
                    "The variable `{variable}` cannot be kept for later cells: its type is `{ty}`, \
                     and {why}.\nGive it a type you can name (a `Box<dyn Trait>` of the trait you \
                     need), or wrap the cell in braces to keep the value inside it."
                );
                return (code, Err(evcxr::Error::Message(message)));
            }
            let Some((annotated, next)) = self.run_with_type(&code, &variable, &ty, callbacks)
            else {
                break;
            };
            tracing::debug!("typed `{variable}` as `{ty}`");
            (code, result) = (Cow::Owned(annotated), next);
        }
        (code, result)
    }

    /// The type rustc gives `variable` in `code`, asked with a probe that
    /// runs nothing (see `type_probe`); `Err` holds the cell's own errors.
    fn rustc_type(
        &mut self,
        code: &str,
        variable: &str,
        callbacks: &mut EvalCallbacks,
    ) -> Result<Option<String>, EvalResult> {
        let probe = type_probe::probe(code, variable);
        let Err(evcxr::Error::CompilationErrors(errors)) =
            self.context.execute_with_callbacks(&probe, callbacks)
        else {
            return Ok(None);
        };
        let line = type_probe::probe_line(&probe);
        let (probed, others): (Vec<_>, Vec<_>) = errors.into_iter().partition(|e| {
            e.primary_spanned_message()
                .and_then(|m| m.span)
                .is_some_and(|span| span.start_line == line)
        });
        let found = probed
            .iter()
            .flat_map(|e| e.spanned_messages())
            .find_map(|m| type_probe::found(&m.label));
        let own_errors = others.iter().any(|e| {
            e.level() == "error"
                && e.primary_spanned_message()
                    .is_some_and(|m| m.span.is_some())
        });
        if own_errors && found.is_none() {
            return Err(Err(evcxr::Error::CompilationErrors(others)));
        }
        Ok(found)
    }

    /// Runs `code` with `ty` written into the `let` of `variable`; names
    /// rustc printed short are written as the paths it suggests when the
    /// cell does not have them in scope.
    fn run_with_type(
        &mut self,
        code: &str,
        variable: &str,
        ty: &str,
        callbacks: &mut EvalCallbacks,
    ) -> Option<(String, EvalResult)> {
        let mut ty = ty.to_owned();
        for _ in 0..TYPING_TRIES {
            let annotated = type_probe::annotate(code, variable, &ty)?;
            let result = self.context.execute_with_callbacks(&annotated, callbacks);
            if let Err(evcxr::Error::CompilationErrors(errors)) = &result {
                let said: Vec<(String, Vec<String>)> =
                    errors.iter().map(|e| (e.message(), e.help())).collect();
                if let Some(qualified) = type_probe::qualified(&ty, &said) {
                    ty = qualified;
                    continue;
                }
            }
            return Some((annotated, result));
        }
        None
    }

    /// Boxes the variables evcxr cannot store (see `unnameable`), each with
    /// the first of its shapes that evcxr accepts; when the cell then fails to
    /// compile, the variable whose `let` the error points at (else the last
    /// boxed) moves on to its next shape. Returns the code that ran.
    fn boxed(
        &mut self,
        code: &str,
        result: &EvalResult,
        callbacks: &mut EvalCallbacks,
        tries: &mut usize,
    ) -> Option<(String, EvalResult)> {
        let mut chosen: Vec<(unnameable::Unpersistable, usize)> = Vec::new();
        let mut refusal = Some(refused(result)?);
        let mut retyped = false;
        loop {
            if let Some(what) = refusal.take() {
                match chosen.iter_mut().find(|(w, _)| w.variable == what.variable) {
                    Some((_, shape)) => *shape += 1,
                    None => chosen.push((what, 0)),
                }
            }
            let candidate = unnameable::apply(code, &chosen)?;
            *tries = tries.checked_sub(1)?;
            let attempt = self.context.execute_with_callbacks(&candidate, callbacks);
            if let Some(next) = refused(&attempt) {
                refusal = Some(next);
                continue;
            }
            let Err(evcxr::Error::CompilationErrors(errors)) = &attempt else {
                tracing::debug!("boxed {} variables to keep them", chosen.len());
                return Some((candidate, attempt));
            };
            // A box that does not fit fails to compile: nothing ran.
            // rust-analyzer may call an output `!` that rustc types
            // otherwise (a `select!`): rustc's own type may fit.
            let never = chosen
                .iter()
                .find(|(w, _)| w.shown_type.as_deref().is_some_and(|t| t.contains('!')));
            if let (Some((what, _)), false) = (never, retyped) {
                retyped = true;
                let variable = what.variable.clone();
                if let Some(found) = self.retyped(&candidate, &variable, callbacks, tries) {
                    return Some(found);
                }
            }
            let lines: Vec<usize> = errors
                .iter()
                .filter_map(|e| e.primary_spanned_message()?.span.map(|s| s.start_line))
                .collect();
            let culprit = chosen
                .iter()
                .rposition(|(w, _)| {
                    unnameable::let_line(&candidate, &w.variable)
                        .is_some_and(|l| lines.contains(&l))
                })
                .unwrap_or(chosen.len() - 1);
            chosen[culprit].1 += 1;
        }
    }

    /// A boxing `candidate` with the type rustc gives `variable` written in,
    /// if that runs.
    fn retyped(
        &mut self,
        candidate: &str,
        variable: &str,
        callbacks: &mut EvalCallbacks,
        tries: &mut usize,
    ) -> Option<(String, EvalResult)> {
        *tries = tries.checked_sub(1)?;
        let ty = self.rustc_type(candidate, variable, callbacks).ok()??;
        let (code, result) = self.run_with_type(candidate, variable, &ty, callbacks)?;
        match refused(&result) {
            Some(_) => self.boxed(&code, &result, callbacks, tries),
            None if matches!(result, Err(evcxr::Error::CompilationErrors(_))) => None,
            None => Some((code, result)),
        }
    }

    fn take_panic_message(&self) -> Option<String> {
        lock(&self.shared.panic_message).take()
    }

    fn wait_for_fence(&self, target: u64, limit: Duration) {
        let deadline = Instant::now() + limit;
        let (mutex, signal) = &self.shared.fence_signal;
        let mut guard = lock(mutex);
        while self.shared.fences.load(Ordering::SeqCst) < target {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            guard = signal
                .wait_timeout(guard, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    fn outcome(
        &mut self,
        code: &str,
        result: Result<evcxr::EvalOutputs, evcxr::Error>,
        interrupted: bool,
    ) -> Outcome {
        match result {
            Ok(outputs) => {
                if self.shared.returned_error.load(Ordering::SeqCst) {
                    return Outcome::failed(CellError::plain(
                        CellErrorKind::ReturnedError,
                        "the cell returned an error through `?` (printed above); variables it defined were dropped",
                    ));
                }
                if self.shared.panicked.load(Ordering::SeqCst) {
                    let error = if interrupted {
                        CellError::new(
                            CellErrorKind::Interrupted,
                            "the cell was interrupted; variables and background tasks are kept",
                            vec!["Interrupted: the cell was cancelled at an .await; every variable and background task is kept.".into()],
                        )
                    } else {
                        let message = self
                            .take_panic_message()
                            .unwrap_or_else(|| "(no message)".into());
                        CellError::new(
                            CellErrorKind::Panic,
                            message.clone(),
                            vec![format!("The cell panicked: {message}\nVariables this cell defined were dropped; earlier variables are kept.")],
                        )
                    };
                    return Outcome::failed(error);
                }
                let unit = outputs.content_by_mime_type.len() == 1
                    && outputs
                        .content_by_mime_type
                        .get("text/plain")
                        .map(String::as_str)
                        == Some("()");
                if unit {
                    return Outcome::default();
                }
                let result = outputs
                    .content_by_mime_type
                    .into_iter()
                    .map(|(mime, content)| (mime, Value::String(content)))
                    .collect();
                Outcome {
                    result,
                    ..Outcome::default()
                }
            }
            Err(evcxr::Error::CompilationErrors(errors)) => {
                let shown = diagnostics::shown(&errors, self.shared.warnings.shown());
                let rendered: Vec<String> =
                    shown.iter().map(|e| diagnostics::render(e, code)).collect();
                let first = shown.first().map(|e| e.message.clone()).unwrap_or_default();
                Outcome::failed(CellError::new(
                    CellErrorKind::CompileError,
                    first,
                    vec![rendered.join("\n")],
                ))
            }
            Err(evcxr::Error::SubprocessTerminated(why)) => {
                let lost = "The cell process ended, so all variables and background tasks were lost; items (fn, struct, use) are kept.";
                let message = if interrupted {
                    format!("The cell was stuck in synchronous code and did not reach an .await, so its process was stopped. {lost}")
                } else {
                    format!("{}\n{lost}", why.trim())
                };
                let kind = if interrupted {
                    CellErrorKind::Interrupted
                } else {
                    CellErrorKind::CellProcessDied
                };
                Outcome::failed(CellError::plain(kind, message))
            }
            Err(other) => {
                Outcome::failed(CellError::plain(CellErrorKind::Other, other.to_string()))
            }
        }
    }
}

/// Logs a step of the engine's warm-up (the bench reads these lines): the
/// wall time since `started`, and the engine thread's CPU time since it had
/// used `computed` (zero: since the thread started).
fn log_warm_up(step: &str, started: Instant, computed: Duration) {
    tracing::debug!(
        "warm-up: {step} {:?} (engine thread computing {:?})",
        started.elapsed(),
        thread_cpu_time().saturating_sub(computed)
    );
}

/// CPU time the calling thread has used. On the engine thread that is
/// evcxr's own work, nearly all of it rust-analyzer's analysis; the builds it
/// waits for run in other processes. The bench prints it for the warm-up.
fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

fn ask(inputs: &mpsc::UnboundedSender<InputAsk>, prompt: String, password: bool) -> String {
    let (reply, answer) = std_mpsc::channel();
    let ask = InputAsk {
        prompt,
        password,
        reply,
    };
    if inputs.send(ask).is_err() {
        return String::new();
    }
    answer.recv().unwrap_or_default()
}
