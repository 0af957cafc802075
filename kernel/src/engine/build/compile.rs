//! Runs rustc on a cell crate, for the rustc wrapper and for the cargo bypass.
//!
//! Two things evcxr does not do are done here, both after reading rustc's
//! JSON diagnostics (which pass on to cargo and evcxr unchanged):
//! - **`!` in stored types.** evcxr writes the type rust-analyzer infers for a
//!   variable into the cell, and rust-analyzer writes `!` both for blocks
//!   that never end (rustc: `()`) and for `-> !` results (rustc: `!`). The
//!   rewrite names `!` as `()` unless a variable is remembered as needing
//!   `asyncbook::variables::Never`; when the cell fails to compile and it
//!   newly stores a variable with a `!`, it is compiled once more with those
//!   variables named the other way, and what compiled is remembered, so
//!   later cells read the variable under the type it was stored with. Should
//!   evcxr stop writing `!`, nothing here is used.
//! - **Warnings.** evcxr drops rustc's diagnostics when a cell compiles.
//!   The warnings of a cell that compiled are written to the file the kernel
//!   names in [`WARNINGS_ENV`], for the kernel to show (see `warnings`).
//! - **Notes of errors.** evcxr hands on an error's help but none of its
//!   notes (rustc's "future is not `Send` as this value is used across an
//!   await", with the value and the `.await`). The errors of a cell that
//!   failed are written beside the warnings ([`errors_file`]), where the
//!   kernel reads those notes (see `diagnostics`).
//!
//! A type probe (see `type_probe`) is compiled with rustc's long type names.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, Result};

use crate::engine::build::generated::{self, StoredType};
use crate::engine::build::library::CellLibrary;
use crate::engine::build::link::{self, cell_args, CELL_CRATE, SETUP_ENV};
use crate::engine::build::rustc_command::{self, arg_value};
use crate::engine::types::type_probe;

/// Names the file a compiled cell's warnings go to (JSON, one per line).
pub const WARNINGS_ENV: &str = "ASYNCBOOK_WARNINGS_FILE";

/// Where the errors of a cell that failed to compile go, beside its
/// warnings (JSON, one per line).
pub fn errors_file(warnings_file: &Path) -> PathBuf {
    warnings_file.with_file_name("errors.json")
}

/// Beside evcxr's `src/lib.rs`: the stored variables whose `!` is `Never`.
const NEVER_FILE: &str = "asyncbook_never.txt";

/// Runs as cargo's `RUSTC_WRAPPER`: `args` are `rustc` and its arguments.
pub fn wrap_rustc(library: &CellLibrary, args: Vec<OsString>) -> Result<i32> {
    let (rustc, args) = args.split_first().context("rustc wrapper without rustc")?;
    if arg_value(args, "--crate-name").as_deref() != Some(CELL_CRATE) {
        return link::wrap_dependency(library, rustc, args);
    }
    if let Some(path) = std::env::var_os(rustc_command::RECORD_ENV) {
        rustc_command::record(Path::new(&path), rustc, args)?;
    }
    compile(library, rustc, args, None)
}

