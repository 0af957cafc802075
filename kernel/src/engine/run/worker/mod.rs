//! The engine thread: owns evcxr's context, runs cells, completes and
//! inspects code, and turns evcxr's results into outcomes.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{mpsc as std_mpsc, Arc};
use std::time::{Duration, Instant};

use anyhow::Result;
use evcxr::{CommandContext, EvalCallbacks, EvalContext};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::engine::build::compile;
use crate::engine::build::generated;
use crate::engine::build::library;
use crate::engine::build::library::CellLibrary;
use crate::engine::build::link;
use crate::engine::build::saved_builds::SavedBuilds;
use crate::engine::diagnostics;
use crate::engine::outcome::{CellError, CellErrorKind, Outcome, Output};
use crate::engine::requests::{Completion, InputAsk, Request};
use crate::engine::run::cell_state::CellState;
use crate::engine::run::shared::Shared;
use crate::engine::session::setup::{setup_failure, Setup};
use crate::engine::source::syntax::let_names;
use crate::engine::source::{self, commands::Clear};
use crate::engine::types::moved::{self, Moved};
use crate::lock::lock;

/// Owns the evcxr context; lives on the engine thread.
pub(crate) struct Worker {
    pub(crate) context: CommandContext,
    shared: Arc<Shared>,
    pub(crate) outputs: mpsc::UnboundedSender<Output>,
    inputs: mpsc::UnboundedSender<InputAsk>,
    setup: Setup,
    moved: Moved,
    /// The set-up's saved builds, and the `:dep` builds kept beside them.
    saved: Option<SavedBuilds>,
    build_dir: PathBuf,
    /// Whether `:types` is on: results are shown after their type.
    show_types: bool,
}

mod hover;
mod outcome;

impl Worker {
    pub(crate) fn new(
        library: &CellLibrary,
        build_dir: &Path,
        shared: Arc<Shared>,
        outputs: mpsc::UnboundedSender<Output>,
        inputs: mpsc::UnboundedSender<InputAsk>,
    ) -> Result<Self> {
        let started = Instant::now();
        let (context, channels) = EvalContext::new().map_err(|e| anyhow::anyhow!("{e}"))?;
        log_warm_up("evcxr ready after", started, Duration::ZERO);
        // Whatever evcxr reads from the cell process outside our relay.
        for receiver in [channels.stdout, channels.stderr] {
            let outputs = outputs.clone();
            std::thread::spawn(move || {
                for line in receiver {
                    let _ = outputs.send(Output::Stderr(line + "\n"));
                }
            });
        }
        let context = CommandContext::with_eval_context(context);
        let setup = Setup::new(library)?;
        let saved = SavedBuilds::new(library, &setup.dependencies);
        let restored = saved.as_ref().is_some_and(|saved| saved.restore(build_dir));
        let mut worker = Worker {
            context,
            shared,
            outputs,
            inputs,
            setup,
            moved: Moved::default(),
            saved: None,
            build_dir: build_dir.to_owned(),
            show_types: false,
        };
        worker.set_up(started)?;
        if let Some(saved) = saved.as_ref().filter(|_| !restored) {
            if let Err(error) = saved.save(build_dir) {
                tracing::debug!("saving the dependency builds: {error:#}");
            }
        }
        worker.saved = saved;
        Ok(worker)
    }

    /// Declares the cell library and its crates and runs a first async cell,
    /// as every session starts.
    fn set_up(&mut self, started: Instant) -> Result<()> {
        self.record_child_pid();
        let context = &mut self.context;
        set_build_env(context, "RUSTC_WRAPPER", &self.setup.wrapper);
        set_build_env(context, library::WRAPPER_ENV, &self.setup.library_dir);
        set_build_env(context, link::SETUP_ENV, "1");
        context
            .execute(&self.setup.dependencies)
            .map_err(setup_failure)?;
        log_warm_up("dependencies declared after", started, Duration::ZERO);
        // One await switches evcxr to async mode now rather than in the user's
        // first cell, so every cell runs on the shared runtime and the first
        // real cell is already warm.
        let fences = self.shared.fences.load(Ordering::SeqCst);
        self.context
            .execute("async {}.await;")
            .map_err(setup_failure)?;
        self.wait_for_fence(fences + 1, Duration::from_secs(5));
        set_build_env(&mut self.context, link::SETUP_ENV, "");
        log_warm_up("first async cell ran after", started, Duration::ZERO);
        self.record_child_pid();
        Ok(())
    }

