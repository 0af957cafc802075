//! `:where` as text (terminals, GitHub) and as HTML (JupyterLab): a tree
//! per task, innermost step last, the notebook's own steps marked.

use std::fmt::Write as _;

use super::found::{TaskWait, Wait, Where, LIMIT};
use super::frames::{Node, Step};
use crate::display::escape;
use crate::tasks::view::{called, spawned_by};
use crate::tasks::{human, TaskState};

/// The first line: how many tasks, and why chains may be missing.
fn summary(found: &Where) -> String {
    let count = found.tasks.len();
    let tasks = if count == 1 { "task" } else { "tasks" };
    let mut out = format!("{count} live {tasks} on the shared runtime");
    if found.unsupported {
        out.push_str("; tokio takes no task dumps on this platform, so no await chain is known");
    }
    if found.timed_out {
        let holding: Vec<String> = found
            .holding_workers()
            .iter()
            .map(|task| {
                format!(
                    "task {} spawned at {}, running for {}",
                    task.id,
                    spawned_by(task),
                    human(task.busy)
                )
            })
            .collect();
        // Named only when known: a dump asked from a task may not come
        // either (the worker it hands over), with no task holding one.
        if holding.is_empty() {
            let _ = write!(
                out,
                "; tokio's task dump, which waits for every worker, did not come within {}, so no await chain is known",
                human(LIMIT)
            );
        } else {
            let _ = write!(
                out,
                "; a worker is held by synchronous code ({}): tokio's task dump waits for every worker (at most {} here), so no await chain is known",
                holding.join("; "),
                human(LIMIT)
            );
        }
    }
    out
}

/// `task 17 fetcher spawned at [4] line 1`.
fn title(task: &TaskWait) -> String {
    let Some(info) = &task.task else {
        return format!("task {}", task.id);
    };
    let name = called(info);
    let name = if name.is_empty() {
        name
    } else {
        format!(" {name}")
    };
    format!("task {}{name} spawned at {}", task.id, spawned_by(info))
}

/// What the task is doing, when no chain says it.
fn state(task: &TaskWait, timed_out: bool) -> &'static str {
    match &task.wait {
        Wait::Running if timed_out => "running: it holds a worker, so the dump could not be taken",
        Wait::Parked(roots) if roots.is_empty() => "waiting (no step of its own in the dump)",
        Wait::Parked(_) => "waiting",
        Wait::Running => match task.task.as_ref().map(|t| t.state) {
            Some(TaskState::Running) => {
                "running: being polled while the dump was taken, not traced"
            }
            _ => "queued to run while the dump was taken, not traced",
        },
        Wait::Asking => "running: it asked for this, its worker handed over meanwhile",
        Wait::Blocking => "blocking: a closure on a thread of its own, no await chain",
        Wait::Local => "on a LocalSet: tokio's dumps do not reach it",
        Wait::Unknown => "await chain unknown",
    }
}

pub fn text(found: &Where) -> String {
    let mut out = format!("{}\n", summary(found));
    for task in &found.tasks {
        let _ = writeln!(out, "{}: {}", title(task), state(task, found.timed_out));
        if let Wait::Parked(roots) = &task.wait {
            for root in roots {
                let _ = writeln!(out, "  {}", root.step);
                branches(&mut out, &root.children, "  ");
            }
        }
    }
    out
}

fn branches(out: &mut String, children: &[Node], indent: &str) {
    for (at, child) in children.iter().enumerate() {
        let last = at + 1 == children.len();
        let _ = writeln!(
            out,
            "{indent}{}{}",
            if last { "└─ " } else { "├─ " },
            child.step
        );
        let deeper = format!("{indent}{}", if last { "   " } else { "│  " });
        branches(out, &child.children, &deeper);
    }
}

// Inline styles and plain tags only: JupyterLab's sanitizer (used when a
// saved notebook is opened untrusted) keeps them, and no stylesheet is needed.
const NOTEBOOK_STYLE: &str = "background:rgba(255,200,0,0.25);font-weight:600";

fn html_step(step: &Step) -> String {
    match step {
        Step::Notebook { .. } => format!(
            "<span class=\"asyncbook-where-notebook\" style=\"{NOTEBOOK_STYLE}\">{}</span>",
            escape(&step.to_string())
        ),
        Step::Library(_) => format!("<code>{}</code>", escape(&step.to_string())),
    }
}

fn html_nodes(out: &mut String, nodes: &[Node]) {
    if nodes.is_empty() {
        return;
    }
    out.push_str("<ul style=\"margin:0;padding-left:1.2em;list-style:'└ '\">");
    for node in nodes {
        let _ = write!(out, "<li>{}", html_step(&node.step));
        html_nodes(out, &node.children);
        out.push_str("</li>");
    }
    out.push_str("</ul>");
}

pub fn html(found: &Where) -> String {
    let mut out = format!(
        "<div class=\"asyncbook-where\"><p><b>Where each task waits</b>: {}</p>",
        escape(&summary(found))
    );
    for task in &found.tasks {
        let _ = write!(
            out,
            "<details class=\"asyncbook-where-task\" open><summary><b>{}</b>: {}</summary>",
            escape(&title(task)),
            escape(state(task, found.timed_out))
        );
        if let Wait::Parked(roots) = &task.wait {
            html_nodes(&mut out, roots);
        }
        out.push_str("</details>");
    }
    out.push_str("</div>");
    out
}
