//! A test client for the real kernel: the `asyncbook` binary started by the
//! kernel crate's launcher, spoken to over ZeroMQ.
//!
//! Messages are built and read as JSON so the tests see exactly what goes
//! over the wire; every message the kernel sends must carry a valid
//! signature (checked by `RawMessage::from_multipart`).

#![allow(dead_code)] // each test binary uses a different part of the client

use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use asyncbook_kernel::runner::client::{KernelProcess, Launch};
use bytes::Bytes;
use jupyter_zmq_client::{
    ClientControlConnection, ClientHeartbeatConnection, ClientIoPubConnection,
    ClientShellConnection, ClientStdinConnection, Connection, ConnectionInfo, RawMessage,
};
use serde_json::{json, Value};
use tokio::time::timeout;
use zeromq::{DealerSocket, SocketRecv, SocketSend, ZmqMessage};

/// Time for the first cell of a fresh kernel (engine warm-up) on a busy machine.
pub const WARM_UP: Duration = Duration::from_secs(180);
/// Time for any later request to be answered.
pub const ANSWER: Duration = Duration::from_secs(60);

/// One message as sent over the wire.
#[derive(Clone, Debug)]
pub struct Msg {
    pub header: Value,
    pub parent: Value,
    pub metadata: Value,
    pub content: Value,
}

impl Msg {
    fn from_raw(raw: RawMessage) -> Msg {
        let part = |i: usize| serde_json::from_slice(&raw.jparts[i]).expect("a JSON frame");
        Msg {
            header: part(0),
            parent: part(1),
            metadata: part(2),
            content: part(3),
        }
    }

    pub fn msg_type(&self) -> &str {
        self.header["msg_type"].as_str().unwrap_or_default()
    }

    pub fn parent_id(&self) -> Option<&str> {
        self.parent["msg_id"].as_str()
    }

    /// `status` messages: the execution state.
    pub fn state(&self) -> Option<&str> {
        (self.msg_type() == "status")
            .then(|| self.content["execution_state"].as_str())
            .flatten()
    }
}

/// Everything one execute request produced.
#[derive(Clone)]
pub struct ExecResult {
    pub code: String,
    pub request_id: String,
    pub reply: Msg,
    /// iopub messages whose parent is the request, in arrival order.
    pub iopub: Vec<Msg>,
}

impl ExecResult {
    pub fn status(&self) -> &str {
        self.reply.content["status"].as_str().unwrap_or_default()
    }

    pub fn count(&self) -> u64 {
        self.reply.content["execution_count"]
            .as_u64()
            .expect("execution_count in execute_reply")
    }

    pub fn types(&self) -> Vec<&str> {
        self.iopub.iter().map(Msg::msg_type).collect()
    }

    /// The cell's outputs: everything but status and execute_input.
    pub fn outputs(&self) -> impl Iterator<Item = &Msg> {
        self.iopub
            .iter()
            .filter(|m| !matches!(m.msg_type(), "status" | "execute_input"))
    }

    pub fn of_type(&self, msg_type: &str) -> Vec<&Msg> {
        self.iopub
            .iter()
            .filter(|m| m.msg_type() == msg_type)
            .collect()
    }

    fn stream(&self, name: &str) -> String {
        self.of_type("stream")
            .iter()
            .filter(|m| m.content["name"] == name)
            .filter_map(|m| m.content["text"].as_str())
            .collect()
    }

    pub fn stdout(&self) -> String {
        self.stream("stdout")
    }

    pub fn stderr(&self) -> String {
        self.stream("stderr")
    }

    /// `text/plain` of the execute_result, if any.
    pub fn result(&self) -> Option<String> {
        self.of_type("execute_result")
            .first()
            .and_then(|m| m.content["data"]["text/plain"].as_str())
            .map(str::to_owned)
    }

    /// The error output's ename, evalue and traceback as one text.
    pub fn error_text(&self) -> String {
        self.of_type("error")
            .iter()
            .map(|m| {
                let traceback: Vec<&str> = m.content["traceback"]
                    .as_array()
                    .map(|t| t.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                format!(
                    "{}: {}\n{}",
                    m.content["ename"].as_str().unwrap_or_default(),
                    m.content["evalue"].as_str().unwrap_or_default(),
                    traceback.join("\n")
                )
            })
            .collect()
    }

    /// Everything the user would see: streams and error text.
    pub fn shown(&self) -> String {
        format!("{}{}{}", self.stdout(), self.stderr(), self.error_text())
    }

    /// Panics with the whole exchange unless the cell succeeded.
    pub fn ok(self) -> Self {
        assert_eq!(self.status(), "ok", "cell failed: {self:?}");
        self
    }

    /// Panics with the whole exchange unless the cell failed.
    pub fn failed(self) -> Self {
        assert_eq!(self.status(), "error", "cell should fail: {self:?}");
        self
    }
}

impl std::fmt::Debug for ExecResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "\n--- cell:\n{}", self.code)?;
        writeln!(f, "--- reply: {}", self.reply.content)?;
        for m in &self.iopub {
            writeln!(f, "--- {}: {}", m.msg_type(), m.content)?;
        }
        Ok(())
    }
}

