//! What `:tasks` shows: the named tasks and the runtime's stable metrics, as
//! an HTML table with a plain-text twin.

use std::fmt::Write as _;
use std::time::Duration;

use super::{named_tasks, TaskInfo};
use crate::display::{self, escape, Bundle};

/// The stable metrics of one runtime.
#[derive(Clone, Debug)]
pub struct RuntimeFacts {
    pub flavour: &'static str,
    /// Live tasks, the kernel's own excluded.
    pub alive: usize,
    pub global_queue: usize,
    pub workers: Vec<WorkerFacts>,
}

#[derive(Clone, Debug)]
pub struct WorkerFacts {
    pub busy: Duration,
    pub parks: u64,
}

impl RuntimeFacts {
    /// Reads the metrics of the runtime this code runs on.
    pub fn current() -> Self {
        let handle = tokio::runtime::Handle::current();
        let metrics = handle.metrics();
        Self {
            flavour: crate::runtime::flavour(&handle),
            alive: metrics
                .num_alive_tasks()
                .saturating_sub(crate::runtime::kernel_tasks()),
            global_queue: metrics.global_queue_depth(),
            workers: (0..metrics.num_workers())
                .map(|worker| WorkerFacts {
                    busy: metrics.worker_total_busy_duration(worker),
                    parks: metrics.worker_park_count(worker),
                })
                .collect(),
        }
    }
}

/// Shows the tasks of the shared runtime (the `:tasks` command).
pub fn show() -> display::DisplayHandle {
    let (alive, ended) = named_tasks();
    let facts = RuntimeFacts::current();
    display::show(
        Bundle::new()
            .with("text/html", html(&facts, &alive, &ended))
            .with("text/plain", text(&facts, &alive, &ended)),
    )
}

/// Duration as people read it: `850 µs`, `12 ms`, `3.4 s`, `2 min 5 s`.
pub fn human(duration: Duration) -> String {
    let secs = duration.as_secs();
    if duration < Duration::from_millis(1) {
        format!("{} µs", duration.as_micros())
    } else if duration < Duration::from_secs(1) {
        format!("{} ms", duration.as_millis())
    } else if secs < 60 {
        format!("{:.1} s", duration.as_secs_f64())
    } else if secs < 3600 {
        format!("{} min {} s", secs / 60, secs % 60)
    } else {
        format!("{} h {} min", secs / 3600, secs % 3600 / 60)
    }
}

fn cell_label(cell: Option<u64>) -> String {
    cell.map_or_else(|| "-".to_owned(), |n| format!("[{n}]"))
}

/// Tasks alive that the registry does not know.
fn unnamed(facts: &RuntimeFacts, alive: &[TaskInfo]) -> usize {
    facts.alive.saturating_sub(alive.len())
}

fn summary(facts: &RuntimeFacts, alive: &[TaskInfo]) -> String {
    format!(
        "{} runtime, {} workers, {} live tasks ({} named, {} unnamed), global queue depth {}",
        facts.flavour,
        facts.workers.len(),
        facts.alive,
        alive.len(),
        unnamed(facts, alive),
        facts.global_queue
    )
}

const NOTE: &str = "Named tasks are those spawned with asyncbook::spawn_named or Timeline::spawn; \
tasks from tokio::spawn are only counted (stable tokio cannot list tasks). \
Per-worker local queue depths need an unstable tokio build and are not shown.";

pub fn html(facts: &RuntimeFacts, alive: &[TaskInfo], ended: &[TaskInfo]) -> String {
    let mut out = String::from("<div class=\"asyncbook-tasks\">");
    let _ = write!(out, "<p><b>Runtime</b>: {}</p>", summary(facts, alive));
    out.push_str("<table><thead><tr><th>task</th><th>cell</th><th>alive for</th><th>state</th><th>polls</th></tr></thead><tbody>");
    let row = |out: &mut String, task: &TaskInfo| {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&task.name),
            cell_label(task.cell),
            human(task.age),
            task.state.label(),
            task.polls
        );
    };
    for task in alive {
        row(&mut out, task);
    }
    let others = unnamed(facts, alive);
    if others > 0 {
        let _ = write!(
            out,
            "<tr><td><i>unnamed: {others}</i></td><td colspan=\"4\"><i>not tracked</i></td></tr>"
        );
    }
    out.push_str("</tbody></table>");
    if !ended.is_empty() {
        out.push_str("<p>Recently ended (lived for):</p><table><tbody>");
        for task in ended {
            row(&mut out, task);
        }
        out.push_str("</tbody></table>");
    }
    out.push_str(
        "<table><thead><tr><th>worker</th><th>busy</th><th>parks</th></tr></thead><tbody>",
    );
    for (index, worker) in facts.workers.iter().enumerate() {
        let _ = write!(
            out,
            "<tr><td>{index}</td><td>{}</td><td>{}</td></tr>",
            human(worker.busy),
            worker.parks
        );
    }
    let _ = write!(out, "</tbody></table><p><small>{NOTE}</small></p></div>");
    out
}

pub fn text(facts: &RuntimeFacts, alive: &[TaskInfo], ended: &[TaskInfo]) -> String {
    let mut out = format!("runtime: {}\n", summary(facts, alive));
    let line = |out: &mut String, task: &TaskInfo| {
        let _ = writeln!(
            out,
            "  {} (cell {}): {} for {}, {} polls",
            task.name,
            cell_label(task.cell),
            task.state.label(),
            human(task.age),
            task.polls
        );
    };
    for task in alive {
        line(&mut out, task);
    }
    let others = unnamed(facts, alive);
    if others > 0 {
        let _ = writeln!(out, "  unnamed: {others}");
    }
    if !ended.is_empty() {
        out.push_str("recently ended:\n");
        for task in ended {
            line(&mut out, task);
        }
    }
    out.push_str(NOTE);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::TaskState;

    fn task(name: &str, cell: Option<u64>, state: TaskState) -> TaskInfo {
        TaskInfo {
            id: 1,
            name: name.to_owned(),
            cell,
            state,
            age: Duration::from_millis(1500),
            polls: 3,
        }
    }

    #[test]
    fn html_lists_named_tasks_and_counts_the_rest() {
        let facts = RuntimeFacts {
            flavour: "multi-thread",
            alive: 3,
            global_queue: 0,
            workers: vec![
                WorkerFacts {
                    busy: Duration::from_millis(12),
                    parks: 4,
                };
                2
            ],
        };
        let alive = [task("ticker <1>", Some(4), TaskState::Idle)];
        let ended = [task("done", None, TaskState::Finished)];
        let html = html(&facts, &alive, &ended);
        assert!(html.contains("<td>ticker &lt;1&gt;</td><td>[4]</td><td>1.5 s</td><td>idle</td>"));
        assert!(html.contains("unnamed: 2"));
        assert!(html.contains("3 live tasks (1 named, 2 unnamed)"));
        assert_eq!(html.matches("<td>12 ms</td><td>4</td>").count(), 2);
        assert!(html.contains("<td>done</td><td>-</td>"));
        let text = text(&facts, &alive, &ended);
        assert!(text.contains("ticker <1> (cell [4]): idle for 1.5 s, 3 polls"));
    }

    #[test]
    fn human_durations_pick_a_readable_unit() {
        assert_eq!(human(Duration::from_micros(850)), "850 µs");
        assert_eq!(human(Duration::from_millis(12)), "12 ms");
        assert_eq!(human(Duration::from_millis(3400)), "3.4 s");
        assert_eq!(human(Duration::from_secs(125)), "2 min 5 s");
        assert_eq!(human(Duration::from_secs(7380)), "2 h 3 min");
    }
}
