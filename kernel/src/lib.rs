//! Asyncbook: a Jupyter kernel for async Rust whose cells share one tokio
//! runtime. The binary's entry point is [`main`]; the integration tests use
//! the runner's [`runner::client`], so kernels are launched in one place.

pub mod allocator;
mod engine;
mod export;
mod install;
mod lock;
mod protocol;
pub mod runner;
pub mod spares;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use engine::build::{cargo as cell_build, compile as cell_compile, library::CellLibrary};
use engine::run::relay;

#[derive(Parser)]
#[command(
    name = "asyncbook",
    version,
    about = "A Jupyter kernel for async Rust on one shared tokio runtime"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the kernel (started by Jupyter with a connection file).
    Kernel {
        #[arg(short = 'f', long = "connection-file")]
        connection_file: PathBuf,
    },
    /// Install the `asyncbook` kernelspec.
    Install(install::InstallArgs),
    /// Run notebooks headless, each in a fresh kernel, and check their outputs.
    Test(runner::TestArgs),
    /// Turn a notebook into a Cargo project that builds and runs as a program.
    Export(export::ExportArgs),
    /// List the warm spares waiting to become kernels, or stop them.
    Spares(spares::listing::SparesArgs),
    /// A warm spare (started by the kernel itself).
    #[command(hide = true)]
    Spare {
        #[arg(long)]
        key: String,
    },
}

/// The `asyncbook` binary: kernel, installer, runner, and the helper roles
/// evcxr starts it in.
pub fn main() -> ExitCode {
    // The same binary also serves as the cell process, as evcxr's cargo
    // launcher and as rustc wrapper.
    if cell_build::invoked() {
        return helper_exit(cell_build::run(), "cell build");
    }
    if let Some(library) = CellLibrary::from_env() {
        let args: Vec<_> = std::env::args_os().skip(1).collect();
        return helper_exit(cell_compile::wrap_rustc(&library, args), "rustc wrapper");
    }
    if std::env::var_os("EVCXR_IS_RUNTIME").is_some() {
        // SAFETY: asks the kernel (our parent) to take this process with it.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
        if let Err(error) = relay::install() {
            eprintln!("asyncbook: live output unavailable: {error:#}");
        }
        engine::run::adopt::listen_in_cell_process();
        evcxr::runtime_hook();
    }

    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ASYNCBOOK_LOG")
                .unwrap_or_else(|_| "asyncbook=info".into()),
        )
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Kernel { connection_file } => run_kernel(connection_file),
        Command::Install(args) => install::run(args).map(|()| ExitCode::SUCCESS),
        Command::Test(args) => runner::run(args),
        Command::Export(args) => export::run(args).map(|()| ExitCode::SUCCESS),
        Command::Spares(args) => spares::listing::run(args).map(|()| ExitCode::SUCCESS),
        Command::Spare { key } => spares::spare::run(&key).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("asyncbook: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The exit of a helper role (cell build, rustc wrapper): the code of the
/// program it ran, or a failure it explains.
fn helper_exit(result: anyhow::Result<i32>, role: &str) -> ExitCode {
    match result {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(error) => {
            eprintln!("asyncbook {role}: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the kernel of `connection_file`: in a warm spare if one waits,
/// else here.
fn run_kernel(connection_file: PathBuf) -> anyhow::Result<ExitCode> {
    if spares::enabled() {
        match spares::launcher::launch(&connection_file) {
            Ok(Some(code)) => return Ok(code),
            Ok(None) => {}
            Err(error) => tracing::warn!("no spare: {error:#}"),
        }
    }
    let info = protocol::connection_info(&connection_file)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(protocol::run(info))?;
    Ok(ExitCode::SUCCESS)
}
