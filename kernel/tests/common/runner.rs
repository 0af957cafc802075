//! Kernels started and cells run through the kernel crate's own client
//! (`runner::client`), as `asyncbook test` runs them.

use std::time::Duration;

use asyncbook_kernel::runner::client::{Execution, Kernel, Launch};
use jupyter_protocol::JupyterMessageContent;

pub const CELL: Duration = Duration::from_secs(120);

/// A fresh kernel of this build.
pub async fn start() -> Kernel {
    start_with(&[]).await
}

/// A fresh kernel of this build, with `env` added to its environment.
pub async fn start_with(env: &[(&str, &str)]) -> Kernel {
    let mut launch = Launch::new(env!("CARGO_BIN_EXE_asyncbook"));
    launch.env = env.iter().map(|(k, v)| (k.into(), v.into())).collect();
    Kernel::start(launch, CELL).await.expect("a kernel")
}

pub async fn run(kernel: &mut Kernel, code: &str) -> Execution {
    let run = kernel.execute(code, CELL).await.expect("sending the cell");
    assert!(!run.errored, "{code} failed: {:?}", run.messages);
    run
}

/// The displays a cell produced, as MIME bundles.
pub fn displays(run: &Execution) -> Vec<serde_json::Value> {
    run.messages
        .iter()
        .filter_map(|output| match output {
            JupyterMessageContent::DisplayData(display) => {
                Some(serde_json::to_value(&display.data).unwrap())
            }
            _ => None,
        })
        .collect()
}

/// The `mime` part of the one display a cell produced.
pub async fn shown(kernel: &mut Kernel, code: &str, mime: &str) -> String {
    let run = run(kernel, code).await;
    let shown = displays(&run);
    assert_eq!(shown.len(), 1, "{code}: {:?}", run.messages);
    shown[0][mime]
        .as_str()
        .unwrap_or_else(|| panic!("no {mime} from {code}: {:?}", run.messages))
        .to_owned()
}