/// How to start a kernel.
#[derive(Default)]
pub struct Options {
    /// The connection key; `None` picks a random one.
    pub key: Option<String>,
    pub env: Vec<(String, String)>,
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
            ..Launch::new(env!("CARGO_BIN_EXE_asyncbook"))
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

    /// A signed message, as frames after the routing ids.
    pub fn frames(&self, msg_type: &str, content: &Value) -> (String, Vec<Bytes>) {
        let id = format!("{}-{}", msg_type, random_hex(8));
        let header = json!({
            "msg_id": id,
            "username": "test",
            "session": self.session,
            "date": "2024-01-01T00:00:00.000000Z",
            "msg_type": msg_type,
            "version": "5.3",
        });
        let parts: Vec<Bytes> = [header, json!({}), json!({}), content.clone()]
            .iter()
            .map(|v| Bytes::from(v.to_string()))
            .collect();
        let signature = sign(&self.info.key, &parts);
        let mut frames = vec![Bytes::from_static(b"<IDS|MSG>"), Bytes::from(signature)];
        frames.extend(parts);
        (id, frames)
    }

    pub async fn send_shell(&mut self, msg_type: &str, content: Value) -> String {
        let (id, frames) = self.frames(msg_type, &content);
        self.send_frames_shell(frames).await;
        id
    }

    pub async fn send_control(&mut self, msg_type: &str, content: Value) -> String {
        let (id, frames) = self.frames(msg_type, &content);
        self.send_frames_control(frames).await;
        id
    }

    pub async fn send_frames_shell(&mut self, frames: Vec<Bytes>) {
        send_frames(&mut self.shell, frames, "shell").await;
    }

    pub async fn send_frames_control(&mut self, frames: Vec<Bytes>) {
        send_frames(&mut self.control, frames, "control").await;
    }

    pub async fn send_frames_stdin(&mut self, frames: Vec<Bytes>) {
        send_frames(&mut self.stdin, frames, "stdin").await;
    }

    /// The next shell message, or `None` after `wait`.
    pub async fn next_shell(&mut self, wait: Duration) -> Option<Msg> {
        receive(&mut self.shell, wait, "shell").await
    }

