//! One tokio runtime shared by all cells of a session: tasks, handles,
//! channels and values live from cell to cell, background output arrives
//! while the kernel is idle, a pasted program runs on it, and `:clear`
//! starts the session over.

mod common;

use common::{live_tasks, Kernel, ANSWER};

/// Pausing tokio's clock, which the shared multi-thread runtime cannot do,
/// fails with a pointer to virtual time, where `advance` works.
#[tokio::test(flavor = "multi_thread")]
async fn pausing_time_points_at_virtual_time() {
    let mut kernel = Kernel::start().await;
    let paused = kernel.execute("tokio::time::pause();").await.failed();
    let text = paused.error_text();
    assert!(text.contains("asyncbook::virtual_time::run("), "{text}");
    let advanced = kernel
        .run("asyncbook::virtual_time::run(async {\n    let start = tokio::time::Instant::now();\n    tokio::time::advance(std::time::Duration::from_secs(60)).await;\n    start.elapsed().as_secs()\n})")
        .await;
    assert_eq!(advanced.result().as_deref(), Some("60"));
}

/// A program pasted into a cell: its `#[tokio::main]` runs on the shared
/// runtime when called, sees the notebook's tasks, and a runtime built and
/// blocked on in a cell panics with a hint.
#[tokio::test(flavor = "multi_thread")]
async fn a_pasted_program_runs_on_the_shared_runtime() {
    let mut kernel = Kernel::start().await;
    kernel
        .run("let (tx, rx) = tokio::sync::oneshot::channel::<u32>();\ntokio::spawn(async move { tx.send(7).unwrap() });")
        .await;
    kernel
        .run(
            "use std::time::Duration;\n\
             #[tokio::main]\n\
             async fn main() -> Result<u32, Box<dyn std::error::Error>> {\n\
                 let worker = tokio::spawn(async { tokio::time::sleep(Duration::from_millis(10)).await; 35 });\n\
                 println!(\"waiting for the worker\");\n\
                 Ok(worker.await?)\n\
             }",
        )
        .await;
    let ran = kernel
        .run("let from_main = main().unwrap();\nfrom_main + rx.await.unwrap()")
        .await;
    assert_eq!(ran.stdout(), "waiting for the worker\n");
    assert_eq!(ran.result().as_deref(), Some("42"));

    let own = kernel
        .execute("let rt = tokio::runtime::Runtime::new().unwrap();\nrt.block_on(async { 1 })")
        .await
        .failed();
    let said = own.error_text();
    assert!(
        said.contains("Cannot start a runtime from within a runtime")
            && said.contains("Hint: cells already run on the shared tokio runtime"),
        "{said}"
    );
}

