//! What the launcher and the spare say to each other, one JSON line each,
//! and the environment a handed-over kernel takes on.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// Launcher to spare: the kernel it is to become.
#[derive(Serialize, Deserialize)]
pub struct Request {
    /// The connection file's contents.
    pub connection: String,
    pub cwd: Vec<u8>,
    pub env: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Request {
    /// This process's connection file, working directory and environment.
    pub fn here(connection: String) -> Result<Request> {
        Ok(Request {
            connection,
            cwd: std::env::current_dir()?.into_os_string().into_vec(),
            env: std::env::vars_os()
                .map(|(k, v)| (k.into_vec(), v.into_vec()))
                .collect(),
        })
    }

    pub fn env(&self) -> Env {
        self.env
            .iter()
            .map(|(k, v)| (OsString::from_vec(k.clone()), OsString::from_vec(v.clone())))
            .collect()
    }
}

/// Spare to launcher.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub enum Notice {
    /// The spare is the kernel now; signals for it go to this process.
    Serving { pid: u32 },
    /// The spare could not take the kernel on (the launcher runs cold).
    Refused { why: String },
    /// The kernel ends with this status.
    Exit { code: i32 },
}

pub fn send<T: Serialize>(mut stream: impl Write, message: &T) -> Result<()> {
    let mut line = serde_json::to_vec(message)?;
    line.push(b'\n');
    stream.write_all(&line)?;
    Ok(stream.flush()?)
}

/// The next line, or `None` at the end of the stream.
pub fn receive<T: for<'a> Deserialize<'a>>(stream: &mut impl BufRead) -> Result<Option<T>> {
    let mut line = String::new();
    if stream.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    Ok(Some(
        serde_json::from_str(&line).context("reading a handover message")?,
    ))
}

pub type Env = BTreeMap<OsString, OsString>;

pub fn current_env() -> Env {
    std::env::vars_os().collect()
}

/// Variables whose value is a list of folders, where the engine puts its own
/// in front of the ones it found.
const FOLDER_LISTS: [&str; 2] = ["PATH", "LD_LIBRARY_PATH"];

/// The environment of the kernel a spare becomes: the launcher's, with
/// what the engine set at its start (`engine_before` to `engine_after`)
/// laid over it as a cold kernel would have, its own folders in front of
/// the launcher's.
pub fn kernel_env(engine_before: &Env, engine_after: &Env, launcher: &Env) -> Env {
    let mut env = launcher.clone();
    for (key, value) in engine_after {
        let found = engine_before.get(key);
        if found == Some(value) {
            continue;
        }
        let is_list = FOLDER_LISTS
            .iter()
            .any(|list| key.as_bytes() == list.as_bytes());
        let merged = match launcher.get(key) {
            Some(theirs) if is_list => {
                let ours: Vec<_> = std::env::split_paths(value).collect();
                let found = found.map_or(0, |old| std::env::split_paths(old).count());
                let added = &ours[..ours.len().saturating_sub(found)];
                let folders = added.iter().cloned().chain(std::env::split_paths(theirs));
                std::env::join_paths(folders).unwrap_or_else(|_| value.clone())
            }
            _ => value.clone(),
        };
        env.insert(key.clone(), merged);
    }
    env
}

/// Makes this process's environment `env`.
pub fn set_env(env: &Env) {
    for (key, _) in std::env::vars_os() {
        if !env.contains_key(&key) {
            std::env::remove_var(key);
        }
    }
    for (key, value) in env {
        std::env::set_var(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs.iter().map(|(k, v)| (k.into(), v.into())).collect()
    }

    #[test]
    fn the_launchers_environment_with_the_engines_settings_over_it() {
        let before = env(&[("PATH", "/spare/bin:/usr/bin"), ("HOME", "/h"), ("X", "1")]);
        let after = env(&[
            ("PATH", "/session/bin:/spare/bin:/usr/bin"),
            ("HOME", "/h"),
            ("X", "1"),
            ("LD_LIBRARY_PATH", "/lib/cells"),
            ("EVCXR_TMPDIR", "/session/build"),
        ]);
        let launcher = env(&[
            ("PATH", "/mine/bin:/usr/bin"),
            ("HOME", "/h"),
            ("LD_LIBRARY_PATH", "/mine/lib"),
            ("EXTRA", "yes"),
        ]);
        let expected = env(&[
            ("PATH", "/session/bin:/mine/bin:/usr/bin"),
            ("HOME", "/h"),
            ("LD_LIBRARY_PATH", "/lib/cells:/mine/lib"),
            ("EVCXR_TMPDIR", "/session/build"),
            ("EXTRA", "yes"),
        ]);
        assert_eq!(kernel_env(&before, &after, &launcher), expected);
    }
}
