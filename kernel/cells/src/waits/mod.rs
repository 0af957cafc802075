//! Where each task waits (the `:where` command): for every live task of the
//! shared runtime, the chain of `.await`s it is parked on, from its
//! outermost future to the leaf, read from tokio's task dump (`dump`) and
//! told in the notebook's terms (`frames`), with the task's id, name and
//! spawn site as `:tasks` shows them.

mod dump;
mod found;
pub mod frames;
mod view;

use crate::display::{self, Bundle};
use crate::tasks::{Site, TaskKind, TaskState};
use dump::Taken;
pub use found::{TaskWait, Wait, Where};
use found::{HELD, LIMIT};
use frames::Node;

/// Where every live task of the shared runtime waits, now. Waits a second
/// at most for the runtime's workers; in a task, the task's worker is
/// handed over while it waits (the task itself is listed as running).
pub fn where_now() -> Where {
    let asking = tokio::task::try_id().map(|id| id.to_string());
    let holding = crate::tasks::live().into_iter().any(|task| {
        task.kind == TaskKind::Async
            && task.polled_for.is_some_and(|polled| polled >= HELD)
            && Some(&task.id) != asking.as_ref()
    });
    let taken = if holding {
        Taken::TimedOut
    } else {
        dump::take(LIMIT)
    };
    let alive = crate::tasks::live();
    let (mut traced, timed_out, unsupported) = match taken {
        Taken::Traced(traced) => (traced, false, false),
        Taken::TimedOut => (Default::default(), true, false),
        Taken::Unsupported => (Default::default(), false, true),
    };
    let mut tasks: Vec<TaskWait> = alive
        .into_iter()
        .filter(|task| !handed_over(task))
        .map(|task| {
            let chains = traced.remove(&task.id);
            let wait = match (task.kind, chains) {
                _ if Some(&task.id) == asking.as_ref() => Wait::Asking,
                (TaskKind::Blocking, _) => Wait::Blocking,
                (TaskKind::Local, _) => Wait::Local,
                (_, Some(chains)) => Wait::Parked(nodes(&chains, task.cell)),
                (_, None) if task.state == TaskState::Running => Wait::Running,
                (_, None) if timed_out || unsupported => Wait::Unknown,
                (_, None) => Wait::Running,
            };
            TaskWait {
                id: task.id.clone(),
                task: Some(task),
                wait,
            }
        })
        .collect();
    // Traced tasks the hooks do not list: those of the kernel itself (no
    // step in a cell: left out) or all of them when the hooks are off.
    let mut others: Vec<TaskWait> = traced
        .into_iter()
        .map(|(id, chains)| TaskWait {
            id,
            task: None,
            wait: Wait::Parked(nodes(&chains, None)),
        })
        .filter(|task| matches!(&task.wait, Wait::Parked(roots) if roots.iter().any(in_notebook)))
        .collect();
    others.sort_by(|a, b| a.id.cmp(&b.id));
    tasks.extend(others);
    Where {
        tasks,
        timed_out,
        unsupported,
    }
}

/// The blocking task by which tokio hands a worker over to another thread
/// (`block_in_place`, as `where_now` does in a task): the runtime's, not
/// the notebook's.
fn handed_over(task: &crate::tasks::TaskInfo) -> bool {
    task.kind == TaskKind::Blocking
        && matches!(&task.site, Site::Elsewhere(place)
            if place.starts_with("tokio-") && place.contains("/src/runtime/scheduler/"))
}

fn nodes(chains: &[Vec<frames::RawFrame>], cell: Option<u64>) -> Vec<Node> {
    frames::tree(
        chains
            .iter()
            .map(|frames| frames::steps(frames, cell))
            .filter(|steps| !steps.is_empty())
            .collect(),
    )
}

fn in_notebook(node: &Node) -> bool {
    matches!(node.step, frames::Step::Notebook { .. }) || node.children.iter().any(in_notebook)
}

impl Where {
    pub fn bundle(&self) -> Bundle {
        Bundle::new()
            .with("text/html", view::html(self))
            .with("text/plain", view::text(self))
    }

    /// Shows it in the notebook (what the `:where` command does).
    pub fn show(&self) -> display::DisplayHandle {
        display::show(self.bundle())
    }

    /// Called by the kernel when it is a cell's last expression.
    pub fn evcxr_display(&self) {
        self.show();
    }
}

impl std::fmt::Display for Where {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&view::text(self))
    }
}
