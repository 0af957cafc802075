//! The spare: `asyncbook spare --key KEY`, started detached by a launcher.
//!
//! It takes its key's lock (or leaves: one spare per key), starts a kernel's
//! session folder and engine as a cold kernel does and lets it warm up, and
//! waits on its socket. The first launcher of its owner that connects hands
//! it a kernel to become: the spare takes on the launcher's working
//! directory and environment, in the kernel process and in the cell process
//! (`engine::run::adopt`), gives up its lock and socket, and serves the
//! Jupyter protocol. It ends with its launcher's connection, on shutdown, on
//! SIGTERM, and, while unused, after the idle limit.

use std::fs::File;
use std::io::BufReader;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use tokio::signal::unix::{signal, SignalKind};

use super::handover::{self, current_env, kernel_env, Notice, Request};
use super::listing::Record;
use super::Paths;
use crate::engine::run::adopt::{self, AdoptSocket, Change};
use crate::engine::session::folder::SessionDir;
use crate::lock::lock;
use crate::protocol::{self, Exit, Started};

pub fn run(key: &str) -> Result<()> {
    let folder = super::folder()?;
    let paths = Paths::new(&folder, key);
    let key_lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&paths.lock)?;
    if key_lock.try_lock().is_err() {
        return Ok(());
    }
    Record::warming().write(&paths.record)?;
    std::thread::sleep(super::start_delay());
    std::env::set_current_dir(&folder)?;
    let engine_before = current_env();
    let _ = std::fs::remove_file(&paths.socket);
    let listener = std::os::unix::net::UnixListener::bind(&paths.socket)
        .context("binding the spare's socket")?;
    std::fs::set_permissions(
        &paths.socket,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )?;

    let session_dir = SessionDir::create()?;
    let adopt_path = session_dir.path().join("adopt.sock");
    let adopt = AdoptSocket::bind(&adopt_path)?;
    // The cell process, started on the engine thread, learns of the socket
    // from the environment it inherits.
    std::env::set_var(adopt::SOCKET_ENV, &adopt_path);
    let started = Started::in_dir(session_dir)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let spare = Spare {
        paths,
        engine_before,
        adopt,
        key_lock: Mutex::new(Some(key_lock)),
        exit: Mutex::new(None),
    };
    runtime.block_on(spare.serve(listener, started))
}

struct Spare {
    paths: Paths,
    /// The environment before the engine started.
    engine_before: handover::Env,
    adopt: AdoptSocket,
    key_lock: Mutex<Option<File>>,
    /// How the kernel ends once handed over.
    exit: Mutex<Option<Exit>>,
}

impl Spare {
    async fn serve(
        self,
        listener: std::os::unix::net::UnixListener,
        mut started: Started,
    ) -> Result<()> {
        let spare = Arc::new(self);
        let unused = {
            let spare = spare.clone();
            let ender = started.ender(None);
            Arc::new(move || {
                spare.leave();
                ender()
            }) as Exit
        };
        spare.end_on_sigterm(unused.clone())?;
        let warm = {
            let engine = started.engine().clone();
            let spare = spare.clone();
            async move {
                engine.warmed().await;
                if spare.exit.lock().is_ok_and(|exit| exit.is_none()) {
                    let _ = Record::ready(&spare.paths.record).write(&spare.paths.record);
                }
            }
        };
        let warm = tokio::spawn(warm);
        listener.set_nonblocking(true)?;
        let listener = tokio::net::UnixListener::from_std(listener)?;
        let stream = tokio::select! {
            stream = accept_owner(&listener) => stream?,
            () = tokio::time::sleep(super::idle_limit()) => {
                tracing::info!("spare unused for {:?}: leaving", super::idle_limit());
                unused();
                unreachable!("the spare has exited");
            }
        };
        let stream = stream.into_std()?;
        stream.set_nonblocking(false)?;
        let Some(request) = handover::receive::<Request>(&mut BufReader::new(&stream))? else {
            unused();
            unreachable!("the spare has exited");
        };
        let _ = warm.await;
        let sockets = match spare.become_kernel(&request).await {
            Ok(sockets) => sockets,
            Err(error) => {
                tracing::error!("the spare could not take the kernel on: {error:#}");
                let why = format!("{error:#}");
                let _ = handover::send(&stream, &Notice::Refused { why });
                unused();
                unreachable!("the spare has exited");
            }
        };
        spare.leave();
        started.forget_output();
        let tell = tell_launcher(&stream)?;
        let exit = started.ender(Some(tell.clone()));
        *lock(&spare.exit) = Some(exit.clone());
        let pid = std::process::id();
        if handover::send(&stream, &Notice::Serving { pid }).is_err() {
            // The launcher went away while the spare warmed up.
            exit();
        }
        tracing::info!("spare {pid} handed over");
        end_with_launcher(stream, exit);
        protocol::serve_started(sockets, started, Some(tell)).await
    }

    /// Takes on the launcher's working directory and environment, then
    /// binds its connection's sockets.
    async fn become_kernel(&self, request: &Request) -> Result<protocol::Sockets> {
        let info: jupyter_protocol::ConnectionInfo =
            serde_json::from_str(&request.connection).context("reading the connection file")?;
        let engine_after = current_env();
        let mut ours = engine_after.clone();
        ours.remove(std::ffi::OsStr::new(adopt::SOCKET_ENV));
        let env = kernel_env(&self.engine_before, &ours, &request.env());
        let cwd = Path::new(std::ffi::OsStr::from_bytes(&request.cwd)).to_path_buf();
        self.adopt
            .send(&Change::between(&engine_after, &env, &cwd))?;
        handover::set_env(&env);
        std::env::set_current_dir(&cwd)?;
        protocol::bind(&info).await
    }

    /// Gives the key to the next spare: removes the socket and the record,
    /// lets go of the lock.
    fn leave(&self) {
        let _ = std::fs::remove_file(&self.paths.socket);
        let _ = std::fs::remove_file(&self.paths.record);
        lock(&self.key_lock).take();
    }

    fn end_on_sigterm(self: &Arc<Self>, unused: Exit) -> Result<()> {
        let mut terms = signal(SignalKind::terminate())?;
        let spare = self.clone();
        tokio::spawn(async move {
            terms.recv().await;
            let handed_over = lock(&spare.exit).clone();
            handed_over.unwrap_or(unused)();
        });
        Ok(())
    }
}

/// The next connection from a process of this user; others are dropped.
async fn accept_owner(listener: &tokio::net::UnixListener) -> Result<tokio::net::UnixStream> {
    loop {
        let (stream, _) = listener.accept().await?;
        // SAFETY: getuid has no preconditions.
        let owner = unsafe { libc::getuid() };
        match stream.peer_cred() {
            Ok(cred) if cred.uid() == owner => return Ok(stream),
            Ok(cred) => tracing::warn!("refused a connection from uid {}", cred.uid()),
            Err(error) => tracing::warn!("refused a connection: {error}"),
        }
    }
}

/// Tells the launcher the kernel's exit, before the kernel ends.
fn tell_launcher(stream: &UnixStream) -> Result<Exit> {
    let stream = stream.try_clone()?;
    Ok(Arc::new(move || {
        let _ = handover::send(&stream, &Notice::Exit { code: 0 });
    }))
}

/// Ends the kernel when the launcher is gone (killed, even with SIGKILL: its
/// end of the socket closes).
fn end_with_launcher(stream: UnixStream, exit: Exit) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        loop {
            match std::io::Read::read(&mut &stream, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        tracing::info!("the launcher is gone: the kernel ends");
        exit();
    });
}
