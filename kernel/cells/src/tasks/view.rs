//! What `:tasks` shows: every live task and the runtime's metrics, as an
//! HTML table with a plain-text twin; `:tasks watch` keeps it up to date.

use std::fmt::Write as _;
use std::time::Duration;

use super::follow::{Follow, HOOKS_ENV};
use super::list::{live, take_panicked, TaskInfo, TaskState};
use crate::display::{self, escape, Bundle};

/// The stable metrics of one runtime.
#[derive(Clone, Debug)]
pub struct RuntimeFacts {
    pub flavour: &'static str,
    pub global_queue: usize,
    pub workers: Vec<WorkerFacts>,
    /// What the task hooks follow.
    pub follow: Follow,
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
            global_queue: metrics.global_queue_depth(),
            workers: (0..metrics.num_workers())
                .map(|worker| WorkerFacts {
                    busy: metrics.worker_total_busy_duration(worker),
                    parks: metrics.worker_park_count(worker),
                })
                .collect(),
            follow: Follow::chosen(),
        }
    }
}

/// What one look at the runtime found.
struct Look {
    facts: RuntimeFacts,
    alive: Vec<TaskInfo>,
    panicked: Vec<TaskInfo>,
}

impl Look {
    fn now() -> Self {
        Self {
            facts: RuntimeFacts::current(),
            alive: live(),
            panicked: take_panicked(),
        }
    }

    fn bundle(&self) -> Bundle {
        Bundle::new()
            .with("text/html", html(&self.facts, &self.alive, &self.panicked))
            .with("text/plain", text(&self.facts, &self.alive, &self.panicked))
    }
}

/// Shows the tasks of the shared runtime (the `:tasks` command).
pub fn show() -> display::DisplayHandle {
    display::show(Look::now().bundle())
}

/// How often `:tasks watch` looks again.
const WATCH_EVERY: Duration = Duration::from_secs(1);

