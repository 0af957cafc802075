//! tokio's task dump of the shared runtime, taken with a time limit.
//!
//! `Handle::dump` waits until every worker of the runtime has paused to let
//! the tasks be traced; a worker held by synchronous code never pauses, and
//! the dump never ends. It is taken on a thread of its own and waited for a
//! second at most: past that the thread is left to finish (or not) alone,
//! and a later dump waits behind it, within its own limit.

use std::collections::HashMap;
use std::time::Duration;

use super::frames::RawFrame;

/// What taking a dump came to.
pub enum Taken {
    /// Each traced task's id and backtraces (frames innermost first).
    Traced(HashMap<String, Vec<Vec<RawFrame>>>),
    /// No dump within the limit: a worker did not pause.
    TimedOut,
    /// tokio offers no dumps on this platform.
    #[allow(dead_code)] // constructed on the other platforms
    Unsupported,
}

#[cfg(all(
    target_os = "linux",
    any(
        target_arch = "x86",
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "s390x"
    )
))]
pub fn take(limit: Duration) -> Taken {
    let handle = crate::runtime::shared().handle().clone();
    let (sender, receiver) = std::sync::mpsc::channel();
    let started = std::thread::Builder::new()
        .name("asyncbook-where".into())
        .spawn(move || {
            let dump = futures::executor::block_on(handle.dump());
            let _ = sender.send(dump);
        });
    if started.is_err() {
        return Taken::TimedOut;
    }
    let wait = || receiver.recv_timeout(limit);
    // A task that asks hands its worker over first, so that the worker
    // pauses for the dump while the task waits here.
    let on_worker = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    let dump = match if on_worker {
        tokio::task::block_in_place(wait)
    } else {
        wait()
    } {
        Ok(dump) => dump,
        Err(_) => return Taken::TimedOut,
    };
    let traced = dump
        .tasks()
        .iter()
        .map(|task| {
            let backtraces = task
                .trace()
                .resolve_backtraces()
                .iter()
                .map(|backtrace| {
                    backtrace
                        .frames()
                        .flat_map(|frame| frame.symbols())
                        .map(|symbol| RawFrame {
                            symbol: symbol.name_demangled().map(str::to_owned),
                            file: symbol.filename().map(|f| f.display().to_string()),
                            line: symbol.lineno(),
                        })
                        .collect()
                })
                .collect();
            (task.id().to_string(), backtraces)
        })
        .collect();
    Taken::Traced(traced)
}

#[cfg(not(all(
    target_os = "linux",
    any(
        target_arch = "x86",
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "s390x"
    )
)))]
pub fn take(_limit: Duration) -> Taken {
    Taken::Unsupported
}
