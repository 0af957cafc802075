//! `:where` over the Jupyter protocol: tasks parked in async fns of earlier
//! cells, in `select!`, on a `Notify` and a sleep, each told by its chain of
//! `.await`s in the notebook's terms; a blocked worker that holds up the
//! dump; no path of the machine in what is shown.

mod common;

use std::time::Duration;

use asyncbook_kernel::runner::client::Execution;
use common::runner::{run, shown, start};
use jupyter_protocol::{JupyterMessageContent, Stdio};

/// Two async fns, one awaiting the other, which awaits a oneshot (line 2).
const FNS: &str = "async fn inner(rx: tokio::sync::oneshot::Receiver<u32>) -> u32 {\n    \
                       rx.await.unwrap_or(0)\n\
                   }\n\
                   async fn fetch(rx: tokio::sync::oneshot::Receiver<u32>) -> u32 {\n    \
                       let value = inner(rx).await;\n    \
                       value + 1\n\
                   }";

/// Tasks parked on a oneshot inside `fetch` (line 2), a `Notify` (line 5),
/// a sleep (line 6) and a `select!` (lines 8 to 13), the first named.
const TASKS: &str = "let (tx, rx) = tokio::sync::oneshot::channel::<u32>();\n\
     let waiter = tokio::task::Builder::new().name(\"fetcher\").spawn(async move { fetch(rx).await }).unwrap();\n\
     let notify = std::sync::Arc::new(tokio::sync::Notify::new());\n\
     let notified = notify.clone();\n\
     let on_notify = tokio::spawn(async move { notified.notified().await });\n\
     let sleeper = tokio::spawn(async { tokio::time::sleep(std::time::Duration::from_secs(3600)).await });\n\
     let (sender, mut receiver) = tokio::sync::mpsc::channel::<u32>(1);\n\
     let selecting = tokio::spawn(async move {\n    \
         tokio::select! {\n        \
             _ = receiver.recv() => {}\n        \
             _ = tokio::time::sleep(std::time::Duration::from_secs(3600)) => {}\n    \
         }\n\
     });";

/// The block of `:where`'s text about the task whose title holds `title`:
/// its title line and the indented lines of its chain.
fn block<'a>(text: &'a str, title: &str) -> Vec<&'a str> {
    let mut lines = text
        .lines()
        .skip_while(|line| !(line.starts_with("task ") && line.contains(title)));
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("no task {title} in\n{text}"));
    std::iter::once(first)
        .chain(lines.take_while(|line| line.starts_with(' ')))
        .collect()
}

/// The steps of a block, tree marks taken off.
fn steps<'a>(block: &[&'a str]) -> Vec<&'a str> {
    block[1..]
        .iter()
        .map(|line| line.trim_start_matches([' ', '│', '├', '└', '─']))
        .collect()
}

/// What a cell printed to stdout.
fn stdout(run: &Execution) -> String {
    run.messages
        .iter()
        .filter_map(|message| match message {
            JupyterMessageContent::StreamContent(stream)
                if matches!(stream.name, Stdio::Stdout) =>
            {
                Some(stream.text.as_str())
            }
            _ => None,
        })
        .collect()
}

