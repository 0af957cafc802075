//! `:tasks` over the Jupyter protocol: a real kernel, cells that spawn known
//! tasks, and the table shown.

mod common;

use std::time::Duration;

use asyncbook_kernel::runner::client::Execution;
use common::runner::{run, shown, start, start_with, CELL};
use jupyter_protocol::{JupyterMessageContent, Stdio};

/// A cell that spawns a plain task (line 1) and a task named by tokio's
/// `Builder` (line 4), both never ending.
const PLAIN_AND_NAMED: &str =
    "let plain: tokio::task::JoinHandle<()> = tokio::spawn(std::future::pending());\n\
     let named: tokio::task::JoinHandle<()> = tokio::task::Builder::new()\n    \
         .name(\"worker <1>\")\n    \
         .spawn(std::future::pending())\n    \
         .unwrap();";

/// The line of `:tasks`'s text listing the task spawned at `site`.
fn task_at<'a>(text: &'a str, site: &str) -> Option<&'a str> {
    let pattern = format!(" spawned at {site}");
    text.lines().find(|line| {
        line.split_once(&pattern)
            .is_some_and(|(_, rest)| rest.starts_with(':') || rest.starts_with(" ("))
    })
}

/// `task 17 name spawned at ...`: the id.
fn id_of(line: &str) -> &str {
    line.trim_start()
        .strip_prefix("task ")
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("no id in {line}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn tasks_lists_every_task_with_the_cell_and_line_that_spawned_it() {
    let test = async {
        let mut kernel = start().await;
        run(&mut kernel, "let warm_up = 1;").await;
        run(&mut kernel, PLAIN_AND_NAMED).await;
        run(
            &mut kernel,
            "let parent: tokio::task::JoinHandle<()> = tokio::spawn(async {\n    \
                 let child = tokio::spawn(std::future::pending::<()>());\n    \
                 let _ = child.await;\n\
             });\n\
             tokio::time::sleep(std::time::Duration::from_millis(50)).await;",
        )
        .await;
        run(
            &mut kernel,
            "let mut set: tokio::task::JoinSet<()> = tokio::task::JoinSet::new();\n\
             set.spawn(std::future::pending());\n\
             let quick = tokio::spawn(async { 7 });\n\
             assert_eq!(quick.await.unwrap(), 7);",
        )
        .await;

        let text = shown(&mut kernel, ":tasks", "text/plain").await;
        assert!(text.contains(" 5 live tasks,"), "{text}");
        let plain = task_at(&text, "[2] line 1").expect("the plain tokio::spawn");
        assert!(plain.contains(": idle for "), "{plain}");
        // A method chain spawns on the line of its `.spawn(..)`.
        let named = task_at(&text, "[2] line 4").expect("the Builder's task");
        assert!(named.contains(" worker <1> spawned at"), "{named}");
        let parent = task_at(&text, "[3] line 1").expect("the task that spawns");
        let child = task_at(&text, "[3] line 2").expect("the task a task spawned");
        assert!(
            child.contains(&format!("(task {})", id_of(parent))),
            "{child}"
        );
        assert!(
            task_at(&text, "[4] line 2").is_some(),
            "the JoinSet's task: {text}"
        );
        assert!(
            task_at(&text, "[4] line 3").is_none(),
            "a finished task: {text}"
        );
        let html = shown(&mut kernel, ":tasks", "text/html").await;
        assert!(
            html.contains("<td>worker &lt;1&gt;</td><td>[2] line 4</td>"),
            "{html}"
        );

        run(
            &mut kernel,
            "plain.abort();\nlet _ = plain.await;\nset.shutdown().await;",
        )
        .await;
        run(
            &mut kernel,
            "let boom: tokio::task::JoinHandle<()> = tokio::spawn(async { panic!(\"boom\") });\n\
             assert!(boom.await.is_err());",
        )
        .await;
        let text = shown(&mut kernel, ":tasks", "text/plain").await;
        assert!(text.contains(" 3 live tasks,"), "{text}");
        assert!(task_at(&text, "[2] line 1").is_none(), "{text}");
        assert!(task_at(&text, "[4] line 2").is_none(), "{text}");
        let (_, ended) = text
            .split_once("ended by a panic")
            .expect("the panic is told");
        let boom = task_at(ended, "[8] line 1").expect("the task that panicked");
        assert!(boom.contains(": panicked after "), "{boom}");
        let text = shown(&mut kernel, ":tasks", "text/plain").await;
        assert!(!text.contains("ended by a panic"), "told once: {text}");

        kernel.shutdown().await;
    };
    tokio::time::timeout(Duration::from_secs(240), test)
        .await
        .expect("the kernel answered within four minutes");
}

/// The `text/plain` of a cell's value.
fn result_of(run: &Execution) -> Option<String> {
    run.messages.iter().find_map(|output| match output {
        JupyterMessageContent::ExecuteResult(result) => serde_json::to_value(&result.data).ok()?
            ["text/plain"]
            .as_str()
            .map(str::to_owned),
        _ => None,
    })
}

// rust-analyzer does not see tokio's `tokio_unstable` items and gives a
// `Builder::spawn(..).unwrap()` the type `std::thread::JoinHandle`: the
// kernel keeps such a handle with the type rustc gives it.
#[tokio::test(flavor = "multi_thread")]
async fn a_builder_task_handle_is_kept_without_a_written_type() {
    let test = async {
        let mut kernel = start().await;
        run(&mut kernel, "let warm_up = 1;").await;
        run(
            &mut kernel,
            "let ticker = tokio::task::Builder::new().name(\"ticker\").spawn(async {\n    \
                 loop { tokio::time::sleep(std::time::Duration::from_millis(20)).await; }\n\
             }).unwrap();\n\
             let answer = tokio::task::Builder::new().name(\"answer\").spawn(async { 6 * 7 }).unwrap();",
        )
        .await;
        let text = shown(&mut kernel, ":tasks", "text/plain").await;
        let ticker = task_at(&text, "[2] line 1").expect("the never-ending task, in its cell");
        assert!(ticker.contains(" ticker spawned at"), "{ticker}");
        let awaited = run(&mut kernel, "answer.await.unwrap()").await;
        assert_eq!(result_of(&awaited).as_deref(), Some("42"));
        let cancelled = run(
            &mut kernel,
            "ticker.abort();\nticker.await.unwrap_err().is_cancelled()",
        )
        .await;
        assert_eq!(result_of(&cancelled).as_deref(), Some("true"));
        // A type the user wrote is the user's: its mismatch is shown.
        let wrong = kernel
            .execute(
                "let wrong: u8 = tokio::task::Builder::new().spawn(async {}).unwrap();",
                CELL,
            )
            .await
            .expect("sending the cell");
        assert!(wrong.errored, "{:?}", wrong.messages);
        assert!(
            format!("{:?}", wrong.messages).contains("mismatched types"),
            "{:?}",
            wrong.messages
        );
        kernel.shutdown().await;
    };
    tokio::time::timeout(Duration::from_secs(240), test)
        .await
        .expect("the kernel answered within four minutes");
}

#[tokio::test(flavor = "multi_thread")]
async fn tasks_lists_blocking_tasks_and_those_of_a_local_set() {
    let test = async {
        let mut kernel = start().await;
        run(
            &mut kernel,
            "let (release, wait) = std::sync::mpsc::channel::<()>();\n\
             let blocking = tokio::task::spawn_blocking(move || wait.recv().is_ok());\n\
             let local = tokio::task::LocalSet::new();\n\
             let (release_local, wait_local) = tokio::sync::oneshot::channel::<()>();\n\
             let on_set = local.spawn_local(async move { wait_local.await.is_ok() });\n\
             local.run_until(tokio::task::yield_now()).await;",
        )
        .await;
        let text = shown(&mut kernel, ":tasks", "text/plain").await;
        let blocking = task_at(&text, "[1] line 2").unwrap_or_else(|| panic!("{text}"));
        assert!(blocking.contains(" (blocking) spawned at"), "{blocking}");
        assert!(blocking.contains(": running for"), "{blocking}");
        let local = task_at(&text, "[1] line 5").unwrap_or_else(|| panic!("{text}"));
        assert!(local.contains(" (local) spawned at"), "{local}");
        assert!(
            local.contains(": idle for") && local.contains(", 1 polls"),
            "{local}"
        );
        let html = shown(&mut kernel, ":tasks", "text/html").await;
        assert!(html.contains("<td>(blocking)</td>"), "{html}");
        let ended = run(
            &mut kernel,
            "release.send(()).unwrap();\n\
             release_local.send(()).unwrap();\n\
             local.await;\n\
             (blocking.await.unwrap(), on_set.await.unwrap())",
        )
        .await;
        assert_eq!(result_of(&ended).as_deref(), Some("(true, true)"));
        let text = shown(&mut kernel, ":tasks", "text/plain").await;
        assert!(text.contains(" 0 live tasks"), "{text}");
        kernel.shutdown().await;
    };
    tokio::time::timeout(Duration::from_secs(240), test)
        .await
        .expect("the kernel answered within four minutes");
}

/// What a cell printed to stdout.
fn stdout(run: &Execution) -> String {
    run.messages
        .iter()
        .filter_map(|output| match output {
            JupyterMessageContent::StreamContent(stream)
                if matches!(stream.name, Stdio::Stdout) =>
            {
                Some(stream.text.as_str())
            }
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cell_sets_the_process_tracing_subscriber_and_tasks_keep_their_names() {
    let test = async {
        let mut kernel = start().await;
        // A task spawned before: the cell library reads names already.
        run(&mut kernel, "tokio::spawn(async {}).await.unwrap();").await;
        run(
            &mut kernel,
            ":dep tracing-subscriber = { version = \"0.3\", default-features = false, features = [\"fmt\", \"std\"] }\n\
             :dep tracing = \"0.1\"",
        )
        .await;
        let set = run(
            &mut kernel,
            "tracing_subscriber::fmt().with_ansi(false).without_time()\n    \
                 .with_writer(std::io::stdout).init();\n\
             tracing::info!(\"from the cell\");",
        )
        .await;
        assert!(
            stdout(&set).contains("INFO ctx: from the cell"),
            "{:?}",
            set.messages
        );
        let logged = run(
            &mut kernel,
            "tokio::spawn(async { tracing::warn!(answer = 42, \"from a task\") }).await.unwrap();\n\
             let named = tokio::task::Builder::new().name(\"still named\")\n    \
                 .spawn(std::future::pending::<()>()).unwrap();",
        )
        .await;
        assert!(
            stdout(&logged).contains("WARN ctx: from a task answer=42"),
            "{:?}",
            logged.messages
        );
        let text = shown(&mut kernel, ":tasks", "text/plain").await;
        let named = task_at(&text, "[4] line 3")
            .unwrap_or_else(|| panic!("the named task, in its cell: {text}"));
        assert!(named.contains(" still named spawned at"), "{named}");
        kernel.shutdown().await;
    };
    tokio::time::timeout(Duration::from_secs(300), test)
        .await
        .expect("the kernel answered within five minutes");
}

#[tokio::test(flavor = "multi_thread")]
async fn tasks_watch_refreshes_the_table_in_place_until_its_tasks_end() {
    let test = async {
        let mut kernel = start().await;
        run(
            &mut kernel,
            "let (done, finish) = tokio::sync::oneshot::channel::<()>();\n\
             let waiter: tokio::task::JoinHandle<()> = tokio::spawn(async { let _ = finish.await; });",
        )
        .await;
        // The cell lets the task end, then waits for more than one refresh.
        let watched = run(
            &mut kernel,
            ":tasks watch\n\
             tokio::time::sleep(std::time::Duration::from_millis(1500)).await;\n\
             done.send(()).unwrap();\n\
             waiter.await.unwrap();\n\
             tokio::time::sleep(std::time::Duration::from_millis(3000)).await;",
        )
        .await;
        let mut first = None;
        let mut updates = Vec::new();
        for output in &watched.messages {
            match output {
                JupyterMessageContent::DisplayData(display) => {
                    first = Some(serde_json::to_value(display).unwrap());
                }
                JupyterMessageContent::UpdateDisplayData(update) => {
                    updates.push(serde_json::to_value(update).unwrap());
                }
                _ => {}
            }
        }
        let first = first.expect("the table");
        let text = first["data"]["text/plain"].as_str().unwrap();
        assert!(task_at(text, "[1] line 2").is_some(), "{text}");
        let last = updates.last().expect("the table refreshed");
        assert_eq!(
            last["transient"]["display_id"],
            first["transient"]["display_id"]
        );
        let text = last["data"]["text/plain"].as_str().unwrap();
        assert!(task_at(text, "[1] line 2").is_none(), "ended: {text}");

        kernel.shutdown().await;
    };
    tokio::time::timeout(Duration::from_secs(240), test)
        .await
        .expect("the kernel answered within four minutes");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_names_tasks_still_lists_every_async_task_and_its_line() {
    let test = async {
        let mut kernel = start_with(&[("ASYNCBOOK_TASK_HOOKS", "no-names")]).await;
        run(&mut kernel, "let warm_up = 1;").await;
        run(&mut kernel, PLAIN_AND_NAMED).await;
        run(
            &mut kernel,
            "tokio::time::sleep(std::time::Duration::from_millis(50)).await;",
        )
        .await;
        let text = shown(&mut kernel, ":tasks", "text/plain").await;
        assert!(text.contains(" 2 live tasks,"), "{text}");
        assert!(
            text.contains("(ASYNCBOOK_TASK_HOOKS=no-names: no task names,"),
            "the table says names are not read: {text}"
        );
        let plain = task_at(&text, "[2] line 1").expect("the plain tokio::spawn");
        assert!(plain.contains(": idle for "), "{plain}");
        let named = task_at(&text, "[2] line 4").expect("the Builder's task");
        assert!(!named.contains("worker <1>"), "no names read: {named}");
        run(&mut kernel, "plain.abort();\nnamed.abort();").await;
        kernel.shutdown().await;
    };
    tokio::time::timeout(Duration::from_secs(240), test)
        .await
        .expect("the kernel answered within four minutes");
}
