//! One notebook run in a fresh kernel: its code cells executed in order,
//! each judged against its stored outputs once all have run, and the
//! notebook saved with the new outputs when asked.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::Value;

use super::client::{Ending, Launch};
use super::compare::Sanitizer;
use super::notebook::{CodeCell, Notebook};
use super::outputs::NotebookOutputs;
use super::pool::Pool;
use super::progress::Progress;
use super::report::NotebookReport;
use super::report::{CellReport, Failure, Verdict};
use super::settings::{Job, Settings};

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

pub(super) async fn run_notebook(
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
            .map(|dir| super::report::kept_path(dir, &job.path));
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
    match super::compare::difference(&cell.outputs, fresh, sanitizer) {
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
