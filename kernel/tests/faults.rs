//! Faults: failing cells, floods of output, shutdown and a parent that dies
//! lose nothing and leave nothing behind, and the kernel's own stderr stays
//! quiet.

mod common;

use std::time::{Duration, Instant};

use common::{alive, descendants, Kernel, Options, ANSWER};
use serde_json::json;

/// Cell failures leave a working kernel that says what was lost; 50 MB of
/// output keeps heartbeat answering; shutdown leaves nothing behind. Runs
/// with an empty key (no signing).
#[tokio::test(flavor = "multi_thread")]
async fn cell_failures_output_floods_and_shutdown() {
    let mut kernel = Kernel::start_with(Options {
        key: Some(String::new()),
        ..Options::default()
    })
    .await;
    assert_eq!(kernel.info.key, "");
    kernel
        .run("fn helper() -> u32 { 7 }\nlet kept = 1u32;")
        .await;

    let compile = kernel.execute("let x: u32 = ();").await.failed();
    assert!(
        compile.error_text().contains("mismatched types"),
        "{compile:?}"
    );
    let panic = kernel.execute("panic!(\"deliberate\");").await.failed();
    // Where it panicked, in the notebook's terms: the cell and its line.
    let at = format!("deliberate at [{}] line 1", panic.count());
    assert!(panic.shown().contains(&at), "{panic:?}");
    let defined = kernel
        .run("fn pick(at: usize) -> u32 {\n    [1, 2][at]\n}")
        .await;
    let picked = kernel.execute("pick(5)").await.failed();
    let at = format!("the index is 5 at [{}] line 2", defined.count());
    assert!(picked.shown().contains(&at), "{picked:?}");
    assert_eq!(
        kernel.run("kept + helper()").await.result().as_deref(),
        Some("8")
    );
    // An earlier value moved into a failing cell is dropped with it, and the
    // failure names it; the rest stay.
    kernel
        .run("let handed = vec![1u8];\nlet lent = String::from(\"x\");")
        .await;
    let panic = kernel
        .execute("let mine = handed;\nif mine.len() == 1 { panic!(\"after the move\"); }")
        .await
        .failed();
    assert!(
        panic
            .error_text()
            .contains("earlier variables are kept, except `handed`, moved into this cell"),
        "{panic:?}"
    );
    let returned = kernel
        .execute("let mine = lent;\nlet n: u32 = mine.parse()?;")
        .await
        .failed();
    assert!(
        returned
            .error_text()
            .contains("earlier variables are kept, except `lent`, moved into this cell"),
        "{returned:?}"
    );
    assert_eq!(kernel.run("kept").await.result().as_deref(), Some("1"));

    // Each of these ends the cell process: status error, the loss is said,
    // and the next cell runs (items kept).
    for code in [
        "std::process::abort();",
        "std::process::exit(3);",
        "unsafe { std::ptr::write_volatile(8 as *mut u8, 1) };",
        "fn down(n: u64) -> u64 { if n == 0 { 0 } else { 1 + down(n - 1) } }\n\
         down(u64::MAX)",
    ] {
        kernel.run("let kept = 1u32;").await;
        let died = kernel.execute(code).await.failed();
        let said = died.error_text();
        assert!(said.contains("variables"), "{died:?}");
        assert!(said.contains("lost"), "{died:?}");
        assert_eq!(
            kernel.run("helper() + 1").await.result().as_deref(),
            Some("8")
        );
    }

    // 50 MB of output: heartbeat answers throughout, the cell finishes.
    let code = "let line = \"x\".repeat(1023);\n\
                for _ in 0..(50 * 1024) { println!(\"{line}\"); }";
    let id = kernel.submit(code, false).await;
    let mut shown = 0usize;
    let mut notice = false;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        assert!(
            kernel.heartbeat(Duration::from_secs(10)).await,
            "heartbeat stopped while the cell printed"
        );
        let mut idle = false;
        while let Some(message) = kernel.next_iopub(Duration::from_millis(100)).await {
            if message.parent_id() != Some(id.as_str()) {
                continue;
            }
            if let Some(text) = message.content["text"].as_str() {
                shown += text.len();
                notice |= text.contains("truncated");
            }
            if message.state() == Some("idle") {
                idle = true;
                break;
            }
        }
        if idle {
            break;
        }
        assert!(Instant::now() < deadline, "the 50 MB cell did not finish");
    }
    let reply = kernel.shell_reply(&id, ANSWER).await;
    assert_eq!(reply.content["status"], "ok");
    assert!(shown > 1024 * 1024, "only {shown} bytes shown");
    assert!(
        notice || shown >= 50 * 1024 * 1024,
        "output lost without notice"
    );

    // Shutdown: the reply, then no process and no temporary files left.
    let children = descendants(kernel.pid());
    assert!(!children.is_empty(), "no cell process found");
    let reply = kernel
        .control("shutdown_request", json!({"restart": false}))
        .await;
    assert_eq!(reply.content["restart"], false);
    let status = kernel.wait_exit(Duration::from_secs(10)).await;
    assert!(status.is_some_and(|s| s.success()), "exit: {status:?}");
    wait_gone(&children).await;
    let left: Vec<_> = std::fs::read_dir(kernel.dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        // Only the dependency builds saved for the next kernel stay.
        .filter(|name| name.starts_with("asyncbook") && !name.starts_with("asyncbook.deps-"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Processes that must end soon after the kernel.
async fn wait_gone(pids: &[u32]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while pids.iter().any(|&pid| alive(pid)) {
        assert!(
            Instant::now() < deadline,
            "left running: {:?}",
            pids.iter().filter(|&&p| alive(p)).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The kernel exits when the process named by JPY_PARENT_PID dies, and
/// takes its cell process with it.
#[tokio::test(flavor = "multi_thread")]
async fn kernel_exits_when_its_parent_dies() {
    let mut parent = std::process::Command::new("sleep")
        .arg("600")
        .spawn()
        .expect("a stand-in parent process");
    let mut kernel = Kernel::start_with(Options {
        env: vec![("JPY_PARENT_PID".into(), parent.id().to_string())],
        ..Options::default()
    })
    .await;
    kernel.run("let started = 1;").await;
    let children = descendants(kernel.pid());
    assert!(!children.is_empty(), "no cell process found");

    parent.kill().expect("ending the parent");
    parent.wait().expect("reaping the parent");
    let gone = Instant::now();
    let status = kernel.wait_exit(Duration::from_secs(30)).await;
    let took = gone.elapsed();
    assert!(status.is_some(), "the kernel outlived its parent");
    // The issue asks for 5 s; the margin covers a loaded test machine.
    assert!(took < Duration::from_secs(10), "exit took {took:?}");
    wait_gone(&children).await;
}

/// The kernel's own stderr, which a terminal client (`jupyter console`)
/// shares with the user's prompt, stays empty at the default log level
/// through start, warm-up (the dependency builds of the first cells) and
/// cells that print.
#[tokio::test(flavor = "multi_thread")]
async fn the_kernel_keeps_its_own_stderr_quiet() {
    let mut kernel = Kernel::start_with(Options {
        env: vec![("ASYNCBOOK_LOG".into(), "asyncbook=info".into())],
        ..Options::default()
    })
    .await;
    kernel
        .run("tokio::time::sleep(std::time::Duration::from_millis(1)).await;")
        .await;
    kernel
        .run("let (tx, rx) = tokio::sync::mpsc::channel::<u8>(1);\neprintln!(\"to the notebook\");")
        .await;
    let printed = kernel.run("println!(\"{}\", 1 + 1);").await;
    assert_eq!(printed.stdout(), "2\n");
    assert_eq!(
        kernel.log(),
        "",
        "the kernel wrote to its own stdout or stderr"
    );
}
