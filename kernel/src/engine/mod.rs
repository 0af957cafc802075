//! The evcxr engine on its own thread, driven by a request enum with oneshot
//! replies, so the message loop, control and heartbeat never block on a cell.

use std::os::unix::net::UnixListener;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{mpsc as std_mpsc, Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::{Map, Value};
use tokio::sync::{mpsc, oneshot};

pub mod cell_build;
pub mod cell_compile;
mod cell_error;
pub mod cell_link;
mod cell_output;
mod cell_source;
mod cell_sources;
mod commands;
pub mod completeness;
mod crate_identity;
mod diagnostics;
mod frames;
mod impls;
mod item_carriers;
mod item_macros;
mod keep_variables;
mod library_crates;
mod library_lock;
mod moved;
mod pinned;
pub mod relay;
mod rustc_command;
mod saved_builds;
pub mod session_dir;
mod setup;
mod short_names;
mod statics;
mod std_sources;
pub(crate) mod syntax;
mod tokio_main;
mod type_probe;
mod unnameable;
mod warnings;
mod worker;

pub use cell_error::CellErrorKind;
use cell_link::CellLibrary;
use cell_output::spawn_output_listener;
use warnings::Warnings;
use worker::Worker;

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
    /// The cell was `:clear`: the session started over, and so do the
    /// execution counts.
    pub cleared: bool,
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

/// A request for input from a running cell; the answer goes back on `reply`.
#[derive(Debug)]
pub struct InputAsk {
    pub prompt: String,
    pub password: bool,
    pub reply: std_mpsc::Sender<String>,
}

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
    /// Variables evcxr dropped while the running cell ran, their type having
    /// been defined again since they were made.
    lost: Mutex<Vec<String>>,
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
            lost: Mutex::new(Vec::new()),
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
        cell_sources::prepare(&session_dir.join("cells"))?;
        let build_dir = session_dir.join("build");
        std::env::set_var("EVCXR_TMPDIR", &build_dir);
        std::fs::create_dir_all(&build_dir)?;
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
                let worker = match Worker::new(&library, &build_dir, thread_shared, out_tx, in_tx) {
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
