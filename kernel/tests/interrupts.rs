//! Interrupts, by message and by SIGINT, keep what they can; a cell stuck in
//! synchronous code is stopped; shutdown with restart gives a fresh session.

mod common;

use std::time::{Duration, Instant};

use common::{Kernel, ANSWER};
use serde_json::json;

/// Interrupt (message mode and SIGINT), then shutdown with restart.
#[tokio::test(flavor = "multi_thread")]
async fn interrupt_and_restart() {
    let mut kernel = Kernel::start().await;

    // An interrupt while idle is answered and changes nothing.
    let reply = kernel.control("interrupt_request", json!({})).await;
    assert_eq!(reply.msg_type(), "interrupt_reply");
    assert_eq!(reply.content["status"], "ok");
    kernel.run("let kept = 5;").await;

    // interrupt_request on control cancels a waiting cell.
    let code = "println!(\"waiting\");\n\
                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;";
    let id = kernel.start_cell(code, "waiting").await;
    let reply = kernel.control("interrupt_request", json!({})).await;
    assert_eq!(reply.content["status"], "ok");
    let stopped = kernel.finish(code, &id, ANSWER).await.failed();
    assert!(stopped.error_text().contains("Interrupted"), "{stopped:?}");
    assert_eq!(kernel.run("kept").await.result().as_deref(), Some("5"));

    // SIGINT (jupyter_client's signal mode) does the same and keeps the kernel.
    let id = kernel.start_cell(code, "waiting").await;
    kernel.signal_interrupt();
    let stopped = kernel.finish(code, &id, ANSWER).await.failed();
    assert!(stopped.error_text().contains("Interrupted"), "{stopped:?}");
    assert!(kernel.heartbeat(ANSWER).await);
    assert_eq!(kernel.run("kept * 2").await.result().as_deref(), Some("10"));

    // A receiver moved into the interrupted cell goes with it, and the
    // interruption says so; the rest is kept.
    kernel
        .run("let (sender, receiver) = tokio::sync::oneshot::channel::<u8>();")
        .await;
    let code = "let waiting_on = receiver;\nprintln!(\"waiting\");\nwaiting_on.await.ok();";
    let id = kernel.start_cell(code, "waiting").await;
    kernel.signal_interrupt();
    let stopped = kernel.finish(code, &id, ANSWER).await.failed();
    assert!(
        stopped
            .error_text()
            .contains("kept, except `receiver`, moved into this cell"),
        "{stopped:?}"
    );
    assert_eq!(
        kernel.run("sender.is_closed()").await.result().as_deref(),
        Some("true")
    );

    // Shutdown with restart: answered on control, then the process exits.
    let reply = kernel
        .control("shutdown_request", json!({"restart": true}))
        .await;
    assert_eq!(reply.msg_type(), "shutdown_reply");
    assert_eq!(reply.content["status"], "ok");
    assert_eq!(reply.content["restart"], true);
    let status = kernel
        .wait_exit(Duration::from_secs(10))
        .await
        .expect("the kernel exits after shutdown");
    assert!(status.success(), "exit status {status:?}");

    // The restarted kernel is a fresh session: counts start at 1 again.
    let mut restarted = Kernel::start().await;
    let first = restarted.execute("kept").await.failed();
    assert_eq!(first.count(), 1);
    assert!(first.error_text().contains("kept"), "{first:?}");
}

/// Interrupting an awaiting cell keeps variables and background tasks; a
/// cell stuck in synchronous code is stopped and the loss is reported.
#[tokio::test(flavor = "multi_thread")]
async fn interrupts_keep_what_they_can() {
    let mut kernel = Kernel::start().await;
    kernel
        .run(
            "fn helper() -> u32 { 5 }\n\
             let keep = 41u32;\n\
             let (done_tx, done_rx) = tokio::sync::oneshot::channel::<u32>();\n\
             let waiter = tokio::spawn(async move { done_rx.await.unwrap() + 1 });",
        )
        .await;

    let code = "println!(\"waiting\");\n\
                tokio::time::sleep(std::time::Duration::from_secs(3600)).await;";
    let id = kernel.start_cell(code, "waiting").await;
    let asked = Instant::now();
    let reply = kernel.control("interrupt_request", json!({})).await;
    assert_eq!(reply.content["status"], "ok");
    let stopped = kernel.finish(code, &id, ANSWER).await.failed();
    let took = asked.elapsed();
    // The issue asks for 1 s; the margin covers a loaded test machine.
    assert!(took < Duration::from_secs(10), "interrupt took {took:?}");
    assert!(stopped.error_text().contains("Interrupted"), "{stopped:?}");
    let kept = kernel
        .run("done_tx.send(keep).unwrap();\nwaiter.await.unwrap()")
        .await;
    assert_eq!(kept.result().as_deref(), Some("42"));

    // Synchronous code never reaches an await: the cell process is replaced.
    let code = "println!(\"spinning\");\n\
                let mut n = 0u64;\n\
                loop { n = std::hint::black_box(n.wrapping_add(1)); }";
    let id = kernel.start_cell(code, "spinning").await;
    let asked = Instant::now();
    kernel.control("interrupt_request", json!({})).await;
    let stopped = kernel.finish(code, &id, ANSWER).await.failed();
    let took = asked.elapsed();
    // The issue asks for 2 s; the margin covers a loaded test machine.
    assert!(took < Duration::from_secs(15), "interrupt took {took:?}");
    let said = stopped.error_text();
    assert!(said.contains("Interrupted"), "{stopped:?}");
    assert!(said.contains("variables"), "{stopped:?}");
    assert!(said.contains("lost"), "{stopped:?}");

    // The kernel goes on: items are kept, variables are gone.
    let after = kernel.run("helper() + 1").await;
    assert_eq!(after.result().as_deref(), Some("6"));
    kernel.execute("keep").await.failed();
    let fresh = kernel
        .run("tokio::spawn(async { helper() * 2 }).await.unwrap()")
        .await;
    assert_eq!(fresh.result().as_deref(), Some("10"));
}