/// Tasks, handles, channels, structs and locks across cells; background
/// output while idle; background panics; `:runtime`.
#[tokio::test(flavor = "multi_thread")]
async fn tasks_and_values_live_across_cells() {
    let mut kernel = Kernel::start().await;
    kernel
        .run(
            "use std::time::Duration;\n\
             use std::sync::Arc;\n\
             use std::sync::atomic::{AtomicU64, Ordering};",
        )
        .await;

    // A JoinHandle awaited two cells later.
    kernel
        .run(
            "let answer = tokio::spawn(async {\n\
                 tokio::time::sleep(Duration::from_millis(200)).await;\n\
                 6 * 7\n\
             });",
        )
        .await;
    kernel.run("let unrelated = 1;").await;
    let joined = kernel.run("answer.await.unwrap() + unrelated - 1").await;
    assert_eq!(joined.result().as_deref(), Some("42"));

    // The handle of a task that never returns (rust-analyzer calls its
    // output `!`), kept, asked and aborted two cells later.
    kernel
        .run(
            "let ticks = Arc::new(AtomicU64::new(0));\n\
             let ticker = tokio::spawn({\n\
                 let ticks = ticks.clone();\n\
                 async move {\n\
                     loop {\n\
                         tokio::time::sleep(Duration::from_millis(5)).await;\n\
                         ticks.fetch_add(1, Ordering::Relaxed);\n\
                     }\n\
                 }\n\
             });",
        )
        .await;
    // The same for a task running an `async fn` that returns `!`: its
    // handle's type holds a `!` that rustc keeps.
    kernel
        .run(
            "async fn serve(ticks: Arc<AtomicU64>) -> ! {\n\
                 loop {\n\
                     tokio::time::sleep(Duration::from_millis(5)).await;\n\
                     ticks.fetch_add(1, Ordering::Relaxed);\n\
                 }\n\
             }\n\
             let served = Arc::new(AtomicU64::new(0));\n\
             let server = tokio::spawn(serve(served.clone()));",
        )
        .await;
    let running = kernel
        .run("tokio::time::sleep(Duration::from_millis(100)).await;\n(ticker.is_finished(), ticks.load(Ordering::Relaxed) > 0, server.is_finished(), served.load(Ordering::Relaxed) > 0)")
        .await;
    assert_eq!(
        running.result().as_deref(),
        Some("(false, true, false, true)")
    );
    let aborted = kernel
        .run("ticker.abort();\nlet ended = ticker.await;\nended.unwrap_err().is_cancelled()")
        .await;
    assert_eq!(aborted.result().as_deref(), Some("true"));
    kernel.run("server.abort();").await;
    let stopped = kernel.run("server.await.unwrap_err().is_cancelled()").await;
    assert_eq!(stopped.result().as_deref(), Some("true"));

    // A channel filled by a task spawned in an earlier cell.
    kernel
        .run(
            "let (tx, mut rx) = tokio::sync::mpsc::channel::<u32>(2);\n\
             tokio::spawn(async move {\n\
                 for i in 0..5 { tx.send(i).await.unwrap(); }\n\
             });",
        )
        .await;
    let received = kernel
        .run(
            "let mut got = Vec::new();\n\
             while let Some(v) = rx.recv().await { got.push(v); }\n\
             got",
        )
        .await;
    assert_eq!(received.result().as_deref(), Some("[0, 1, 2, 3, 4]"));

    // A value of a struct from one cell moved into a task from another.
    kernel
        .run(
            "#[derive(Debug)]\n\
             struct Order { id: u32, items: Vec<String> }\n\
             let order = Order { id: 7, items: vec![\"tea\".to_string()] };",
        )
        .await;
    kernel
        .run(
            "let summary = tokio::spawn(async move {\n\
                 format!(\"order {} has {:?}\", order.id, order.items)\n\
             });",
        )
        .await;
    let summary = kernel
        .run("println!(\"{}\", summary.await.unwrap());")
        .await;
    assert_eq!(summary.stdout(), "order 7 has [\"tea\"]\n");

    // A ticker keeps advancing while a later cell only does synchronous work.
    // (The handle's type is spelled out: evcxr would infer `JoinHandle<!>`.)
    kernel
        .run(
            "let ticks = Arc::new(AtomicU64::new(0));\n\
             let ticker: tokio::task::JoinHandle<()> = {\n\
                 let ticks = ticks.clone();\n\
                 tokio::spawn(async move {\n\
                     loop {\n\
                         tokio::time::sleep(Duration::from_millis(10)).await;\n\
                         ticks.fetch_add(1, Ordering::SeqCst);\n\
                     }\n\
                 })\n\
             };",
        )
        .await;
    let advanced = kernel
        .run(
            "let start = ticks.load(Ordering::SeqCst);\n\
             let began = std::time::Instant::now();\n\
             while ticks.load(Ordering::SeqCst) < start + 5\n\
                 && began.elapsed() < Duration::from_secs(60) {\n\
                 std::thread::sleep(Duration::from_millis(5));\n\
             }\n\
             ticks.load(Ordering::SeqCst) >= start + 5",
        )
        .await;
    assert_eq!(advanced.result().as_deref(), Some("true"), "{advanced:?}");

    // abort and is_cancelled.
    kernel.run("ticker.abort();").await;
    let cancelled = kernel.run("ticker.await.unwrap_err().is_cancelled()").await;
    assert_eq!(cancelled.result().as_deref(), Some("true"));

    // 100 tasks mutating one Arc<tokio::sync::Mutex<_>>, joined a cell later.
    kernel
        .run(
            "let counter = Arc::new(tokio::sync::Mutex::new(0u64));\n\
             let mut workers = tokio::task::JoinSet::new();\n\
             for _ in 0..100 {\n\
                 let counter = counter.clone();\n\
                 workers.spawn(async move {\n\
                     let mut value = counter.lock().await;\n\
                     tokio::task::yield_now().await;\n\
                     *value += 1;\n\
                 });\n\
             }",
        )
        .await;
    let counted = kernel
        .run(
            "while let Some(done) = workers.join_next().await { done.unwrap(); }\n\
             *counter.lock().await",
        )
        .await;
    assert_eq!(counted.result().as_deref(), Some("100"));

    // Output of a background task arrives while the kernel is idle, under
    // the cell that spawned it.
    let spawner = kernel
        .run(
            "tokio::spawn(async {\n\
                 for i in 0..5 {\n\
                     tokio::time::sleep(Duration::from_secs(1)).await;\n\
                     println!(\"late {i}\");\n\
                 }\n\
             });",
        )
        .await;
    let mut late = Vec::new();
    while late.len() + spawner.stdout().lines().count() < 5 {
        let message = kernel
            .wait_iopub(ANSWER, |m| m.msg_type() == "stream")
            .await
            .expect("background output while idle");
        assert_eq!(message.parent_id(), Some(spawner.request_id.as_str()));
        assert_eq!(message.content["name"], "stdout");
        late.push(message.content["text"].as_str().unwrap().to_owned());
    }
    assert!(!late.is_empty(), "all background output came before idle");
    let all: String = spawner.stdout() + &late.concat();
    assert_eq!(all, "late 0\nlate 1\nlate 2\nlate 3\nlate 4\n");

    // A panicking background task is reported; other tasks keep running,
    // and a cell running at the time is not blamed for it.
    let id = kernel
        .submit(
            "tokio::spawn(async {\n\
                 tokio::time::sleep(Duration::from_millis(300)).await;\n\
                 panic!(\"task exploded\");\n\
             });\n\
             tokio::time::sleep(Duration::from_secs(2)).await;\n\
             1 + 1",
            false,
        )
        .await;
    let during = kernel.finish("(panicking task)", &id, ANSWER).await;
    assert!(
        during.stderr().contains("task exploded"),
        "the panic is not shown: {during:?}"
    );
    assert_eq!(during.status(), "ok", "{during:?}");
    assert_eq!(during.result().as_deref(), Some("2"));
    kernel
        .run(
            "let doomed: tokio::task::JoinHandle<()> =\n\
             tokio::spawn(async { panic!(\"second explosion\") });",
        )
        .await;
    let joined = kernel.run("doomed.await.unwrap_err().is_panic()").await;
    assert_eq!(joined.result().as_deref(), Some("true"));
    let alive = kernel
        .run("tokio::spawn(async move { unrelated + 4 }).await.unwrap()")
        .await;
    assert_eq!(alive.result().as_deref(), Some("5"));

    // :runtime tells flavour, workers and live tasks.
    let before = kernel.run(":runtime").await.stdout();
    assert!(before.contains("multi-thread"), "{before}");
    assert!(before.contains("worker"), "{before}");
    kernel
        .run(
            "let sleepers: Vec<_> = (0..3)\n\
                 .map(|_| tokio::spawn(std::future::pending::<()>()))\n\
                 .collect();",
        )
        .await;
    let during = kernel.run(":runtime").await.stdout();
    assert_eq!(live_tasks(&during), live_tasks(&before) + 3, "{during}");
    kernel
        .run("for s in sleepers { s.abort(); let _ = s.await; }")
        .await;
    let after = kernel.run(":runtime").await.stdout();
    assert_eq!(live_tasks(&after), live_tasks(&before), "{after}");
}