    /// The shell reply to request `id`; panics after `wait`.
    pub async fn shell_reply(&mut self, id: &str, wait: Duration) -> Msg {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let reply = self.next_shell(left).await.unwrap_or_else(|| {
                panic!(
                    "no shell reply to {id} within {wait:?}; log:\n{}",
                    self.log()
                )
            });
            if reply.parent_id() == Some(id) {
                return reply;
            }
        }
    }

    pub async fn control_reply(&mut self, id: &str, wait: Duration) -> Msg {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let reply = receive(&mut self.control, left, "control")
                .await
                .unwrap_or_else(|| panic!("no control reply to {id} within {wait:?}"));
            if reply.parent_id() == Some(id) {
                return reply;
            }
        }
    }

    /// The next message on stdin (an input_request), or `None` after `wait`.
    pub async fn next_stdin(&mut self, wait: Duration) -> Option<Msg> {
        receive(&mut self.stdin, wait, "stdin").await
    }

    /// Answers an input_request.
    pub async fn input_reply(&mut self, request: &Msg, value: &str) {
        let (_, mut frames) = self.frames("input_reply", &json!({"value": value}));
        // The parent header is frame 3 (after delimiter, signature, header).
        frames[3] = Bytes::from(request.header.to_string());
        let parts = frames[2..6].to_vec();
        frames[1] = Bytes::from(sign(&self.info.key, &parts));
        self.send_frames_stdin(frames).await;
    }

    async fn recv_iopub(&mut self) -> Option<Msg> {
        let frames = self.iopub.socket.recv().await.ok()?;
        let raw =
            RawMessage::from_multipart(frames, &self.iopub.mac).expect("a signed message on iopub");
        Some(Msg::from_raw(raw))
    }

    /// Reads and discards shell replies and iopub messages until neither
    /// socket has had anything for `quiet`, as a client that keeps up does.
    /// Returns how many messages were discarded.
    pub async fn drain(&mut self, quiet: Duration) -> usize {
        self.strays.clear();
        let mut discarded = 0;
        loop {
            let read = tokio::select! {
                shell = self.shell.socket.recv() => shell.is_ok(),
                iopub = self.iopub.socket.recv() => iopub.is_ok(),
                _ = tokio::time::sleep(quiet) => false,
            };
            if !read {
                return discarded;
            }
            discarded += 1;
        }
    }

    /// The next iopub message (earlier strays first), or `None` after `wait`.
    pub async fn next_iopub(&mut self, wait: Duration) -> Option<Msg> {
        if !self.strays.is_empty() {
            return Some(self.strays.remove(0));
        }
        timeout(wait, self.recv_iopub()).await.ok().flatten()
    }

    /// The first iopub message matching `wanted` within `wait`; others read
    /// on the way are kept as strays.
    pub async fn wait_iopub(
        &mut self,
        wait: Duration,
        wanted: impl Fn(&Msg) -> bool,
    ) -> Option<Msg> {
        if let Some(at) = self.strays.iter().position(&wanted) {
            return Some(self.strays.remove(at));
        }
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = timeout(left, self.recv_iopub()).await.ok().flatten()?;
            if wanted(&message) {
                return Some(message);
            }
            self.strays.push(message);
        }
    }

    /// iopub messages with parent `id` up to and including its idle status.
    pub async fn iopub_until_idle(&mut self, id: &str, wait: Duration) -> Vec<Msg> {
        let mut mine = Vec::new();
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = timeout(left, self.recv_iopub())
                .await
                .ok()
                .flatten()
                .unwrap_or_else(|| {
                    panic!(
                        "no idle for {id} within {wait:?}; got so far: {mine:#?}\nlog:\n{}",
                        self.log()
                    )
                });
            if message.parent_id() != Some(id) {
                self.strays.push(message);
                continue;
            }
            let idle = message.state() == Some("idle");
            mine.push(message);
            if idle {
                return mine;
            }
        }
    }

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

    /// One heartbeat round trip: whether the ping came back unchanged.
    pub async fn heartbeat(&mut self, wait: Duration) -> bool {
        let ping = format!("ping-{}", random_hex(4));
        let exchange = async {
            self.heartbeat
                .socket
                .send(ZmqMessage::from(ping.clone().into_bytes()))
                .await
                .ok()?;
            self.heartbeat.socket.recv().await.ok()
        };
        match timeout(wait, exchange).await {
            Ok(Some(pong)) => pong.get(0).map(|b| &b[..]) == Some(ping.as_bytes()),
            _ => false,
        }
    }

    /// Waits for the kernel process to end.
    pub async fn wait_exit(&mut self, wait: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(status) = self
                .process
                .child
                .try_wait()
                .expect("waiting for the kernel")
            {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends SIGINT to the kernel process, as jupyter_client's signal mode does.
    pub fn signal_interrupt(&self) {
        // SAFETY: signalling our own child process.
        unsafe { libc::kill(self.pid() as i32, libc::SIGINT) };
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

/// HMAC-SHA256 of the four signed parts, hex; empty when the key is empty.
/// Sends frames (those after the routing id) on a shell, control or stdin
/// connection.
async fn send_frames(channel: &mut Connection<DealerSocket>, frames: Vec<Bytes>, name: &str) {
    let message = ZmqMessage::try_from(frames).expect("frames");
    channel
        .socket
        .send(message)
        .await
        .unwrap_or_else(|e| panic!("sending on {name}: {e}"));
}

/// The next message on a shell, control or stdin connection, which must be
/// signed with the session's key; `None` after `wait`.
async fn receive(
    channel: &mut Connection<DealerSocket>,
    wait: Duration,
    name: &str,
) -> Option<Msg> {
    let frames = timeout(wait, channel.socket.recv()).await.ok()?;
    let frames = frames.unwrap_or_else(|e| panic!("{name} socket: {e}"));
    let raw = RawMessage::from_multipart(frames, &channel.mac)
        .unwrap_or_else(|e| panic!("a signed message on {name}: {e}"));
    Some(Msg::from_raw(raw))
}

pub fn sign(key: &str, parts: &[Bytes]) -> String {
    if key.is_empty() {
        return String::new();
    }
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes());
    let mut context = ring::hmac::Context::with_key(&key);
    for part in &parts[..4] {
        context.update(part);
    }
    context
        .sign()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The process ids of `pid`'s descendants, from /proc.
pub fn descendants(pid: u32) -> Vec<u32> {
    let mut parents = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(child) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some(parent) = parent_of(child) {
                parents.push((child, parent));
            }
        }
    }
    let mut found = vec![pid];
    let mut i = 0;
    while i < found.len() {
        let current = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == current)
                .map(|(c, _)| *c),
        );
        i += 1;
    }
    found.remove(0);
    found
}

fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Whether a process exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|at| stat[at + 2..].chars().next())
            .is_some_and(|state| state != 'Z' && state != 'X'),
        Err(_) => false,
    }
}
