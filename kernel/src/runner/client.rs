//! The one way Asyncbook starts and speaks to a kernel of its own: the
//! runner and the integration tests all launch through [`Launch`].
//!
//! The kernel listens on Unix sockets (the `ipc` transport) in a folder only
//! this user can enter. Free TCP ports would have to be chosen here and bound
//! there, and any process on the machine could take one in between; a
//! socket path in a private folder cannot be taken.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use jupyter_protocol::{
    ConnectionInfo, ExecuteRequest, ExecutionState, InterruptRequest, JupyterMessage,
    JupyterMessageContent, KernelInfoRequest, ReplyStatus, ShutdownRequest, Transport,
};
use jupyter_zmq_client::{
    create_client_control_connection, create_client_heartbeat_connection,
    create_client_iopub_connection, create_client_shell_connection_with_identity,
    create_client_stdin_connection_with_identity, peer_identity_for_session,
    ClientControlConnection, ClientHeartbeatConnection, ClientIoPubConnection,
    ClientShellConnection, ClientStdinConnection, Connection,
};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::time::{timeout, timeout_at, Instant};

type ShellSend = Connection<zeromq::DealerSendHalf>;

const KERNEL_LOG: &str = "kernel.log";
const CONNECTION_FILE: &str = "kernel.json";
/// Unix socket paths hold at most 107 bytes.
const MAX_SOCKET_PATH: usize = 107;

/// How to start a kernel.
pub struct Launch {
    /// The `asyncbook` binary.
    pub program: PathBuf,
    /// The kernel's working directory; the caller's when `None`.
    pub workdir: Option<PathBuf>,
    pub env: Vec<(OsString, OsString)>,
    /// The connection key (empty: messages unsigned).
    pub key: String,
}

impl Launch {
    pub fn new(program: impl Into<PathBuf>) -> Launch {
        Launch {
            program: program.into(),
            workdir: None,
            env: Vec::new(),
            key: uuid::Uuid::new_v4().simple().to_string(),
        }
    }

    /// Writes the connection file and starts the kernel on it. The kernel's
    /// stdout and stderr go to its log in the launch folder.
    pub fn start(self) -> Result<KernelProcess> {
        let dir = tempfile::Builder::new()
            .prefix("asyncbook-launch-")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .tempdir()
            .context("creating the launch folder")?;
        let prefix = dir.path().join("kernel");
        if prefix.as_os_str().len() + 2 > MAX_SOCKET_PATH {
            bail!(
                "the temporary folder's path is too long for a Unix socket: {}",
                prefix.display()
            );
        }
        let info = ConnectionInfo {
            ip: prefix.display().to_string(),
            transport: Transport::IPC,
            shell_port: 1,
            iopub_port: 2,
            stdin_port: 3,
            control_port: 4,
            hb_port: 5,
            key: self.key,
            signature_scheme: "hmac-sha256".into(),
            kernel_name: Some("asyncbook".into()),
        };
        let connection_file = dir.path().join(CONNECTION_FILE);
        std::fs::write(&connection_file, serde_json::to_vec_pretty(&info)?)?;
        let log = std::fs::File::create(dir.path().join(KERNEL_LOG))?;
        let mut command = Command::new(&self.program);
        command
            .arg("kernel")
            .arg("-f")
            .arg(&connection_file)
            .env("JPY_PARENT_PID", std::process::id().to_string())
            // Tests and `asyncbook test` leave no spare behind unless asked.
            .env(crate::spares::ENABLED_ENV, "0")
            .envs(self.env)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true);
        if let Some(workdir) = &self.workdir {
            command.current_dir(workdir);
        }
        let child = command
            .spawn()
            .with_context(|| format!("starting {}", self.program.display()))?;
        Ok(KernelProcess { child, info, dir })
    }
}

/// A started kernel process, its connection and its launch folder (the
/// connection file, the sockets and the kernel's log), removed on drop.
pub struct KernelProcess {
    pub child: Child,
    pub info: ConnectionInfo,
    dir: tempfile::TempDir,
}

/// The five channels of one client session.
pub struct Channels {
    pub shell: ClientShellConnection,
    pub stdin: ClientStdinConnection,
    pub control: ClientControlConnection,
    pub iopub: ClientIoPubConnection,
    pub heartbeat: ClientHeartbeatConnection,
}

