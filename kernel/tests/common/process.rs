//! The kernel as a process: its exit, signals, its session folder, and the
//! processes it started, read from /proc.

use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use super::Kernel;

impl Kernel {
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

    /// The kernel's session folder in its temporary folder.
    pub fn session_dir(&self) -> PathBuf {
        std::fs::read_dir(self.dir())
            .unwrap()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().starts_with("asyncbook-"))
            .expect("the session folder")
            .path()
    }
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
