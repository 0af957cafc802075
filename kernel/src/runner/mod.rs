//! `asyncbook test`: runs notebooks headless, each in a fresh kernel (a new
//! one, or one started over in place after an earlier notebook: `pool`), and
//! checks every code cell against its stored outputs. The `notebooks` test
//! target runs the same checks, one notebook per named test ([`check`]).

pub mod client;
mod compare;
pub(crate) mod notebook;
mod notebook_run;
mod outputs;
mod pool;
mod progress;
mod report;
mod settings;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};

pub use compare::Sanitizer;
use notebook_run::run_notebook;
use pool::Pool;
use progress::Progress;
pub use report::{Counts, NotebookReport};
pub use settings::{Job, Settings};
use settings::{DEFAULT_STARTUP_TIMEOUT, DEFAULT_TIMEOUT};

#[derive(clap::Args)]
pub struct TestArgs {
    /// Notebooks, or folders searched for `*.ipynb`.
    #[arg(default_value = "notebooks")]
    paths: Vec<PathBuf>,
    /// Write fresh outputs back into notebooks whose outputs differ.
    #[arg(long, conflicts_with = "errors_only")]
    update: bool,
    /// Fail cells only on errors; stored outputs are not compared.
    #[arg(long)]
    errors_only: bool,
    /// Seconds a cell may run (a `timeout=SECONDS` tag overrides it).
    #[arg(long, default_value_t = DEFAULT_TIMEOUT, value_parser = positive_seconds)]
    timeout: f64,
    /// Seconds a fresh kernel may take to become ready.
    #[arg(long, default_value_t = DEFAULT_STARTUP_TIMEOUT, value_parser = positive_seconds)]
    startup_timeout: f64,
    /// Write a JUnit XML report to this file.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Keep each executed notebook, with its fresh outputs, in this folder.
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
    /// Notebooks run at once, each in its own kernel.
    #[arg(short = 'j', long = "jobs", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    jobs: u16,
    /// Run only partition K of N (`--partition 2/3`): the notebooks found,
    /// in order, dealt round-robin to N machines of a CI job.
    #[arg(long, value_name = "K/N", value_parser = partition)]
    partition: Option<(usize, usize)>,
}

fn partition(text: &str) -> Result<(usize, usize), String> {
    let parsed = text
        .split_once('/')
        .and_then(|(k, n)| Some((k.trim().parse().ok()?, n.trim().parse().ok()?)));
    match parsed {
        Some((k, n)) if (1..=n).contains(&k) => Ok((k, n)),
        _ => Err(format!("`{text}` is not a partition K/N with 1 <= K <= N")),
    }
}

/// The notebooks of partition `k` of `n`: every `n`th, from the `k`th on.
fn partitioned(jobs: Vec<Job>, (k, n): (usize, usize)) -> Vec<Job> {
    jobs.into_iter()
        .enumerate()
        .filter(|(index, _)| index % n == k - 1)
        .map(|(_, job)| job)
        .collect()
}

fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds > 0.0 => Ok(seconds),
        _ => Err(format!("`{text}` is not a positive number of seconds")),
    }
}

impl TestArgs {
    fn settings(&self) -> Settings {
        Settings {
            update: self.update,
            errors_only: self.errors_only,
            timeout: self.timeout,
            startup_timeout: self.startup_timeout,
            keep: self.keep.clone(),
            ..Settings::new(std::env::current_exe().unwrap_or_else(|_| "asyncbook".into()))
        }
    }
}

/// Runs one notebook in a fresh kernel, without progress lines, and returns
/// its report: for a test harness that shows progress its own way.
pub async fn check(job: &Job, settings: &Settings) -> NotebookReport {
    run_notebook(
        job,
        settings,
        &Progress::hidden(),
        &Pool::new([job.workdir()]),
    )
    .await
}

/// Whether the kernel binary `kernel` finds its prebuilt cell library,
/// without which no cell runs; the error names the missing file.
pub fn check_cell_library(kernel: &Path) -> Result<()> {
    crate::engine::build::library::CellLibrary::locate_for(kernel).map(drop)
}