impl KernelProcess {
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn connection_file(&self) -> PathBuf {
        self.dir.path().join(CONNECTION_FILE)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join(KERNEL_LOG)).unwrap_or_default()
    }

    /// The end of the kernel's log, for reports about a kernel that failed.
    pub fn log_tail(&self) -> String {
        let text = self.log();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(20)..].join("\n");
        if tail.is_empty() {
            String::new()
        } else {
            format!("\nkernel log:\n{tail}")
        }
    }

    /// Connects a client session once the kernel listens. A kernel that
    /// exits meanwhile is reported at once, with its log.
    pub async fn connect(&mut self, session_id: &str, deadline: Instant) -> Result<Channels> {
        let attempt = tokio::select! {
            status = self.child.wait() => {
                // A failing kernel may close its sockets before it writes why.
                bail!("the kernel exited ({}){}", describe(status), self.log_tail())
            }
            attempt = timeout_at(deadline, connect(&self.info, session_id)) => attempt,
        };
        match attempt {
            Ok(Ok(channels)) => Ok(channels),
            // A kernel that fails at start may reset a connection on its way
            // out: its exit, with its log, is the reason to report.
            Ok(Err(error)) => match timeout(EXIT_GRACE, self.child.wait()).await {
                Ok(status) => bail!(
                    "the kernel exited ({}){}",
                    describe(status),
                    self.log_tail()
                ),
                Err(_) => {
                    Err(error.context(format!("connecting to the kernel{}", self.log_tail())))
                }
            },
            Err(_) => bail!("could not connect to the kernel{}", self.log_tail()),
        }
    }
}

async fn connect(info: &ConnectionInfo, session_id: &str) -> Result<Channels> {
    let identity = peer_identity_for_session(session_id)?;
    Ok(Channels {
        iopub: create_client_iopub_connection(info, "", session_id).await?,
        shell: create_client_shell_connection_with_identity(info, session_id, identity.clone())
            .await?,
        stdin: create_client_stdin_connection_with_identity(info, session_id, identity).await?,
        control: create_client_control_connection(info, session_id).await?,
        heartbeat: create_client_heartbeat_connection(info).await?,
    })
}

/// A fresh kernel driven as the runner drives it.
pub struct Kernel {
    process: KernelProcess,
    shell: ShellSend,
    control: ClientControlConnection,
    shell_replies: mpsc::UnboundedReceiver<JupyterMessage>,
    iopub: mpsc::UnboundedReceiver<JupyterMessage>,
}

/// What running one cell produced.
pub struct Execution {
    /// The iopub messages of the request, in order, status and input left out.
    pub messages: Vec<JupyterMessageContent>,
    /// Error reply or error output.
    pub errored: bool,
    pub execution_count: Option<usize>,
    pub ending: Ending,
}

pub enum Ending {
    Finished,
    /// Interrupted after the timeout; the kernel answered and lives on.
    TimedOut,
    /// The kernel died or did not answer the interrupt: it cannot go on.
    Lost(String),
}

/// How long an interrupted cell gets to end before the kernel is given up.
const INTERRUPT_GRACE: Duration = Duration::from_secs(20);
const INTERRUPT_REPEAT: Duration = Duration::from_secs(2);
/// How long a kernel that failed to start may take to exit.
const EXIT_GRACE: Duration = Duration::from_secs(5);

impl Kernel {
    /// Starts a kernel and waits until it can run cells.
    pub async fn start(launch: Launch, startup: Duration) -> Result<Kernel> {
        let deadline = Instant::now() + startup;
        let mut process = launch.start()?;
        let session_id = uuid::Uuid::new_v4().to_string();
        let channels = process.connect(&session_id, deadline).await?;
        let (shell, shell_recv) = channels.shell.split();
        let mut kernel = Kernel {
            process,
            shell,
            control: channels.control,
            shell_replies: forward(shell_recv),
            iopub: forward(channels.iopub),
        };
        if let Err(error) = kernel.wait_until_ready(deadline).await {
            // A failing kernel closes its sockets before it writes why; its
            // log is read once it has exited.
            let _ = tokio::time::timeout(EXIT_GRACE, kernel.process.child.wait()).await;
            bail!("{error:#}{}", kernel.process.log_tail());
        }
        Ok(kernel)
    }

    async fn wait_until_ready(&mut self, deadline: Instant) -> Result<()> {
        let request: JupyterMessage = KernelInfoRequest {}.into();
        self.shell.send(request.clone()).await?;
        self.reply_to(&request, deadline)
            .await
            .context("waiting for kernel_info")?;
        // An empty silent request returns once the engine has warmed up,
        // so the first cell's timeout covers the cell alone.
        let probe: JupyterMessage = ExecuteRequest {
            silent: true,
            store_history: false,
            ..ExecuteRequest::new(String::new())
        }
        .into();
        self.shell.send(probe.clone()).await?;
        self.reply_to(&probe, deadline)
            .await
            .context("waiting for the engine to start")?;
        // Its idle status proves that iopub is subscribed, too.
        loop {
            match timeout_at(deadline, self.iopub.recv()).await {
                Ok(Some(message)) if is_child_of(&message, &probe) => {
                    if let JupyterMessageContent::Status(status) = message.content {
                        if status.execution_state == ExecutionState::Idle {
                            return Ok(());
                        }
                    }
                }
                Ok(Some(_)) => {}
                Ok(None) => bail!("the iopub channel closed"),
                Err(_) => bail!("no output from the kernel within the startup timeout"),
            }
        }
    }

