//! Builds a cell without cargo when nothing but the cell's source changed.
//!
//! evcxr runs `cargo build` on its generated crate for every cell. With the
//! dependencies built, cargo's part is checking each of them for freshness
//! (about a quarter of a trivial cell's time) before it calls rustc once, for
//! the cell. evcxr starts cargo as `mold -run <cargo> ...` whenever a program
//! named `mold` is on `PATH`; the engine puts the kernel binary there under
//! that name (a folder of the session), so every cargo call comes here:
//! - a `build` runs cargo, and the rustc wrapper records how cargo compiled
//!   the cell crate (rustc, arguments, environment), kept together with all
//!   that cargo's decisions depended on: manifest, lock file, cargo's
//!   configuration, the command line and the environment;
//! - the next `build` with all of those unchanged compiles the new source
//!   with that rustc command and reports the library as cargo would.
//!
//! Everything else goes to cargo: `check`, `metadata`, a build after `:dep`
//! or `:build_env` changed the manifest or environment, and any build while a
//! dependency is a local crate (its files may change between cells). Before
//! cargo runs, the lock file is given the cell library's versions where it
//! lacks them (see `library_lock`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::engine::build::generated;
use crate::engine::build::library;
use crate::engine::build::library::CellLibrary;
use crate::engine::build::library_crates;
use crate::engine::build::link::{self};
use crate::engine::build::rustc_command::{arg_value, exit_code, CellCommand, RECORD_ENV};

/// The name evcxr looks for on `PATH`.
pub const PROGRAM: &str = "mold";

/// Relative to the cell crate; inside `target`, so `cargo clean` drops it.
const RECIPE_FILE: &str = "target/asyncbook-cell-command.json";
const PENDING_FILE: &str = "target/asyncbook-cell-command.pending.json";
/// Created by the first refused crate of a build (see `library_crates`).
const REFUSAL_FILE: &str = "target/asyncbook-refusal";

/// Environment variables the kernel changes between builds that do not
/// change what cargo does: the cell's number, the flag that keeps the
/// warm-up's dependency builds out of the notebook, and `:types`.
const PER_CELL_ENV: &[&str] = &[generated::CELL_ENV, link::SETUP_ENV, generated::TYPES_ENV];

/// The package evcxr writes to check a dependency with `cargo metadata`.
const DEPENDENCY_CHECK_PACKAGE: &str = "evcxr_dummy_validate_dep";

#[derive(Serialize, Deserialize)]
struct Recipe {
    /// All that cargo's decisions depended on when `command` was recorded.
    inputs: String,
    command: CellCommand,
}

/// Puts the kernel binary, under evcxr's name for the cargo launcher, in
/// `dir` and `dir` first on this process's `PATH`.
pub fn install(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let exe = std::env::current_exe()?;
    std::os::unix::fs::symlink(exe, dir.join(PROGRAM)).context("linking the cell builder")?;
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&path));
    std::env::set_var("PATH", std::env::join_paths(dirs)?);
    Ok(())
}

/// True when this process was started under [`PROGRAM`]'s name.
pub fn invoked() -> bool {
    std::env::args_os()
        .next()
        .map(PathBuf::from)
        .is_some_and(|p| p.file_name().is_some_and(|n| n == PROGRAM))
}

/// Entry point when started as [`PROGRAM`]: `-run <cargo> <args>` from evcxr,
/// anything else is handed to a real `mold` further along `PATH`.
pub fn run() -> Result<i32> {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    match args.split_first() {
        Some((flag, rest)) if flag == "-run" && !rest.is_empty() => cargo(&rest[0], &rest[1..]),
        _ => real_mold(&args),
    }
}