    /// `:clear`: the session starts over in place, as a restarted kernel
    /// would (no variable, item, dependency, setting or task of the cells
    /// before, a new cell process and runtime), while evcxr keeps its
    /// compiled crates and rust-analyzer its analysis of std and tokio.
    fn start_over(&mut self) -> Outcome {
        let started = Instant::now();
        crate::engine::session::cell_sources::forget();
        source::item_macros::forget();
        source::static_muts::forget();
        self.moved = Moved::default();
        self.shared.warnings.show(true);
        // evcxr's `:clear` drops the build environment, `:types` among it.
        self.show_types = false;
        let cleared = self
            .context
            .execute(":clear")
            .map_err(|e| anyhow::anyhow!("{e}"))
            .and_then(|_| {
                self.context.reset_config();
                self.set_up(started)
            });
        self.shared.running.store(false, Ordering::SeqCst);
        match cleared {
            Ok(()) => Outcome {
                cleared: true,
                ..Outcome::default()
            },
            Err(error) => Outcome::failed(CellError::plain(
                CellErrorKind::EngineError,
                format!("starting over failed: {error:#}; restart the kernel"),
            )),
        }
    }

    fn record_child_pid(&self) {
        let pid = self
            .context
            .process_handle()
            .lock()
            .map(|c| c.id() as i32)
            .unwrap_or(0);
        self.shared.child_pid.store(pid, Ordering::SeqCst);
    }

    pub(crate) fn serve(mut self, requests: std_mpsc::Receiver<Request>) {
        let mut analyzer_warm = false;
        loop {
            let request = if analyzer_warm {
                requests.recv().ok()
            } else {
                match requests.try_recv() {
                    Ok(request) => Some(request),
                    Err(std_mpsc::TryRecvError::Empty) => {
                        // rust-analyzer loads tokio's and the cell library's
                        // sources on first use: do that while nothing waits,
                        // so a user's first `let` does not pay for it.
                        let started = Instant::now();
                        let computed = thread_cpu_time();
                        let _ = self.context.completions("tokio::spawn(async {}).", 23);
                        log_warm_up("rust-analyzer ready in", started, computed);
                        analyzer_warm = true;
                        self.shared.warm.send_replace(true);
                        continue;
                    }
                    Err(std_mpsc::TryRecvError::Disconnected) => None,
                }
            };
            let Some(request) = request else { return };
            match request {
                Request::Execute { code, cell, reply } => {
                    set_build_env(&mut self.context, generated::CELL_ENV, &cell.to_string());
                    crate::engine::session::cell_sources::keep_code(cell, &code);
                    let outcome = self.execute(&code, cell);
                    let _ = reply.send(outcome);
                }
                Request::Complete {
                    code,
                    cursor,
                    reply,
                } => {
                    let completion = match self.context.completions(&code, cursor) {
                        Ok(c) => Completion {
                            kinds: c.completions.iter().map(|c| c.kind).collect(),
                            matches: c
                                .completions
                                .into_iter()
                                .map(|c| insertable(c.code))
                                .collect(),
                            start: c.start_offset,
                            end: c.end_offset,
                        },
                        Err(_) => Completion {
                            matches: vec![],
                            kinds: vec![],
                            start: cursor,
                            end: cursor,
                        },
                    };
                    let _ = reply.send(completion);
                }
                Request::Inspect {
                    code,
                    cursor,
                    reply,
                } => {
                    let found = self
                        .context
                        .hover_at(&code, cursor)
                        .ok()
                        .map(|(text, _)| hover::plain(&text))
                        // evcxr answers Ok with this text when hover finds nothing.
                        .filter(|text| !text.trim().is_empty() && text != "No documentation found");
                    let _ = reply.send(found);
                }
            }
        }
    }

