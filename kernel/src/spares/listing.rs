//! `asyncbook spares` lists the waiting spares (pid, age, state, memory);
//! `asyncbook spares stop` stops them. Each spare keeps a record beside its
//! socket while it waits.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Result;
use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};

#[derive(Args)]
pub struct SparesArgs {
    #[command(subcommand)]
    action: Option<Action>,
}

#[derive(Subcommand)]
enum Action {
    /// Stop every waiting spare.
    Stop,
}

/// What a waiting spare says of itself.
#[derive(Serialize, Deserialize)]
pub struct Record {
    pub pid: u32,
    /// Seconds since the epoch when it started.
    pub started: u64,
    /// `warming` or `ready`.
    pub state: String,
}

impl Record {
    fn now(state: &str) -> Record {
        Record {
            pid: std::process::id(),
            started: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            state: state.into(),
        }
    }

    pub fn warming() -> Record {
        Record::now("warming")
    }

    /// Ready, keeping the time it started.
    pub fn ready(path: &Path) -> Record {
        let started = read(path).map_or(0, |record| record.started);
        Record {
            started,
            ..Record::now("ready")
        }
    }

    /// Written whole under a new name, then renamed: readers never see half.
    pub fn write(&self, path: &Path) -> Result<()> {
        let staging = path.with_extension("json.new");
        std::fs::write(&staging, serde_json::to_vec(self)?)?;
        Ok(std::fs::rename(staging, path)?)
    }
}

fn read(path: &Path) -> Option<Record> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

pub fn run(args: SparesArgs) -> Result<()> {
    let folder = super::folder()?;
    let spares = waiting(&folder);
    match args.action {
        None => {
            println!(
                "{:<18} {:>8} {:>7} {:<8} {:>9}",
                "KEY", "PID", "AGE", "STATE", "RSS"
            );
            let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
            for (key, record) in spares {
                println!(
                    "{key:<18} {:>8} {:>6}s {:<8} {:>6} MB",
                    record.pid,
                    now.saturating_sub(record.started),
                    record.state,
                    rss_kib(record.pid) / 1024
                );
            }
        }
        Some(Action::Stop) => {
            for (_, record) in &spares {
                // SAFETY: a process of ours that holds its key's lock.
                unsafe { libc::kill(record.pid as i32, libc::SIGTERM) };
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while spares.iter().any(|(_, r)| alive(r.pid)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            for (_, record) in spares.iter().filter(|(_, r)| alive(r.pid)) {
                // SAFETY: as above; it did not end on SIGTERM.
                unsafe { libc::kill(record.pid as i32, libc::SIGKILL) };
            }
            println!("stopped {} spare(s)", spares.len());
        }
    }
    Ok(())
}

/// The spares that wait (their key's lock is held), by key; records of
/// spares that are gone are removed.
fn waiting(folder: &Path) -> Vec<(String, Record)> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(folder) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|ext| ext != "json") {
            continue;
        }
        let Some(key) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else {
            continue;
        };
        let paths = super::Paths::new(folder, &key);
        match read(&path) {
            Some(record) if locked(&paths.lock) => found.push((key, record)),
            _ => {
                let _ = std::fs::remove_file(&paths.record);
                let _ = std::fs::remove_file(&paths.socket);
            }
        }
    }
    found.sort_by_key(|(_, record)| record.pid);
    found
}

/// Whether a process holds the lock (a free lock is taken and let go).
pub fn locked(path: &PathBuf) -> bool {
    File::open(path).is_ok_and(|file| file.try_lock_shared().is_err())
}

/// Whether a process exists and is not a zombie.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rfind(')')
            .and_then(|at| stat[at + 2..].chars().next())
            .is_some_and(|state| state != 'Z' && state != 'X')
    })
}

/// Resident memory of a process and of its descendants (the cell process).
fn rss_kib(pid: u32) -> u64 {
    let mut family = vec![pid];
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
        let parent = stat.rfind(')').and_then(|at| {
            stat[at + 2..]
                .split_whitespace()
                .nth(1)?
                .parse::<u32>()
                .ok()
        });
        if let Some(parent) = parent {
            parents.push((child, parent));
        }
    }
    let mut i = 0;
    while i < family.len() {
        let current = family[i];
        family.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == current)
                .map(|(c, _)| *c),
        );
        i += 1;
    }
    family
        .iter()
        .filter_map(|pid| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .sum()
}
