//! The launcher: the process Jupyter started. It hands its kernel to a
//! spare of its key when one waits (even one still warming: that beats a
//! cold start), then stands for it: signals it gets go to the spare, it
//! exits when the spare does, and its own end (even by SIGKILL) closes the
//! socket, which ends the spare. Either way it starts the next spare.

use std::io::BufReader;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use super::handover::{self, Notice, Request};
use super::listing::locked;
use super::Paths;

/// How long a launcher waits for a spare to warm up and take its kernel.
const HANDOVER_LIMIT: Duration = Duration::from_secs(120);

/// Runs the kernel of `connection_file` in a spare if one waits, and starts
/// the next spare; `None`: no spare took it, run it here.
pub fn launch(connection_file: &Path) -> Result<Option<ExitCode>> {
    let started = std::time::Instant::now();
    let folder = super::folder()?;
    let key = super::key()?;
    let paths = Paths::new(&folder, &key);
    let handed = match UnixStream::connect(&paths.socket) {
        Ok(stream) => hand_over(stream, connection_file, started)?,
        Err(_) => None,
    };
    if let Err(error) = start_spare(&folder, &paths, &key) {
        tracing::warn!("could not start a spare: {error:#}");
    }
    handed.map(|(stream, pid)| stand(stream, pid)).transpose()
}

/// Hands the kernel to the spare at the other end of `stream`; `None` if
/// it did not take it (the spare is gone then).
fn hand_over(
    stream: UnixStream,
    connection_file: &Path,
    started: std::time::Instant,
) -> Result<Option<(UnixStream, i32)>> {
    let connection = std::fs::read_to_string(connection_file)
        .with_context(|| format!("reading {}", connection_file.display()))?;
    let spare = peer_pid(&stream)?;
    handover::send(&stream, &Request::here(connection)?)?;
    stream.set_read_timeout(Some(HANDOVER_LIMIT))?;
    let answer = handover::receive::<Notice>(&mut BufReader::new(&stream));
    stream.set_read_timeout(None)?;
    match answer {
        Ok(Some(Notice::Serving { pid })) => {
            tracing::debug!("handed over to spare {pid} in {:?}", started.elapsed());
            Ok(Some((stream, pid as i32)))
        }
        Ok(Some(Notice::Refused { why })) => {
            tracing::warn!("the spare refused the kernel ({why}): starting cold");
            Ok(None)
        }
        other => {
            tracing::warn!("the spare did not answer ({other:?}): starting cold");
            // SAFETY: our own spare; it must not serve the kernel as well.
            unsafe { libc::kill(spare, libc::SIGKILL) };
            Ok(None)
        }
    }
}

/// The process at the other end of a Unix socket, checked to be the user's.
fn peer_pid(stream: &UnixStream) -> Result<i32> {
    use std::os::fd::AsRawFd;
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into the ucred we own.
    let done = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    anyhow::ensure!(done == 0, "reading the spare's credentials");
    // SAFETY: getuid has no preconditions.
    anyhow::ensure!(
        cred.uid == unsafe { libc::getuid() },
        "the spare is another user's"
    );
    Ok(cred.pid)
}

/// Stands for the spare `pid` until it ends, and ends as it did.
fn stand(stream: UnixStream, pid: i32) -> Result<ExitCode> {
    let forwarded = Arc::new(AtomicI32::new(0));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let _guard = runtime.enter();
    for kind in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT] {
        let mut signals = tokio::signal::unix::signal(kind.into())?;
        let forwarded = forwarded.clone();
        runtime.spawn(async move {
            while signals.recv().await.is_some() {
                if kind != libc::SIGINT {
                    forwarded.store(kind, Ordering::SeqCst);
                }
                // SAFETY: signalling the spare that serves our kernel.
                unsafe { libc::kill(pid, kind) };
            }
        });
    }
    // Exits when the process that started us is gone, as a cold kernel
    // does; the spare then sees its socket close.
    runtime.spawn(async {
        crate::protocol::parent_gone().await;
        std::process::exit(0)
    });
    let mut reader = BufReader::new(stream);
    let code = runtime.block_on(async move {
        tokio::task::spawn_blocking(move || {
            let mut code = None;
            while let Ok(Some(notice)) = handover::receive::<Notice>(&mut reader) {
                if let Notice::Exit { code: exit } = notice {
                    code = Some(exit);
                }
            }
            code
        })
        .await
    })?;
    let signal = forwarded.load(Ordering::SeqCst);
    if signal != 0 {
        // Ends by the signal it passed on, as a cold kernel would have ended.
        // SAFETY: restoring the default action, then raising it on ourselves.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
    }
    Ok(ExitCode::from(code.unwrap_or(1).clamp(0, 255) as u8))
}

/// Starts a spare of `key` unless one is there, detached: a session of its
/// own (Jupyter's signals to our process group miss it), not our child
/// (nobody waits for it), its output in its log.
fn start_spare(folder: &Path, paths: &Paths, key: &str) -> Result<()> {
    if locked(&paths.lock) {
        return Ok(());
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&paths.log)?;
    let mut command = Command::new(std::env::current_exe()?);
    command
        .args(["spare", "--key", key])
        .current_dir(folder)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            match libc::fork() {
                -1 => Err(std::io::Error::last_os_error()),
                0 => Ok(()),
                _ => libc::_exit(0),
            }
        });
    }
    command.spawn()?.wait()?;
    Ok(())
}
