//! The session's shared runtime and the per-cell entry point.

use std::cell::Cell;
use std::future::Future;
use std::io::Write;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use tokio::sync::watch;

pub use crate::running_cell::current_cell;

/// Raised (as an unwinding payload) inside a cell that was interrupted while
/// it awaited; the kernel reports it as an interruption, not as a panic.
#[derive(Debug)]
pub struct Interrupted;

static INTERRUPTS: OnceLock<watch::Sender<u64>> = OnceLock::new();

thread_local! {
    /// True on the thread that polls a cell's body, while it does.
    static IN_CELL: Cell<bool> = const { Cell::new(false) };
}

/// The line that tells the kernel the cell's body runs and listens for interrupts.
const STARTED_MARKER: &str = "\u{1}asyncbook-started";

/// Prefix of the line that tells the kernel why the running cell panicked.
pub const PANIC_MARKER: &str = "\u{1}asyncbook-panic ";

/// How many cells have started in this session: `:tasks watch` stops when
/// the next one does.
static CELLS_STARTED: AtomicU64 = AtomicU64::new(0);

pub(crate) fn cells_started() -> u64 {
    CELLS_STARTED.load(Ordering::Relaxed)
}

/// The one multi-thread runtime of the session, built on first use (by the
/// code the kernel generates around the first async cell). It lives as long
/// as the cell process; a restart starts a new process, and a new runtime.
pub fn shared() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        crate::tasks::follow::build(
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_name("asyncbook-worker"),
        )
        .expect("the tokio runtime could not be built")
    })
}

/// Runs `future` to its end on the shared runtime from synchronous code:
/// what `#[tokio::main]` does for a program's `main`. The kernel turns a
/// cell's `#[tokio::main] async fn` into a plain `fn` that calls this, so a
/// program pasted into a cell runs beside the notebook's tasks. An interrupt
/// cancels the future as it cancels a cell at an `.await`.
/// Outside a kernel (a program made by `asyncbook export`) the program's own
/// runtime is the shared one, and there is no interrupt to listen for.
pub fn block_on<F: Future>(future: F) -> F::Output {
    if !crate::kernel_io::in_kernel() {
        return match tokio::runtime::Handle::try_current() {
            Ok(handle) => tokio::task::block_in_place(|| handle.block_on(future)),
            Err(_) => shared().block_on(future),
        };
    }
    let run = || {
        let runtime = shared();
        crate::tasks::spans::enter_thread();
        runtime.block_on(async {
            let mut interrupted = session_setup();
            interrupted.mark_unchanged();
            tokio::select! {
                biased;
                value = future => value,
                _ = interrupted.changed() => std::panic::resume_unwind(Box::new(Interrupted)),
            }
        })
    };
    // Inside the runtime (a cell's body, a task), the thread leaves it first.
    if tokio::runtime::Handle::try_current().is_ok() {
        tokio::task::block_in_place(run)
    } else {
        run()
    }
}

/// A cell's body as the kernel's generated code hands it over: boxed, so
/// that the runtime's generic `block_on` machinery is compiled once, here in
/// the cell library, instead of once per cell at every cell's compile.
pub type CellBody<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

/// How a cell runs its body on the shared runtime. The kernel rewrites
/// evcxr's `runtime.block_on(async { .. })` into
/// `runtime.__asyncbook_run(cell, Box::pin(async { .. }))`.
pub trait CellRuntime {
    /// Runs `body` to completion on this runtime, raced against the kernel's
    /// interrupt signal; `cell` is the execution count shown beside the cell.
    fn __asyncbook_run(&self, cell: Option<u64>, body: CellBody<'_>);
}

impl CellRuntime for tokio::runtime::Runtime {
    fn __asyncbook_run(&self, cell: Option<u64>, body: CellBody<'_>) {
        crate::tasks::spans::enter_thread();
        self.block_on(run_cell(cell, body))
    }
}

/// Runs one cell's body: interruptible, tagged with its cell, and with the
/// cell's output flushed when it ends.
async fn run_cell(cell: Option<u64>, body: CellBody<'_>) {
    CELLS_STARTED.fetch_add(1, Ordering::Relaxed);
    let mut interrupted = session_setup();
    interrupted.mark_unchanged();
    // From here on an interrupt cancels this cell: tell the kernel.
    crate::kernel_io::tell_kernel(format_args!("{STARTED_MARKER}"));
    let outcome = tokio::select! {
        biased;
        value = crate::running_cell::as_cell(cell, InCell(body)) => Some(value),
        _ = interrupted.changed() => None,
    };
    crate::timeline::auto::finish_cell();
    crate::tasks::spans::look_again();
    let _ = std::io::stdout().flush();
    if outcome.is_none() {
        std::panic::resume_unwind(Box::new(Interrupted));
    }
}

/// Polls a cell body with `IN_CELL` set, so the panic hook can tell the
/// cell's own panics from those of background tasks.
struct InCell<'a>(CellBody<'a>);

