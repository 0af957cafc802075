//! The test notebooks and the chapters as `cargo test` tests, one per
//! notebook, each run in a fresh kernel of the built `asyncbook` binary as
//! `asyncbook test` runs it; a failing test shows the runner's report for its
//! notebook. Two notebooks run at once unless `--test-threads` says otherwise.
//! `ASYNCBOOK_NOTEBOOKS` (paths joined by `:`, relative to the repository)
//! names other notebooks or folders to run instead.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use asyncbook_kernel::runner::{self, Job, Settings};
use libtest_mimic::{Arguments, Failed, Trial};

/// As `make test-notebooks` runs them: the long test notebook first, so it
/// starts first and the chapters share the other slot.
const NOTEBOOKS: [&str; 2] = ["tests/notebooks", "notebooks"];

fn main() -> ExitCode {
    let mut args = Arguments::from_args();
    args.test_threads.get_or_insert(2);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the kernel crate sits in the repository");
    let kernel = Path::new(env!("CARGO_BIN_EXE_asyncbook"));
    let paths: Vec<PathBuf> = match std::env::var_os("ASYNCBOOK_NOTEBOOKS") {
        Some(paths) => std::env::split_paths(&paths).collect(),
        None => NOTEBOOKS.iter().map(PathBuf::from).collect(),
    };
    // Names and reports show paths as `asyncbook test` run from the
    // repository shows them.
    let found = std::env::set_current_dir(repo)
        .map_err(anyhow::Error::from)
        .and_then(|()| runner::find_notebooks(&paths));
    let jobs = match found {
        Ok(jobs) => jobs,
        Err(error) => {
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    if !args.list {
        if let Err(error) = runner::check_cell_library(kernel) {
            eprintln!("error: {error:#}");
            return ExitCode::FAILURE;
        }
    }

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => Arc::new(runtime),
        Err(error) => {
            eprintln!("error: starting a tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let settings = Arc::new(Settings::new(kernel));
    let trials = jobs
        .into_iter()
        .map(|job| {
            let (runtime, settings) = (runtime.clone(), settings.clone());
            Trial::test(job.path.display().to_string(), move || {
                run(&runtime, &job, &settings)
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit_code()
}

fn run(runtime: &tokio::runtime::Runtime, job: &Job, settings: &Settings) -> Result<(), Failed> {
    let report = runtime.block_on(runner::check(job, settings));
    if report.counts().failed > 0 {
        return Err(report.human().into());
    }
    Ok(())
}
