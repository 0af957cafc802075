//! What the runtimes follow of their tasks, and building a runtime that
//! does: its task hooks installed, and the tracing subscriber of `spans`.

use std::sync::OnceLock;

use super::{clock, hooks, polls, registry, spans};

/// Set in the kernel's environment, chooses what runtimes follow of their
/// tasks (see [`Follow`]).
pub const HOOKS_ENV: &str = "ASYNCBOOK_TASK_HOOKS";

/// What the runtimes follow of their tasks, from [`HOOKS_ENV`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Follow {
    /// Unset (or any other value): the runtime's hooks, and the tracing
    /// subscriber (`spans`) for names, blocking and `LocalSet` tasks.
    Everything,
    /// `no-names`: the hooks without the subscriber, for code that spawns a
    /// great many tiny tasks. The subscriber's share of a spawn is
    /// tracing's: each spawn span holds a reference to the subscriber, taken
    /// on the spawning thread and dropped on the worker that finishes the
    /// task, one cache line moving between cores at every task.
    NoNames,
    /// `off`: no task hooks (`:tasks` lists nothing), the baseline
    /// `make bench` measures the hooks' cost against.
    Off,
}

impl Follow {
    pub fn chosen() -> Follow {
        static CHOSEN: OnceLock<Follow> = OnceLock::new();
        *CHOSEN.get_or_init(|| match std::env::var_os(HOOKS_ENV) {
            Some(value) if value == "off" => Follow::Off,
            Some(value) if value == "no-names" => Follow::NoNames,
            _ => Follow::Everything,
        })
    }
}

/// Builds a runtime with the registry's hooks installed. Its own workers
/// (started as blocking tasks while it is built) are the kernel's.
pub(crate) fn build(
    builder: &mut tokio::runtime::Builder,
) -> std::io::Result<tokio::runtime::Runtime> {
    hooks::as_kernel(|| hooked(builder).build())
}

fn hooked(builder: &mut tokio::runtime::Builder) -> &mut tokio::runtime::Builder {
    let follow = Follow::chosen();
    if follow == Follow::Off {
        return builder;
    }
    if follow == Follow::Everything {
        // Names, and the tasks the hooks do not see, come through tracing,
        // on the threads where tasks are spawned.
        spans::start();
        builder.on_thread_start(spans::enter_thread);
    }
    clock::start();
    polls::set_fold(registry::fold);
    registry::allocate();
    builder
        .on_task_spawn(hooks::spawned)
        .on_before_task_poll(hooks::before_poll)
        .on_after_task_poll(hooks::after_poll)
        .on_task_terminate(hooks::terminated)
}