fn cargo(cargo: &OsString, args: &[OsString]) -> Result<i32> {
    // evcxr puts options such as `--offline` before the subcommand.
    let subcommand = args.iter().find(|a| !a.to_string_lossy().starts_with('-'));
    if subcommand.is_some_and(|s| s == "metadata") && checks_kernel_dependency() {
        return Ok(0);
    }
    if let Some(library) = CellLibrary::from_env() {
        crate::engine::build::library_lock::pin(&library, Path::new("."))?;
    }
    if subcommand.is_none_or(|s| s != "build") {
        return without_progress(Command::new(cargo).args(args));
    }
    let inputs = build_inputs(args);
    if let Some(inputs) = &inputs {
        if let Some(command) = recorded_command(inputs) {
            return compile(command);
        }
    }
    let _ = std::fs::remove_file(RECIPE_FILE);
    let _ = std::fs::remove_file(PENDING_FILE);
    let mut build = Command::new(cargo);
    build.args(args);
    if inputs.is_some() {
        build.env(RECORD_ENV, PENDING_FILE);
    }
    let _ = std::fs::remove_file(REFUSAL_FILE);
    build.env(
        library_crates::REFUSAL_ENV,
        std::env::current_dir()?.join(REFUSAL_FILE),
    );
    // A failed build (a `:dep` that did not build, or was refused) leaves
    // the session as it was, the lock file too: cargo would otherwise keep
    // the versions it chose for the dependency that was not added.
    let lock = std::fs::read("Cargo.lock").ok();
    let code = without_progress(&mut build)?;
    if code != 0 {
        if let Some(lock) = lock {
            let _ = std::fs::write("Cargo.lock", lock);
        }
    }
    // The next build starts from what cargo left (it adds the cell crate
    // to the lock file the first time).
    if let (Some(_), Some(inputs)) = (inputs, build_inputs(args)) {
        keep_recipe(inputs);
    }
    Ok(code)
}

/// evcxr checks each `:dep` with `cargo metadata` on a one-dependency crate
/// (a few hundred ms each). The kernel's own dependencies are the versions
/// the cell library was built with, so they pass without it.
fn checks_kernel_dependency() -> bool {
    let setup = std::env::var_os(link::SETUP_ENV).is_some_and(|v| !v.is_empty());
    setup
        && std::fs::read_to_string("Cargo.toml").is_ok_and(|manifest| {
            manifest
                .parse::<toml::Table>()
                .ok()
                .and_then(|m| m.get("package")?.get("name")?.as_str().map(str::to_owned))
                .is_some_and(|name| name == DEPENDENCY_CHECK_PACKAGE)
        })
}

/// Everything a cargo build's outcome depends on besides the sources: None
/// when a local crate's sources take part too, or something is not UTF-8.
fn build_inputs(args: &[OsString]) -> Option<String> {
    let manifest = std::fs::read_to_string("Cargo.toml").ok()?;
    if has_local_dependency(&manifest) {
        return None;
    }
    let mut inputs = manifest;
    for file in ["Cargo.lock", ".cargo/config.toml"] {
        inputs.push_str(&format!("\n--- {file}\n"));
        inputs.push_str(&std::fs::read_to_string(file).unwrap_or_default());
    }
    inputs.push_str("\n--- arguments\n");
    for arg in args {
        inputs.push_str(arg.to_str()?);
        inputs.push('\n');
    }
    inputs.push_str("--- environment\n");
    let mut env: Vec<(String, String)> = std::env::vars_os()
        .map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect::<Option<_>>()?;
    env.retain(|(k, _)| !PER_CELL_ENV.contains(&k.as_str()));
    env.sort();
    for (key, value) in env {
        inputs.push_str(&format!("{key}={value}\n"));
    }
    Some(inputs)
}

/// A `path` dependency other than the prebuilt cell library.
fn has_local_dependency(manifest: &str) -> bool {
    let Ok(manifest) = manifest.parse::<toml::Table>() else {
        return true;
    };
    let Some(deps) = manifest.get("dependencies").and_then(|d| d.as_table()) else {
        return false;
    };
    deps.values().any(|dep| {
        dep.get("path").is_some()
            && dep.get("package").and_then(|p| p.as_str()) != Some(library::CELLS_PACKAGE)
    })
}

fn recorded_command(inputs: &str) -> Option<CellCommand> {
    let recipe: Recipe = serde_json::from_slice(&std::fs::read(RECIPE_FILE).ok()?).ok()?;
    if recipe.inputs != inputs {
        return None;
    }
    // The compiled dependencies must still be where cargo left them.
    let present = recipe
        .command
        .args
        .windows(2)
        .filter(|pair| pair[0] == "--extern")
        .filter_map(|pair| pair[1].split_once('=').map(|(_, path)| path))
        .all(|path| Path::new(path).exists());
    present.then_some(recipe.command)
}