    fn execute(&mut self, written: &str, cell: usize) -> Outcome {
        let prepared = source::prepare(written, cell);
        match prepared.clear {
            Clear::Alone => return self.start_over(),
            Clear::WithOtherCode => {
                self.shared.running.store(false, Ordering::SeqCst);
                return Outcome::failed(CellError::plain(
                    CellErrorKind::Other,
                    "`:clear` starts the session over: put it in a cell of its own",
                ));
            }
            Clear::No => {}
        }
        if let Some(on) = prepared.show_warnings {
            self.shared.warnings.show(on);
        }
        if prepared.toggle_types {
            self.show_types = !self.show_types;
            let on = if self.show_types { "1" } else { "" };
            set_build_env(&mut self.context, generated::TYPES_ENV, on);
            let shown = format!("Types: {}\n", self.show_types);
            let _ = self.outputs.send(Output::Stdout(shown));
        }
        let as_written = prepared.expanded;
        let code = prepared.code;
        let state = self.shared.cell();
        self.shared.warnings.expect(&state, &code);
        let _ = std::fs::remove_file(self.errors_file());
        let fences_before = self.shared.fences.load(Ordering::SeqCst);
        let inputs = self.inputs.clone();
        let mut callbacks = EvalCallbacks {
            input_reader: &|request| ask(&inputs, request.prompt, request.is_password),
        };
        let before: Vec<(String, String)> = self
            .context
            .variables_and_types()
            .map(|(name, ty)| (name.to_owned(), ty.to_owned()))
            .collect();
        let declares = code
            .lines()
            .any(|line| line.trim_start().starts_with(":dep"));
        let saved = self.saved.as_ref().filter(|_| declares);
        if let Some(saved) = saved {
            saved.restore_kept(&self.build_dir);
        }
        let result = self.context.execute_with_callbacks(&code, &mut callbacks);
        if let (Some(saved), Ok(_)) = (saved, &result) {
            saved.keep(&self.build_dir);
        }
        let (code, result) = self.kept(code.into(), result, &mut callbacks);
        if *code != as_written {
            crate::engine::session::cell_sources::keep_ran(cell, &code);
        }
        let ran = matches!(&result, Ok(out) if out.phases.iter().any(|p| p.name == "Execution"));
        if let Ok(out) = &result {
            // Formatted only when debug logging is on.
            tracing::debug!(
                "cell phases: {}",
                out.phases
                    .iter()
                    .map(|p| format!("{} {:?}", p.name, p.duration))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        if ran {
            self.wait_for_fence(fences_before + 1, Duration::from_secs(2));
        }
        if let Some(warnings) = self.shared.warnings.take_due(&state) {
            let _ = self.outputs.send(Output::Stderr(warnings));
        }
        self.shared.running.store(false, Ordering::SeqCst);
        let moved_in = self.note_moved(&state, cell, &before, &code, result.is_ok());
        let mut outcome = self.outcome(&state, &code, written, result, &moved_in);
        outcome.pages = std::mem::take(&mut *lock(&state.pages));
        if written
            .lines()
            .any(|line| line.trim_start().starts_with(":doc "))
        {
            hover::tidy(&mut outcome.result);
        }
        self.record_child_pid();
        outcome
    }

    /// Notes the variables cell `cell` (its `code`) moved away, of those
    /// there were `before` it (with their types) and, if it `compiled` and ran to its end, of
    /// its own (see `moved`); returns the clause its failure's message gives
    /// those it had moved in.
    fn note_moved(
        &mut self,
        state: &CellState,
        cell: usize,
        before: &[(String, String)],
        code: &str,
        compiled: bool,
    ) -> String {
        let ran_to_end = compiled
            && !state.panicked.load(Ordering::SeqCst)
            && !state.returned_error.load(Ordering::SeqCst);
        let defined = if ran_to_end {
            let_names(code)
        } else {
            Vec::new()
        };
        let lost = std::mem::take(&mut *lock(&state.lost));
        let lost: Vec<(String, Option<&str>)> = lost
            .into_iter()
            .map(|name| {
                let ty = before
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, ty)| ty.as_str());
                (name, ty)
            })
            .collect();
        let before: Vec<String> = before.iter().map(|(name, _)| name.clone()).collect();
        let now = self.context.variables_and_types().map(|(name, _)| name);
        moved::clause(&self.moved.note(cell, &before, &defined, &lost, now))
    }

    /// Where the cell compiler keeps the errors of a cell that failed.
    fn errors_file(&self) -> PathBuf {
        compile::errors_file(self.shared.warnings.file())
    }

    /// rustc's JSON of the errors of the cell's last failed compilation.
    pub(crate) fn rustc_errors(&self) -> Vec<Value> {
        diagnostics::rustc_errors(&self.errors_file())
    }

    fn wait_for_fence(&self, target: u64, limit: Duration) {
        let deadline = Instant::now() + limit;
        let (mutex, signal) = &self.shared.fence_signal;
        let mut guard = lock(mutex);
        while self.shared.fences.load(Ordering::SeqCst) < target {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            guard = signal
                .wait_timeout(guard, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

fn set_build_env(context: &mut CommandContext, key: &str, value: &str) {
    let _ = context.execute(&format!(":build_env {key}={value}"));
}

/// Logs a step of the engine's warm-up (the bench reads these lines): the
/// wall time since `started`, and the engine thread's CPU time since it had
/// used `computed` (zero: since the thread started).
fn log_warm_up(step: &str, started: Instant, computed: Duration) {
    tracing::debug!(
        "warm-up: {step} {:?} (engine thread computing {:?})",
        started.elapsed(),
        thread_cpu_time().saturating_sub(computed)
    );
}

/// CPU time the calling thread has used. On the engine thread that is
/// evcxr's own work, nearly all of it rust-analyzer's analysis; the builds it
/// waits for run in other processes. The bench prints it for the warm-up.
fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

fn ask(inputs: &mpsc::UnboundedSender<InputAsk>, prompt: String, password: bool) -> String {
    let (reply, answer) = std_mpsc::channel();
    let ask = InputAsk {
        prompt,
        password,
        reply,
    };
    if inputs.send(ask).is_err() {
        return String::new();
    }
    answer.recv().unwrap_or_default()
}

/// rust-analyzer offers calls as snippets (`swap(x, y)`); a notebook
/// inserts the name and lets the user type the arguments.
fn insertable(code: String) -> String {
    match code.find('(') {
        Some(open) if code.ends_with(')') && open > 0 => code[..open].to_owned(),
        _ => code,
    }
}
