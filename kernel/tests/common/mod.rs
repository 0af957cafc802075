//! A test client for the real kernel: the `asyncbook` binary started by the
//! kernel crate's launcher, spoken to over ZeroMQ.
//!
//! Messages are built and read as JSON so the tests see exactly what goes
//! over the wire; every message the kernel sends must carry a valid
//! signature (checked by `RawMessage::from_multipart`).
//!
//! Tests that go through the kernel crate's own client instead share the
//! helpers of [`runner`].

#![allow(dead_code)] // each test binary uses a different part of the client

mod cargo;
mod message;
mod order;
mod process;
mod requests;
pub mod runner;
mod wire;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use asyncbook_kernel::runner::client::{KernelProcess, Launch};
use jupyter_zmq_client::{
    ClientControlConnection, ClientHeartbeatConnection, ClientIoPubConnection,
    ClientShellConnection, ClientStdinConnection, ConnectionInfo,
};
use serde_json::json;
use tokio::time::timeout;

#[allow(unused_imports)] // each test binary uses a different part of the client
pub use self::{
    cargo::cargo,
    message::{ExecResult, Msg},
    order::{assert_execute_order, live_tasks},
    process::{alive, descendants},
    wire::sign,
};

/// Time for the first cell of a fresh kernel (engine warm-up) on a busy machine.
pub const WARM_UP: Duration = Duration::from_secs(180);
/// Time for any later request to be answered.
pub const ANSWER: Duration = Duration::from_secs(60);

/// How to start a kernel.
#[derive(Default)]
pub struct Options {
    /// The connection key; `None` picks a random one.
    pub key: Option<String>,
    pub env: Vec<(String, String)>,
    /// The kernel's working directory; the test's when `None`.
    pub workdir: Option<PathBuf>,
    /// The kernel binary; this build's when `None`.
    pub program: Option<PathBuf>,
}

/// A running kernel and a connected client; the kernel is killed on drop.
pub struct Kernel {
    process: KernelProcess,
    /// The kernel's temporary folder (its `TMPDIR`), removed on drop.
    scratch: tempfile::TempDir,
    pub info: ConnectionInfo,
    pub session: String,
    shell: ClientShellConnection,
    control: ClientControlConnection,
    stdin: ClientStdinConnection,
    iopub: ClientIoPubConnection,
    heartbeat: ClientHeartbeatConnection,
    /// The iopub_welcome the kernel sent when the client subscribed.
    pub welcome: Option<Msg>,
    /// iopub messages read while waiting for something else.
    pub strays: Vec<Msg>,
}

static STARTED: AtomicU64 = AtomicU64::new(0);

fn random_hex(bytes: usize) -> String {
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        ^ ((std::process::id() as u64) << 32)
        ^ STARTED
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..bytes)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            format!("{:02x}", seed as u8)
        })
        .collect()
}

impl Kernel {
    /// Starts a kernel and waits until it answers kernel_info.
    pub async fn start() -> Kernel {
        Self::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> Kernel {
        let (mut kernel, _) = Self::launch(options).await;
        kernel.wait_ready().await;
        kernel
    }

    /// Starts a kernel and connects, without waiting for it to be ready.
    /// Also returns the connection file's path.
    pub async fn launch(options: Options) -> (Kernel, PathBuf) {
        let scratch = tempfile::Builder::new()
            .prefix("asyncbook-test-")
            .tempdir()
            .expect("creating the test folder");
        let mut env = vec![("TMPDIR".into(), scratch.path().into())];
        env.extend(options.env.into_iter().map(|(k, v)| (k.into(), v.into())));
        let mut launch = Launch {
            env,
            workdir: options.workdir,
            ..Launch::new(
                options
                    .program
                    .unwrap_or_else(|| env!("CARGO_BIN_EXE_asyncbook").into()),
            )
        };
        if let Some(key) = options.key {
            launch.key = key;
        }
        let mut process = launch.start().expect("starting the kernel binary");
        let session = format!("test-{}", random_hex(8));
        let channels = process
            .connect(&session, tokio::time::Instant::now() + ANSWER)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        let path = process.connection_file();
        let kernel = Kernel {
            info: process.info.clone(),
            process,
            scratch,
            session,
            shell: channels.shell,
            control: channels.control,
            stdin: channels.stdin,
            iopub: channels.iopub,
            heartbeat: channels.heartbeat,
            welcome: None,
            strays: Vec::new(),
        };
        (kernel, path)
    }

    /// Waits for iopub_welcome (our subscription is live) and a kernel_info reply.
    pub async fn wait_ready(&mut self) {
        if let Ok(Some(welcome)) = timeout(Duration::from_secs(20), self.recv_iopub()).await {
            if welcome.msg_type() == "iopub_welcome" {
                self.welcome = Some(welcome);
            } else {
                self.strays.push(welcome);
            }
        }
        let id = self.send_shell("kernel_info_request", json!({})).await;
        self.shell_reply(&id, WARM_UP).await;
        self.iopub_until_idle(&id, ANSWER).await;
    }

    pub fn pid(&self) -> u32 {
        self.process.child.id().expect("the kernel's process id")
    }

    /// The kernel's temporary folder.
    pub fn dir(&self) -> &Path {
        self.scratch.path()
    }

    pub fn log(&self) -> String {
        self.process.log()
    }
}

impl Drop for Kernel {
    /// Kills the kernel and waits for it, so that it is gone (its locks
    /// released, its files closed) when the test goes on.
    fn drop(&mut self) {
        let child = &mut self.process.child;
        if child.start_kill().is_ok() {
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        if std::thread::panicking() {
            eprintln!("--- kernel log ---\n{}", self.log());
        }
    }
}
