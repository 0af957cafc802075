//! The evcxr engine on its own thread, driven by a request enum with oneshot
//! replies, so the message loop, control and heartbeat never block on a cell.

use std::os::unix::net::UnixListener;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{mpsc as std_mpsc, Arc, Mutex};

use anyhow::{Context, Result};
use tokio::sync::{mpsc, oneshot};

pub mod build;
mod diagnostics;
pub(crate) mod outcome;
pub(crate) mod requests;
pub mod run;
pub mod session;
pub mod source;
mod types;

use crate::engine::build::library;
use build::{cargo, compile, library::CellLibrary};
use diagnostics::warnings::Warnings;
pub use outcome::{CellError, CellErrorKind, Outcome, Output};
use requests::Request;
pub use requests::{Completion, InputAsk};
use run::output::spawn_output_listener;
use run::relay;
use run::shared::{signal_cell, Shared};
use run::worker::Worker;
use session::{cell_sources, std_sources};

/// Cheap handle to the engine thread.
#[derive(Clone)]
pub struct Engine {
    requests: std_mpsc::Sender<Request>,
    shared: Arc<Shared>,
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
            cell: Mutex::default(),
            fences: AtomicU64::new(0),
            fence_signal: (Mutex::new(()), std::sync::Condvar::new()),
            running: AtomicBool::new(false),
            warnings: Warnings::new(session_dir.join("warnings.json")),
            warm: tokio::sync::watch::Sender::new(false),
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
        std::env::set_var(compile::WARNINGS_ENV, shared.warnings.file());
        cell_sources::prepare(&session_dir.join("cells"))?;
        let build_dir = session_dir.join("build");
        std::env::set_var("EVCXR_TMPDIR", &build_dir);
        std::fs::create_dir_all(&build_dir)?;
        std::env::set_var("EVCXR_CONFIG_DIR", session_dir.join("config"));
        let std_libdir = library::std_libdir()?;
        std::env::set_var("LD_LIBRARY_PATH", library.load_path(&std_libdir)?);
        std_sources::prepare(&session_dir.join("rust-src"), &std_libdir)?;
        // evcxr then starts cargo through the kernel (see `build::cargo`).
        cargo::install(&session_dir.join("bin"))?;

        let thread_shared = shared.clone();
        let failed_shared = shared.clone();
        std::thread::Builder::new()
            .name("asyncbook-engine".into())
            .spawn(move || {
                let worker = match Worker::new(&library, &build_dir, thread_shared, out_tx, in_tx) {
                    Ok(worker) => worker,
                    Err(error) => {
                        tracing::error!("the Rust engine could not start: {error:#}");
                        failed_shared.warm.send_replace(true);
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
        self.shared.begin_cell();
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
        let cell = self.shared.cell();
        let started = cell.started.load(Ordering::SeqCst);
        tracing::debug!("interrupt: cell running {running}, started {started}");
        if !running {
            return;
        }
        cell.interrupted.store(true, Ordering::SeqCst);
        if started {
            signal_cell(&self.shared);
        } else {
            // Still compiling: the signal goes out once the cell starts, so it
            // cancels the cell instead of arriving before anyone listens.
            cell.interrupt_pending.store(true, Ordering::SeqCst);
        }
    }

    /// Resolves once the engine has set up and warmed up (or failed to).
    pub async fn warmed(&self) {
        let mut warm = self.shared.warm.subscribe();
        let _ = warm.wait_for(|warm| *warm).await;
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
