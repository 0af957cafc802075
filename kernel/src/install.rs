//! `asyncbook install`: writes the kernelspec Jupyter uses to start us, and
//! builds the cell library first when the kernel finds none.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::json;

use crate::engine::build::library::{CellLibrary, ARTIFACTS_FILE, CELLS_PACKAGE};
use crate::engine::build::library_install;

#[derive(Args)]
pub struct InstallArgs {
    #[command(flatten)]
    place: Place,
    /// Kernels started from this kernelspec use no warm spares (it sets
    /// `ASYNCBOOK_SPARES=0` in the kernelspec's `env`).
    #[arg(long)]
    no_spares: bool,
}

/// Where the kernelspec goes.
#[derive(Args)]
#[group(multiple = false)]
struct Place {
    /// Into the user's Jupyter data dir (`$JUPYTER_DATA_DIR` or `jupyter --data-dir`); the default.
    #[arg(long)]
    user: bool,
    /// Into the active Python environment (`sys.prefix/share/jupyter`).
    #[arg(long)]
    sys_prefix: bool,
    /// Into `PREFIX/share/jupyter`.
    #[arg(long, value_name = "PREFIX")]
    prefix: Option<PathBuf>,
}

const LOGO_32: &[u8] = include_bytes!("../kernelspec/logo-32x32.png");
const LOGO_64: &[u8] = include_bytes!("../kernelspec/logo-64x64.png");
const LOGO_SVG: &str = include_str!("../kernelspec/logo-svg.svg");

pub fn run(args: InstallArgs) -> Result<()> {
    // A clone's kernel finds its library beside it (`make build`); a kernel
    // installed with `cargo install` has it built in the user's data folder.
    if CellLibrary::locate().is_err() {
        build_library()?;
        CellLibrary::locate()?;
    }
    let data_dir = if let Some(prefix) = args.place.prefix {
        prefix.join("share/jupyter")
    } else if args.place.sys_prefix {
        python_prefix()?.join("share/jupyter")
    } else {
        user_data_dir()?
    };
    let dir = data_dir.join("kernels/asyncbook");
    write_kernelspec(&dir, args.no_spares)?;
    println!("Installed the asyncbook kernelspec in {}", dir.display());
    Ok(())
}

/// Builds the cell library in the user's data folder as `make build` does
/// (`engine/build/library_install.rs` says why there).
fn build_library() -> Result<()> {
    let home = library_install::home()?;
    let workspace = home.join("source");
    library_install::write_sources(&workspace)?;
    eprintln!(
        "Building the cell library in {} (a few minutes, once)",
        home.display()
    );
    let target = home.join("target");
    std::fs::create_dir_all(&target)?;
    let messages = tempfile::NamedTempFile::new_in(&target)?;
    let status = Command::new("cargo")
        .args(["build", "--release", "--locked", "-p", CELLS_PACKAGE])
        .arg("--message-format=json-render-diagnostics")
        .current_dir(&workspace)
        .env("CARGO_TARGET_DIR", &target)
        .env("RUSTFLAGS", "-C prefer-dynamic --cfg tokio_unstable")
        // It would stand in for RUSTFLAGS.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .stdout(Stdio::from(messages.reopen()?))
        .status()
        .context("running cargo (is Rust installed?)")?;
    if !status.success() {
        bail!("building the cell library failed ({status})");
    }
    let release = library_install::library_dir(&home);
    std::fs::copy(workspace.join("Cargo.lock"), release.join("Cargo.lock"))?;
    // Written last: it marks the library complete.
    messages.persist(release.join(ARTIFACTS_FILE))?;
    println!("Built the cell library in {}", release.display());
    Ok(())
}

fn write_kernelspec(dir: &Path, no_spares: bool) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let exe = std::env::current_exe()?.canonicalize()?;
    let mut spec = json!({
        "argv": [exe, "kernel", "--connection-file", "{connection_file}"],
        "display_name": "Rust (async)",
        "language": "rust",
        "interrupt_mode": "message",
        "metadata": {"debugger": false},
    });
    if no_spares {
        spec["env"] = json!({ crate::spares::ENABLED_ENV: "0" });
    }
    std::fs::write(
        dir.join("kernel.json"),
        serde_json::to_string_pretty(&spec)? + "\n",
    )?;
    std::fs::write(dir.join("logo-32x32.png"), LOGO_32)?;
    std::fs::write(dir.join("logo-64x64.png"), LOGO_64)?;
    std::fs::write(dir.join("logo-svg.svg"), LOGO_SVG)?;
    Ok(())
}

/// `$JUPYTER_DATA_DIR`, else what `jupyter --data-dir` says, else the XDG default.
fn user_data_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("JUPYTER_DATA_DIR") {
        return Ok(dir.into());
    }
    if let Ok(output) = std::process::Command::new("jupyter")
        .arg("--data-dir")
        .output()
    {
        if output.status.success() {
            let dir = String::from_utf8(output.stdout)?.trim().to_owned();
            if !dir.is_empty() {
                return Ok(dir.into());
            }
        }
    }
    let home = std::env::var_os("HOME").context("HOME is not set")?;
    Ok(PathBuf::from(home).join(".local/share/jupyter"))
}

fn python_prefix() -> Result<PathBuf> {
    let output = std::process::Command::new("python3")
        .args(["-c", "import sys; print(sys.prefix)"])
        .output()
        .context("running python3 to find sys.prefix")?;
    anyhow::ensure!(
        output.status.success(),
        "python3 could not report sys.prefix"
    );
    Ok(String::from_utf8(output.stdout)?.trim().into())
}