/// Stores the command the wrapper recorded during this build, if it got as
/// far as compiling the cell.
fn keep_recipe(inputs: String) {
    let Some(command) = std::fs::read(PENDING_FILE)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<CellCommand>(&bytes).ok())
    else {
        return;
    };
    let _ = std::fs::remove_file(PENDING_FILE);
    if let Ok(json) = serde_json::to_vec(&Recipe { inputs, command }) {
        let _ = std::fs::write(RECIPE_FILE, json);
    }
}

/// Compiles the cell as cargo did last time, and reports the library on
/// stdout in cargo's JSON (rustc's diagnostics reach evcxr on stderr).
fn compile(command: CellCommand) -> Result<i32> {
    let library = CellLibrary::from_env().context("the cell library is not set")?;
    let args: Vec<OsString> = command.args.iter().map(OsString::from).collect();
    let mut env = command.env;
    for key in PER_CELL_ENV {
        env.retain(|(k, _)| k != key);
        if let Ok(value) = std::env::var(key) {
            env.push((key.to_string(), value));
        }
    }
    let rustc = OsString::from(&command.rustc);
    let code = crate::engine::build::compile::compile(&library, &rustc, &args, Some(&env))?;
    if code == 0 {
        let out_dir = PathBuf::from(arg_value(&args, "--out-dir").context("no --out-dir")?);
        let library_file = out_dir.join(format!("lib{}.so", link::CELL_CRATE));
        let artifact = serde_json::json!({
            "reason": "compiler-artifact",
            "target": { "name": link::CELL_CRATE, "kind": ["cdylib"] },
            "filenames": [library_file],
        });
        println!("{artifact}");
    }
    Ok(code)
}

/// Runs cargo with its `Compiling ..` lines left out of its stderr: evcxr
/// copies them to the kernel's own stderr, which a terminal client
/// (`jupyter console`) shares with the user's prompt. The notebook shows a
/// `:dep` build's progress from the rustc wrapper instead. Everything else
/// (rustc's JSON diagnostics, cargo's errors) passes on unchanged.
fn without_progress(command: &mut Command) -> Result<i32> {
    use std::io::{BufRead, Write};
    let mut child = command
        .stderr(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("running {}", command.get_program().to_string_lossy()))?;
    let stderr = child.stderr.take().context("cargo's stderr")?;
    let mut out = std::io::stderr().lock();
    let mut passed = Vec::new();
    for line in std::io::BufReader::new(stderr).split(b'\n') {
        let line = line?;
        if !line.trim_ascii_start().starts_with(b"Compiling ") {
            out.write_all(&line)?;
            out.write_all(b"\n")?;
            passed.extend_from_slice(&line);
            passed.push(b'\n');
        }
    }
    let code = child.wait()?.code().unwrap_or(1);
    if code != 0 {
        if let Some(library) = CellLibrary::from_env() {
            library_crates::explain_conflict(&library, &String::from_utf8_lossy(&passed));
        }
    }
    Ok(code)
}

/// The next `mold` on `PATH` after the session's own.
fn real_mold(args: &[OsString]) -> Result<i32> {
    let me = std::env::current_exe()?.canonicalize()?;
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path)
        .map(|dir| dir.join(PROGRAM))
        .find(|candidate| {
            candidate.is_file() && candidate.canonicalize().is_ok_and(|real| real != me)
        })
        .context("mold is not installed")?;
    exit_code(Command::new(found).args(args))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_dependencies_other_than_the_cell_library_are_noticed() {
        let library = "[dependencies]\ntokio = { version = \"=1.0\" }\nasyncbook = { package = \"asyncbook-cells\", path = \"/x/cells\" }\n";
        assert!(!has_local_dependency(library));
        let local = format!("{library}greeting = {{ path = \"/home/me/greeting\" }}\n");
        assert!(has_local_dependency(&local));
        assert!(!has_local_dependency("[package]\nname = \"ctx\"\n"));
    }
}
