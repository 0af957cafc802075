//! `:tasks` over the Jupyter protocol: a real kernel, cells that spawn
//! known tasks, and the table it shows.

use std::time::Duration;

use asyncbook_kernel::runner::client::{Execution, Kernel, Launch};
use jupyter_protocol::JupyterMessageContent;

const CELL: Duration = Duration::from_secs(120);

async fn run(kernel: &mut Kernel, code: &str) -> Execution {
    let run = kernel.execute(code, CELL).await.expect("sending the cell");
    assert!(!run.errored, "{code} failed: {:?}", run.messages);
    run
}

/// The text/html of the one display a cell produced.
async fn html_of(kernel: &mut Kernel, code: &str) -> String {
    let run = run(kernel, code).await;
    let html = run.messages.iter().find_map(|output| match output {
        JupyterMessageContent::DisplayData(display) => {
            let data = serde_json::to_value(&display.data).unwrap();
            data["text/html"].as_str().map(str::to_owned)
        }
        _ => None,
    });
    html.unwrap_or_else(|| panic!("no HTML display from {code}: {:?}", run.messages))
}

#[tokio::test(flavor = "multi_thread")]
async fn tasks_lists_named_tasks_with_their_cell_and_counts_the_others() {
    let test = async {
        let launch = Launch::new(env!("CARGO_BIN_EXE_asyncbook"));
        let mut kernel = Kernel::start(launch, CELL).await.expect("a kernel");
        run(&mut kernel, "let warm_up = 1;").await;
        run(
            &mut kernel,
                "let tl: asyncbook::Timeline = asyncbook::Timeline::new();\n\
                 let waiter: tokio::task::JoinHandle<()> = tl.spawn(\"waiter\", std::future::pending());\n\
                 let anonymous: tokio::task::JoinHandle<()> = tokio::spawn(std::future::pending());",
        )
        .await;
        run(
            &mut kernel,
                "let ticker: tokio::task::JoinHandle<()> = asyncbook::spawn_named(\"ticker <1>\", async {\n\
                     loop { tokio::time::sleep(std::time::Duration::from_millis(20)).await; }\n\
                 });",
        )
        .await;

        let html = html_of(&mut kernel, ":tasks").await;
        assert!(html.contains("3 live tasks (2 named, 1 unnamed)"), "{html}");
        // Name, the cell that spawned it, then how long it has been alive.
        assert!(html.contains("<tr><td>waiter</td><td>[2]</td>"), "{html}");
        assert!(
            html.contains("<tr><td>ticker &lt;1&gt;</td><td>[3]</td>"),
            "{html}"
        );
        assert!(html.contains("<td>idle</td>"), "{html}");
        assert!(html.contains("<i>unnamed: 1</i>"), "{html}");
        assert!(html.contains("<th>worker</th>") && html.contains("<tr><td>0</td>"));

        run(&mut kernel, "waiter.abort();\nlet _ = waiter.await;").await;
        let html = html_of(&mut kernel, ":tasks").await;
        assert!(html.contains("2 live tasks (1 named, 1 unnamed)"), "{html}");
        let (alive, ended) = html.split_once("Recently ended").expect("an ended section");
        assert!(!alive.contains("<td>waiter</td>") && alive.contains("<td>ticker &lt;1&gt;</td>"));
        assert!(ended.contains("<tr><td>waiter</td><td>[2]</td>") && ended.contains("cancelled"));

        kernel.shutdown().await;
    };
    tokio::time::timeout(Duration::from_secs(240), test)
        .await
        .expect("the kernel answered within four minutes");
}
