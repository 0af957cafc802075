//! `asyncbook test`: runs notebooks headless, each in a fresh kernel (a new
//! one, or one started over in place after an earlier notebook: `pool`), and
//! checks every code cell against its stored outputs. The `notebooks` test
//! target runs the same checks, one notebook per named test ([`check`]).

pub mod client;
mod compare;
pub(crate) mod notebook;
mod outputs;
mod pool;
mod progress;
mod report;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use client::{Ending, Launch};
pub use compare::Sanitizer;
use notebook::{CodeCell, Notebook};
use outputs::NotebookOutputs;
use pool::Pool;
use progress::Progress;
use report::{CellReport, Failure, Verdict};
pub use report::{Counts, NotebookReport};

const DEFAULT_TIMEOUT: f64 = 60.0;
const DEFAULT_STARTUP_TIMEOUT: f64 = 180.0;

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
}

fn positive_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds > 0.0 => Ok(seconds),
        _ => Err(format!("`{text}` is not a positive number of seconds")),
    }
}

/// How notebooks are run and judged.
pub struct Settings {
    /// The `asyncbook` binary each notebook's kernel is started from.
    pub kernel: PathBuf,
    /// Write fresh outputs back into notebooks whose outputs differ.
    pub update: bool,
    /// Fail cells only on errors.
    pub errors_only: bool,
    /// Seconds a cell may run, unless its tags say otherwise.
    pub timeout: f64,
    /// Seconds a fresh kernel may take to become ready.
    pub startup_timeout: f64,
    /// Keep each executed notebook in this folder.
    pub keep: Option<PathBuf>,
}