impl Future for InCell<'_> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        IN_CELL.with(|flag| flag.set(true));
        let recording = crate::timeline::auto::body_poll_starts();
        let poll = self.0.as_mut().poll(cx);
        crate::timeline::auto::body_poll_ends(recording);
        IN_CELL.with(|flag| flag.set(false));
        poll
    }
}

/// Reports panics: the cell's own go to the kernel (shown as the cell's
/// error), those of background tasks and threads to stderr, live.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        crate::tasks::registry::note_panic();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "(no message)".to_owned());
        // A line of the generated cell source is told as the line of the
        // cell that holds its text (`[3] line 2`), or not at all.
        let location = info
            .location()
            .and_then(|l| {
                use crate::tasks::source::{library_crate, site_here, Site};
                match site_here(l.file(), l.line()) {
                    Site::Elsewhere(_) if l.file().ends_with("asyncbook_lib.rs") => None,
                    // A library's line moves with each release: its crate is what tells.
                    site => Some(match library_crate(l.file()) {
                        Some(name) => format!(" in {name}"),
                        None => format!(" at {site}"),
                    }),
                }
            })
            .unwrap_or_default();
        if IN_CELL.with(|flag| flag.get()) {
            let json = serde_json::json!({ "message": message, "location": location });
            crate::kernel_io::tell_kernel(format_args!("{PANIC_MARKER}{json}"));
        } else {
            let thread = std::thread::current();
            let name = thread.name().unwrap_or("unnamed");
            eprintln!("panic in a background task (thread {name}){location}: {message}");
        }
    }));
}

/// Once per session: SIGINT reaches the cell process when the user
/// interrupts the kernel, so one listener task turns each signal into a tick
/// on a watch channel; a thread flushes `print!` output without newline; and
/// the panic hook is installed.
fn session_setup() -> watch::Receiver<u64> {
    INTERRUPTS
        .get_or_init(|| {
            install_panic_hook();
            let (sender, _) = watch::channel(0u64);
            if let Ok(mut signals) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
            {
                let ticks = sender.clone();
                crate::tasks::hooks::as_kernel(|| {
                    tokio::spawn(async move {
                        while signals.recv().await.is_some() {
                            ticks.send_modify(|n| *n += 1);
                        }
                    })
                });
            }
            std::thread::Builder::new()
                .name("asyncbook-flush".into())
                .spawn(|| loop {
                    std::thread::sleep(Duration::from_millis(50));
                    let _ = std::io::stdout().flush();
                })
                .ok();
            sender
        })
        .subscribe()
}

pub(crate) fn flavour(handle: &tokio::runtime::Handle) -> &'static str {
    match handle.runtime_flavor() {
        tokio::runtime::RuntimeFlavor::CurrentThread => "current-thread",
        tokio::runtime::RuntimeFlavor::MultiThread => "multi-thread",
        _ => "other",
    }
}

/// What `:runtime` shows: flavour, workers and the tasks alive right now.
pub fn report() -> String {
    let handle = tokio::runtime::Handle::current();
    let metrics = handle.metrics();
    let flavour = flavour(&handle);
    let alive = crate::tasks::registry::snapshots().len();
    let tasks = if alive == 1 { "task" } else { "tasks" };
    format!(
        "runtime: {flavour}, {} worker threads, {alive} live {tasks}",
        metrics.num_workers()
    )
}