    async fn reply_to(&mut self, request: &JupyterMessage, deadline: Instant) -> Result<()> {
        loop {
            tokio::select! {
                reply = timeout_at(deadline, self.shell_replies.recv()) => match reply {
                    Ok(Some(reply)) if is_child_of(&reply, request) => return Ok(()),
                    Ok(Some(_)) => {}
                    Ok(None) => bail!("the shell channel closed"),
                    Err(_) => bail!("no reply within the startup timeout"),
                },
                status = self.process.child.wait() => bail!("the kernel exited ({})", describe(status)),
            }
        }
    }

    /// Runs one cell; on timeout it interrupts the kernel.
    pub async fn execute(&mut self, code: &str, limit: Duration) -> Result<Execution> {
        let request: JupyterMessage = ExecuteRequest {
            allow_stdin: false,
            stop_on_error: false,
            ..ExecuteRequest::new(code.to_owned())
        }
        .into();
        self.shell.send(request.clone()).await?;
        let mut run = Execution {
            messages: Vec::new(),
            errored: false,
            execution_count: None,
            ending: Ending::Finished,
        };
        let (mut replied, mut idle) = (false, false);
        let mut deadline = Instant::now() + limit;
        let mut interrupted_at: Option<Instant> = None;
        while !(replied && idle) {
            tokio::select! {
                message = self.iopub.recv() => {
                    let Some(message) = message else {
                        run.ending = Ending::Lost("the iopub channel closed".into());
                        return Ok(run);
                    };
                    if !is_child_of(&message, &request) {
                        continue;
                    }
                    match message.content {
                        JupyterMessageContent::Status(status) => {
                            idle |= status.execution_state == ExecutionState::Idle;
                        }
                        JupyterMessageContent::ExecuteInput(_) => {}
                        JupyterMessageContent::ErrorOutput(_) => {
                            run.errored = true;
                            run.messages.push(message.content);
                        }
                        content => run.messages.push(content),
                    }
                }
                reply = self.shell_replies.recv() => {
                    let Some(reply) = reply else {
                        run.ending = Ending::Lost("the shell channel closed".into());
                        return Ok(run);
                    };
                    if let (true, JupyterMessageContent::ExecuteReply(reply)) =
                        (is_child_of(&reply, &request), &reply.content)
                    {
                        replied = true;
                        run.errored |= reply.status != ReplyStatus::Ok;
                        run.execution_count = Some(reply.execution_count.value());
                    }
                }
                status = self.process.child.wait() => {
                    run.ending = Ending::Lost(format!(
                        "the kernel exited ({}){}", describe(status), self.process.log_tail()
                    ));
                    return Ok(run);
                }
                _ = tokio::time::sleep_until(deadline) => {
                    let first = *interrupted_at.get_or_insert_with(Instant::now);
                    if first.elapsed() >= INTERRUPT_GRACE {
                        run.ending = Ending::Lost(
                            "the kernel did not end the cell after an interrupt".into(),
                        );
                        return Ok(run);
                    }
                    run.ending = Ending::TimedOut;
                    self.control.send(InterruptRequest {}.into()).await?;
                    deadline = Instant::now() + INTERRUPT_REPEAT;
                }
            }
        }
        Ok(run)
    }

    /// Whether the kernel's process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.process.child.try_wait(), Ok(None))
    }

    /// Asks the kernel to shut down and makes sure it is gone.
    pub async fn shutdown(mut self) {
        let request: JupyterMessage = ShutdownRequest { restart: false }.into();
        if self.control.send(request).await.is_ok()
            && tokio::time::timeout(Duration::from_secs(10), self.process.child.wait())
                .await
                .is_ok()
        {
            return;
        }
        let _ = self.process.child.kill().await;
    }
}

/// Reads a channel on its own task, so waiting on several never loses one.
fn forward<S>(mut connection: Connection<S>) -> mpsc::UnboundedReceiver<JupyterMessage>
where
    S: zeromq::SocketRecv + Send + 'static,
{
    let (send, receive) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            match connection.read().await {
                Ok(message) => {
                    if send.send(message).is_err() {
                        return;
                    }
                }
                Err(jupyter_zmq_client::RuntimeError::ZmqError(error)) => {
                    tracing::debug!("kernel channel closed: {error}");
                    return;
                }
                Err(error) => tracing::warn!("dropped a message from the kernel: {error}"),
            }
        }
    });
    receive
}

fn is_child_of(message: &JupyterMessage, request: &JupyterMessage) -> bool {
    message
        .parent_header
        .as_ref()
        .is_some_and(|parent| parent.msg_id == request.header.msg_id)
}

fn describe(status: std::io::Result<std::process::ExitStatus>) -> String {
    match status {
        Ok(status) => status.to_string(),
        Err(error) => error.to_string(),
    }
}