impl Settings {
    /// What `asyncbook test` does without options, with kernels started from `kernel`.
    pub fn new(kernel: impl Into<PathBuf>) -> Settings {
        Settings {
            kernel: kernel.into(),
            update: false,
            errors_only: false,
            timeout: DEFAULT_TIMEOUT,
            startup_timeout: DEFAULT_STARTUP_TIMEOUT,
            keep: None,
        }
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

/// A notebook to run and the folder its `sanitize.toml` search stops at.
pub struct Job {
    pub path: PathBuf,
    pub root: PathBuf,
}

impl Job {
    /// The folder the notebook's kernel runs in: the notebook's own.
    fn workdir(&self) -> PathBuf {
        match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
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
    crate::engine::build::link::CellLibrary::locate_for(kernel).map(drop)
}

pub fn run(args: TestArgs) -> Result<ExitCode> {
    let jobs = find_notebooks(&args.paths)?;
    if jobs.is_empty() {
        bail!("no notebooks found");
    }
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

/// What running one code cell left behind, judged once all cells ran (a
/// later cell may still update an earlier cell's display).
struct Ran {
    slot: usize,
    errored: bool,
    execution_count: Option<usize>,
    ending: Ending,
    seconds: f64,
    /// The timeout the cell ran under, in seconds.
    limit: f64,
}

async fn run_notebook(
    job: &Job,
    settings: &Settings,
    progress: &Progress,
    kernels: &Pool,
) -> NotebookReport {
    let started = Instant::now();
    let mut report = NotebookReport {
        path: job.path.clone(),
        cells: Vec::new(),
        seconds: 0.0,
        problem: None,
        updated: false,
    };
    let loaded = Notebook::read(&job.path).and_then(|notebook| {
        let cells = notebook.code_cells()?;
        let sanitizer = Sanitizer::for_notebook(&job.path, &job.root)?;
        Ok((notebook, cells, sanitizer))
    });
    let (mut notebook, cells, sanitizer) = match loaded {
        Ok(loaded) => loaded,
        Err(error) => {
            report.problem = Some(format!("{error:#}"));
            return report;
        }
    };

    // A notebook that was never run has nothing to compare with.
    let unrecorded = !settings.update && cells.iter().all(|cell| cell.outputs.is_empty());
    let compare = !settings.errors_only && !unrecorded;
    let mut outputs = NotebookOutputs::default();
    let ran = run_cells(job, settings, &cells, &mut outputs, progress, kernels).await;

    let mut produced = false;
    let mut kept = settings.keep.as_ref().map(|_| Notebook {
        json: notebook.json.clone(),
    });
    for (cell, ran) in cells.iter().zip(ran) {
        let (verdict, seconds) = match ran {
            Err(verdict) => (verdict, 0.0),
            Ok(ran) => {
                let fresh = outputs.cell(ran.slot);
                produced |= !fresh.is_empty();
                let verdict = judge(cell, &ran, &fresh, &sanitizer, compare, settings.update);
                if let Some(kept) = &mut kept {
                    kept.set_outputs(cell.index, fresh.clone(), ran.execution_count);
                }
                match verdict {
                    Verdict::Updated => {
                        notebook.set_outputs(cell.index, fresh, ran.execution_count);
                        report.updated = true;
                    }
                    Verdict::Passed if settings.update => {
                        report.updated |= notebook.refresh(cell.index, &fresh, ran.execution_count);
                    }
                    _ => {}
                }
                (verdict, ran.seconds)
            }
        };
        report.cells.push(CellReport {
            number: cell.index + 1,
            id: cell.id.clone(),
            seconds,
            verdict,
        });
    }
    if unrecorded && !settings.errors_only && produced {
        report.problem = Some(
            "no stored outputs to compare with: record them with `asyncbook test --update`, \
             or check only for errors with `--errors-only`"
                .to_owned(),
        );
    }
    let written = save(&notebook, report.updated.then_some(job.path.as_path())).and_then(|()| {
        let keep = settings
            .keep
            .as_deref()
            .map(|dir| report::kept_path(dir, &job.path));
        save(kept.as_ref().unwrap_or(&notebook), keep.as_deref())
    });
    if let Err(error) = written {
        report.problem = Some(format!("{error:#}"));
    }
    report.seconds = started.elapsed().as_secs_f64();
    report
}

fn save(notebook: &Notebook, path: Option<&Path>) -> Result<()> {
    let Some(path) = path else { return Ok(()) };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    notebook.write(path)
}

/// Runs the cells in order in one fresh kernel. A cell that is not run gets
/// its verdict right away.
async fn run_cells(
    job: &Job,
    settings: &Settings,
    cells: &[CodeCell],
    outputs: &mut NotebookOutputs,
    progress: &Progress,
    kernels: &Pool,
) -> Vec<Result<Ran, Verdict>> {
    let mut results = Vec::new();
    let runnable = cells.iter().any(|cell| !cell.plan.skip);
    let workdir = job.workdir();
    let shown = progress.notebook(&job.path, cells.len());
    let mut kernel = None;
    let mut lost: Option<String> = None;
    if runnable {
        let startup = Duration::from_secs_f64(settings.startup_timeout);
        let launch = Launch {
            workdir: Some(workdir.clone()),
            ..Launch::new(settings.kernel.clone())
        };
        let started = kernels.take(launch, startup).await;
        match started {
            Ok(started) => kernel = Some(started),
            Err(error) => lost = Some(format!("the kernel did not start: {error:#}")),
        }
    }
    for cell in cells {
        if cell.plan.skip {
            results.push(Err(Verdict::Skipped));
            continue;
        }
        let Some(running) = kernel.as_mut().filter(|_| lost.is_none()) else {
            let why = lost.clone().unwrap_or_default();
            results.push(Err(Verdict::Failed(Failure::NotRun { why })));
            continue;
        };
        shown.cell(results.len() + 1);
        let limit = cell.plan.timeout.unwrap_or(settings.timeout);
        let slot = outputs.start_cell();
        let started = Instant::now();
        let ran = match running
            .execute(&cell.source, Duration::from_secs_f64(limit))
            .await
        {
            Ok(execution) => {
                for message in &execution.messages {
                    outputs.apply(message);
                }
                if let Ending::Lost(why) = &execution.ending {
                    lost = Some(format!("kernel lost in cell {}: {why}", cell.index + 1));
                }
                Ran {
                    slot,
                    errored: execution.errored,
                    execution_count: execution.execution_count,
                    ending: execution.ending,
                    seconds: started.elapsed().as_secs_f64(),
                    limit,
                }
            }
            Err(error) => {
                let why = format!("{error:#}");
                lost = Some(why.clone());
                Ran {
                    slot,
                    errored: true,
                    execution_count: None,
                    ending: Ending::Lost(why),
                    seconds: started.elapsed().as_secs_f64(),
                    limit,
                }
            }
        };
        results.push(Ok(ran));
    }
    match kernel {
        Some(kernel) if lost.is_none() => {
            let limit = Duration::from_secs_f64(settings.startup_timeout);
            kernels.give_back(workdir, kernel, limit).await;
        }
        Some(kernel) => kernel.shutdown().await,
        None => {}
    }
    results
}

fn judge(
    cell: &CodeCell,
    ran: &Ran,
    fresh: &[Value],
    sanitizer: &Sanitizer,
    compare: bool,
    update: bool,
) -> Verdict {
    let failure = match &ran.ending {
        Ending::TimedOut => Some(Failure::TimedOut { seconds: ran.limit }),
        Ending::Lost(why) => Some(Failure::KernelLost { why: why.clone() }),
        Ending::Finished if ran.errored && !cell.plan.raises => Some(Failure::UnexpectedError {
            error: describe_error(fresh),
        }),
        Ending::Finished if !ran.errored && cell.plan.raises => Some(Failure::MissingError),
        Ending::Finished => None,
    };
    if let Some(failure) = failure {
        return Verdict::Failed(failure);
    }
    if cell.plan.ignore_output || !compare {
        return Verdict::Passed;
    }
    match compare::difference(&cell.outputs, fresh, sanitizer) {
        None => Verdict::Passed,
        Some(_) if update => Verdict::Updated,
        Some(diff) => Verdict::Failed(Failure::Mismatch { diff }),
    }
}

/// `ename: evalue` on the first line, the traceback below.
fn describe_error(fresh: &[Value]) -> String {
    let Some(error) = fresh.iter().find(|o| o["output_type"] == "error") else {
        return "the kernel replied with an error status".into();
    };
    let mut text = format!(
        "{}: {}",
        error["ename"].as_str().unwrap_or_default(),
        error["evalue"].as_str().unwrap_or_default()
    );
    for line in error["traceback"].as_array().into_iter().flatten() {
        text.push('\n');
        text.push_str(line.as_str().unwrap_or_default().trim_end());
    }
    text
}