/// Compiles the cell; `env`, when given, replaces the environment.
pub fn compile(
    library: &CellLibrary,
    rustc: &OsString,
    args: &[OsString],
    env: Option<&[(String, String)]>,
) -> Result<i32> {
    let source = args
        .iter()
        .map(Path::new)
        .find(|arg| arg.ends_with("src/lib.rs"))
        .context("the cell's source is not among rustc's arguments")?;
    let generated = std::fs::read_to_string(source)?;
    let memory = source.with_file_name(NEVER_FILE);
    let remembered = read_names(&memory);
    let run = |never: &BTreeSet<String>| -> Result<Output> {
        let mut command = Command::new(rustc);
        command.args(cell_args(library, args, &generated, never)?);
        if let Some(env) = env {
            command.env_clear().envs(env.iter().cloned());
        }
        if generated.contains(type_probe::PROBE) {
            // A probe asks rustc for a type: `--verbose` keeps a long type
            // whole in most labels (`Peekable<...>` otherwise); where a label
            // still cuts it (`Pin<Box<...>>`), `type_probe::found` reads the
            // error's note, whose paths the unstable flag writes untrimmed.
            // Labels stay trimmed (`HashMap`), so `type_probe::qualified`
            // writes the paths rustc's own help suggests. Nothing of a probe
            // is ever run.
            command
                .args(["--verbose", "-Ztrim-diagnostic-paths=false"])
                .env("RUSTC_BOOTSTRAP", "1");
        }
        command.output().context("running rustc")
    };
    let mut used = remembered.clone();
    let mut output = run(&used)?;
    if !output.status.success() {
        let newly = newly_stored_with_never(&generated);
        if !newly.is_empty() {
            let flipped: BTreeSet<String> = used.symmetric_difference(&newly).cloned().collect();
            let again = run(&flipped)?;
            if again.status.success() {
                (output, used) = (again, flipped);
            }
        }
    }
    if output.status.success() {
        if used != remembered {
            std::fs::write(&memory, used.into_iter().collect::<Vec<_>>().join("\n"))?;
        }
        keep_diagnostics(&output.stderr, "warning", None)?;
        if !generated.contains(type_probe::PROBE) {
            crate::engine::session::cell_sources::keep_compiled(
                &source.with_file_name(generated::COMPILED_FILE),
            );
        }
    } else if !generated.contains(type_probe::PROBE) {
        keep_diagnostics(&output.stderr, "error", Some(errors_file))?;
    }
    std::io::stdout().write_all(&output.stdout)?;
    std::io::stderr().write_all(&output.stderr)?;
    Ok(output.status.code().unwrap_or(1))
}

fn read_names(path: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(path)
        .map(|text| text.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Variables the cell stores with a `!` in their type and does not read
/// from the store: the ones it defines.
fn newly_stored_with_never(generated: &str) -> BTreeSet<String> {
    let stored: Vec<(StoredType, &str)> = generated
        .lines()
        .filter_map(|line| StoredType::find(line).map(|s| (s, line)))
        .collect();
    stored
        .iter()
        .filter(|(s, line)| s.action == "put" && s.has_never(line))
        .filter(|(put, _)| {
            !stored
                .iter()
                .any(|(s, _)| s.action != "put" && s.variable == put.variable)
        })
        .map(|(s, _)| s.variable.to_owned())
        .collect()
}

/// Writes rustc's diagnostics of `level` for the kernel, to the warnings
/// file or the file `beside` names after it, unless the kernel is setting up.
fn keep_diagnostics(
    stderr: &[u8],
    level: &str,
    beside: Option<fn(&Path) -> PathBuf>,
) -> Result<()> {
    let Some(warnings_file) = std::env::var_os(WARNINGS_ENV).map(PathBuf::from) else {
        return Ok(());
    };
    if std::env::var_os(SETUP_ENV).is_some_and(|v| !v.is_empty()) {
        return Ok(());
    }
    let file = beside.map_or_else(|| warnings_file.clone(), |name| name(&warnings_file));
    let text = String::from_utf8_lossy(stderr);
    let level = format!(r#""level":"{level}""#);
    let kept: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with('{') && line.contains(&level))
        .collect();
    if kept.is_empty() {
        return Ok(());
    }
    // Whole or not at all: the kernel may read the file at any moment.
    let partial = file.with_extension("partial");
    std::fs::write(&partial, kept.join("\n"))?;
    std::fs::rename(partial, file)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_variables_the_cell_defines_may_change_how_never_is_named() {
        let generated = "\
evcxr_variable_store.put_variable::<tokio::task::JoinHandle<!>>(stringify!(server), server);
let mut old = evcxr_variable_store.take_variable::<tokio::task::JoinHandle<!>>(stringify!(old));
evcxr_variable_store.put_variable::<tokio::task::JoinHandle<!>>(stringify!(old), old);
evcxr_variable_store.put_variable::<i32>(stringify!(n), n);";
        assert_eq!(
            newly_stored_with_never(generated),
            BTreeSet::from(["server".to_owned()])
        );
    }
}
