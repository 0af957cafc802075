//! A warm spare's cell process takes on the working directory and the
//! environment of the kernel it becomes (see `crate::spares`).
//!
//! evcxr starts the cell process once, when its context is made, with the
//! kernel's environment of that moment; a spare made its context before it
//! knew whose kernel it would be. Rather than a generated cell (a build, and
//! a cell the user never wrote), the cell process, when started with
//! [`SOCKET_ENV`], connects to the spare and waits for one [`Change`]: the
//! spare sends what changed in its own environment, the cell process applies
//! it and answers `ok`. Cell processes started later (`:clear`, a crash)
//! inherit the kernel's environment as it is then, and need nothing. Should
//! evcxr start its cell process otherwise, a spare that finds no connection
//! refuses the kernel (the launcher starts cold), and a cell that sees the
//! spare's folder fails `a_warm_spare_becomes_the_next_kernel`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

use crate::lock::lock;

/// Names the spare's socket in the cell process's environment.
pub const SOCKET_ENV: &str = "ASYNCBOOK_ADOPT_SOCKET";

/// What the cell process changes: its working directory and environment.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct Change {
    pub cwd: Vec<u8>,
    pub set: Vec<(Vec<u8>, Vec<u8>)>,
    pub unset: Vec<Vec<u8>>,
}

impl Change {
    /// From the environment `before` to `after`, and to `cwd`.
    pub fn between(
        before: &BTreeMap<OsString, OsString>,
        after: &BTreeMap<OsString, OsString>,
        cwd: &Path,
    ) -> Change {
        Change {
            cwd: cwd.as_os_str().as_bytes().to_vec(),
            set: after
                .iter()
                .filter(|(key, value)| before.get(*key) != Some(value))
                .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect(),
            unset: before
                .keys()
                .filter(|key| !after.contains_key(*key))
                .map(|k| k.as_bytes().to_vec())
                .collect(),
        }
    }

    /// Applies the change to this process. Only while no cell runs: the
    /// process's other threads (the idle runtime's) do not read the
    /// environment meanwhile.
    pub fn apply(&self) -> Result<()> {
        for key in &self.unset {
            std::env::remove_var(OsString::from_vec(key.clone()));
        }
        for (key, value) in &self.set {
            std::env::set_var(
                OsString::from_vec(key.clone()),
                OsString::from_vec(value.clone()),
            );
        }
        let cwd = PathBuf::from(OsString::from_vec(self.cwd.clone()));
        std::env::set_current_dir(&cwd).with_context(|| format!("changing to {}", cwd.display()))
    }
}

/// In the cell process: waits, on a thread of its own, for the change the
/// spare sends, if this process was started by a spare.
pub fn listen_in_cell_process() {
    let Some(path) = std::env::var_os(SOCKET_ENV) else {
        return;
    };
    let Ok(stream) = UnixStream::connect(&path) else {
        return;
    };
    let _ = std::thread::Builder::new()
        .name("asyncbook-adopt".into())
        .spawn(move || {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                return;
            }
            let answer = serde_json::from_str::<Change>(&line)
                .map_err(anyhow::Error::from)
                .and_then(|change| change.apply())
                .map_or_else(|error| format!("{error:#}"), |()| "ok".to_owned());
            let _ = (&stream).write_all(format!("{answer}\n").as_bytes());
        });
}

/// The spare's end: the cell process's connection, once it made it.
pub struct AdoptSocket {
    latest: Arc<Mutex<Option<UnixStream>>>,
}

impl AdoptSocket {
    /// Listens at `path`; set [`SOCKET_ENV`] to it before the engine starts.
    pub fn bind(path: &Path) -> Result<AdoptSocket> {
        let listener = UnixListener::bind(path).context("binding the adoption socket")?;
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        let latest = Arc::new(Mutex::new(None));
        let kept = latest.clone();
        std::thread::Builder::new()
            .name("asyncbook-adopt".into())
            .spawn(move || {
                for stream in listener.incoming().flatten() {
                    *lock(&kept) = Some(stream);
                }
            })?;
        Ok(AdoptSocket { latest })
    }

    /// Has the cell process apply `change`, and waits until it did.
    pub fn send(&self, change: &Change) -> Result<()> {
        let stream = lock(&self.latest)
            .take()
            .context("the cell process did not connect")?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        (&stream).write_all(format!("{}\n", serde_json::to_string(change)?).as_bytes())?;
        let mut answer = String::new();
        BufReader::new(&stream).read_line(&mut answer)?;
        match answer.trim_end() {
            "ok" => Ok(()),
            "" => bail!("the cell process did not answer"),
            error => bail!("the cell process could not adopt: {error}"),
        }
    }
}
