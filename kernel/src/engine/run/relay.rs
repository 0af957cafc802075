//! The cell process's side of live output.
//!
//! evcxr reads a cell process's stdout only while a cell runs and line by
//! line, so output from background tasks would wait for the next cell and
//! `print!` without a newline would wait for one. Before handing over to
//! evcxr, the cell process points its stdout and stderr at pipes read by a
//! relay thread, which sends user output to the kernel at once over a Unix
//! socket and passes evcxr's own protocol lines on to evcxr.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;

use anyhow::{Context, Result};

use crate::engine::run::frames::{Frame, FrameWriter};

/// Names the kernel's output socket in the cell process's environment.
pub const SOCKET_ENV: &str = "ASYNCBOOK_OUTPUT_SOCKET";

/// Lines evcxr itself reads from the cell process.
const EVCXR_PREFIX: &[u8] = b"EVCXR_";
const EXECUTION_COMPLETE: &[u8] = b"EVCXR_EXECUTION_COMPLETE";
const PANIC_NOTIFICATION: &[u8] = b"EVCXR_PANIC_NOTIFICATION";
const ERROR_OCCURRED: &[u8] = b"EVCXR_ERROR_OCCURRED";
const BEGIN_CONTENT: &[u8] = b"EVCXR_BEGIN_CONTENT";
const END_CONTENT: &[u8] = b"EVCXR_END_CONTENT";
const VARIABLE_CHANGED_TYPE: &[u8] = b"EVCXR_VARIABLE_CHANGED_TYPE:";
/// Lines the cell library writes for rich display (`asyncbook::display`).
const DISPLAY_PREFIX: &[u8] = b"\x01asyncbook-display ";
/// The line the cell library's panic hook writes for a panicking cell.
const PANIC_PREFIX: &[u8] = b"\x01asyncbook-panic ";
/// The line the cell library writes when a cell's body starts.
const STARTED_PREFIX: &[u8] = b"\x01asyncbook-started";
/// Every line prefix that is protocol rather than the cell's own output.
const MARKERS: [&[u8]; 4] = [EVCXR_PREFIX, DISPLAY_PREFIX, PANIC_PREFIX, STARTED_PREFIX];

/// Installs the relay in a cell process; evcxr's runtime loop runs after it.
pub fn install() -> Result<()> {
    let path = std::env::var_os(SOCKET_ENV).context("no output socket given")?;
    let socket = UnixStream::connect(&path).context("connecting to the kernel's output socket")?;
    // SAFETY: plain POSIX fd calls on fds this process owns. A SIGINT that
    // arrives before the cell library listens for it must not kill the process.
    let (evcxr_out, out_read, err_read) = unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        let evcxr_out = OwnedFd::from_raw_fd(check(libc::dup(1))?);
        let out_read = redirect(1)?;
        let err_read = redirect(2)?;
        (evcxr_out, out_read, err_read)
    };
    let mut relay = Relay {
        kernel: FrameWriter::new(socket),
        evcxr: std::fs::File::from(evcxr_out),
        pending: Vec::new(),
        in_content: false,
    };
    std::thread::Builder::new()
        .name("asyncbook-relay".into())
        .spawn(move || relay.run(out_read, err_read))?;
    Ok(())
}

fn check(fd: libc::c_int) -> Result<libc::c_int> {
    if fd < 0 {
        Err(std::io::Error::last_os_error().into())
    } else {
        Ok(fd)
    }
}

/// Points `fd` at a new pipe and returns the pipe's read end.
unsafe fn redirect(fd: libc::c_int) -> Result<OwnedFd> {
    let mut ends = [0; 2];
    check(libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC))?;
    check(libc::dup2(ends[1], fd))?;
    libc::close(ends[1]);
    Ok(OwnedFd::from_raw_fd(ends[0]))
}

struct Relay {
    kernel: FrameWriter<UnixStream>,
    evcxr: std::fs::File,
    /// Stdout bytes not yet known to be plain output (a partial line that
    /// may turn out to be a protocol line).
    pending: Vec<u8>,
    in_content: bool,
}

