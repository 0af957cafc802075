//! The registry on a hooked runtime, seen through what `:tasks` lists.

use tokio::task::Id;

use super::follow::build;
use super::registry::{self, number, SLOTS};
use super::{live, TaskInfo, TaskKind, TaskState};

fn find(name: &str) -> Option<TaskInfo> {
    live()
        .into_iter()
        .find(|task| task.name.as_deref() == Some(name))
}

// The one test of this crate on a hooked runtime: the registry is the
// process's, and its count must be this test's alone.
#[test]
fn tasks_are_listed_while_alive_and_a_million_leave_nothing_behind() {
    let runtime = build(tokio::runtime::Builder::new_multi_thread().enable_all()).unwrap();
    runtime.block_on(async {
        let (release, wait) = tokio::sync::oneshot::channel::<()>();
        let waiter = tokio::task::Builder::new()
            .name("registry waiter")
            .spawn(async move {
                let child = tokio::spawn(std::future::pending::<()>());
                let _ = wait.await;
                child.abort();
            })
            .unwrap();
        tokio::task::yield_now().await;
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let listed = find("registry waiter").expect("a named task is listed by name");
        assert!(listed.polls >= 1, "{listed:?}");
        let child = live()
            .into_iter()
            .find(|task| task.parent.as_deref() == Some(listed.id.as_str()))
            .expect("the task it spawned is listed with its parent");
        assert_eq!(child.name, None);
        release.send(()).unwrap();
        waiter.await.unwrap();

        // A task whose ring line is held by a live task `SLOTS` ids
        // older is kept (and listed) all the same.
        let (release, wait) = tokio::sync::oneshot::channel::<()>();
        let holder = tokio::spawn(async move {
            let _ = wait.await;
        });
        let line = |id: Id| number(id) as usize % SLOTS;
        let overflowed = loop {
            let task = tokio::task::Builder::new()
                .name("overflowed")
                .spawn(std::future::pending::<()>())
                .unwrap();
            if line(task.id()) == line(holder.id()) {
                break task;
            }
            task.abort();
            let _ = task.await;
        };
        assert_eq!(registry::held().1, 1);
        // (The tasks aborted before it may not have ended yet: tokio
        // runs the end hook after waking the task's awaiter.)
        let listed = live()
            .into_iter()
            .find(|task| task.id == overflowed.id().to_string())
            .expect("a task in the overflow map is listed");
        assert_eq!(listed.name.as_deref(), Some("overflowed"));
        overflowed.abort();
        let _ = overflowed.await;
        release.send(()).unwrap();
        holder.await.unwrap();

        // Tasks the hooks do not see: `spawn_blocking`'s and a
        // `LocalSet`'s, listed while they live, with where they were
        // spawned.
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let blocking = tokio::task::spawn_blocking(move || {
            let _ = wait.recv();
        });
        let local = tokio::task::LocalSet::new();
        let (release_local, wait_local) = tokio::sync::oneshot::channel::<()>();
        let on_set = local.spawn_local(async move {
            let _ = wait_local.await;
        });
        local.run_until(tokio::task::yield_now()).await;
        let of_kind = |kind: TaskKind| live().into_iter().find(|task| task.kind == kind);
        let mut running = None;
        for _ in 0..200 {
            running = of_kind(TaskKind::Blocking).filter(|task| task.state == TaskState::Running);
            if running.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let running = running
            .unwrap_or_else(|| panic!("the blocking task is listed as running: {:?}", live()));
        assert_eq!(running.id, blocking.id().to_string());
        assert!(
            running.site.to_string().contains("tasks/tests.rs:"),
            "{running:?}"
        );
        let idle = of_kind(TaskKind::Local).expect("the task on the set is listed");
        assert_eq!(idle.id, on_set.id().to_string());
        assert_eq!(idle.state, TaskState::Idle, "{idle:?}");
        assert!(idle.polls >= 1, "{idle:?}");
        release.send(()).unwrap();
        blocking.await.unwrap();
        release_local.send(()).unwrap();
        local.await;
        on_set.await.unwrap();
        assert!(of_kind(TaskKind::Blocking).is_none() && of_kind(TaskKind::Local).is_none());

        let mut set = tokio::task::JoinSet::new();
        for round in 0..100 {
            for _ in 0..10_000 {
                set.spawn(async move { round });
            }
            while set.join_next().await.is_some() {}
        }
    });
    // Shutting down waits for every task's end, hooks included.
    drop(runtime);
    assert_eq!(registry::held(), (0, 0, 0), "every entry is free again");
}
