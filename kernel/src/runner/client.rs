//! A client session with a fresh kernel: this same binary started as
//! `asyncbook kernel -f FILE` on free localhost ports with a random key, and
//! driven over ZeroMQ like any Jupyter frontend would.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use jupyter_protocol::{
    ConnectionInfo, ExecuteRequest, ExecutionState, InterruptRequest, JupyterMessage,
    JupyterMessageContent, KernelInfoRequest, ReplyStatus, ShutdownRequest, Transport,
};
use jupyter_zmq_client::{
    create_client_control_connection, create_client_iopub_connection,
    create_client_shell_connection_with_identity, peek_ports_with_listeners,
    peer_identity_for_session, ClientControlConnection, Connection,
};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::time::{sleep, timeout_at, Instant};

type ShellSend = Connection<zeromq::DealerSendHalf>;

pub struct Kernel {
    child: Child,
    shell: ShellSend,
    control: ClientControlConnection,
    shell_replies: mpsc::UnboundedReceiver<JupyterMessage>,
    iopub: mpsc::UnboundedReceiver<JupyterMessage>,
    dir: tempfile::TempDir,
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
const KERNEL_LOG: &str = "kernel.log";

impl Kernel {
    /// Starts a kernel in `workdir` and waits until it can run cells.
    pub async fn start(workdir: &Path, startup: Duration) -> Result<Kernel> {
        let deadline = Instant::now() + startup;
        let dir = tempfile::Builder::new()
            .prefix("asyncbook-test-")
            .tempdir()?;
        // Kernels started in parallel must not be handed the same free
        // ports: one launch at a time, until its kernel is connected.
        static LAUNCH: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let launching = LAUNCH.lock().await;
        let localhost = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let (ports, listeners) = peek_ports_with_listeners(localhost, 5).await?;
        let info = ConnectionInfo {
            ip: localhost.to_string(),
            transport: Transport::TCP,
            shell_port: ports[0],
            iopub_port: ports[1],
            stdin_port: ports[2],
            control_port: ports[3],
            hb_port: ports[4],
            key: uuid::Uuid::new_v4().simple().to_string(),
            signature_scheme: "hmac-sha256".into(),
            kernel_name: Some("asyncbook".into()),
        };
        let connection_file = dir.path().join("kernel.json");
        std::fs::write(&connection_file, serde_json::to_vec_pretty(&info)?)?;
        let log = std::fs::File::create(dir.path().join(KERNEL_LOG))?;
        let mut child = Command::new(std::env::current_exe()?)
            .arg("kernel")
            .arg("-f")
            .arg(&connection_file)
            .current_dir(workdir)
            .env("JPY_PARENT_PID", std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .context("starting the kernel")?;
        // The ports stay reserved until the kernel is about to bind them.
        drop(listeners);

        let session_id = uuid::Uuid::new_v4().to_string();
        let (iopub, shell, control) = loop {
            // A kernel that exits (a port taken meanwhile) is noticed at once,
            // not after the ZeroMQ connect's own timeout.
            let attempt = tokio::select! {
                status = child.wait() => {
                    bail!("the kernel exited ({}){}", describe(status), log_tail(dir.path()))
                }
                attempt = timeout_at(deadline, connect(&info, &session_id)) => attempt,
            };
            match attempt {
                Ok(Ok(connected)) => break connected,
                Ok(Err(_)) if Instant::now() < deadline => sleep(Duration::from_millis(100)).await,
                Ok(Err(error)) => return Err(error.context("connecting to the kernel")),
                Err(_) => bail!("could not connect to the kernel{}", log_tail(dir.path())),
            }
        };
        drop(launching);
        let (shell, shell_recv) = shell.split();
        let mut kernel = Kernel {
            child,
            shell,
            control,
            shell_replies: forward(shell_recv),
            iopub: forward(iopub),
            dir,
        };
        if let Err(error) = kernel.wait_until_ready(deadline).await {
            // A failing kernel closes its sockets before it writes why; its
            // log is read once it has exited.
            let _ = tokio::time::timeout(EXIT_GRACE, kernel.child.wait()).await;
            bail!("{error:#}{}", log_tail(kernel.dir.path()));
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
                status = self.child.wait() => bail!("the kernel exited ({})", describe(status)),
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
                status = self.child.wait() => {
                    run.ending = Ending::Lost(format!(
                        "the kernel exited ({}){}", describe(status), log_tail(self.dir.path())
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

    /// Asks the kernel to shut down and makes sure it is gone.
    pub async fn shutdown(mut self) {
        let request: JupyterMessage = ShutdownRequest { restart: false }.into();
        if self.control.send(request).await.is_ok()
            && tokio::time::timeout(Duration::from_secs(10), self.child.wait())
                .await
                .is_ok()
        {
            return;
        }
        let _ = self.child.kill().await;
    }
}

/// The end of the kernel's own log, for reports about a kernel that failed.
fn log_tail(dir: &Path) -> String {
    let text = std::fs::read_to_string(dir.join(KERNEL_LOG)).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(20)..].join("\n");
    if tail.is_empty() {
        String::new()
    } else {
        format!("\nkernel log:\n{tail}")
    }
}

async fn connect(
    info: &ConnectionInfo,
    session_id: &str,
) -> Result<(
    jupyter_zmq_client::ClientIoPubConnection,
    jupyter_zmq_client::ClientShellConnection,
    ClientControlConnection,
)> {
    let iopub = create_client_iopub_connection(info, "", session_id).await?;
    let identity = peer_identity_for_session(session_id)?;
    let shell = create_client_shell_connection_with_identity(info, session_id, identity).await?;
    let control = create_client_control_connection(info, session_id).await?;
    Ok((iopub, shell, control))
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