impl Relay {
    fn run(&mut self, mut out: OwnedFd, mut err: OwnedFd) {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let mut fds = [
                libc::pollfd {
                    fd: out.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: err.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            // SAFETY: polling two fds this thread owns.
            if unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) } < 0 {
                continue;
            }
            if fds[1].revents != 0 && !self.pump_stderr(&mut err, &mut buf) {
                return;
            }
            if fds[0].revents != 0 {
                match read_some(&mut out, &mut buf) {
                    Some(n) => {
                        self.pending.extend_from_slice(&buf[..n]);
                        self.drain_stdout(&mut err, &mut buf);
                    }
                    None => return,
                }
            }
        }
    }

    fn pump_stderr(&mut self, err: &mut OwnedFd, buf: &mut [u8]) -> bool {
        match read_some(err, buf) {
            Some(n) => {
                let _ = self.kernel.send(&Frame::Stderr(buf[..n].to_vec()));
                true
            }
            None => false,
        }
    }

    /// Sends complete stdout lines on, each to the kernel or to evcxr. A
    /// protocol line may follow user text that had no newline of its own.
    fn drain_stdout(&mut self, err: &mut OwnedFd, buf: &mut [u8]) {
        let mut text = Vec::new();
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let bare = &line[..line.len() - 1];
            if self.in_content {
                self.pass_to_evcxr(bare, err, buf);
                continue;
            }
            let first_marker = MARKERS
                .into_iter()
                .filter_map(|marker| find(bare, marker).map(|at| (at, marker)))
                .min_by_key(|(at, _)| *at);
            let Some((at, marker)) = first_marker else {
                text.extend_from_slice(&line);
                continue;
            };
            text.extend_from_slice(&bare[..at]);
            self.flush_text(&mut text);
            let rest = &bare[at..];
            if marker == EVCXR_PREFIX {
                self.pass_to_evcxr(rest, err, buf);
            } else {
                let json = rest[marker.len()..].to_vec();
                let frame = if marker == DISPLAY_PREFIX {
                    Frame::Display(json)
                } else if marker == STARTED_PREFIX {
                    Frame::CellStarted
                } else {
                    Frame::PanicMessage(json)
                };
                let _ = self.kernel.send(&frame);
            }
        }
        // A partial line goes out now unless it may be a protocol line.
        let maybe_protocol = MARKERS
            .iter()
            .any(|marker| is_prefix_either_way(&self.pending, marker));
        if !self.in_content && !maybe_protocol {
            text.append(&mut self.pending);
        }
        self.flush_text(&mut text);
    }

    fn flush_text(&mut self, text: &mut Vec<u8>) {
        if !text.is_empty() {
            let _ = self.kernel.send(&Frame::Stdout(std::mem::take(text)));
        }
    }

    fn pass_to_evcxr(&mut self, line: &[u8], err: &mut OwnedFd, buf: &mut [u8]) {
        if line.starts_with(BEGIN_CONTENT) {
            self.in_content = true;
        } else if line == END_CONTENT {
            self.in_content = false;
        }
        if let Some(name) = line.strip_prefix(VARIABLE_CHANGED_TYPE) {
            let _ = self.kernel.send(&Frame::VariableLost(name.to_vec()));
        }
        if line == ERROR_OCCURRED {
            let _ = self.kernel.send(&Frame::ReturnedError);
        }
        if line == PANIC_NOTIFICATION {
            self.in_content = false;
            let _ = self.kernel.send(&Frame::Panicked);
        }
        if line == EXECUTION_COMPLETE {
            // Everything the cell wrote reaches the kernel before evcxr
            // learns that the cell is done: drain stderr, then a fence.
            // SAFETY: switching a pipe fd this thread owns to non-blocking.
            unsafe {
                libc::fcntl(err.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK);
            }
            while self.pump_stderr(err, buf) {}
            unsafe {
                libc::fcntl(err.as_raw_fd(), libc::F_SETFL, 0);
            }
            let _ = self.kernel.send(&Frame::Fence);
        }
        let _ = self.evcxr.write_all(line);
        let _ = self.evcxr.write_all(b"\n");
        let _ = self.evcxr.flush();
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn is_prefix_either_way(a: &[u8], b: &[u8]) -> bool {
    !a.is_empty() && (a.starts_with(b) || b.starts_with(a))
}

/// Reads what is there; `None` at end of file or on a hard error.
fn read_some(fd: &mut OwnedFd, buf: &mut [u8]) -> Option<usize> {
    let mut file = std::mem::ManuallyDrop::new(unsafe {
        // SAFETY: the File borrows the fd only for this read and is never dropped.
        std::fs::File::from_raw_fd(fd.as_raw_fd())
    });
    loop {
        match file.read(buf) {
            Ok(0) => return None,
            Ok(n) => return Some(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
    }
}
