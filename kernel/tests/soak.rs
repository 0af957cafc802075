//! Soak: 300 cells in one session (let, fn, await, spawn, and failing cells
//! mixed), every one answered correctly, and the kernel's memory bounded.
//! Whether cells get slower over a session is a timing, measured by `make
//! bench` ("last 50 / first 50 cells"), not asserted here.

mod common;

use common::{descendants, Kernel};

const CELLS: usize = 300;

/// Resident memory of the kernel and its cell process, in KiB.
fn tree_rss_kib(pid: u32) -> u64 {
    std::iter::once(pid)
        .chain(descendants(pid))
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/status")).ok())
        .filter_map(|status| {
            let line = status.lines().find(|l| l.starts_with("VmRSS:"))?.to_owned();
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn three_hundred_mixed_cells() {
    let mut kernel = Kernel::start().await;
    kernel.run("let mut total: u64 = 0;").await;
    let mut rss_at_50 = 0;
    let mut expected_total = 0u64;
    for i in 0..CELLS {
        match i % 6 {
            0 => {
                let result = kernel.run(&format!("let v{i}: u64 = {i}; v{i} * 2")).await;
                assert_eq!(
                    result.result().as_deref(),
                    Some((i * 2).to_string().as_str())
                );
            }
            1 => {
                kernel
                    .run(&format!("fn f{i}(x: u64) -> u64 {{ x + {i} }}"))
                    .await;
            }
            2 => {
                let result = kernel
                    .run(&format!(
                        "tokio::time::sleep(std::time::Duration::from_millis(1)).await; f{}(1)",
                        i - 1
                    ))
                    .await;
                assert_eq!(result.result().as_deref(), Some(i.to_string().as_str()));
            }
            3 => {
                kernel
                    .run(&format!("let h{i} = tokio::spawn(async {{ {i}u64 }});"))
                    .await;
            }
            4 => {
                expected_total += (i - 1) as u64;
                let result = kernel
                    .run(&format!("total += h{}.await.unwrap(); total", i - 1))
                    .await;
                assert_eq!(
                    result.result().as_deref(),
                    Some(expected_total.to_string().as_str())
                );
            }
            _ => {
                // A failing cell: compile errors and panics keep the session.
                let code = if i % 12 == 5 {
                    "let broken: u64 = \"no\";"
                } else {
                    "panic!(\"cell fails\")"
                };
                kernel.execute(code).await.failed();
            }
        }
        if i == 49 {
            rss_at_50 = tree_rss_kib(kernel.pid());
        }
    }
    let rss_at_300 = tree_rss_kib(kernel.pid());
    println!(
        "soak: RSS after 50 cells {rss_at_50} KiB, after {CELLS} {rss_at_300} KiB ({:.2}x)",
        rss_at_300 as f64 / rss_at_50 as f64
    );
    // Bounded memory: every cell library stays loaded (evcxr never unloads
    // them), but growth must stay far from a leak of whole sessions.
    assert!(
        rss_at_300 <= 3 * rss_at_50,
        "memory grew from {rss_at_50} KiB to {rss_at_300} KiB"
    );
}
