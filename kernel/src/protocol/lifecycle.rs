//! A kernel's life: binds the sockets, starts the engine and the session,
//! and ends the kernel on shutdown, when its parent is gone, and no sooner
//! (SIGINT interrupts the running cell).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;

use super::control::Exit;
use super::session::serve;
use super::transport::Sockets;
use super::wire::wire;
use crate::engine::session::folder::SessionDir;
use crate::engine::{Engine, EngineChannels};

/// A kernel's session folder and engine, started before its connection is
/// known (a spare starts them long before).
pub struct Started {
    session_dir: Arc<SessionDir>,
    engine: Engine,
    channels: EngineChannels,
}

impl Started {
    /// Starts the engine in `session_dir`.
    pub fn in_dir(session_dir: SessionDir) -> Result<Started> {
        let (engine, channels) = Engine::start(session_dir.path())?;
        Ok(Started {
            session_dir: Arc::new(session_dir),
            engine,
            channels,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Drops the output of the warm-up, which no client asked for.
    pub fn forget_output(&mut self) {
        while self.channels.outputs.try_recv().is_ok() {}
    }

    /// Ends the kernel: the cell process, the session folder, then this
    /// process, after `before` (a spare tells its launcher).
    pub fn ender(&self, before: Option<Exit>) -> Exit {
        let engine = self.engine.clone();
        let session_dir = self.session_dir.clone();
        Arc::new(move || {
            if let Some(before) = &before {
                before();
            }
            engine.kill_cell_process();
            session_dir.remove();
            std::process::exit(0);
        })
    }
}

/// Runs a kernel on the given connection until shutdown.
pub async fn run(info: jupyter_protocol::ConnectionInfo) -> Result<()> {
    let session_id = uuid_like();
    let sockets = Sockets::bind(&info, &session_id).await?;
    let started = Started::in_dir(SessionDir::create()?)?;
    serve_started(sockets, started, None).await
}

/// Binds the sockets of `info` for the kernel started as `started`.
pub async fn bind(info: &jupyter_protocol::ConnectionInfo) -> Result<Sockets> {
    Sockets::bind(info, &uuid_like()).await
}

/// Serves the Jupyter protocol on `sockets` with the started engine until
/// shutdown; `before_exit` runs first when the kernel ends.
pub async fn serve_started(
    sockets: Sockets,
    started: Started,
    before_exit: Option<Exit>,
) -> Result<()> {
    let exit = started.ender(before_exit);
    let Started {
        engine, channels, ..
    } = started;
    let EngineChannels { outputs, inputs } = channels;
    let (wire, ends) = wire();
    sockets.serve(ends);
    watch_for_signals(engine.clone());
    watch_parent(exit.clone());
    serve(engine, wire, outputs, inputs, exit).await;
    Ok(())
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{:032x}", nanos ^ ((std::process::id() as u128) << 64))
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
fn watch_parent(exit: Exit) {
    tokio::spawn(async move {
        parent_gone().await;
        exit();
    });
}

/// Resolves once the process that started this one (Jupyter's
/// `JPY_PARENT_PID`, else the parent) is gone; never if there is none.
pub(crate) async fn parent_gone() {
    let parent = std::env::var("JPY_PARENT_PID")
        .ok()
        .and_then(|pid| pid.parse::<i32>().ok())
        // SAFETY: getppid has no preconditions.
        .unwrap_or_else(|| unsafe { libc::getppid() });
    if parent <= 1 {
        return std::future::pending().await;
    }
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        // SAFETY: signal 0 only checks that the process exists.
        let alive = unsafe { libc::kill(parent, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        // SAFETY: as above.
        let orphaned =
            unsafe { libc::getppid() } != parent && std::env::var("JPY_PARENT_PID").is_err();
        if !alive || orphaned {
            return;
        }
    }
}

pub fn connection_info(path: &PathBuf) -> Result<jupyter_protocol::ConnectionInfo> {
    let text = std::fs::read_to_string(path)?;
    Ok(serde_json::from_str(&text)?)
}
