//! `:tasks` over the Jupyter protocol: a real kernel, cells that spawn
//! known tasks, and the table it shows.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::Duration;

use jupyter_protocol::{
    ConnectionInfo, ExecuteRequest, JupyterMessage, JupyterMessageContent, ShutdownRequest,
};
use jupyter_zmq_client::{
    create_client_control_connection, create_client_iopub_connection,
    create_client_shell_connection_with_identity, peek_ports, peer_identity_for_session,
    wait_for_iopub_welcome, ClientIoPubConnection, ClientShellConnection,
};

/// Kills the kernel if the test ends early, and removes its connection file.
struct KernelProcess(Child, PathBuf);

impl Drop for KernelProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = std::fs::remove_file(&self.1);
    }
}

struct Client {
    shell: ClientShellConnection,
    iopub: ClientIoPubConnection,
}

impl Client {
    /// Runs a cell; returns its iopub messages (up to idle) and whether it succeeded.
    async fn run(&mut self, code: &str) -> (Vec<JupyterMessageContent>, bool) {
        let request: JupyterMessage = ExecuteRequest::new(code.to_owned()).into();
        let id = request.header.msg_id.clone();
        self.shell.send(request).await.unwrap();
        let mut outputs = Vec::new();
        loop {
            let message = self.iopub.read().await.unwrap();
            if message.parent_header.map(|h| h.msg_id) != Some(id.clone()) {
                continue;
            }
            match message.content {
                JupyterMessageContent::Status(s) if s.execution_state.as_str() == "idle" => break,
                content => outputs.push(content),
            }
        }
        let reply = self.shell.read().await.unwrap();
        let ok = matches!(reply.content, JupyterMessageContent::ExecuteReply(ref r)
            if r.status == jupyter_protocol::ReplyStatus::Ok);
        (outputs, ok)
    }

    /// The text/html of the one display a cell produced.
    async fn html_of(&mut self, code: &str) -> String {
        let (outputs, ok) = self.run(code).await;
        assert!(ok, "{code} failed: {outputs:?}");
        let html = outputs.iter().find_map(|output| match output {
            JupyterMessageContent::DisplayData(display) => {
                let data = serde_json::to_value(&display.data).unwrap();
                data["text/html"].as_str().map(str::to_owned)
            }
            _ => None,
        });
        html.unwrap_or_else(|| panic!("no HTML display from {code}: {outputs:?}"))
    }
}

async fn start_kernel() -> (KernelProcess, Client, ConnectionInfo, String) {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let ports = peek_ports(ip, 5).await.unwrap();
    let info = ConnectionInfo {
        ip: ip.to_string(),
        transport: jupyter_protocol::connection_info::Transport::TCP,
        shell_port: ports[0],
        iopub_port: ports[1],
        stdin_port: ports[2],
        control_port: ports[3],
        hb_port: ports[4],
        key: format!("tasks-test-{}", std::process::id()),
        signature_scheme: "hmac-sha256".to_owned(),
        kernel_name: None,
    };
    let file = std::env::temp_dir().join(format!("asyncbook-tasks-{}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_string(&info).unwrap()).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_asyncbook"))
        .arg("kernel")
        .arg("-f")
        .arg(&file)
        .env("JPY_PARENT_PID", std::process::id().to_string())
        .spawn()
        .unwrap();
    let session = format!("tasks-test-{}", std::process::id());
    let identity = peer_identity_for_session(&session).unwrap();
    let shell = create_client_shell_connection_with_identity(&info, &session, identity)
        .await
        .unwrap();
    let mut iopub = create_client_iopub_connection(&info, "", &session)
        .await
        .unwrap();
    wait_for_iopub_welcome(&mut iopub, Duration::from_secs(10))
        .await
        .unwrap();
    (
        KernelProcess(child, file),
        Client { shell, iopub },
        info,
        session,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn tasks_lists_named_tasks_with_their_cell_and_counts_the_others() {
    let test = async {
        let (_kernel, mut client, info, session) = start_kernel().await;
        let (outputs, ok) = client.run("let warm_up = 1;").await;
        assert!(ok, "{outputs:?}");
        let (outputs, ok) = client
            .run(
                "let tl: asyncbook::Timeline = asyncbook::Timeline::new();\n\
                 let waiter: tokio::task::JoinHandle<()> = tl.spawn(\"waiter\", std::future::pending());\n\
                 let anonymous: tokio::task::JoinHandle<()> = tokio::spawn(std::future::pending());",
            )
            .await;
        assert!(ok, "{outputs:?}");
        let (outputs, ok) = client
            .run(
                "let ticker: tokio::task::JoinHandle<()> = asyncbook::spawn_named(\"ticker <1>\", async {\n\
                     loop { tokio::time::sleep(std::time::Duration::from_millis(20)).await; }\n\
                 });",
            )
            .await;
        assert!(ok, "{outputs:?}");

        let html = client.html_of(":tasks").await;
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

        let (outputs, ok) = client.run("waiter.abort();\nlet _ = waiter.await;").await;
        assert!(ok, "{outputs:?}");
        let html = client.html_of(":tasks").await;
        assert!(html.contains("2 live tasks (1 named, 1 unnamed)"), "{html}");
        let (alive, ended) = html.split_once("Recently ended").expect("an ended section");
        assert!(!alive.contains("<td>waiter</td>") && alive.contains("<td>ticker &lt;1&gt;</td>"));
        assert!(ended.contains("<tr><td>waiter</td><td>[2]</td>") && ended.contains("cancelled"));

        let mut control = create_client_control_connection(&info, &session)
            .await
            .unwrap();
        control
            .send(ShutdownRequest { restart: false }.into())
            .await
            .unwrap();
        let _ = control.read().await;
    };
    tokio::time::timeout(Duration::from_secs(240), test)
        .await
        .expect("the kernel answered within four minutes");
}