/// Shows the tasks and updates the table in place every second, until the
/// tasks it first listed have all ended or the next cell starts (the
/// `:tasks watch` command).
pub fn watch() -> display::DisplayHandle {
    let first = Look::now();
    let handle = display::show(first.bundle());
    let watched: Vec<String> = first.alive.iter().map(|task| task.id.clone()).collect();
    let cell = crate::runtime::cells_started();
    let updates = handle.clone();
    std::thread::Builder::new()
        .name("asyncbook-tasks-watch".into())
        .spawn(move || loop {
            std::thread::sleep(WATCH_EVERY);
            if crate::runtime::cells_started() != cell {
                return;
            }
            let look = {
                let _runtime = crate::runtime::shared().enter();
                Look::now()
            };
            updates.update(look.bundle());
            if !look.alive.iter().any(|task| watched.contains(&task.id)) {
                return;
            }
        })
        .expect("starting the thread that refreshes :tasks");
    handle
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

fn summary(facts: &RuntimeFacts, alive: &[TaskInfo]) -> String {
    let tasks = if alive.len() == 1 { "task" } else { "tasks" };
    let follows = match facts.follow {
        Follow::Everything => String::new(),
        Follow::NoNames => {
            format!(" ({HOOKS_ENV}=no-names: no task names, no blocking or LocalSet tasks)")
        }
        Follow::Off => format!(" ({HOOKS_ENV}=off: tasks are not followed)"),
    };
    format!(
        "{} runtime, {} workers, {} live {tasks}, global queue depth {}{follows}",
        facts.flavour,
        facts.workers.len(),
        alive.len(),
        facts.global_queue
    )
}

/// The task's name, and its kind where it is not a plain async task:
/// `ticker`, `(blocking)`, `reader (local)`.
pub(crate) fn called(task: &TaskInfo) -> String {
    let kind = task.kind.label().map(|kind| format!("({kind})"));
    [task.name.clone(), kind]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn spawned_by(task: &TaskInfo) -> String {
    match &task.parent {
        Some(parent) => format!("{} (task {parent})", task.site),
        None => task.site.to_string(),
    }
}

const HEAD: &str = "<tr><th>id</th><th>name</th><th>spawned at</th><th>age</th><th>polls</th><th>running</th><th>waiting</th><th>state</th></tr>";

fn row(out: &mut String, task: &TaskInfo) {
    let _ = write!(
        out,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        task.id,
        escape(&called(task)),
        escape(&spawned_by(task)),
        human(task.age),
        task.polls,
        human(task.busy),
        human(task.waiting()),
        task.state.label()
    );
}

pub fn html(facts: &RuntimeFacts, alive: &[TaskInfo], panicked: &[TaskInfo]) -> String {
    let mut out = String::from("<div class=\"asyncbook-tasks\">");
    let _ = write!(out, "<p><b>Runtime</b>: {}</p>", summary(facts, alive));
    if !alive.is_empty() {
        let _ = write!(out, "<table><thead>{HEAD}</thead><tbody>");
        for task in alive {
            row(&mut out, task);
        }
        out.push_str("</tbody></table>");
    }
    if !panicked.is_empty() {
        let _ = write!(
            out,
            "<p>Ended by a panic since the last look:</p><table><thead>{HEAD}</thead><tbody>"
        );
        for task in panicked {
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
    out.push_str("</tbody></table></div>");
    out
}

fn line(out: &mut String, task: &TaskInfo) {
    let name = called(task);
    let name = if name.is_empty() {
        name
    } else {
        format!(" {name}")
    };
    let lived = match task.state {
        TaskState::Panicked => "after",
        _ => "for",
    };
    let _ = writeln!(
        out,
        "  task {}{name} spawned at {}: {} {lived} {}, {} polls, running {}, waiting {}",
        task.id,
        spawned_by(task),
        task.state.label(),
        human(task.age),
        task.polls,
        human(task.busy),
        human(task.waiting())
    );
}

pub fn text(facts: &RuntimeFacts, alive: &[TaskInfo], panicked: &[TaskInfo]) -> String {
    let mut out = format!("runtime: {}\n", summary(facts, alive));
    for task in alive {
        line(&mut out, task);
    }
    if !panicked.is_empty() {
        out.push_str("ended by a panic since the last look:\n");
        for task in panicked {
            line(&mut out, task);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::origin::TaskKind;
    use crate::tasks::source::Site;

    fn task(name: Option<&str>, site: Site, state: TaskState) -> TaskInfo {
        TaskInfo {
            id: "12".into(),
            name: name.map(str::to_owned),
            kind: TaskKind::Async,
            cell: Some(4),
            site,
            parent: None,
            state,
            age: Duration::from_millis(1500),
            polls: 3,
            busy: Duration::from_millis(500),
            polled_for: None,
        }
    }

    #[test]
    fn html_lists_every_task_with_its_spawn_site() {
        let facts = RuntimeFacts {
            flavour: "multi-thread",
            global_queue: 0,
            workers: vec![
                WorkerFacts {
                    busy: Duration::from_millis(12),
                    parks: 4,
                };
                2
            ],
            follow: Follow::Everything,
        };
        let at = Site::Cell { cell: 4, line: 2 };
        let alive = [
            task(Some("ticker <1>"), at.clone(), TaskState::Idle),
            TaskInfo {
                parent: Some("12".into()),
                ..task(None, Site::Elsewhere("x.rs:9".into()), TaskState::Scheduled)
            },
            TaskInfo {
                kind: TaskKind::Blocking,
                ..task(None, at.clone(), TaskState::Running)
            },
        ];
        let panicked = [task(None, at, TaskState::Panicked)];
        let html = html(&facts, &alive, &panicked);
        assert!(html.contains("<tr><td>12</td><td>ticker &lt;1&gt;</td><td>[4] line 2</td><td>1.5 s</td><td>3</td><td>500 ms</td><td>1.0 s</td><td>idle</td></tr>"), "{html}");
        assert!(html.contains("<td>x.rs:9 (task 12)</td>"), "{html}");
        assert!(html.contains("3 live tasks"));
        assert!(html.contains("<td>12</td><td>(blocking)</td>"), "{html}");
        assert_eq!(html.matches("<td>12 ms</td><td>4</td>").count(), 2);
        let (_, ended) = html
            .split_once("Ended by a panic")
            .expect("a panic section");
        assert!(ended.contains("<td>panicked</td>"));
        let text = text(&facts, &alive, &panicked);
        assert!(text.contains("task 12 ticker <1> spawned at [4] line 2: idle for 1.5 s, 3 polls, running 500 ms, waiting 1.0 s"), "{text}");
        assert!(
            text.contains("task 12 (blocking) spawned at [4] line 2: running for"),
            "{text}"
        );
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