fn assert_no_machine_path(shown: &str) {
    for path in [
        "/home",
        "/root",
        ".cargo/registry",
        "rustlib",
        "/rustc/",
        "/tmp",
    ] {
        assert!(!shown.contains(path), "{path} in\n{shown}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn where_tells_each_task_by_its_awaits_in_the_notebook() {
    let test = async {
        let mut kernel = start().await;
        run(&mut kernel, "let warm_up = 1;").await;
        run(&mut kernel, FNS).await;
        run(&mut kernel, TASKS).await;
        let text = shown(&mut kernel, ":where", "text/plain").await;
        assert!(
            text.starts_with("4 live tasks on the shared runtime\n"),
            "{text}"
        );

        let waiter = block(&text, "fetcher spawned at [3] line 2");
        assert!(waiter[0].ends_with(": waiting"), "{text}");
        assert_eq!(
            steps(&waiter),
            [
                "[3] line 2, in async block",
                "[2] line 5, in async fn fetch",
                "[2] line 2, in async fn inner",
                "tokio::sync::oneshot::Receiver",
            ],
            "{text}"
        );
        let on_notify = block(&text, "spawned at [3] line 5");
        assert_eq!(
            steps(&on_notify),
            [
                "[3] line 5, in async block",
                "tokio::sync::notify::Notified"
            ],
            "{text}"
        );
        let sleeper = block(&text, "spawned at [3] line 6");
        assert_eq!(
            steps(&sleeper),
            ["[3] line 6, in async block", "tokio::time::sleep::Sleep"],
            "{text}"
        );
        // `select!` awaits both branches: one step in the cell, two leaves.
        let selecting = block(&text, "spawned at [3] line 8");
        let found = steps(&selecting);
        assert!(found[0].starts_with("[3] line 9, in async block"), "{text}");
        let mut leaves = found[1..].to_vec();
        leaves.sort();
        assert_eq!(
            leaves,
            [
                "tokio::sync::mpsc::bounded::Receiver::recv",
                "tokio::time::sleep::Sleep"
            ],
            "{text}"
        );
        assert_no_machine_path(&text);

        let html = shown(&mut kernel, "asyncbook::where_now()", "text/html").await;
        assert_eq!(
            html.matches("<details class=\"asyncbook-where-task\" open><summary><b>task ")
                .count(),
            4,
            "one collapsible tree per task: {html}"
        );
        assert!(
            html.contains(
                "<span class=\"asyncbook-where-notebook\" style=\"background:rgba(255,200,0,0.25);font-weight:600\">[2] line 5, in async fn fetch</span>"
            ),
            "the notebook's steps are marked: {html}"
        );
        assert!(
            html.contains("<code>tokio::sync::oneshot::Receiver</code>"),
            "{html}"
        );
        assert_no_machine_path(&html);

        // Asked from a task: its worker is handed over while it waits, and
        // it lists itself as the one asking, the others as before.
        let asked = run(
            &mut kernel,
            "let from_task = tokio::spawn(async { asyncbook::where_now().to_string() }).await.unwrap();\n\
             println!(\"{from_task}\");",
        )
        .await;
        let text = stdout(&asked);
        assert!(text.starts_with("5 live tasks"), "{text}");
        let asking = block(&text, "spawned at [6] line 1");
        assert!(
            asking[0].ends_with(": running: it asked for this, its worker handed over meanwhile"),
            "{text}"
        );
        assert_eq!(
            steps(&block(&text, "spawned at [3] line 6")),
            ["[3] line 6, in async block", "tokio::time::sleep::Sleep"],
            "{text}"
        );

        // Woken, the tasks end and `:where` lists nothing.
        run(
            &mut kernel,
            "tx.send(41).unwrap();\n\
             notify.notify_one();\n\
             sender.send(1).await.unwrap();\n\
             sleeper.abort();\n\
             assert_eq!(waiter.await.unwrap(), 42);\n\
             on_notify.await.unwrap();\n\
             selecting.await.unwrap();",
        )
        .await;
        let text = shown(&mut kernel, ":where", "text/plain").await;
        assert!(text.starts_with("0 live tasks"), "{text}");
        kernel.shutdown().await;
    };
    tokio::time::timeout(Duration::from_secs(240), test)
        .await
        .expect("the kernel answered within four minutes");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_blocked_worker_does_not_hang_where() {
    let test = async {
        let mut kernel = start().await;
        run(
            &mut kernel,
            "let quiet = tokio::spawn(async { tokio::time::sleep(std::time::Duration::from_secs(3600)).await });\n\
             let (release, wait) = std::sync::mpsc::channel::<()>();\n\
             let blocking = tokio::task::spawn_blocking(move || wait.recv().is_ok());\n\
             let local = tokio::task::LocalSet::new();\n\
             let on_set = local.spawn_local(std::future::pending::<()>());\n\
             local.run_until(tokio::task::yield_now()).await;",
        )
        .await;
        // A task that holds its worker in synchronous code until released.
        run(
            &mut kernel,
            "let (started, is_started) = std::sync::mpsc::channel::<()>();\n\
             let (unblock, blocked) = std::sync::mpsc::channel::<()>();\n\
             let blocker = tokio::spawn(async move {\n    \
                 started.send(()).unwrap();\n    \
                 blocked.recv().unwrap();\n\
             });\n\
             is_started.recv().unwrap();\n\
             // Held a while, as a worker stuck in synchronous code is.\n\
             std::thread::sleep(std::time::Duration::from_millis(300));",
        )
        .await;
        let text = shown(&mut kernel, ":where", "text/plain").await;
        let (summary, _) = text.split_once('\n').unwrap();
        assert!(
            summary.contains("; a worker is held by synchronous code (task "),
            "{text}"
        );
        let blocker = block(&text, "spawned at [2] line 3");
        let id = blocker[0].split(' ').nth(1).unwrap();
        assert!(
            summary.contains(&format!("(task {id} spawned at [2] line 3, running for ")),
            "which task holds the worker: {text}"
        );
        assert!(
            blocker[0].ends_with(": running: it holds a worker, so the dump could not be taken"),
            "{text}"
        );
        let blocking = block(&text, "(blocking) spawned at [1] line 3");
        assert!(
            blocking[0].ends_with(": blocking: a closure on a thread of its own, no await chain"),
            "{text}"
        );
        assert!(
            block(&text, "spawned at [1] line 1")[0].ends_with(": await chain unknown"),
            "{text}"
        );
        let on_set = block(&text, "(local) spawned at [1] line 5");
        assert!(
            on_set[0].ends_with(": on a LocalSet: tokio's dumps do not reach it"),
            "{text}"
        );

        // Released, the worker pauses again, and the chains are back.
        run(
            &mut kernel,
            "unblock.send(()).unwrap();\nblocker.await.unwrap();",
        )
        .await;
        let text = shown(&mut kernel, ":where", "text/plain").await;
        assert_eq!(
            steps(&block(&text, "spawned at [1] line 1")),
            ["[1] line 1, in async block", "tokio::time::sleep::Sleep"],
            "{text}"
        );
        run(
            &mut kernel,
            "release.send(()).unwrap();\nassert!(blocking.await.unwrap());",
        )
        .await;
        kernel.shutdown().await;
    };
    tokio::time::timeout(Duration::from_secs(240), test)
        .await
        .expect("the kernel answered within four minutes");
}

/// Async fns over three cells, each parked on its own kind of wait: a
/// channel (line 3), a `Notify` (line 2 of the next cell) and a sleep,
/// one awaited through another (lines 5 and 8).
const CHANNEL_FN: &str =
    "async fn consume(mut rx: tokio::sync::mpsc::Receiver<u32>) -> u32 {\n    \
                              let mut total = 0;\n    \
                              while let Some(n) = rx.recv().await {\n        \
                                  total += n;\n    \
                              }\n    \
                              total\n\
                          }";
const NOTIFY_AND_SLEEP_FNS: &str =
    "async fn wait_for(notify: std::sync::Arc<tokio::sync::Notify>) {\n    \
         notify.notified().await;\n\
     }\n\
     async fn nap(secs: u64) {\n    \
         tokio::time::sleep(std::time::Duration::from_secs(secs)).await;\n\
     }\n\
     async fn long_nap() {\n    \
         nap(3600).await;\n\
     }";

/// The hidden check's session: async fns defined in earlier cells, tasks
/// parked in them on a channel, a `Notify` and a sleep, then `:where`;
/// each chain names the notebook's cells and lines and the leaf future.
#[tokio::test(flavor = "multi_thread")]
async fn where_names_the_cells_of_async_fns_parked_on_a_channel_a_notify_and_a_sleep() {
    let test = async {
        let mut kernel = start().await;
        run(&mut kernel, CHANNEL_FN).await;
        run(&mut kernel, NOTIFY_AND_SLEEP_FNS).await;
        // The async fns' own futures spawned (no block in this cell), and
        // one awaited in a block.
        run(
            &mut kernel,
            "let (tx, rx) = tokio::sync::mpsc::channel::<u32>(4);\n\
             let consumer = tokio::spawn(consume(rx));\n\
             let notify = std::sync::Arc::new(tokio::sync::Notify::new());\n\
             let waiter = tokio::spawn(wait_for(notify.clone()));\n\
             let sleeper = tokio::spawn(async { long_nap().await });",
        )
        .await;
        let text = shown(&mut kernel, ":where", "text/plain").await;
        assert!(text.starts_with("3 live tasks"), "{text}");
        let consumer = block(&text, "spawned at [3] line 2");
        assert!(consumer[0].ends_with(": waiting"), "{text}");
        assert_eq!(
            steps(&consumer),
            [
                "[1] line 3, in async fn consume",
                "tokio::sync::mpsc::bounded::Receiver::recv"
            ],
            "{text}"
        );
        assert_eq!(
            steps(&block(&text, "spawned at [3] line 4")),
            [
                "[2] line 2, in async fn wait_for",
                "tokio::sync::notify::Notified"
            ],
            "{text}"
        );
        assert_eq!(
            steps(&block(&text, "spawned at [3] line 5")),
            [
                "[3] line 5, in async block",
                "[2] line 8, in async fn long_nap",
                "[2] line 5, in async fn nap",
                "tokio::time::sleep::Sleep"
            ],
            "{text}"
        );
        assert_no_machine_path(&text);
        assert!(!text.contains('/'), "no path of any kind: {text}");

        run(
            &mut kernel,
            "tx.send(2).await.unwrap();\n\
             drop(tx);\n\
             assert_eq!(consumer.await.unwrap(), 2);\n\
             notify.notify_one();\n\
             waiter.await.unwrap();\n\
             sleeper.abort();",
        )
        .await;
        kernel.shutdown().await;
    };
    tokio::time::timeout(Duration::from_secs(240), test)
        .await
        .expect("the kernel answered within four minutes");
}
