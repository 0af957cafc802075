//! rustc command lines shared by the cell build and the rustc wrapper: how
//! cargo compiled the cell crate (recorded by the wrapper, replayed by the
//! cell build), reading a flag's value, and running a command to its exit code.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// Set by a recording build: where the rustc wrapper writes the cell's command.
pub const RECORD_ENV: &str = "ASYNCBOOK_RECORD_CELL_COMMAND";

/// cargo's jobserver: its file descriptors are not open outside cargo.
const JOBSERVER_ENV: &[&str] = &["CARGO_MAKEFLAGS", "MAKEFLAGS", "MFLAGS"];

/// How cargo compiled the cell crate.
#[derive(Serialize, Deserialize)]
pub struct CellCommand {
    pub rustc: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

/// Called by the rustc wrapper for the cell crate during a recording build.
pub fn record(path: &Path, rustc: &OsString, args: &[OsString]) -> Result<()> {
    let text = |s: &OsString| {
        s.clone()
            .into_string()
            .map_err(|_| anyhow::anyhow!("not UTF-8"))
    };
    let command = CellCommand {
        rustc: text(rustc)?,
        args: args.iter().map(text).collect::<Result<_>>()?,
        env: std::env::vars()
            .filter(|(k, _)| !JOBSERVER_ENV.contains(&k.as_str()))
            .collect(),
    };
    std::fs::write(path, serde_json::to_vec(&command)?)?;
    Ok(())
}

/// Runs `command` to its end; its exit code (1 when a signal ended it).
pub fn exit_code(command: &mut Command) -> Result<i32> {
    let status = command
        .status()
        .with_context(|| format!("running {}", command.get_program().to_string_lossy()))?;
    Ok(status.code().unwrap_or(1))
}

pub fn arg_value(args: &[OsString], flag: &str) -> Option<String> {
    args.windows(2)
        .find(|pair| pair[0] == flag)
        .map(|pair| pair[1].to_string_lossy().into_owned())
}