/// `:clear` starts the session over in the same kernel process: nothing the
/// cells before it defined, declared, set or spawned is visible after it,
/// the cells run in a new process on a new runtime, and the execution
/// counts start from 1 again.
#[tokio::test(flavor = "multi_thread")]
async fn clear_starts_the_session_over_in_place() {
    let crate_dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(crate_dir.path().join("src")).unwrap();
    std::fs::write(
        crate_dir.path().join("Cargo.toml"),
        "[package]\nname = \"tiny\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    )
    .unwrap();
    std::fs::write(
        crate_dir.path().join("src/lib.rs"),
        "pub fn answer() -> u32 { 42 }\n",
    )
    .unwrap();
    let pid_cell = "println!(\"{} {}\", std::process::id(), std::os::unix::process::parent_id());";

    let mut kernel = Kernel::start().await;
    kernel
        .run(&format!(
            ":dep tiny = {{ path = {:?} }}\n\
             let x = tiny::answer();\n\
             fn item() -> u32 {{ 7 }}\n\
             let (tx, mut rx) = tokio::sync::mpsc::channel::<u32>(1);\n\
             let later = async {{ 5 }};\n\
             let sleeper = tokio::spawn(async {{ tokio::time::sleep(std::time::Duration::from_secs(3600)).await; }});",
            crate_dir.path().display().to_string()
        ))
        .await;
    kernel
        .run(":build_env ASYNCBOOK_MARK=set\n:warnings off")
        .await;
    let before = kernel.run(pid_cell).await.stdout();
    let marked = kernel.run("option_env!(\"ASYNCBOOK_MARK\")").await;
    assert_eq!(marked.result().as_deref(), Some("Some(\"set\")"));
    assert_eq!(live_tasks(&kernel.run(":runtime").await.stdout()), 1);

    let cleared = kernel.run(":clear").await;
    assert_eq!(cleared.shown(), "", "{cleared:?}");

    let after = kernel.run(pid_cell).await;
    assert_eq!(after.count(), 1, "execution counts start over");
    let (before, after) = (before.trim(), after.stdout());
    let (cells_before, kernel_before) = before.split_once(' ').unwrap();
    let (cells_after, kernel_after) = after.trim().split_once(' ').unwrap();
    assert_ne!(cells_before, cells_after, "the cells run in a new process");
    assert_eq!(kernel_before, kernel_after, "in the same kernel");
    assert_eq!(kernel_after, kernel.pid().to_string());

    for (code, missing) in [
        ("x", "cannot find value `x`"),
        ("item()", "cannot find function `item`"),
        ("tx", "cannot find value `tx`"),
        ("later", "cannot find value `later`"),
        ("sleeper.abort();", "cannot find value `sleeper`"),
        ("tiny::answer()", "`tiny`"),
    ] {
        let gone = kernel.execute(code).await.failed();
        assert!(gone.shown().contains(missing), "{code}: {gone:?}");
    }
    assert_eq!(live_tasks(&kernel.run(":runtime").await.stdout()), 0);
    let unmarked = kernel.run("option_env!(\"ASYNCBOOK_MARK\")").await;
    assert_eq!(
        unmarked.result().as_deref(),
        Some("None"),
        "settings are reset"
    );
    let warned = kernel.run("fn unused() { let a = 1; }").await;
    assert!(
        warned.stderr().contains("unused variable: `a`"),
        "{warned:?}"
    );

    // The shared runtime and the cell library work as in a new kernel.
    let spawned = kernel
        .run("let t = tokio::spawn(async { 6 * 7 });\nt.await.unwrap()")
        .await;
    assert_eq!(spawned.result().as_deref(), Some("42"));
    let kept = kernel
        .run("let (tx, rx) = tokio::sync::oneshot::channel::<u32>();")
        .await;
    assert_eq!(kept.shown(), "");
    kernel.run("tx.send(3).unwrap();").await;
    assert_eq!(
        kernel.run("rx.await.unwrap()").await.result().as_deref(),
        Some("3")
    );

    let mixed = kernel.execute("let y = 1;\n:clear").await.failed();
    assert!(mixed.shown().contains("a cell of its own"), "{mixed:?}");
    assert_eq!(kernel.run("1 + 1").await.result().as_deref(), Some("2"));
}