pub fn run(args: TestArgs) -> Result<ExitCode> {
    let jobs = find_notebooks(&args.paths)?;
    if jobs.is_empty() {
        bail!("no notebooks found");
    }
    let jobs = match args.partition {
        Some((k, n)) => {
            let found = jobs.len();
            let jobs = partitioned(jobs, (k, n));
            eprintln!("partition {k}/{n}: {} of {found} notebooks", jobs.len());
            if jobs.is_empty() {
                println!("{}", report::summary(Counts::default()));
                return Ok(ExitCode::SUCCESS);
            }
            jobs
        }
        None => jobs,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let settings = Arc::new(args.settings());
    let reports = runtime.block_on(run_all(jobs, settings, args.jobs));

    let mut total = Counts::default();
    for report in &reports {
        total.add(report.counts());
    }
    if let Some(path) = &args.junit {
        std::fs::write(path, report::junit(&reports))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    println!("{}", report::summary(total));
    Ok(if total.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Runs up to `jobs` notebooks at once, printing each report as it finishes;
/// returns the reports in the order the notebooks were found.
async fn run_all(notebooks: Vec<Job>, settings: Arc<Settings>, jobs: u16) -> Vec<NotebookReport> {
    let slots = Arc::new(tokio::sync::Semaphore::new(usize::from(jobs)));
    let mut running = tokio::task::JoinSet::new();
    let count = notebooks.len();
    let progress = Arc::new(Progress::new(count));
    let kernels = Arc::new(Pool::new(notebooks.iter().map(Job::workdir)));
    for (order, job) in notebooks.into_iter().enumerate() {
        let (slots, settings, progress) = (slots.clone(), settings.clone(), progress.clone());
        let kernels = kernels.clone();
        running.spawn(async move {
            let _slot = slots.acquire_owned().await;
            (
                order,
                run_notebook(&job, &settings, &progress, &kernels).await,
            )
        });
    }
    let mut reports: Vec<Option<NotebookReport>> = (0..count).map(|_| None).collect();
    while let Some(done) = running.join_next().await {
        match done {
            Ok((order, report)) => {
                progress.notebook_done(report.counts().failed > 0);
                progress.suspend(|| print!("{}", report.human()));
                reports[order] = Some(report);
            }
            Err(error) => {
                progress.notebook_done(true);
                progress.suspend(|| eprintln!("asyncbook test: a notebook run failed: {error}"));
            }
        }
    }
    kernels.close().await;
    progress.finish();
    reports.into_iter().flatten().collect()
}

/// The notebooks among `paths`: files as given, folders searched (sorted)
/// for `*.ipynb` outside hidden folders.
pub fn find_notebooks(paths: &[PathBuf]) -> Result<Vec<Job>> {
    let cwd = std::env::current_dir()?;
    let mut jobs = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            collect_notebooks(path, &mut found)?;
            found.sort();
            jobs.extend(found.into_iter().map(|notebook| Job {
                path: notebook,
                root: path.clone(),
            }));
        } else if path.is_file() {
            let absolute = cwd.join(path);
            let root = if absolute.starts_with(&cwd) {
                cwd.clone()
            } else {
                absolute.parent().unwrap_or(&cwd).to_path_buf()
            };
            jobs.push(Job {
                path: path.clone(),
                root,
            });
        } else {
            bail!("{} does not exist", path.display());
        }
    }
    Ok(jobs)
}

fn collect_notebooks(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            // Hidden folders hold checkpoints (.ipynb_checkpoints), virtual
            // environments and the like, not notebooks under test.
            let hidden = path
                .file_name()
                .is_some_and(|name| name.to_string_lossy().starts_with('.'));
            if !hidden {
                collect_notebooks(&path, found)?;
            }
        } else if path.extension().is_some_and(|e| e == "ipynb") {
            found.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_deal_the_notebooks_round_robin_and_cover_them_once() {
        let jobs = |count: usize| -> Vec<Job> {
            (0..count)
                .map(|i| Job {
                    path: PathBuf::from(format!("{i}.ipynb")),
                    root: PathBuf::from("."),
                })
                .collect()
        };
        let names = |jobs: Vec<Job>| -> Vec<String> {
            jobs.iter().map(|j| j.path.display().to_string()).collect()
        };
        assert_eq!(names(partitioned(jobs(5), (2, 3))), ["1.ipynb", "4.ipynb"]);
        let mut all: Vec<String> = (1..=3)
            .flat_map(|k| names(partitioned(jobs(7), (k, 3))))
            .collect();
        all.sort();
        assert_eq!(all, names(jobs(7)));
        assert_eq!(partition("3/3"), Ok((3, 3)));
        assert!(partition("0/3").is_err() && partition("4/3").is_err() && partition("x").is_err());
    }
}
